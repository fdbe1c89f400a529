-- motiond schema, SQLite dialect. Forward-only.
-- Times are integer milliseconds since the Unix epoch. Lease columns use the database clock.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    webhook_secret BLOB,
    created_at     INTEGER NOT NULL
);

CREATE TABLE tokens (
    hash       TEXT    PRIMARY KEY,          -- lowercase hex SHA-256 of the token
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,     -- wire userId
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email           TEXT    NOT NULL,
    max_jobs        INTEGER NOT NULL,
    reply_url       TEXT,
    create_time     INTEGER NOT NULL,
    update_time     INTEGER NOT NULL,
    last_task_time  INTEGER NOT NULL DEFAULT 0,  -- for strictly increasing task createTime
    UNIQUE (user_id, email)
);

CREATE TABLE files (
    fid          TEXT    PRIMARY KEY,
    owner_kind   TEXT    NOT NULL,           -- asset | work | official
    owner_id     TEXT    NOT NULL,
    account_id   INTEGER,                    -- NULL for official files
    role         TEXT    NOT NULL,
    blob_key     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    detached     INTEGER NOT NULL DEFAULT 0  -- owner deleted, bytes pinned by an unfinished task
);
CREATE INDEX files_owner ON files (owner_kind, owner_id);
CREATE INDEX files_detached ON files (detached) WHERE detached = 1;

CREATE TABLE assets (
    id          TEXT    PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL UNIQUE,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    original_fid TEXT   NOT NULL,
    cover_fid    TEXT
);
CREATE INDEX assets_account_time ON assets (account_id, create_time, id);

CREATE TABLE tasks (
    id                 INTEGER PRIMARY KEY,
    account_id         INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    state              TEXT    NOT NULL,     -- queued | running | succeeded | failed
    wire_status        INTEGER NOT NULL,     -- 5 | 10 | 99 | 50, never backwards
    attempt            INTEGER NOT NULL DEFAULT 0,
    lease_owner        TEXT,
    lease_token        TEXT,
    lease_until        INTEGER,
    heartbeat_at       INTEGER,
    attempt_started_at INTEGER,
    boot_id            TEXT,
    cancel_requested   INTEGER NOT NULL DEFAULT 0,
    progress           REAL    NOT NULL DEFAULT 0,
    create_time        INTEGER NOT NULL,
    update_time        INTEGER NOT NULL,
    failure            TEXT,
    reply_url          TEXT,
    reply_ref          TEXT,
    work_name          TEXT    NOT NULL,
    source_fid         TEXT    NOT NULL,
    source_name        TEXT    NOT NULL,
    source_blob_key    TEXT    NOT NULL,
    cover_fid          TEXT    NOT NULL,
    cover_name         TEXT    NOT NULL,
    cover_blob_key     TEXT    NOT NULL,
    cover_content_type TEXT    NOT NULL,
    source_width       INTEGER NOT NULL,
    source_height      INTEGER NOT NULL,
    source_duration_ms INTEGER NOT NULL,
    UNIQUE (account_id, create_time)
);
CREATE INDEX tasks_queue ON tasks (state, create_time, id);
CREATE INDEX tasks_account_status ON tasks (account_id, wire_status);

CREATE TABLE works (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL UNIQUE REFERENCES tasks(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    preview_fid TEXT    NOT NULL,
    cover_fid   TEXT    NOT NULL,
    bvh_fid     TEXT    NOT NULL,
    binary_fid  TEXT    NOT NULL
);
CREATE INDEX works_account_time ON works (account_id, create_time DESC, id DESC);

CREATE TABLE official_motions (
    work_id     INTEGER PRIMARY KEY,         -- negative, stable per catalog key
    catalog_key TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    tag         TEXT    NOT NULL,
    preview_fid TEXT    NOT NULL,
    cover_fid   TEXT    NOT NULL,
    bvh_fid     TEXT    NOT NULL,
    binary_fid  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE webhook_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id          INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    status           INTEGER NOT NULL,
    webhook_id       TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    body             BLOB    NOT NULL,       -- frozen at creation
    state            TEXT    NOT NULL,       -- pending | delivered | abandoned
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    first_attempt_at INTEGER,
    lease_owner      TEXT,
    lease_token      TEXT,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    UNIQUE (task_id, status)                 -- once per status change
);
CREATE INDEX webhook_events_due ON webhook_events (state, next_attempt_at);

CREATE TABLE blob_trash (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_key   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
