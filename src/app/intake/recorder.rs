//! The recorder: the one thread that answers deliveries once they are on
//! disk.
//!
//! The disk is the intake journal ([`super::journal`]): each group of
//! deliveries waiting at that moment is appended to it and synced once,
//! checked for duplicates while the disk writes, and answered. (Checked
//! before the write, the SQLite read stood in front of every answer: in
//! the serve bench at 500/s, leaving it out took 60-110 µs off the p50.)
//! The answered deliveries are then handed to the committer
//! ([`super::committer`]), which records them in SQLite a little
//! later, off this thread. Until a batch is committed the
//! recorder keeps its delivery ids, to know a redelivery as a duplicate;
//! their jobs are not visible to the workers meanwhile (at most
//! `commit_every`). When a side of the journal is full, the committer is
//! asked to make the database durable, and the recorder goes on in the
//! other side once what that side holds is durable.
//!
//! The recorder and committer use rusqlite on threads of their own: with
//! sqlx every statement is a hand-off to its SQLite thread, which under
//! load cost more than the rest of the intake together (measured: a third
//! of the CPU in context switches).

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::{Notify, mpsc, oneshot};

use super::committer::{Committer, make_durable, record_in_sqlite};
use super::journal::Journal;
use crate::app::delivery::{Health, NewDelivery, Part, Recorded};

/// How many deliveries are taken from the channel at once.
const GROUP_LIMIT: usize = 1024;

/// Answered deliveries are committed to SQLite this often (by default).
pub const COMMIT_EVERY: Duration = Duration::from_millis(50);

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
            journal_bytes: super::journal::DEFAULT_CAPACITY,
            commit_every: COMMIT_EVERY,
        }
    }
}

pub(crate) type Answer = oneshot::Sender<Result<Recorded, String>>;

/// What the store asks of the recorder.
pub(crate) enum Message {
    Record(NewDelivery, Answer),
    /// Commit what was answered, then answer.
    Flush(oneshot::Sender<()>),
    /// Commit, make the database durable, answer, and stop.
    Close(oneshot::Sender<()>),
}

