//! The store in PostgreSQL, shared by many replicas of the App.
//!
//! - A delivery is one short transaction; the `deliveries` key makes a
//!   redelivery a duplicate on whichever replica it reaches. No intake
//!   journal: PostgreSQL syncs its WAL at each commit and groups the syncs
//!   of concurrent commits itself.
//! - A job is claimed with `FOR UPDATE SKIP LOCKED` under a lease its
//!   worker renews; a lease that runs out puts the job back in the queue,
//!   and the claim's attempt number is its token, so the replica that lost
//!   it can neither renew nor end it.
//! - One replica at a time leads (a session advisory lock, released by
//!   PostgreSQL when its connection dies): it runs the redelivery sweep
//!   and the monitoring schedules.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Row};
use tokio::sync::{Mutex, Notify};

use super::job::{Job, job_from_row};
use crate::app::delivery::{NewDelivery, Recorded};
use crate::timestamp::now_ms;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/app/migrations-postgres");

/// Workers of every replica listen here for new jobs.
const CHANNEL: &str = "dslp_jobs";
/// The advisory lock the leading replica holds.
const LEADER_LOCK: i64 = 0x0d51_7000_0001;
/// Below this many calls left, an installation's jobs wait for its reset.
pub(super) const RATE_LIMIT_FLOOR: i64 = 100;

#[derive(Clone)]
pub(super) struct Postgres {
    pool: PgPool,
    /// Where jobs are claimed: commits that do not wait for the disk.
    claims: PgPool,
    options: PgConnectOptions,
    lease: Duration,
    /// The connection holding the leader lock, while this replica leads.
    leader: Arc<Mutex<Option<PgConnection>>>,
    /// When (unix ms) leases were last looked at.
    reaped: Arc<std::sync::atomic::AtomicI64>,
}

impl Postgres {
    pub(super) async fn open(url: &str, lease: Duration, queued: Arc<Notify>) -> Result<Postgres> {
        let options = PgConnectOptions::from_str(url)
            .with_context(|| format!("DATABASE_URL is not a PostgreSQL URL: {}", redact(url)))?;
        // One connection first: its error names the cause (refused, a
        // wrong password, no such database), where the pool's says only
        // that it timed out.
        let probe = PgConnection::connect_with(&options).await.with_context(|| {
            format!(
                "connecting to PostgreSQL at {} (DATABASE_URL): is the server up, and are the host, user, password and database right?",
                redact(url)
            )
        })?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))?;
        let claims = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone().options([("synchronous_commit", "off")]))
            .await?;
        // sqlx holds an advisory lock while it migrates: replicas starting
        // together migrate once.
        MIGRATOR
            .run(&pool)
            .await
            .context("migrating the PostgreSQL store")?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        tokio::spawn(async move {
            // A lost connection is re-established by the listener; the
            // workers also poll, so a missed wake-up only delays.
            while let Ok(_notification) = listener.recv().await {
                queued.notify_waiters();
            }
        });
        Ok(Postgres {
            pool,
            options,
            lease,
            claims,
            leader: Arc::new(Mutex::new(None)),
            reaped: Arc::new(std::sync::atomic::AtomicI64::new(0)),
        })
    }

    /// One statement: the delivery, the older queued evaluation it
    /// supersedes, its job, the workers' wake-up. A push to a pull request
    /// first takes the key's lock in a transaction, so two replicas
    /// recording pushes to one pull request take turns and the newer
    /// always sees (and supersedes) the older.
    pub(super) async fn record(&self, delivery: NewDelivery) -> Result<Recorded> {
        const RECORD: &str = "WITH d AS (
                INSERT INTO deliveries (id, event, action, installation_id, received_at, queued)
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id),
             superseded AS (
                UPDATE jobs SET state = 'superseded', updated_at = $5
                WHERE $7 AND key = $8 AND kind = 'evaluate' AND state = 'queued'
                  AND EXISTS (SELECT 1 FROM d)),
             queued AS (
                INSERT INTO jobs (delivery_id, key, kind, event, payload, installation_id, state, attempts, next_attempt_at, created_at, updated_at)
                SELECT $1, $8, $9, $2, $10, $4, 'queued', 0, $5, $5, $5 FROM d WHERE $6
                RETURNING id),
             woken AS (SELECT pg_notify($11, '') FROM queued)
             SELECT (SELECT COUNT(*) FROM d), (SELECT COUNT(*) FROM woken)";
        let job = delivery.job.as_ref();
        let evaluates = job.is_some_and(|j| j.evaluates);
        let query = sqlx::query(RECORD)
            .bind(&delivery.id)
            .bind(&delivery.event)
            .bind(&delivery.action)
            .bind(delivery.installation.map(|i| i as i64))
            .bind(now_ms())
            .bind(job.is_some())
            .bind(evaluates)
            .bind(job.map_or("", |j| j.key.as_str()))
            .bind(if evaluates { "evaluate" } else { "other" })
            .bind(job.map_or(&[][..], |j| j.payload.as_slice()))
            .bind(CHANNEL);
        let row = match job.filter(|_| evaluates) {
            Some(job) => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(&job.key)
                    .execute(&mut *tx)
                    .await?;
                let row = query.fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row
            }
            None => query.fetch_one(&self.pool).await?,
        };
        Ok(match row.get::<i64, _>(0) {
            1 => Recorded::New,
            _ => Recorded::Duplicate,
        })
    }

    /// Takes the ready job of the installation that waited longest, whose
    /// key has none running, and whose installation has calls left.
    pub(super) async fn claim(&self) -> Result<Option<Job>> {
        let now = now_ms();
        // Leases are looked at four times a second, not at every claim.
        let last = self.reaped.load(std::sync::atomic::Ordering::Relaxed);
        if now - last >= 250 {
            self.reaped.store(now, std::sync::atomic::Ordering::Relaxed);
            self.reap(now).await?;
        }
        // Another replica may claim the same key's other job at the same
        // moment: the unique index refuses the second, which tries again.
        for _ in 0..5 {
            match self.try_claim(now).await {
                Err(error) if is_unique_violation(&error) => continue,
                claimed => return claimed,
            }
        }
        Ok(None)
    }

    /// Queues again the jobs whose replica stopped renewing their lease.
    async fn reap(&self, now: i64) -> Result<()> {
        let expired = sqlx::query(
            "UPDATE jobs SET state = 'queued', leased_by = NULL, updated_at = $1
             WHERE state = 'running' AND lease_until < $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if expired > 0 {
            tracing::warn!(
                "{expired} job(s) whose replica stopped renewing its lease are queued again"
            );
        }
        Ok(())
    }

    /// One statement, on a connection that does not wait for the disk: a
    /// claim lost in a crash leaves its job queued, to run again (the
    /// job's end waits for the disk).
    async fn try_claim(&self, now: i64) -> Result<Option<Job>> {
        // Installations in turn; for each, its oldest ready job whose key
        // has none running, through `jobs_by_installation`: the first
        // installation that has one gives the job, and its turn moves on.
        let row = sqlx::query(
            "WITH candidate AS (
                SELECT c.id, t.installation_id AS turn FROM turns t
                CROSS JOIN LATERAL (
                    SELECT j.id FROM jobs j
                    WHERE COALESCE(j.installation_id, 0) = t.installation_id
                      AND j.state = 'queued' AND j.next_attempt_at <= $1
                      AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.key = j.key AND r.state = 'running')
                    ORDER BY j.id LIMIT 1
                    FOR UPDATE SKIP LOCKED) c
                WHERE NOT EXISTS (SELECT 1 FROM rate_limits l
                                  WHERE l.installation_id = t.installation_id
                                    AND l.remaining < $3 AND l.reset_at > $1)
                ORDER BY t.last_claim
                LIMIT 1),
             claimed AS (
                UPDATE jobs SET state = 'running', attempts = attempts + 1,
                       lease_until = $2, leased_by = $4, updated_at = $1
                FROM candidate WHERE jobs.id = candidate.id
                RETURNING jobs.id, jobs.key, jobs.event, jobs.payload, jobs.installation_id, jobs.attempts),
             turned AS (
                UPDATE turns SET last_claim = $1
                WHERE installation_id = (SELECT turn FROM candidate))
             SELECT * FROM claimed",
        )
        .bind(now)
        .bind(now + self.lease.as_millis() as i64)
        .bind(RATE_LIMIT_FLOOR)
        .bind(replica())
        .fetch_optional(&self.claims)
        .await?;
        Ok(row.map(|row| job_from_row!(&row)))
    }

    /// Moves the claim's lease on; `false` when the claim is no longer
    /// this worker's (its lease ran out and the job was taken again).
    pub(super) async fn renew(&self, job: &Job) -> Result<bool> {
        let renewed = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND attempts = $3 AND state = 'running'",
        )
        .bind(now_ms() + self.lease.as_millis() as i64)
        .bind(job.id)
        .bind(job.attempts as i64)
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    pub(super) async fn next_ready_at(&self) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT LEAST(
                (SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'queued'),
                (SELECT MIN(lease_until) FROM jobs WHERE state = 'running'))",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get::<Option<i64>, _>(0))
    }
}

