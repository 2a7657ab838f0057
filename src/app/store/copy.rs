//! Moving the App from one store to another (SQLite to PostgreSQL, when
//! one replica is no longer enough) without losing the ledger: every
//! delivery, job, run and schedule is copied in one transaction.

use anyhow::{Result, bail};
use sqlx::Row;

use super::{Backend, Store, each_pool};

/// One row of each table, read the same from either backend.
struct Rows {
    deliveries: Vec<(String, String, Option<String>, Option<i64>, i64, bool)>,
    jobs: Vec<JobRow>,
    runs: Vec<(
        String,
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
    )>,
    schedules: Vec<(String, Option<i64>, Option<String>, i64, i64)>,
}

type JobRow = (
    String,
    String,
    String,
    String,
    Vec<u8>,
    Option<i64>,
    String,
    i64,
    i64,
    Option<String>,
    i64,
    i64,
);

/// What was copied, table by table.
#[derive(Debug, PartialEq, Eq)]
pub struct Copied {
    pub deliveries: usize,
    pub jobs: usize,
    pub runs: usize,
    pub schedules: usize,
}

impl Store {
    /// Copies everything this store holds into `target`, which must be
    /// empty. Jobs that were running (the old server should be stopped
    /// first) are queued again there.
    pub async fn copy_to(&self, target: &Store) -> Result<Copied> {
        if target.delivery_count().await? > 0 {
            bail!("the target store already holds deliveries: copy into a new, empty database");
        }
        let rows = self.read_all().await?;
        let copied = Copied {
            deliveries: rows.deliveries.len(),
            jobs: rows.jobs.len(),
            runs: rows.runs.len(),
            schedules: rows.schedules.len(),
        };
        each_pool!(target, |pool| {
            let mut tx = pool.begin().await?;
            for d in &rows.deliveries {
                sqlx::query("INSERT INTO deliveries (id, event, action, installation_id, received_at, queued) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&d.0).bind(&d.1).bind(&d.2).bind(d.3).bind(d.4).bind(d.5)
                    .execute(&mut *tx).await?;
            }
            for j in &rows.jobs {
                let state = if j.6 == "running" {
                    "queued"
                } else {
                    j.6.as_str()
                };
                sqlx::query("INSERT INTO jobs (delivery_id, key, kind, event, payload, installation_id, state, attempts, next_attempt_at, last_error, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(&j.0).bind(&j.1).bind(&j.2).bind(&j.3).bind(&j.4).bind(j.5).bind(state)
                    .bind(j.7).bind(j.8).bind(&j.9).bind(j.10).bind(j.11)
                    .execute(&mut *tx).await?;
            }
            for r in &rows.runs {
                sqlx::query("INSERT INTO runs (repository, pull_request, head_ref, head_commit, base_commit, verdict, metrics, stamps, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(&r.0).bind(r.1).bind(&r.2).bind(&r.3).bind(&r.4).bind(&r.5).bind(&r.6).bind(&r.7).bind(r.8)
                    .execute(&mut *tx).await?;
            }
            for s in &rows.schedules {
                sqlx::query("INSERT INTO schedules (repository, installation_id, clone_url, every_seconds, next_run) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&s.0).bind(s.1).bind(&s.2).bind(s.3).bind(s.4)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(copied)
    }

    async fn read_all(&self) -> Result<Rows> {
        Ok(each_pool!(self, |pool| {
            Rows {
            deliveries: sqlx::query("SELECT id, event, action, installation_id, received_at, queued FROM deliveries ORDER BY received_at, id")
                .fetch_all(pool).await?.iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect(),
            jobs: sqlx::query("SELECT delivery_id, key, kind, event, payload, installation_id, state, attempts, next_attempt_at, last_error, created_at, updated_at FROM jobs ORDER BY id")
                .fetch_all(pool).await?.iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8), r.get(9), r.get(10), r.get(11)))
                .collect(),
            runs: sqlx::query("SELECT repository, pull_request, head_ref, head_commit, base_commit, verdict, metrics, stamps, created_at FROM runs ORDER BY id")
                .fetch_all(pool).await?.iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8)))
                .collect(),
            schedules: sqlx::query("SELECT repository, installation_id, clone_url, every_seconds, next_run FROM schedules ORDER BY repository")
                .fetch_all(pool).await?.iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .collect(),
        }
        }))
    }
}
