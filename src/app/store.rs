//! The App's store: deliveries, the durable job queue and the runs ledger,
//! in SQLite (a file; created and migrated at start).
//!
//! Deliveries are recorded by one thread, the recorder
//! ([`crate::app::intake::recorder`]), which answers once they are on disk; jobs
//! and the ledger are read and updated through an sqlx pool.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Notify, mpsc, oneshot};

pub use crate::app::delivery::{Health, NewDelivery, NewJob, Recorded};
use crate::app::intake::recorder::{self, Journaling, Message};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/app/migrations");

/// A job taken from the queue.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub key: String,
    pub event: String,
    pub payload: Vec<u8>,
    pub installation: Option<u64>,
    pub attempts: u32,
}

/// One evidence run, for the ledger.
#[derive(Debug, Clone)]
pub struct Run {
    pub repository: String,
    pub pull_request: u64,
    pub head_ref: String,
    pub head_commit: String,
    pub base_commit: String,
    pub verdict: String,
    pub metrics: serde_json::Value,
    pub stamps: serde_json::Value,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    recorder: mpsc::Sender<Message>,
    /// Woken when a job is queued.
    pub queued: std::sync::Arc<Notify>,
    health: std::sync::Arc<Health>,
}

pub use crate::timestamp::now_ms;

