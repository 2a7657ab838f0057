-- The monitoring schedule of each repository whose default branch declares
-- `monitor:`: kept from its pushes, claimed by one worker at a time (the
-- claim moves `next_run` on in the same statement), surviving restarts.
CREATE TABLE schedules (
    repository TEXT PRIMARY KEY,
    installation_id INTEGER,
    clone_url TEXT,
    every_seconds INTEGER NOT NULL,
    next_run INTEGER NOT NULL              -- unix milliseconds
);
