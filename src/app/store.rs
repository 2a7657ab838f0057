//! The App's store: deliveries, the durable job queue, the runs ledger and
//! the monitoring schedules. SQLite by default (a file, created and
//! migrated at start; [`sqlite`]), or PostgreSQL shared by many replicas
//! ([`postgres`]), chosen by `DATABASE_URL`'s scheme.
//!
//! Statements that read the same in both dialects are written once here
//! (`$N` numbers parameters in SQLite as in PostgreSQL); recording,
//! claiming and ending jobs differ and live with their backend.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use sqlx::Row;
use tokio::sync::Notify;

pub use crate::app::delivery::{Health, NewDelivery, NewJob, Recorded};
use crate::app::intake::recorder::Journaling;

pub mod copy;
mod job;
mod postgres;
pub mod schedules;
mod sqlite;

pub use crate::timestamp::now_ms;
use job::run_from_row;
pub use job::{Job, Run};

/// How long a claimed job is a replica's without a renewal, by default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Woken when a job is queued (on PostgreSQL, by any replica).
    pub queued: Arc<Notify>,
    health: Arc<Health>,
}

/// Runs `$body` with `$pool` bound to whichever pool the store has: for
/// statements both dialects read alike.
macro_rules! each_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite(db) => {
                let $pool = &db.pool;
                $body
            }
            Backend::Postgres(db) => {
                let $pool = db.pool();
                $body
            }
        }
    };
}
pub(crate) use each_pool;