impl Store {
    /// Opens (creating and migrating) the database at `url`, e.g.
    /// `sqlite://dslp-bot.db`, with an intake journal of the default size.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(url, Some(Journaling::default())).await
    }

    /// As [`Store::open`], with its own intake journal settings (the
    /// journal is `<database>-intake`). Deliveries the journal holds are
    /// recorded again, which is idempotent, and jobs left running by a
    /// process that died are queued again.
    pub async fn open_journaled(url: &str, journaling: Journaling) -> Result<Store> {
        Store::open_with(url, Some(journaling)).await
    }

    /// Opens the store of a running server to look at it, without taking
    /// its running jobs back or its journal (tools and tests). What it
    /// records is synced at each commit.
    pub async fn inspect(url: &str) -> Result<Store> {
        Store::open_with(url, None).await
    }

    async fn open_with(url: &str, journaling: Option<Journaling>) -> Result<Store> {
        let recover = journaling.is_some();
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("DATABASE_URL `{url}` is not a SQLite URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before intake answers.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening the database {url}"))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("migrating the database")?;
        if recover {
            sqlx::query("UPDATE jobs SET state = 'queued', updated_at = ? WHERE state = 'running'")
                .bind(now_ms())
                .execute(&pool)
                .await?;
        }
        let queued = std::sync::Arc::new(Notify::new());
        let health = std::sync::Arc::new(Health::default());
        let recorder = recorder::start(
            options.get_filename(),
            journaling,
            queued.clone(),
            health.clone(),
        )?;
        Ok(Store {
            pool,
            recorder,
            queued,
            health,
        })
    }

    /// Records a verified delivery (and queues its job) durably. Its job
    /// reaches the queue a moment later ([`Journaling::commit_every`]), or
    /// at [`Store::flush`].
    pub async fn record(&self, delivery: NewDelivery) -> Result<Recorded> {
        self.ask(|answer| Message::Record(delivery, answer))
            .await?
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Sends the recorder a message with a reply channel; waits for the reply.
    async fn ask<T>(&self, message: impl FnOnce(oneshot::Sender<T>) -> Message) -> Result<T> {
        let shutting_down = || anyhow::anyhow!("the store is shutting down");
        let (reply, replied) = oneshot::channel();
        self.recorder
            .send(message(reply))
            .await
            .map_err(|_| shutting_down())?;
        replied.await.map_err(|_| shutting_down())
    }

    /// Takes the oldest ready job whose key has none running.
    pub async fn claim(&self) -> Result<Option<Job>> {
        let now = now_ms();
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ?1
             WHERE id = (
                SELECT j.id FROM jobs j
                WHERE j.state = 'queued' AND j.next_attempt_at <= ?1
                  AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.key = j.key AND r.state = 'running')
                ORDER BY j.id LIMIT 1)
             RETURNING id, key, event, payload, installation_id, attempts",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| Job {
            id: row.get("id"),
            key: row.get("key"),
            event: row.get("event"),
            payload: row.get("payload"),
            installation: row
                .get::<Option<i64>, _>("installation_id")
                .map(|i| i as u64),
            attempts: row.get::<i64, _>("attempts") as u32,
        }))
    }

    /// When the next queued job becomes ready, if any is waiting.
    pub async fn next_ready_at(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query("SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'queued'")
                .fetch_one(&self.pool)
                .await?
                .get::<Option<i64>, _>(0),
        )
    }

    pub async fn finish(&self, job: &Job) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'done', last_error = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(now_ms())
        .bind(job.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queues the job again after `delay`, or, with no delay, gives it up.
    pub async fn retry_or_fail(
        &self,
        job: &Job,
        error: &str,
        delay: Option<Duration>,
    ) -> Result<()> {
        let now = now_ms();
        let (state, next) = match delay {
            Some(delay) => ("queued", now + delay.as_millis() as i64),
            None => ("failed", now),
        };
        sqlx::query(
            "UPDATE jobs SET state = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(next)
        .bind(error)
        .bind(now)
        .bind(job.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn record_run(&self, run: &Run) -> Result<()> {
        sqlx::query(
            "INSERT INTO runs (repository, pull_request, head_ref, head_commit, base_commit, verdict, metrics, stamps, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&run.repository)
        .bind(run.pull_request as i64)
        .bind(&run.head_ref)
        .bind(&run.head_commit)
        .bind(&run.base_commit)
        .bind(&run.verdict)
        .bind(run.metrics.to_string())
        .bind(run.stamps.to_string())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The runs of a repository's pull request, oldest first.
    pub async fn runs(&self, repository: &str) -> Result<Vec<Run>> {
        let rows = sqlx::query(
            "SELECT repository, pull_request, head_ref, head_commit, base_commit, verdict, metrics, stamps
             FROM runs WHERE repository = ? ORDER BY id",
        )
        .bind(repository)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| Run {
                repository: row.get("repository"),
                pull_request: row.get::<i64, _>("pull_request") as u64,
                head_ref: row.get("head_ref"),
                head_commit: row.get("head_commit"),
                base_commit: row.get("base_commit"),
                verdict: row.get("verdict"),
                metrics: serde_json::from_str(&row.get::<String, _>("metrics")).unwrap_or_default(),
                stamps: serde_json::from_str(&row.get::<String, _>("stamps")).unwrap_or_default(),
            })
            .collect())
    }

    /// Jobs by state, for `/metrics` and the tests.
    pub async fn jobs_by_state(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// How many deliveries have been recorded.
    pub async fn delivery_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM deliveries")
            .fetch_one(&self.pool)
            .await?
            .get(0))
    }

    /// Whether a delivery id has been recorded.
    pub async fn has_delivery(&self, id: &str) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM deliveries WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Whether the store can record deliveries and hand out jobs: the
    /// recorder's and the committer's last attempts succeeded, and the
    /// database answers a read within two seconds.
    pub async fn healthy(&self) -> Result<()> {
        if let Some(problem) = self.health.problem() {
            anyhow::bail!("{problem}");
        }
        let read =
            sqlx::query("SELECT COUNT(*) FROM jobs WHERE state = 'running'").fetch_one(&self.pool);
        match tokio::time::timeout(Duration::from_secs(2), read).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(anyhow::anyhow!("the store cannot be read: {error}")),
            Err(_) => Err(anyhow::anyhow!(
                "the store did not answer a read within 2 s"
            )),
        }
    }

    /// Waits until every delivery answered so far is in the queue.
    pub async fn flush(&self) -> Result<()> {
        self.ask(Message::Flush).await
    }

    /// Commits what was answered, makes the database durable, and closes.
    /// Deliveries sent afterwards are refused.
    pub async fn close(self) {
        // A recorder already gone has nothing left to commit.
        let _ = self.ask(Message::Close).await;
        self.pool.close().await;
    }
}

pub mod schedules;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::app::intake::journal::Journal;
    use crate::app::intake::recorder::journal_path;

    fn delivery(id: &str, key: &str, evaluates: bool) -> NewDelivery {
        NewDelivery {
            id: id.into(),
            event: "pull_request".into(),
            action: Some("synchronize".into()),
            installation: Some(7),
            job: Some(NewJob {
                key: key.into(),
                evaluates,
                payload: b"{}".to_vec(),
            }),
        }
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&url(dir.path(), "t.db")).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_delivery_is_recorded_once() {
        let (_dir, store) = store().await;
        assert_eq!(
            store.record(delivery("a", "o/r#1", true)).await.unwrap(),
            Recorded::New
        );
        assert_eq!(
            store.record(delivery("a", "o/r#1", true)).await.unwrap(),
            Recorded::Duplicate
        );
        store.flush().await.unwrap();
        assert_eq!(
            store.jobs_by_state().await.unwrap(),
            vec![("queued".into(), 1)]
        );
    }

    #[tokio::test]
    async fn a_newer_evaluation_supersedes_a_queued_one_and_keys_run_one_at_a_time() {
        let (_dir, store) = store().await;
        store.record(delivery("a", "o/r#1", true)).await.unwrap();
        store.record(delivery("b", "o/r#1", true)).await.unwrap();
        store.record(delivery("c", "o/r#1", false)).await.unwrap();
        store.record(delivery("d", "o/r#2", true)).await.unwrap();
        store.flush().await.unwrap();
        let first = store.claim().await.unwrap().unwrap();
        assert_eq!(first.key, "o/r#1");
        // #1 is running: the next claim skips its queued comment job.
        let second = store.claim().await.unwrap().unwrap();
        assert_eq!(second.key, "o/r#2");
        assert!(store.claim().await.unwrap().is_none());
        store.finish(&first).await.unwrap();
        let third = store.claim().await.unwrap().unwrap();
        assert_eq!((third.key.as_str(), third.id), ("o/r#1", 3));
        let states = store.jobs_by_state().await.unwrap();
        assert!(states.contains(&("superseded".into(), 1)), "{states:?}");
    }

    #[tokio::test]
    async fn running_jobs_are_queued_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(dir.path(), "t.db");
        let store = Store::open(&url).await.unwrap();
        store.record(delivery("a", "o/r#1", true)).await.unwrap();
        store.flush().await.unwrap();
        let job = store.claim().await.unwrap().unwrap();
        assert_eq!(job.attempts, 1);
        store.close().await;
        let store = Store::open(&url).await.unwrap();
        let again = store.claim().await.unwrap().unwrap();
        assert_eq!((again.id, again.attempts), (job.id, 2));
    }

    /// Answered deliveries reach the queue on their own within moments,
    /// and a close commits what is still waiting and empties the journal.
    #[tokio::test]
    async fn answered_deliveries_are_committed_by_the_timer_and_at_close() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_small_journal(dir.path(), 1 << 16).await;
        let queued = store.queued.clone();
        let woken = queued.notified();
        store.record(delivery("a", "o/r#1", true)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), woken)
            .await
            .expect("the workers are woken once the job is committed");
        assert_eq!(
            store.jobs_by_state().await.unwrap(),
            vec![("queued".into(), 1)]
        );
        store.record(delivery("b", "o/r#2", true)).await.unwrap();
        store.close().await;
        let inspected = Store::inspect(&url(dir.path(), "t.db")).await.unwrap();
        assert_eq!(inspected.delivery_count().await.unwrap(), 2);
        // The next start has nothing to read again.
        let journal = journal_path(&dir.path().join("t.db"));
        let (_, held) = Journal::open(&journal, 1 << 16, |_| Ok(())).unwrap();
        assert_eq!(held, 0);
    }

    /// A redelivery is known whether its first copy waits for the
    /// committer, is being committed, or is committed: with a commit every
    /// millisecond, copies sent at every distance from their first are
    /// each a duplicate, and each delivery is recorded once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_redelivery_is_a_duplicate_at_every_moment_of_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let journaling = Journaling {
            commit_every: Duration::from_millis(1),
            ..small_journal(4 << 20)
        };
        let store = std::sync::Arc::new(
            Store::open_journaled(&url(dir.path(), "t.db"), journaling)
                .await
                .unwrap(),
        );
        let sent = 600;
        let senders: Vec<_> = (0..4)
            .map(|lane| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut outcomes = Vec::new();
                    for i in (lane..sent).step_by(4) {
                        let id = format!("d{i}");
                        let key = format!("o/r#{i}");
                        outcomes.push(store.record(delivery(&id, &key, true)).await.unwrap());
                        // Later copies, further and further from the first.
                        tokio::time::sleep(Duration::from_micros((i % 7) as u64 * 300)).await;
                        outcomes.push(store.record(delivery(&id, &key, true)).await.unwrap());
                    }
                    outcomes
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for sender in senders {
            outcomes.extend(sender.await.unwrap());
        }
        let new = outcomes.iter().filter(|o| **o == Recorded::New).count();
        assert_eq!((new, outcomes.len() - new), (sent, sent));
        store.flush().await.unwrap();
        assert_eq!(store.delivery_count().await.unwrap(), sent as i64);
        assert_eq!(
            store.jobs_by_state().await.unwrap(),
            vec![("queued".into(), sent as i64)]
        );
    }

    /// The store `t.db` in `dir`, with a journal of `journal_bytes`.
    async fn with_small_journal(dir: &Path, journal_bytes: u64) -> Store {
        Store::open_journaled(&url(dir, "t.db"), small_journal(journal_bytes))
            .await
            .unwrap()
    }

    fn small_journal(journal_bytes: u64) -> Journaling {
        Journaling {
            journal_bytes,
            ..Journaling::default()
        }
    }

    fn url(dir: &Path, name: &str) -> String {
        format!("sqlite://{}", dir.join(name).display())
    }

    /// What a power cut can leave: a journal whose deliveries the database
    /// never got. They are recorded at start, once, in their order.
    #[tokio::test]
    async fn deliveries_only_in_the_journal_are_recorded_at_start_once() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("t.db");
        let (mut journal, _) =
            Journal::open(&journal_path(&database), 1 << 16, |_| Ok(())).unwrap();
        let mut records = Vec::new();
        for d in [
            delivery("a", "o/r#1", true),
            delivery("b", "o/r#1", true),
            NewDelivery {
                job: None,
                ..delivery("ping", "", false)
            },
        ] {
            Journal::encode(&d, &mut records);
        }
        journal.append(&mut records, || ()).unwrap();
        drop(journal);
        let store = Store::open(&url(dir.path(), "t.db")).await.unwrap();
        assert_eq!(store.delivery_count().await.unwrap(), 3);
        let states = store.jobs_by_state().await.unwrap();
        assert_eq!(
            states,
            vec![("queued".into(), 1), ("superseded".into(), 1)],
            "the journal's order is kept: b supersedes a"
        );
        store.close().await;
        let store = Store::open(&url(dir.path(), "t.db")).await.unwrap();
        assert_eq!(store.delivery_count().await.unwrap(), 3);
        assert_eq!(store.jobs_by_state().await.unwrap(), states);
    }

    /// The journal of a running store holds what it answered since the
    /// last time the database was made durable: a fresh database given
    /// only that journal gets exactly those deliveries.
    #[tokio::test]
    async fn a_full_journal_starts_again_once_the_database_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_small_journal(dir.path(), 8 << 10).await;
        for i in 0..100 {
            store
                .record(delivery(&format!("d-{i:03}"), &format!("o/r#{i}"), true))
                .await
                .unwrap();
        }
        store.flush().await.unwrap();
        assert_eq!(store.delivery_count().await.unwrap(), 100);
        let journal = journal_path(&dir.path().join("t.db"));
        assert_eq!(std::fs::metadata(&journal).unwrap().len(), 8 << 10);
        std::fs::copy(&journal, journal_path(&dir.path().join("u.db"))).unwrap();
        let fresh = Store::open(&url(dir.path(), "u.db")).await.unwrap();
        let held = fresh.delivery_count().await.unwrap();
        assert!(0 < held && held < 100, "{held} deliveries in the journal");
        // The latest ones, with no gap: both sides, the older first.
        for i in 0..100 {
            let id = format!("d-{i:03}");
            assert_eq!(fresh.has_delivery(&id).await.unwrap(), i >= 100 - held);
        }
        // The store itself lost nothing at the restarts.
        store.close().await;
        let store = with_small_journal(dir.path(), 8 << 10).await;
        assert_eq!(store.delivery_count().await.unwrap(), 100);
        assert_eq!(
            store.jobs_by_state().await.unwrap(),
            vec![("queued".into(), 100)]
        );
    }

    /// A delivery larger than a side of the journal is made durable in
    /// the database before its answer, and the journal goes on.
    #[tokio::test]
    async fn a_delivery_larger_than_a_side_of_the_journal_is_synced_in_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_small_journal(dir.path(), 8 << 10).await;
        store
            .record(delivery("small", "o/r#1", true))
            .await
            .unwrap();
        let mut large = delivery("large", "o/r#2", true);
        large.job.as_mut().unwrap().payload = vec![b' '; 6 << 10];
        assert_eq!(store.record(large).await.unwrap(), Recorded::New);
        store
            .record(delivery("after", "o/r#3", true))
            .await
            .unwrap();
        // What a kill leaves: the journal, and a database without a sync.
        let journal = journal_path(&dir.path().join("t.db"));
        let (_, held) = Journal::open(&journal, 8 << 10, |_| Ok(())).unwrap();
        assert_eq!(held, 2, "the small ones are in the journal");
        let inspected = Store::inspect(&url(dir.path(), "t.db")).await.unwrap();
        assert!(inspected.has_delivery("large").await.unwrap());
        store.close().await;
    }

    #[tokio::test]
    async fn a_failed_attempt_waits_its_delay() {
        let (_dir, store) = store().await;
        store.record(delivery("a", "o/r#1", true)).await.unwrap();
        store.flush().await.unwrap();
        let job = store.claim().await.unwrap().unwrap();
        store
            .retry_or_fail(&job, "502", Some(Duration::from_secs(60)))
            .await
            .unwrap();
        assert!(store.claim().await.unwrap().is_none());
        assert!(store.next_ready_at().await.unwrap().unwrap() > now_ms() + 50_000);
    }
}
