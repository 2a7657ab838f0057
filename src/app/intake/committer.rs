//! The committer: the thread that moves answered deliveries into SQLite
//! and copies the WAL into the database.
//!
//! The recorder answers a delivery once the intake journal holds it; the
//! committer records it in SQLite a little later, in one transaction every
//! `commit_every` or once [`COMMIT_AFTER`] deliveries wait, without
//! waiting for the disk (`synchronous=NORMAL`; the journal is what a crash
//! reads again). It runs beside the recorder rather than on its thread:
//! a commit of 25 deliveries took 0.4 ms and one of 300 took 1.5–5 ms, and
//! on the recorder's thread every delivery that came meanwhile waited for
//! it. Checkpoints run here too, every second or 8,192 deliveries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::{Notify, oneshot};

use crate::app::delivery::{Health, NewDelivery, Part, Recorded};
use crate::timestamp::now_ms;

/// A commit is made once this many deliveries wait, before it is due.
const COMMIT_AFTER: usize = 256;
/// How long a failed commit waits before it is tried again.
const COMMIT_RETRY: Duration = Duration::from_secs(1);
/// The WAL is copied into the database once this many deliveries have
/// been committed since the last copy, or after this long.
const CHECKPOINT_AFTER: usize = 8192;
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// How many batches may wait for the committer. When it falls this far
/// behind (a database another process holds locked, a failing disk), the
/// recorder waits, and so do the answers: memory does not grow instead.
const BATCHES_WAITING: usize = 1024;

/// The recorder's handle on the committer. Batches are numbered by the
/// recorder, in order; `committed` is the last one in SQLite, `durable`
/// the last one SQLite has on disk.
pub(crate) struct Committer {
    sender: std_mpsc::SyncSender<Instruction>,
    committed: Arc<AtomicU64>,
    durable: Arc<AtomicU64>,
}

enum Instruction {
    Commit(u64, Vec<NewDelivery>),
    /// Commit what was handed over, then answer.
    Flush(oneshot::Sender<()>),
    /// Commit what was handed over, make the database durable, and
    /// answer if asked to.
    MakeDurable(Option<std_mpsc::SyncSender<Result<(), String>>>),
}

impl Committer {
    /// Starts the committer on `connection`, a connection to the database
    /// that nothing else writes with.
    pub(crate) fn start(
        connection: rusqlite::Connection,
        commit_every: Duration,
        queued: Arc<Notify>,
        health: Arc<Health>,
    ) -> Result<Committer> {
        let (sender, receiver) = std_mpsc::sync_channel(BATCHES_WAITING);
        let committed = Arc::new(AtomicU64::new(0));
        let durable = Arc::new(AtomicU64::new(0));
        let committing = Committing {
            connection,
            commit_every,
            queued,
            health,
            waiting: Vec::new(),
            last_batch: 0,
            committed: committed.clone(),
            durable: durable.clone(),
            commit_at: None,
            uncheckpointed: 0,
            checkpointed_at: Instant::now(),
        };
        std::thread::Builder::new()
            .name("dslp-committer".into())
            .spawn(move || committing.run(receiver))
            .context("starting the store's committer")?;
        Ok(Committer {
            sender,
            committed,
            durable,
        })
    }

    /// Hands over batch `batch`, answered already, to be committed.
    pub(crate) fn commit(&self, batch: u64, deliveries: Vec<NewDelivery>) -> Result<()> {
        self.sender
            .send(Instruction::Commit(batch, deliveries))
            .map_err(|_| anyhow::anyhow!("the store's committer has stopped"))
    }

    /// The last batch that is in SQLite. Read before a read transaction
    /// begins, every batch up to it is visible in that transaction.
    pub(crate) fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// The last batch that SQLite has on disk.
    pub(crate) fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Asks for everything handed over so far to be committed and made
    /// durable, without waiting for it ([`Committer::durable`] tells).
    pub(crate) fn make_durable_soon(&self) {
        // A committer that has stopped is found out by the next call
        // that waits for it.
        let _ = self.sender.send(Instruction::MakeDurable(None));
    }

    /// Answers `done` once everything handed over so far is committed.
    pub(crate) fn flush(&self, done: oneshot::Sender<()>) {
        // If the committer has stopped, dropping `done` tells the caller.
        let _ = self.sender.send(Instruction::Flush(done));
    }

    /// Commits everything handed over so far and makes the database
    /// durable; returns once it is.
    pub(crate) fn make_durable(&self) -> Result<()> {
        let (reply, replied) = std_mpsc::sync_channel(1);
        self.sender
            .send(Instruction::MakeDurable(Some(reply)))
            .map_err(|_| anyhow::anyhow!("the store's committer has stopped"))?;
        replied
            .recv()
            .map_err(|_| anyhow::anyhow!("the store's committer has stopped"))?
            .map_err(|error| anyhow::anyhow!(error))
    }
}

