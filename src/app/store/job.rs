//! What the queue hands out and the ledger keeps, and how either is read
//! from a row of either backend.

/// A job taken from the queue.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub key: String,
    pub event: String,
    pub payload: Vec<u8>,
    pub installation: Option<u64>,
    /// The claim's number: renewing or ending the job needs it to be current.
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

/// A claimed job, from a `RETURNING id, key, event, payload,
/// installation_id, attempts` row of either backend.
macro_rules! job_from_row {
    ($row:expr) => {{
        let row = $row;
        $crate::app::store::job::Job {
            id: row.get("id"),
            key: row.get("key"),
            event: row.get("event"),
            payload: row.get("payload"),
            installation: row
                .get::<Option<i64>, _>("installation_id")
                .map(|i| i as u64),
            attempts: row.get::<i64, _>("attempts") as u32,
        }
    }};
}
pub(crate) use job_from_row;

macro_rules! run_from_row {
    ($row:expr) => {{
        let row = $row;
        $crate::app::store::job::Run {
            repository: row.get("repository"),
            pull_request: row.get::<i64, _>("pull_request") as u64,
            head_ref: row.get("head_ref"),
            head_commit: row.get("head_commit"),
            base_commit: row.get("base_commit"),
            verdict: row.get("verdict"),
            metrics: serde_json::from_str(&row.get::<String, _>("metrics")).unwrap_or_default(),
            stamps: serde_json::from_str(&row.get::<String, _>("stamps")).unwrap_or_default(),
        }
    }};
}
pub(crate) use run_from_row;
