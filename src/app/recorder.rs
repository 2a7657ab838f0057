//! The recorder: the one thread that records deliveries in the store.
//!
//! A delivery is answered once it is on disk, and the disk is the intake
//! journal ([`crate::app::journal`]): each group of deliveries waiting at
//! that moment is appended to it and synced once. SQLite gets the answered
//! deliveries a little later, in one transaction every [`COMMIT_EVERY`]
//! (or `COMMIT_AFTER` deliveries), which does not wait for the disk
//! (`synchronous=NORMAL`). A commit per group, as before, wrote every
//! b-tree page a delivery touched to the WAL each time: at 500/s that was
//! 10 MB/s of WAL for 0.7 MB/s of deliveries, and the checkpoints that
//! copied it into the database held up the answers. Until they are
//! committed, deliveries are known to the recorder for deduplication and
//! their jobs are not visible to the workers (at most `COMMIT_EVERY`).
//!
//! Checkpoints run on a thread and connection of their own. When the
//! journal is full, the recorder commits, makes the database durable and
//! starts the journal again. The writer is rusqlite on its own thread:
//! with sqlx every statement is a hand-off to its SQLite thread, which
//! under load cost more than the rest of the intake together (measured: a
//! third of the CPU in context switches).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::app::journal::Journal;
use crate::app::store::{NewDelivery, Recorded, now_ms};

/// How many deliveries are taken from the channel at once.
const GROUP_LIMIT: usize = 1024;

/// Answered deliveries are committed to SQLite this often (by default), or
/// once this many are waiting.
pub const COMMIT_EVERY: Duration = Duration::from_millis(50);
const COMMIT_AFTER: usize = 256;
/// How long a failed commit waits before it is tried again.
const COMMIT_RETRY: Duration = Duration::from_secs(1);

/// How a server's recorder keeps what it answers.
#[derive(Debug, Clone, Copy)]
pub struct Journaling {
    /// The intake journal's size.
    pub journal_bytes: u64,
    /// How long answered deliveries may wait for their commit.
    pub commit_every: Duration,
}

impl Default for Journaling {
    fn default() -> Journaling {
        Journaling {
            journal_bytes: crate::app::journal::DEFAULT_CAPACITY,
            commit_every: COMMIT_EVERY,
        }
    }
}

/// The checkpointer copies the WAL into the database once this many
/// deliveries have been committed since the last copy, or after this long.
const CHECKPOINT_AFTER: usize = 8192;
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

pub(crate) type Answer = oneshot::Sender<Result<Recorded, String>>;

/// What the store asks of the recorder.
pub(crate) enum Message {
    Record(NewDelivery, Answer),
    /// Commit what was answered, then answer.
    Flush(oneshot::Sender<()>),
    /// Commit, make the database durable, answer, and stop.
    Close(oneshot::Sender<()>),
}

/// How the recorder makes what it answers durable.
enum Durability {
    /// Appended to the intake journal and synced there; the checkpointer
    /// hears how many deliveries each commit recorded.
    Journal {
        journal: Journal,
        checkpoints: std_mpsc::Sender<usize>,
    },
    /// Committed at once with `synchronous=FULL` (a store opened only to
    /// be looked at, which must not touch a running server's journal).
    EachCommit,
}

/// Starts the recorder for the database at `database`. With a journal,
/// the deliveries it holds are recorded first; without one, each commit
/// is synced.
pub(crate) fn start(
    database: &Path,
    journaling: Option<Journaling>,
    queued: Arc<Notify>,
) -> Result<mpsc::Sender<Message>> {
    let mut connection = rusqlite::Connection::open(database)
        .with_context(|| format!("opening {} for writing", database.display()))?;
    connection.busy_timeout(Duration::from_secs(10))?;
    let durability = match journaling {
        Some(journaling) => {
            connection.pragma_update(None, "synchronous", "NORMAL")?;
            connection.pragma_update(None, "wal_autocheckpoint", 0)?;
            let journal = open_journal(&mut connection, database, journaling.journal_bytes)?;
            Durability::Journal {
                journal,
                checkpoints: start_checkpointer(database)?,
            }
        }
        None => {
            connection.pragma_update(None, "synchronous", "FULL")?;
            Durability::EachCommit
        }
    };
    let recorder = Recorder {
        connection,
        database: database.to_path_buf(),
        durability,
        pending: Vec::new(),
        pending_ids: HashSet::new(),
        commit_at: None,
        commit_every: journaling.map_or(Duration::ZERO, |j| j.commit_every),
        records: Vec::new(),
        queued,
    };
    let (sender, receiver) = mpsc::channel(GROUP_LIMIT * 8);
    std::thread::Builder::new()
        .name("dslp-recorder".into())
        .spawn(move || recorder.run(receiver))
        .context("starting the store's recorder")?;
    Ok(sender)
}

pub(crate) fn journal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-intake");
    PathBuf::from(name)
}