struct Committing {
    connection: rusqlite::Connection,
    commit_every: Duration,
    /// Woken when committed deliveries brought jobs.
    queued: Arc<Notify>,
    health: Arc<Health>,
    /// Handed over, not committed yet, in the order they came.
    waiting: Vec<NewDelivery>,
    last_batch: u64,
    committed: Arc<AtomicU64>,
    durable: Arc<AtomicU64>,
    /// When `waiting` is to be committed (set by the oldest of them).
    commit_at: Option<Instant>,
    uncheckpointed: usize,
    checkpointed_at: Instant,
}

impl Committing {
    fn run(mut self, instructions: std_mpsc::Receiver<Instruction>) {
        loop {
            let next = match self.next_due() {
                None => instructions
                    .recv()
                    .map_err(|_| std_mpsc::RecvTimeoutError::Disconnected),
                Some(at) => instructions.recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            match next {
                Ok(Instruction::Commit(batch, deliveries)) => {
                    self.waiting.extend(deliveries);
                    self.last_batch = batch;
                    let every = self.commit_every;
                    self.commit_at.get_or_insert_with(|| Instant::now() + every);
                }
                Ok(Instruction::Flush(done)) => {
                    self.commit();
                    let _ = done.send(());
                }
                Ok(Instruction::MakeDurable(reply)) => {
                    let durable = self.commit_or_fail().and_then(|()| {
                        make_durable(&self.connection)?;
                        self.checkpointed();
                        self.durable.store(self.last_batch, Ordering::Release);
                        Ok(())
                    });
                    self.health.set(
                        Part::Committer,
                        durable
                            .as_ref()
                            .err()
                            .map(|e| format!("making the store durable: {e:#}")),
                    );
                    match reply {
                        Some(reply) => {
                            let _ = reply.send(durable.map_err(|error| format!("{error:#}")));
                        }
                        None => {
                            if let Err(error) = durable {
                                // Asked for again, by a caller that waits.
                                tracing::warn!("making the store durable: {error:#}");
                            }
                        }
                    }
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                    // The recorder stopped: what it answered is committed.
                    self.commit();
                    return;
                }
            }
            let now = Instant::now();
            if self.waiting.len() >= COMMIT_AFTER || self.commit_at.is_some_and(|at| at <= now) {
                self.commit();
            }
            if self.checkpoint_at().is_some_and(|at| at <= now) {
                if let Err(error) = checkpoint(&self.connection) {
                    tracing::warn!("checkpointing the store: {error}");
                }
                self.checkpointed();
            }
        }
    }

    fn next_due(&self) -> Option<Instant> {
        match (self.commit_at, self.checkpoint_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Starts counting towards the next checkpoint.
    fn checkpointed(&mut self) {
        self.uncheckpointed = 0;
        self.checkpointed_at = Instant::now();
    }

    /// When the WAL is next to be copied, if anything was committed.
    fn checkpoint_at(&self) -> Option<Instant> {
        match self.uncheckpointed {
            0 => None,
            n if n >= CHECKPOINT_AFTER => Some(self.checkpointed_at),
            _ => Some(self.checkpointed_at + CHECKPOINT_EVERY),
        }
    }

    /// Commits what waits; a failure is logged and tried again later (the
    /// journal holds the deliveries meanwhile).
    fn commit(&mut self) {
        let committed = self.commit_or_fail();
        self.health.set(
            Part::Committer,
            committed
                .as_ref()
                .err()
                .map(|e| format!("committing deliveries: {e:#}")),
        );
        if let Err(error) = committed {
            tracing::error!(
                "committing {} deliveries to the store (kept, to try again): {error:#}",
                self.waiting.len()
            );
            // Not at once: a disk that refused may need a moment.
            self.commit_at = Some(Instant::now() + self.commit_every.max(COMMIT_RETRY));
        }
    }

    fn commit_or_fail(&mut self) -> Result<()> {
        if self.waiting.is_empty() {
            self.commit_at = None;
            return Ok(());
        }
        record_in_sqlite(&mut self.connection, self.waiting.iter())?;
        self.uncheckpointed += self.waiting.len();
        let jobs = self.waiting.iter().any(|d| d.job.is_some());
        self.waiting.clear();
        self.commit_at = None;
        self.committed.store(self.last_batch, Ordering::Release);
        if jobs {
            self.queued.notify_waiters();
            self.queued.notify_one();
        }
        Ok(())
    }
}

/// Puts everything committed so far on disk: one small commit with
/// `synchronous=FULL`, at which SQLite syncs the WAL, and every frame
/// before it with it. Only SQLite's own descriptors touch the files: a
/// descriptor of ours, closed, would drop the process's POSIX locks on
/// the database, and an outside reader (`sqlite3`, a backup) would then
/// believe itself the last connection and delete the WAL.
pub(crate) fn make_durable(connection: &rusqlite::Connection) -> Result<()> {
    let before: i64 = connection.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    let synced = connection.execute(
        "INSERT INTO syncs (id, at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        [now_ms()],
    );
    connection.pragma_update(None, "synchronous", before)?;
    synced.context("syncing the store's WAL")?;
    // Copying the WAL into the database bounds its growth; not needed
    // for durability.
    checkpoint(connection)?;
    Ok(())
}

/// Copies the WAL into the database as far as no reader holds it back,
/// without waiting for anyone.
fn checkpoint(connection: &rusqlite::Connection) -> rusqlite::Result<()> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// Records deliveries and queues their jobs in one transaction, in order;
/// a delivery id recorded before is left as it was. Answers, for each,
/// whether it was new.
pub(crate) fn record_in_sqlite<'a>(
    connection: &mut rusqlite::Connection,
    deliveries: impl ExactSizeIterator<Item = &'a NewDelivery>,
) -> rusqlite::Result<Vec<Recorded>> {
    let now = now_ms();
    let tx = connection.transaction()?;
    let mut outcomes = Vec::with_capacity(deliveries.len());
    {
        let mut record = tx.prepare_cached(
            "INSERT OR IGNORE INTO deliveries (id, event, action, installation_id, received_at, queued)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut supersede = tx.prepare_cached(
            "UPDATE jobs SET state = 'superseded', updated_at = ?1
             WHERE key = ?2 AND kind = 'evaluate' AND state = 'queued'",
        )?;
        let mut enqueue = tx.prepare_cached(
            "INSERT INTO jobs (delivery_id, key, kind, event, payload, installation_id, state, attempts, next_attempt_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', 0, ?7, ?7, ?7)",
        )?;
        for delivery in deliveries {
            let installation = delivery.installation.map(|i| i as i64);
            let inserted = record.execute(rusqlite::params![
                delivery.id,
                delivery.event,
                delivery.action,
                installation,
                now,
                delivery.job.is_some(),
            ])? == 1;
            if !inserted {
                outcomes.push(Recorded::Duplicate);
                continue;
            }
            if let Some(job) = &delivery.job {
                if job.evaluates {
                    supersede.execute(rusqlite::params![now, job.key])?;
                }
                enqueue.execute(rusqlite::params![
                    delivery.id,
                    job.key,
                    if job.evaluates { "evaluate" } else { "other" },
                    delivery.event,
                    job.payload,
                    installation,
                    now,
                ])?;
            }
            outcomes.push(Recorded::New);
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committing(uncheckpointed: usize, checkpointed_at: Instant) -> Committing {
        Committing {
            connection: rusqlite::Connection::open_in_memory().unwrap(),
            commit_every: Duration::from_millis(50),
            queued: Arc::new(Notify::new()),
            health: Arc::new(Health::default()),
            waiting: Vec::new(),
            last_batch: 0,
            committed: Arc::new(AtomicU64::new(0)),
            durable: Arc::new(AtomicU64::new(0)),
            commit_at: None,
            uncheckpointed,
            checkpointed_at,
        }
    }

    /// The loop sleeps until `next_due` and then acts on what is due by
    /// then: a checkpoint due "now" must not move as time passes, or the
    /// loop wakes and finds nothing due again and again.
    #[test]
    fn a_checkpoint_is_due_after_a_second_or_at_once_after_many_deliveries() {
        let long_ago = Instant::now() - Duration::from_secs(5);
        assert_eq!(committing(0, long_ago).checkpoint_at(), None);
        assert_eq!(committing(0, long_ago).next_due(), None);
        let recent = Instant::now();
        assert_eq!(
            committing(10, recent).checkpoint_at(),
            Some(recent + CHECKPOINT_EVERY)
        );
        let many = committing(CHECKPOINT_AFTER, recent);
        let due = many.checkpoint_at().unwrap();
        std::thread::sleep(Duration::from_millis(2));
        assert!(due <= Instant::now() && many.checkpoint_at() == Some(due));
        let mut waiting = committing(10, recent);
        waiting.commit_at = Some(recent + Duration::from_millis(50));
        assert_eq!(waiting.next_due(), Some(recent + Duration::from_millis(50)));
    }
}
