//! The webhook payloads as dslp-bot reads them: small structs, lenient to
//! missing fields (GitHub's example payloads lack fields live ones carry).

use serde::{Deserialize, Serialize};

use crate::lifecycle::{Issue, IssueState};

#[derive(Deserialize, Serialize)]
pub(super) struct RepoJson {
    pub(super) full_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) clone_url: Option<String>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct InstallationJson {
    pub(super) id: u64,
}

#[derive(Deserialize, Serialize)]
pub(super) struct NumberJson {
    pub(super) number: u64,
}

/// `check_suite`, or `check_run` (whose suite is inside).
#[derive(Deserialize, Serialize)]
pub(super) struct CheckJson {
    #[serde(default)]
    pub(super) head_sha: String,
    #[serde(default)]
    pub(super) pull_requests: Vec<NumberJson>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct LabelJson {
    pub(super) name: String,
}

#[derive(Deserialize, Serialize)]
pub(super) struct RefJson {
    #[serde(rename = "ref")]
    pub(super) name: String,
    #[serde(default)]
    pub(super) sha: String,
    #[serde(default)]
    pub(super) repo: Option<RepoJson>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct PullJson {
    pub(super) number: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) user: Option<UserJson>,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) state: String,
    #[serde(default)]
    pub(super) merged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) merge_commit_sha: Option<String>,
    #[serde(default)]
    pub(super) labels: Vec<LabelJson>,
    pub(super) head: RefJson,
    pub(super) base: RefJson,
}

#[derive(Deserialize, Serialize)]
pub(super) struct IssueJson {
    pub(super) number: u64,
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) state: String,
    #[serde(default)]
    pub(super) labels: Vec<LabelJson>,
    #[serde(default)]
    pub(super) pull_request: Option<serde_json::Value>,
    /// The organisation's issue type, where it has them.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub(super) issue_type: Option<LabelJson>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct UserJson {
    #[serde(default)]
    pub(super) login: String,
}

#[derive(Deserialize, Serialize)]
pub(super) struct CommentJson {
    #[serde(default)]
    pub(super) body: String,
    #[serde(default)]
    pub(super) user: Option<UserJson>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct Payload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) installation: Option<InstallationJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) check_suite: Option<CheckJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) check_run: Option<CheckJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ref_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) repositories: Vec<RepoJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) repositories_added: Vec<RepoJson>,
    #[serde(default)]
    pub(super) repository: Option<RepoJson>,
    #[serde(default)]
    pub(super) pull_request: Option<PullJson>,
    #[serde(default)]
    pub(super) issue: Option<IssueJson>,
    #[serde(default)]
    pub(super) comment: Option<CommentJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) label: Option<LabelJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sender: Option<UserJson>,
    #[serde(default, rename = "ref")]
    pub(super) reference: Option<String>,
    #[serde(default)]
    pub(super) after: Option<String>,
    #[serde(default)]
    pub(super) created: Option<bool>,
    #[serde(default)]
    pub(super) deleted: Option<bool>,
    /// A `workflow_dispatch`'s inputs: the App's dispatch names a pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) inputs: Option<DispatchInputs>,
}

/// What the App puts in the compute workflow's dispatch (strings, as
/// GitHub passes every input).
#[derive(Deserialize, Serialize)]
pub(super) struct DispatchInputs {
    #[serde(default)]
    pub(super) pull_request: Option<String>,
    #[serde(default)]
    pub(super) head_sha: Option<String>,
    /// `"true"`: release the merged pull request from `head_sha`, its
    /// merge commit, instead of evaluating it.
    #[serde(default)]
    pub(super) release: Option<String>,
}

impl IssueJson {
    pub(super) fn into_issue(self) -> Issue {
        Issue {
            number: Some(self.number),
            title: self.title,
            body: self.body.unwrap_or_default(),
            labels: self.labels.into_iter().map(|l| l.name).collect(),
            state: IssueState::from_github(&self.state),
            is_pull_request: self.pull_request.is_some_and(|v| !v.is_null()),
        }
        .with_type(self.issue_type.as_ref().map(|t| t.name.as_str()))
    }
}