/// Which database a `DATABASE_URL` names.
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Store {
    /// Opens (creating and migrating) the database at `url`, e.g.
    /// `sqlite://dslp-bot.db` or `postgres://user@host/db`, with an intake
    /// journal of the default size for SQLite.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(url, Some(Journaling::default()), DEFAULT_LEASE).await
    }

    /// As [`Store::open`], with its own intake journal settings (SQLite:
    /// the journal is `<database>-intake`; deliveries it holds are recorded
    /// again, which is idempotent, and jobs left running by a process that
    /// died are queued again) and job lease (PostgreSQL: a job whose
    /// replica stops renewing its lease for that long is queued again).
    pub async fn open_journaled(
        url: &str,
        journaling: Journaling,
        lease: Duration,
    ) -> Result<Store> {
        Store::open_with(url, Some(journaling), lease).await
    }

    /// Opens the store of a running server to look at it, without taking
    /// its running jobs back or its journal (tools and tests).
    pub async fn inspect(url: &str) -> Result<Store> {
        Store::open_with(url, None, DEFAULT_LEASE).await
    }

    async fn open_with(
        url: &str,
        journaling: Option<Journaling>,
        lease: Duration,
    ) -> Result<Store> {
        let queued = Arc::new(Notify::new());
        let health = Arc::new(Health::default());
        let backend = if is_postgres(url) {
            Backend::Postgres(postgres::Postgres::open(url, lease, queued.clone()).await?)
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite(
                sqlite::Sqlite::open(url, journaling, queued.clone(), health.clone()).await?,
            )
        } else {
            anyhow::bail!(
                "DATABASE_URL `{}` names no database dslp-bot knows: use sqlite://FILE (one \
                 replica, the default) or postgres://USER@HOST/DATABASE (many replicas)",
                postgres::redact(url)
            )
        };
        Ok(Store {
            backend,
            queued,
            health,
        })
    }

    /// Records a verified delivery (and queues its job) durably. With
    /// SQLite its job reaches the queue a moment later
    /// ([`Journaling::commit_every`]), or at [`Store::flush`].
    pub async fn record(&self, delivery: NewDelivery) -> Result<Recorded> {
        match &self.backend {
            Backend::Sqlite(db) => db.record(delivery).await,
            Backend::Postgres(db) => db.record(delivery).await,
        }
    }

    /// Takes the oldest ready job whose key has none running (on
    /// PostgreSQL: of the installation that waited longest).
    pub async fn claim(&self) -> Result<Option<Job>> {
        match &self.backend {
            Backend::Sqlite(db) => db.claim().await,
            Backend::Postgres(db) => db.claim().await,
        }
    }

    /// Keeps a running job this replica's; `false` when it is no longer
    /// (its lease ran out and it was claimed again): stop working on it.
    pub async fn renew(&self, job: &Job) -> Result<bool> {
        match &self.backend {
            // One process: nobody else takes its jobs while it runs.
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(db) => db.renew(job).await,
        }
    }

    /// How often a running job's lease is renewed.
    pub fn renew_every(&self) -> Option<Duration> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => Some(db.lease() / 3),
        }
    }

    /// When the next queued job becomes ready (or a lease runs out), if any.
    pub async fn next_ready_at(&self) -> Result<Option<i64>> {
        match &self.backend {
            Backend::Sqlite(db) => db.next_ready_at().await,
            Backend::Postgres(db) => db.next_ready_at().await,
        }
    }

    pub async fn finish(&self, job: &Job) -> Result<()> {
        self.end(job, "done", now_ms(), None).await
    }

    /// Queues the job again after `delay`, or, with no delay, gives it up.
    pub async fn retry_or_fail(
        &self,
        job: &Job,
        error: &str,
        delay: Option<Duration>,
    ) -> Result<()> {
        let now = now_ms();
        match delay {
            Some(delay) => {
                let next = now + delay.as_millis() as i64;
                self.end(job, "queued", next, Some(error)).await
            }
            None => self.end(job, "failed", now, Some(error)).await,
        }
    }

    /// Ends this claim of `job`; a claim that is no longer current (its
    /// lease ran out) changes nothing, and says so in the log.
    async fn end(&self, job: &Job, state: &str, next: i64, error: Option<&str>) -> Result<()> {
        // The claim's attempt number is its token (a lease that ran out
        // gave the job another); a PostgreSQL lease left on an ended job
        // is never read again (only running jobs' leases are).
        const END: &str =
            "UPDATE jobs SET state = $1, next_attempt_at = $2, last_error = $3, updated_at = $4
             WHERE id = $5 AND attempts = $6 AND state = 'running'";
        let ended = each_pool!(self, |pool| sqlx::query(END)
            .bind(state)
            .bind(next)
            .bind(error)
            .bind(now_ms())
            .bind(job.id)
            .bind(job.attempts as i64)
            .execute(pool)
            .await?
            .rows_affected())
            == 1;
        if !ended {
            tracing::warn!(
                job = job.id,
                "the job was claimed again after this replica's lease ran out: its end here is not recorded"
            );
        }
        Ok(())
    }

    /// Whether this replica runs the once-per-App duties (the redelivery
    /// sweep, the monitoring schedules): always with SQLite, one replica at
    /// a time with PostgreSQL.
    pub async fn lead(&self) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(db) => db.lead().await,
        }
    }

    /// Keeps what GitHub last said of an installation's rate limit, where
    /// replicas share it (PostgreSQL): below a floor, every replica leaves
    /// that installation's jobs queued until the reset.
    pub async fn keep_rate_limit(
        &self,
        installation: u64,
        remaining: i64,
        reset_at: i64,
    ) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.keep_rate_limit(installation, remaining, reset_at).await,
        }
    }

    /// Queues a job a worker asked for (not a delivery from GitHub), ready
    /// at `at` (unix ms); once per `delivery.id`. Straight to the
    /// database: no answer waits for it, so it skips the intake journal.
    pub async fn queue_later(&self, delivery: &NewDelivery, at: i64) -> Result<Recorded> {
        const DELIVERY: &str =
            "INSERT INTO deliveries (id, event, action, installation_id, received_at, queued)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";
        const JOB: &str = "INSERT INTO jobs (delivery_id, key, kind, event, payload, installation_id, state, attempts, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, 'other', $3, $4, $5, 'queued', 0, $6, $7, $7)";
        let now = now_ms();
        let installation = delivery.installation.map(|i| i as i64);
        let recorded = each_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(DELIVERY)
                .bind(&delivery.id)
                .bind(&delivery.event)
                .bind(&delivery.action)
                .bind(installation)
                .bind(now)
                .bind(delivery.job.is_some())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if let (true, Some(job)) = (inserted, &delivery.job) {
                sqlx::query(JOB)
                    .bind(&delivery.id)
                    .bind(&job.key)
                    .bind(&delivery.event)
                    .bind(&job.payload)
                    .bind(installation)
                    .bind(at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            if inserted {
                Recorded::New
            } else {
                Recorded::Duplicate
            }
        });
        self.queued.notify_waiters();
        Ok(recorded)
    }

    pub async fn record_run(&self, run: &Run) -> Result<()> {
        each_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO runs (repository, pull_request, head_ref, head_commit, base_commit, verdict, metrics, stamps, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        .execute(pool)
        .await
        .map(drop)
        })?;
        Ok(())
    }

    /// The runs of a repository's pull requests, oldest first.
    pub async fn runs(&self, repository: &str) -> Result<Vec<Run>> {
        const SQL: &str = "SELECT repository, pull_request, head_ref, head_commit, base_commit, verdict, metrics, stamps
             FROM runs WHERE repository = $1 ORDER BY id";
        let runs = each_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(repository).fetch_all(pool).await?;
            rows.iter().map(|row| run_from_row!(row)).collect()
        });
        Ok(runs)
    }

    /// Jobs by state, for `/metrics` and the tests.
    pub async fn jobs_by_state(&self) -> Result<Vec<(String, i64)>> {
        const SQL: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state";
        Ok(each_pool!(self, |pool| sqlx::query(SQL)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()))
    }

    /// How many deliveries have been recorded.
    pub async fn delivery_count(&self) -> Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM deliveries";
        Ok(each_pool!(self, |pool| sqlx::query(SQL)
            .fetch_one(pool)
            .await?
            .get(0)))
    }

    /// Whether a delivery id has been recorded.
    pub async fn has_delivery(&self, id: &str) -> Result<bool> {
        const SQL: &str = "SELECT 1 FROM deliveries WHERE id = $1";
        Ok(each_pool!(self, |pool| sqlx::query(SQL)
            .bind(id)
            .fetch_optional(pool)
            .await?
            .is_some()))
    }

    /// Whether the store can record deliveries and hand out jobs: (SQLite)
    /// the recorder's and the committer's last attempts succeeded, and the
    /// database answers a read within two seconds.
    pub async fn healthy(&self) -> Result<()> {
        if let Some(problem) = self.health.problem() {
            anyhow::bail!("{problem}");
        }
        const SQL: &str = "SELECT COUNT(*) FROM jobs WHERE state = 'running'";
        let read = async {
            each_pool!(self, |pool| sqlx::query(SQL)
                .fetch_one(pool)
                .await
                .map(drop))
        };
        match tokio::time::timeout(Duration::from_secs(2), read).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(anyhow::anyhow!("the store cannot be read: {error}")),
            Err(_) => Err(anyhow::anyhow!(
                "the store did not answer a read within 2 s"
            )),
        }
    }

    /// Waits until every delivery answered so far is in the queue.
    pub async fn flush(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(db) => db.flush().await,
            // Answered means committed.
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// Commits what was answered, makes the database durable, and closes.
    /// Deliveries sent afterwards are refused.
    pub async fn close(self) {
        match self.backend {
            Backend::Sqlite(db) => db.close().await,
            Backend::Postgres(db) => db.close().await,
        }
    }
}

#[cfg(test)]
mod sqlite_tests;