/// Starts the recorder for the database at `database`. With a journal,
/// the deliveries it holds are recorded first; without one (a store opened
/// only to be looked at, which must not touch a running server's journal),
/// each group is committed and synced before it is answered.
pub(crate) fn start(
    database: &Path,
    journaling: Option<Journaling>,
    queued: Arc<Notify>,
    health: Arc<Health>,
) -> Result<mpsc::Sender<Message>> {
    let open = |purpose: &str| -> Result<rusqlite::Connection> {
        let connection = rusqlite::Connection::open(database)
            .with_context(|| format!("opening {} {purpose}", database.display()))?;
        connection.busy_timeout(Duration::from_secs(10))?;
        Ok(connection)
    };
    let connection = open("for the recorder")?;
    let journaled = match journaling {
        Some(journaling) => {
            let mut writer = open("for the committer")?;
            writer.pragma_update(None, "synchronous", "NORMAL")?;
            // Checkpoints are the committer's, at its own pace.
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
            let journal = open_journal(&mut writer, database, journaling.journal_bytes)?;
            Some(Journaled {
                journal,
                committer: Committer::start(
                    writer,
                    journaling.commit_every,
                    queued,
                    health.clone(),
                )?,
                records: Vec::new(),
                uncommitted: VecDeque::new(),
                uncommitted_ids: HashSet::new(),
                last_batch: 0,
                last_batch_in_side: [0; 2],
            })
        }
        None => {
            connection.pragma_update(None, "synchronous", "FULL")?;
            None
        }
    };
    let recorder = Recorder {
        connection,
        journaled,
        health,
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
    let mut recorded_now = 0;
    let (mut journal, replayed) = Journal::open(&path, capacity, |batch| {
        let outcomes = record_in_sqlite(connection, batch.iter())?;
        recorded_now += outcomes.iter().filter(|o| **o == Recorded::New).count();
        Ok(())
    })
    .with_context(|| format!("opening the intake journal {}", path.display()))?;
    make_durable(connection).context("syncing the database")?;
    journal
        .restart()
        .with_context(|| format!("emptying the intake journal {}", path.display()))?;
    if replayed > 0 {
        tracing::info!(
            "intake journal: {replayed} deliveries read again from {}; recorded now: {recorded_now} (the others were in the database already)",
            path.display()
        );
    }
    Ok(journal)
}

struct Recorder {
    /// Reads, to deduplicate; without a journal, also commits.
    connection: rusqlite::Connection,
    journaled: Option<Journaled>,
    health: Arc<Health>,
}

/// A recorder's journal, and what it answered that SQLite may not hold yet.
struct Journaled {
    journal: Journal,
    committer: Committer,
    /// The journal records of a group, kept between groups.
    records: Vec<u8>,
    /// The delivery ids of each batch handed to the committer and not
    /// known to be committed, oldest first.
    uncommitted: VecDeque<(u64, Vec<String>)>,
    uncommitted_ids: HashSet<String>,
    last_batch: u64,
    /// The last batch appended to each side of the journal.
    last_batch_in_side: [u64; 2],
}

impl Recorder {
    fn run(mut self, mut receiver: mpsc::Receiver<Message>) {
        let mut group = Vec::with_capacity(GROUP_LIMIT);
        while let Some(first) = receiver.blocking_recv() {
            let mut next = Some(first);
            let mut flushed = Vec::new();
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
                let recorded = match &mut self.journaled {
                    Some(journaled) => journaled.record_group(&mut self.connection, &mut group),
                    None => self.commit_group(&mut group),
                };
                self.health.set(Part::Recorder, recorded.err());
            }
            for done in flushed {
                match &self.journaled {
                    // After this group's hand-over, so it is committed too.
                    Some(journaled) => journaled.committer.flush(done),
                    None => {
                        let _ = done.send(());
                    }
                }
            }
            if let Some(done) = closing {
                if let Some(journaled) = &mut self.journaled {
                    // Kept for the next start if this fails: it replays them.
                    if let Err(error) = journaled.empty_the_journal() {
                        tracing::error!("syncing the store at shutdown: {error:#}");
                    }
                }
                let _ = done.send(());
                return;
            }
        }
        // Every sender is gone; the committer commits what it was handed.
    }

    /// Without a journal: records the group in one synced commit, then
    /// answers.
    fn commit_group(&mut self, group: &mut Vec<(NewDelivery, Answer)>) -> Result<(), String> {
        match record_in_sqlite(&mut self.connection, group.iter().map(|(d, _)| d)) {
            Ok(outcomes) => {
                for ((_, answer), outcome) in group.drain(..).zip(outcomes) {
                    let _ = answer.send(Ok(outcome));
                }
                Ok(())
            }
            Err(error) => Err(answer_all(group, &format!("{error:#}"))),
        }
    }
}

impl Journaled {
    /// Makes a group durable in the journal, deciding meanwhile which of
    /// its deliveries are new; answers each, and hands the new ones to the
    /// committer. A group larger than a side of the journal is committed
    /// and made durable in the database instead. Answers why the group
    /// could not be recorded, if it could not.
    fn record_group(
        &mut self,
        connection: &mut rusqlite::Connection,
        group: &mut Vec<(NewDelivery, Answer)>,
    ) -> Result<(), String> {
        self.forget_committed();
        // Every delivery of the group is journaled, duplicates too: the
        // duplicate check runs while the disk writes, and replaying a
        // duplicate changes nothing.
        let checked = self.journal_group(connection, group);
        // A group with a 25 MB payload does not keep its buffer.
        self.records.shrink_to(1 << 20);
        let (outcomes, in_journal) = match checked {
            Ok(checked) => checked,
            Err(error) => return Err(answer_all(group, &format!("{error:#}"))),
        };
        let mut new = Vec::new();
        let mut answers = Vec::with_capacity(group.len());
        for ((delivery, answer), outcome) in group.drain(..).zip(outcomes) {
            if outcome == Recorded::New {
                new.push(delivery);
            }
            answers.push((answer, outcome));
        }
        if in_journal {
            // Durable already: the answers go before the hand-over, which
            // wakes the committer.
            for (answer, outcome) in answers {
                let _ = answer.send(Ok(outcome));
            }
            if let Err(error) = self.hand_over(new) {
                // The journal keeps them; the next start records them.
                tracing::error!("handing deliveries to the committer: {error:#}");
                return Err(format!("{error:#}"));
            }
            return Ok(());
        }
        // Too large for the journal: durable in the database first.
        let any_new = !new.is_empty();
        let durable = self.hand_over(new).and_then(|()| match any_new {
            true => self.committer.make_durable(),
            false => Ok(()),
        });
        for (answer, outcome) in answers {
            let _ = answer.send(match &durable {
                Ok(()) => Ok(outcome),
                Err(error) => Err(format!("recording the delivery failed: {error:#}")),
            });
        }
        durable.map_err(|error| {
            tracing::error!("recording deliveries: {error:#}");
            format!("recording deliveries: {error:#}")
        })
    }

