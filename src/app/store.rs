//! The App's store: deliveries, the durable job queue and the runs ledger,
//! in SQLite (a file; created and migrated at start).
//!
//! Intake answers only once a delivery is committed to disk. Commits are
//! grouped: one writer thread takes every delivery waiting at that moment
//! and commits them in one transaction, so a burst costs one fsync, not one
//! each. The writer uses rusqlite on its own thread: with sqlx every
//! statement is a hand-off to its SQLite thread, which under load cost more
//! than the rest of the intake together (measured: a third of the CPU in
//! context switches).

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Notify, mpsc, oneshot};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/app/migrations");

/// How many deliveries one transaction takes at most.
const GROUP_LIMIT: usize = 1024;

/// A verified delivery, ready to be recorded (and queued when it has work).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub event: String,
    pub action: Option<String>,
    pub installation: Option<u64>,
    pub job: Option<NewJob>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    /// One job per key runs at a time (`owner/name#12`, `owner/name@branch`).
    pub key: String,
    /// A newer evaluation of a pull request supersedes a queued older one.
    pub evaluates: bool,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Committed; a job was queued if it had one.
    New,
    /// This delivery id was recorded before: nothing was done again.
    Duplicate,
}

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

type Pending = (NewDelivery, oneshot::Sender<Result<Recorded, String>>);

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    writer: mpsc::Sender<Pending>,
    /// Woken when a job is queued.
    pub queued: std::sync::Arc<Notify>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Store {
    /// Opens (creating and migrating) the database at `url`, e.g.
    /// `sqlite://dslp-bot.db`. Jobs left running by a process that died
    /// are queued again.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(url, true).await
    }

    /// Opens the store of a running server to look at it, without taking
    /// its running jobs back (tools and tests).
    pub async fn inspect(url: &str) -> Result<Store> {
        Store::open_with(url, false).await
    }

    async fn open_with(url: &str, recover: bool) -> Result<Store> {
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
        let path = options.get_filename().to_path_buf();
        let connection = rusqlite::Connection::open(&path)
            .with_context(|| format!("opening {} for writing", path.display()))?;
        connection.busy_timeout(Duration::from_secs(10))?;
        // FULL: a commit is on disk before intake answers.
        connection.pragma_update(None, "synchronous", "FULL")?;
        let (writer, receiver) = mpsc::channel(GROUP_LIMIT * 8);
        let queued = std::sync::Arc::new(Notify::new());
        let notify = queued.clone();
        std::thread::Builder::new()
            .name("dslp-store-writer".into())
            .spawn(move || write_groups(connection, receiver, notify))
            .context("starting the store's writer")?;
        Ok(Store {
            pool,
            writer,
            queued,
        })
    }

    /// Records a verified delivery (and queues its job) durably.
    pub async fn record(&self, delivery: NewDelivery) -> Result<Recorded> {
        let (answer, answered) = oneshot::channel();
        self.writer
            .send((delivery, answer))
            .await
            .map_err(|_| anyhow::anyhow!("the store is shutting down"))?;
        answered
            .await
            .map_err(|_| anyhow::anyhow!("the store is shutting down"))?
            .map_err(|e| anyhow::anyhow!(e))
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

    /// Waits for the writer to finish what it was given, then closes.
    pub async fn close(self) {
        drop(self.writer);
        self.pool.close().await;
    }
}

/// The writer: one transaction for every delivery waiting, then the answers.
fn write_groups(
    mut connection: rusqlite::Connection,
    mut receiver: mpsc::Receiver<Pending>,
    queued: std::sync::Arc<Notify>,
) {
    let mut group: Vec<Pending> = Vec::with_capacity(GROUP_LIMIT);
    while let Some(first) = receiver.blocking_recv() {
        group.push(first);
        while group.len() < GROUP_LIMIT {
            match receiver.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        match write_group(&mut connection, &group) {
            Ok(outcomes) => {
                let any_job = group.iter().zip(&outcomes).any(|((delivery, _), outcome)| {
                    *outcome == Recorded::New && delivery.job.is_some()
                });
                for ((_, answer), outcome) in group.drain(..).zip(outcomes) {
                    let _ = answer.send(Ok(outcome));
                }
                if any_job {
                    queued.notify_waiters();
                    queued.notify_one();
                }
            }
            Err(error) => {
                let message = format!("recording the delivery failed: {error}");
                tracing::error!("{message}");
                for (_, answer) in group.drain(..) {
                    let _ = answer.send(Err(message.clone()));
                }
            }
        }
    }
}

fn write_group(
    connection: &mut rusqlite::Connection,
    group: &[Pending],
) -> rusqlite::Result<Vec<Recorded>> {
    let now = now_ms();
    let tx = connection.transaction()?;
    let mut outcomes = Vec::with_capacity(group.len());
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
        for (delivery, _) in group {
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
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (dir, Store::open(&url).await.unwrap())
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
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&url).await.unwrap();
        store.record(delivery("a", "o/r#1", true)).await.unwrap();
        let job = store.claim().await.unwrap().unwrap();
        assert_eq!(job.attempts, 1);
        store.close().await;
        let store = Store::open(&url).await.unwrap();
        let again = store.claim().await.unwrap().unwrap();
        assert_eq!((again.id, again.attempts), (job.id, 2));
    }

    #[tokio::test]
    async fn a_failed_attempt_waits_its_delay() {
        let (_dir, store) = store().await;
        store.record(delivery("a", "o/r#1", true)).await.unwrap();
        let job = store.claim().await.unwrap().unwrap();
        store
            .retry_or_fail(&job, "502", Some(Duration::from_secs(60)))
            .await
            .unwrap();
        assert!(store.claim().await.unwrap().is_none());
        assert!(store.next_ready_at().await.unwrap().unwrap() > now_ms() + 50_000);
    }
}
