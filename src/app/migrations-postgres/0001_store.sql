-- The App's store on PostgreSQL, shared by its replicas. The same tables
-- as SQLite's, and what sharing needs: job leases, installations' turns,
-- the rate limit each installation has left.

-- Every verified delivery, once, whichever replica received it.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,      -- X-GitHub-Delivery
    event           TEXT NOT NULL,
    action          TEXT,
    installation_id BIGINT,
    received_at     BIGINT NOT NULL,       -- unix milliseconds
    queued          BOOLEAN NOT NULL
);

-- The durable queue. A running job holds a lease its replica renews; a
-- lease that runs out (the replica died) puts the job back in the queue.
CREATE TABLE jobs (
    id              BIGSERIAL PRIMARY KEY,
    delivery_id     TEXT NOT NULL,
    key             TEXT NOT NULL,
    kind            TEXT NOT NULL,         -- evaluate | other
    event           TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    installation_id BIGINT,
    state           TEXT NOT NULL,         -- queued | running | done | failed | superseded
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    leased_by       TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, next_attempt_at);
CREATE INDEX jobs_by_key ON jobs (key, state);
-- One running job per key, across replicas: a second claim fails here.
CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (key) WHERE state = 'running';

-- When each installation last had a job claimed: the next claim goes to
-- the installation that waited longest, so a busy one cannot starve the rest.
CREATE TABLE turns (
    installation_id BIGINT PRIMARY KEY,    -- 0 for jobs without one
    last_claim      BIGINT NOT NULL
);

-- Every evidence run, for the Ask's leaderboard.
CREATE TABLE runs (
    id              BIGSERIAL PRIMARY KEY,
    repository      TEXT NOT NULL,
    pull_request    BIGINT NOT NULL,
    head_ref        TEXT NOT NULL,
    head_commit     TEXT NOT NULL,
    base_commit     TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    metrics         TEXT NOT NULL,         -- JSON: model name -> metric -> value
    stamps          TEXT NOT NULL,         -- JSON: model name -> stamp
    created_at      BIGINT NOT NULL
);
CREATE INDEX runs_by_repository ON runs (repository, id);

-- Monitoring schedules, claimed when due by one replica at a time.
CREATE TABLE schedules (
    repository      TEXT PRIMARY KEY,
    installation_id BIGINT,
    clone_url       TEXT,
    every_seconds   BIGINT NOT NULL,
    next_run        BIGINT NOT NULL        -- unix milliseconds
);

-- GitHub's rate limit is the installation's, not a replica's: the last
-- `x-ratelimit-remaining` and reset any replica saw.
CREATE TABLE rate_limits (
    installation_id BIGINT PRIMARY KEY,
    remaining       BIGINT NOT NULL,
    reset_at        BIGINT NOT NULL,       -- unix milliseconds
    seen_at         BIGINT NOT NULL
);
