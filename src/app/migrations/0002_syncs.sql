-- One row the committer rewrites with synchronous=FULL to make every
-- earlier commit durable: SQLite syncs the WAL at that commit, through its
-- own file descriptors. (Opening and closing the database file from
-- outside SQLite would drop the process's POSIX locks on it, and another
-- process's connection would then delete the WAL under the server.)
CREATE TABLE syncs (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL                    -- unix milliseconds
);
