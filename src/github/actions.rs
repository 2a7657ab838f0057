//! What the port reads and writes of GitHub Actions runs and of the check
//! runs that follow them (`compute: actions`).

use serde::Deserialize;

/// A workflow run GitHub started for a dispatch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DispatchedRun {
    #[serde(rename = "workflow_run_id")]
    pub id: u64,
    pub html_url: String,
}

/// Where a workflow run is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WorkflowRunData {
    pub id: u64,
    /// `queued`, `in_progress`, `completed`, ...
    pub status: String,
    /// Once completed: `success`, `failure`, `cancelled`, `timed_out`, ...
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: String,
}

impl WorkflowRunData {
    pub fn completed(&self) -> bool {
        self.status == "completed"
    }
}

/// A check run as a commit's list shows it, whichever App made it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CheckRunData {
    pub id: u64,
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub output: CheckOutputData,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CheckOutputData {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// A check run that has started and not concluded: the App's, while the
/// repository's runners evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedCheck {
    pub name: String,
    pub head_sha: String,
    pub details_url: String,
    /// What the check follows (a workflow run's id).
    pub external_id: String,
    pub title: String,
    pub summary: String,
}
