//! Monitoring schedules: kept from the default branch's config, claimed
//! when due by exactly one worker (or replica): the claim and the move to
//! the next run are one `UPDATE`.

use std::time::Duration;

use anyhow::Result;
use sqlx::Row;

use super::{Backend, Store, each_pool};
use crate::timestamp::now_ms;

/// A schedule that came due, claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    pub repository: String,
    pub installation: Option<u64>,
    pub clone_url: Option<String>,
    /// When it is due next: with the repository, it names this run.
    pub next_run: i64,
}

impl Store {
    /// Keeps `repository`'s schedule (`every: None` drops it). A new one
    /// runs at once; a changed one keeps its next run.
    pub async fn keep_schedule(
        &self,
        repository: &str,
        installation: Option<u64>,
        clone_url: Option<&str>,
        every: Option<Duration>,
    ) -> Result<()> {
        const DROP: &str = "DELETE FROM schedules WHERE repository = $1";
        const KEEP: &str = "INSERT INTO schedules (repository, installation_id, clone_url, every_seconds, next_run)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (repository) DO UPDATE SET
               installation_id = excluded.installation_id,
               clone_url = COALESCE(excluded.clone_url, schedules.clone_url),
               every_seconds = excluded.every_seconds";
        let Some(every) = every else {
            each_pool!(self, |pool| sqlx::query(DROP)
                .bind(repository)
                .execute(pool)
                .await
                .map(drop))?;
            return Ok(());
        };
        each_pool!(self, |pool| sqlx::query(KEEP)
            .bind(repository)
            .bind(installation.map(|i| i as i64))
            .bind(clone_url)
            .bind(every.as_secs() as i64)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Claims every schedule due at `now` (unix ms), moving each to its
    /// next run: a schedule claimed here is claimed nowhere else.
    pub async fn claim_due_schedules(&self, now: i64) -> Result<Vec<DueSchedule>> {
        const CLAIM: &str = "UPDATE schedules SET next_run = $1 + every_seconds * 1000
             WHERE next_run <= $1
             RETURNING repository, installation_id, clone_url, next_run";
        Ok(each_pool!(self, |pool| sqlx::query(CLAIM)
            .bind(now)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| DueSchedule {
                repository: row.get("repository"),
                installation: row
                    .get::<Option<i64>, _>("installation_id")
                    .map(|i| i as u64),
                clone_url: row.get("clone_url"),
                next_run: row.get("next_run"),
            })
            .collect()))
    }
}
