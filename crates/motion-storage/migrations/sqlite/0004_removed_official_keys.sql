-- Catalog keys an operator removed (`motiond motions remove`): the seeding of the bundled
-- catalog at each start leaves them out, so a removed bundled motion stays removed. An explicit
-- `motiond motions import` of the key brings it back and deletes the row.
CREATE TABLE removed_official_keys (
    catalog_key TEXT    PRIMARY KEY,
    removed_at  INTEGER NOT NULL
);
