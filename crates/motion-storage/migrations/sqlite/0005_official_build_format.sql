-- The format of an official motion's files: 1 for those built before this migration (bvh.zip
-- held the source BVH as it was, binary.zip a glb of the source skeleton and joints.json), 2 and
-- up for the contract's files (api-contract §9.4-§9.5: the 22-joint skeleton, landmarks.json).
-- The seeding at start rebuilds motions of an older format in place.
ALTER TABLE official_motions ADD COLUMN build_format INTEGER NOT NULL DEFAULT 1;
