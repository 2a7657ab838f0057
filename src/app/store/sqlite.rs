//! The store in SQLite, one process's: deliveries are recorded by one
//! thread, the recorder ([`crate::app::intake::recorder`]), which answers
//! once they are on disk; jobs and the ledger are read and updated through
//! an sqlx pool.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Notify, mpsc, oneshot};

use super::job::{Job, job_from_row};
use crate::app::delivery::{Health, NewDelivery, Recorded};
use crate::app::intake::recorder::{self, Journaling, Message};
use crate::timestamp::now_ms;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/app/migrations");

#[derive(Clone)]
pub(super) struct Sqlite {
    pub(super) pool: SqlitePool,
    recorder: mpsc::Sender<Message>,
}

impl Sqlite {
    pub(super) async fn open(
        url: &str,
        journaling: Option<Journaling>,
        queued: Arc<Notify>,
        health: Arc<Health>,
    ) -> Result<Sqlite> {
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
        // One process owns the file: what it left running is queued again.
        if recover {
            sqlx::query("UPDATE jobs SET state = 'queued', updated_at = ? WHERE state = 'running'")
                .bind(now_ms())
                .execute(&pool)
                .await?;
        }
        let recorder = recorder::start(options.get_filename(), journaling, queued, health)?;
        Ok(Sqlite { pool, recorder })
    }

    pub(super) async fn record(&self, delivery: NewDelivery) -> Result<Recorded> {
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

    pub(super) async fn claim(&self) -> Result<Option<Job>> {
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ?1
             WHERE id = (
                SELECT j.id FROM jobs j
                WHERE j.state = 'queued' AND j.next_attempt_at <= ?1
                  AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.key = j.key AND r.state = 'running')
                ORDER BY j.id LIMIT 1)
             RETURNING id, key, event, payload, installation_id, attempts",
        )
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| job_from_row!(&row)))
    }

    pub(super) async fn next_ready_at(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query("SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'queued'")
                .fetch_one(&self.pool)
                .await?
                .get::<Option<i64>, _>(0),
        )
    }

    pub(super) async fn flush(&self) -> Result<()> {
        self.ask(Message::Flush).await
    }

    pub(super) async fn close(self) {
        // A recorder already gone has nothing left to commit.
        let _ = self.ask(Message::Close).await;
        self.pool.close().await;
    }
}