/// Opens the journal, records again what it holds, makes the database
/// durable, and empties the journal.
fn open_journal(
    connection: &mut rusqlite::Connection,
    database: &Path,
    capacity: u64,
) -> Result<Journal> {
    let path = journal_path(database);
    let (mut journal, replayed) = Journal::open(&path, capacity, |batch| {
        record_in_sqlite(connection, batch.iter())?;
        Ok(())
    })
    .with_context(|| format!("opening the intake journal {}", path.display()))?;
    make_durable(connection, database).context("syncing the database")?;
    journal
        .restart()
        .with_context(|| format!("emptying the intake journal {}", path.display()))?;
    if replayed > 0 {
        tracing::info!(
            "intake journal: {replayed} deliveries read again from {} (those already recorded were left as they were)",
            path.display()
        );
    }
    Ok(journal)
}

/// Puts everything committed so far on disk: a checkpoint (which syncs the
/// WAL before copying it), then a sync of the WAL and the database, for
/// frames a reader kept the checkpoint from copying.
fn make_durable(connection: &rusqlite::Connection, database: &Path) -> Result<()> {
    checkpoint(connection)?;
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    for path in [PathBuf::from(wal), database.to_path_buf()] {
        match std::fs::File::open(&path) {
            Ok(file) => file.sync_all()?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// Copies the WAL into the database as far as no reader holds it back,
/// without waiting for anyone.
fn checkpoint(connection: &rusqlite::Connection) -> rusqlite::Result<()> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// The checkpointer: copies the WAL into the database on a connection and
/// thread of its own, so neither the copy nor its syncs wait in the
/// intake's path. It ends when the recorder does.
fn start_checkpointer(database: &Path) -> Result<std_mpsc::Sender<usize>> {
    let connection = rusqlite::Connection::open(database)
        .with_context(|| format!("opening {} to checkpoint", database.display()))?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "wal_autocheckpoint", 0)?;
    let (sender, receiver) = std_mpsc::channel::<usize>();
    std::thread::Builder::new()
        .name("dslp-checkpoint".into())
        .spawn(move || {
            let mut waiting = 0;
            let mut last = Instant::now();
            loop {
                let wait = CHECKPOINT_EVERY.saturating_sub(last.elapsed());
                match receiver.recv_timeout(wait) {
                    Ok(committed) => waiting += committed,
                    Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
                }
                let due = waiting >= CHECKPOINT_AFTER || last.elapsed() >= CHECKPOINT_EVERY;
                if due && waiting > 0 {
                    if let Err(error) = checkpoint(&connection) {
                        tracing::warn!("checkpointing the store: {error}");
                    }
                    waiting = 0;
                }
                if due {
                    last = Instant::now();
                }
            }
        })
        .context("starting the store's checkpointer")?;
    Ok(sender)
}

struct Recorder {
    connection: rusqlite::Connection,
    database: PathBuf,
    durability: Durability,
    /// Answered deliveries not committed yet, in the order they came.
    pending: Vec<NewDelivery>,
    pending_ids: HashSet<String>,
    /// When they are to be committed (set by the oldest of them).
    commit_at: Option<Instant>,
    commit_every: Duration,
    /// The journal records of a group, kept between groups.
    records: Vec<u8>,
    /// Woken when committed deliveries brought jobs.
    queued: Arc<Notify>,
}

impl Recorder {
    fn run(mut self, mut receiver: mpsc::Receiver<Message>) {
        // Only a timer, to wait for the next delivery until the next commit.
        let timer = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(timer) => timer,
            Err(error) => {
                tracing::error!("the store's recorder could not start: {error}");
                return;
            }
        };
        let mut group = Vec::with_capacity(GROUP_LIMIT);
        let mut flushed = Vec::new();
        loop {
            // Due before the next message is read: under a steady stream
            // there may never be a pause for the timer to fire in.
            if self.commit_at.is_some_and(|at| at <= Instant::now()) {
                self.commit_pending();
            }
            let first = match self.commit_at {
                None => receiver.blocking_recv(),
                Some(at) => {
                    let wait = at.saturating_duration_since(Instant::now());
                    let next =
                        timer.block_on(async { tokio::time::timeout(wait, receiver.recv()).await });
                    match next {
                        Ok(message) => message,
                        Err(_) => {
                            self.commit_pending();
                            continue;
                        }
                    }
                }
            };
            let Some(first) = first else {
                // Every sender is gone: what was answered is committed.
                self.commit_pending();
                return;
            };
            let mut next = Some(first);
            let mut closing = None;
            while let Some(message) = next.take() {
                match message {
                    Message::Record(delivery, answer) => group.push((delivery, answer)),
                    Message::Flush(done) => flushed.push(done),
                    Message::Close(done) => {
                        closing = Some(done);
                        break;
                    }
                }
                if group.len() < GROUP_LIMIT {
                    next = receiver.try_recv().ok();
                }
            }
            if !group.is_empty() {
                self.record_group(&mut group);
            }
            if !flushed.is_empty() || closing.is_some() || self.pending.len() >= COMMIT_AFTER {
                self.commit_pending();
            }
            for done in flushed.drain(..) {
                let _ = done.send(());
            }
            if let Some(done) = closing {
                // Kept for the next start if this fails: it replays them.
                if let Err(error) = self.empty_the_journal() {
                    tracing::error!("syncing the store at shutdown: {error:#}");
                }
                let _ = done.send(());
                return;
            }
        }
    }

    /// Decides which deliveries of a group are new, makes those durable,
    /// and answers each.
    fn record_group(&mut self, group: &mut Vec<(NewDelivery, Answer)>) {
        let outcomes = match self.deduplicate(group) {
            Ok(outcomes) => outcomes,
            Err(error) => return answer_all(group, &format!("{error:#}")),
        };
        let new_from = self.pending.len();
        let mut answers = Vec::with_capacity(group.len());
        for ((delivery, answer), outcome) in group.drain(..).zip(outcomes) {
            if outcome == Recorded::New {
                self.pending_ids.insert(delivery.id.clone());
                self.pending.push(delivery);
            }
            answers.push((answer, outcome));
        }
        let commit_every = self.commit_every;
        self.commit_at
            .get_or_insert_with(|| Instant::now() + commit_every);
        let durable = self.make_new_durable(new_from);
        for (answer, outcome) in answers {
            let _ = answer.send(match &durable {
                Ok(()) => Ok(outcome),
                // The deliveries stay pending and are committed: asked for
                // again, one is a duplicate, and its job runs once.
                Err(error) => Err(format!("recording the delivery failed: {error:#}")),
            });
        }
        if let Err(error) = durable {
            tracing::error!("recording deliveries: {error:#}");
        }
    }

    /// For each delivery: new, or seen before (committed, pending, or
    /// earlier in the same group).
    fn deduplicate(&mut self, group: &[(NewDelivery, Answer)]) -> Result<Vec<Recorded>> {
        // One read transaction for the group: each of its own would take
        // and drop the WAL's read locks, a few system calls each time.
        let reading = self.connection.transaction()?;
        let mut outcomes = Vec::with_capacity(group.len());
        {
            let mut seen = reading.prepare_cached("SELECT 1 FROM deliveries WHERE id = ?1")?;
            let mut in_group = HashSet::new();
            for (delivery, _) in group {
                let duplicate = self.pending_ids.contains(&delivery.id)
                    || !in_group.insert(delivery.id.as_str())
                    || seen.exists([&delivery.id])?;
                outcomes.push(if duplicate {
                    Recorded::Duplicate
                } else {
                    Recorded::New
                });
            }
        }
        reading.commit()?;
        Ok(outcomes)
    }

    /// Makes `pending[from..]` durable: appended to the journal and synced;
    /// when the journal is full, committed and synced in the database
    /// instead, and the journal starts again.
    fn make_new_durable(&mut self, from: usize) -> Result<()> {
        if from == self.pending.len() {
            return Ok(());
        }
        let Durability::Journal { journal, .. } = &mut self.durability else {
            return self.commit_pending_or_fail();
        };
        self.records.clear();
        for delivery in &self.pending[from..] {
            journal.encode(delivery, &mut self.records);
        }
        if journal.fits(self.records.len()) {
            journal
                .append(&self.records)
                .context("syncing the intake journal")?;
        } else {
            self.empty_the_journal()?;
        }
        // A group with a 25 MB payload does not keep its buffer.
        self.records.shrink_to(1 << 20);
        Ok(())
    }

    /// Commits what is pending, makes the database durable, and empties
    /// the journal, which then holds nothing the database lacks.
    fn empty_the_journal(&mut self) -> Result<()> {
        self.commit_pending_or_fail()?;
        make_durable(&self.connection, &self.database)?;
        if let Durability::Journal { journal, .. } = &mut self.durability {
            journal.restart().context("emptying the intake journal")?;
        }
        Ok(())
    }

    /// Commits the pending deliveries; a failure is logged and they are
    /// tried again at the next commit (the journal holds them meanwhile).
    fn commit_pending(&mut self) {
        if let Err(error) = self.commit_pending_or_fail() {
            tracing::error!(
                "committing {} deliveries to the store (kept, to try again): {error:#}",
                self.pending.len()
            );
            // Not at once: a disk that refused may need a moment.
            self.commit_at = Some(Instant::now() + self.commit_every.max(COMMIT_RETRY));
        }
    }

    fn commit_pending_or_fail(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            self.commit_at = None;
            return Ok(());
        }
        record_in_sqlite(&mut self.connection, self.pending.iter())?;
        let committed = self.pending.len();
        let jobs = self.pending.iter().any(|d| d.job.is_some());
        self.pending.clear();
        self.pending_ids.clear();
        self.commit_at = None;
        if jobs {
            self.queued.notify_waiters();
            self.queued.notify_one();
        }
        if let Durability::Journal { checkpoints, .. } = &self.durability {
            let _ = checkpoints.send(committed);
        }
        Ok(())
    }
}

fn answer_all(group: &mut Vec<(NewDelivery, Answer)>, error: &str) {
    tracing::error!("recording deliveries: {error}");
    for (_, answer) in group.drain(..) {
        let _ = answer.send(Err(format!("recording the delivery failed: {error}")));
    }
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