impl Postgres {
    /// Whether this replica leads: it holds the leader lock, or takes it
    /// now. A leader whose lock connection broke leads no more (PostgreSQL
    /// let the lock go with the connection).
    pub(super) async fn lead(&self) -> Result<bool> {
        let mut leader = self.leader.lock().await;
        if let Some(connection) = leader.as_mut() {
            if connection.ping().await.is_ok() {
                return Ok(true);
            }
            *leader = None;
            tracing::warn!("the connection holding the leader lock broke: no longer leading");
        }
        let mut connection = PgConnection::connect_with(&self.options).await?;
        let took: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut connection)
            .await?
            .get(0);
        if took {
            tracing::info!(
                "this replica ({}) now leads: it runs the redelivery sweep and the monitoring schedules",
                replica()
            );
            *leader = Some(connection);
        } else {
            let _ = connection.close().await;
        }
        Ok(took)
    }

    /// Keeps the rate limit an installation's last GitHub answer reported.
    pub(super) async fn keep_rate_limit(
        &self,
        installation: u64,
        remaining: i64,
        reset_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO rate_limits (installation_id, remaining, reset_at, seen_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (installation_id) DO UPDATE SET
               remaining = excluded.remaining, reset_at = excluded.reset_at, seen_at = excluded.seen_at
             WHERE rate_limits.seen_at <= excluded.seen_at",
        )
        .bind(installation as i64)
        .bind(remaining)
        .bind(reset_at)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn close(self) {
        if let Some(connection) = self.leader.lock().await.take() {
            let _ = connection.close().await;
        }
        self.claims.close().await;
        self.pool.close().await;
    }

    pub(super) fn lease(&self) -> Duration {
        self.lease
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// This process, as `leased_by` names it in the jobs table.
fn replica() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}:{}", host.trim(), std::process::id())
    })
    .clone()
}

fn is_unique_violation(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .is_some_and(|e| e.code().as_deref() == Some("23505"))
}

/// The URL without its password, for messages.
pub(super) fn redact(url: &str) -> String {
    match url.split_once("://").zip(url.rsplit_once('@')) {
        Some(((scheme, rest), (_, host))) if rest.contains('@') => {
            let user = rest.split(['@', ':']).next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}