    /// Appends the group to the journal and syncs it, checking for
    /// duplicates while the disk writes; answers the check's outcomes, and
    /// whether the group is in the journal (not when it is larger than a
    /// side).
    fn journal_group(
        &mut self,
        connection: &mut rusqlite::Connection,
        group: &[(NewDelivery, Answer)],
    ) -> Result<(Vec<Recorded>, bool)> {
        self.records.clear();
        for (delivery, _) in group {
            Journal::encode(delivery, &mut self.records);
        }
        let looked_up = "looking for the deliveries in the database";
        if !self.journal.fits_in_a_side(self.records.len()) {
            let outcomes = deduplicate(connection, &self.uncommitted_ids, group);
            return Ok((outcomes.context(looked_up)?, false));
        }
        if !self.journal.fits(self.records.len()) {
            self.switch_sides()?;
        }
        let uncommitted_ids = &self.uncommitted_ids;
        let outcomes = self
            .journal
            .append(&mut self.records, || {
                deduplicate(connection, uncommitted_ids, group)
            })
            .context("syncing the intake journal")?;
        Ok((outcomes.context(looked_up)?, true))
    }

    /// Drops the ids of batches the committer has committed: from here on
    /// a read transaction sees them.
    fn forget_committed(&mut self) {
        let committed = self.committer.committed();
        while let Some((_, ids)) = self
            .uncommitted
            .pop_front_if(|(batch, _)| *batch <= committed)
        {
            for id in ids {
                self.uncommitted_ids.remove(&id);
            }
        }
    }

    /// Hands the new deliveries of a group to the committer.
    fn hand_over(&mut self, new: Vec<NewDelivery>) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        self.last_batch += 1;
        let ids = new.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
        self.uncommitted_ids.extend(ids.iter().cloned());
        self.uncommitted.push_back((self.last_batch, ids));
        self.last_batch_in_side[self.journal.side()] = self.last_batch;
        self.committer.commit(self.last_batch, new)
    }

    /// Goes on in the other side of the journal: asks for the database to
    /// be made durable for the side it leaves, and waits only if what the
    /// other side holds is not durable yet.
    fn switch_sides(&mut self) -> Result<()> {
        self.committer.make_durable_soon();
        let other = 1 - self.journal.side();
        if self.committer.durable() < self.last_batch_in_side[other] {
            self.committer.make_durable()?;
        }
        self.journal.switch_sides();
        Ok(())
    }

    /// Has the committer commit everything and make the database durable,
    /// then empties the journal, which holds nothing the database lacks.
    fn empty_the_journal(&mut self) -> Result<()> {
        self.committer.make_durable()?;
        self.journal
            .restart()
            .context("emptying the intake journal")?;
        self.last_batch_in_side = [0; 2];
        Ok(())
    }
}

/// For each delivery: new, or seen before (committed, handed over and not
/// yet committed, or earlier in the same group).
fn deduplicate(
    connection: &mut rusqlite::Connection,
    uncommitted_ids: &HashSet<String>,
    group: &[(NewDelivery, Answer)],
) -> rusqlite::Result<Vec<Recorded>> {
    // One read transaction for the group: each of its own would take and
    // drop the WAL's read locks, a few system calls each time.
    let reading = connection.transaction()?;
    let mut outcomes = Vec::with_capacity(group.len());
    {
        let mut seen = reading.prepare_cached("SELECT 1 FROM deliveries WHERE id = ?1")?;
        let mut in_group = HashSet::new();
        for (delivery, _) in group {
            let duplicate = uncommitted_ids.contains(&delivery.id)
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

/// Answers every delivery of the group with the error; answers it too.
fn answer_all(group: &mut Vec<(NewDelivery, Answer)>, error: &str) -> String {
    tracing::error!("recording deliveries: {error}");
    let error = format!("recording the delivery failed: {error}");
    for (_, answer) in group.drain(..) {
        let _ = answer.send(Err(error.clone()));
    }
    error
}
