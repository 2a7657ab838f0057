-- Every verified delivery, once: the key GitHub's redeliveries repeat.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,      -- X-GitHub-Delivery
    event           TEXT NOT NULL,
    action          TEXT,
    installation_id INTEGER,
    received_at     INTEGER NOT NULL,      -- unix milliseconds
    queued          INTEGER NOT NULL       -- 1 when it made a job
) WITHOUT ROWID;                           -- one b-tree: fewer pages per commit

-- The durable queue. One running job per key (a pull request, an issue,
-- a branch); a newer evaluation supersedes a queued older one.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,   -- no AUTOINCREMENT: one page less per commit
    delivery_id     TEXT NOT NULL,
    key             TEXT NOT NULL,
    kind            TEXT NOT NULL,         -- evaluate | other
    event           TEXT NOT NULL,
    payload         BLOB NOT NULL,         -- the compact payload event::parse reads
    installation_id INTEGER,
    state           TEXT NOT NULL,         -- queued | running | done | failed | superseded
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, next_attempt_at);
CREATE INDEX jobs_by_key ON jobs (key, state);

-- Every evidence run, for the Ask's leaderboard.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    repository      TEXT NOT NULL,
    pull_request    INTEGER NOT NULL,
    head_ref        TEXT NOT NULL,
    head_commit     TEXT NOT NULL,
    base_commit     TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    metrics         TEXT NOT NULL,         -- JSON: model name -> metric -> value
    stamps          TEXT NOT NULL,         -- JSON: model name -> stamp
    created_at      INTEGER NOT NULL
);
CREATE INDEX runs_by_pull ON runs (repository, pull_request);
