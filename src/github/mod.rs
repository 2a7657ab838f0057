//! The GitHub port: what the engine's plans need from GitHub, as one trait,
//! with one octocrab implementation. Our own small types; GitHub's and
//! octocrab's models never leave this module.

pub mod actions;
pub mod fetch;
pub mod octo;
pub mod projects;
pub mod retry;

use serde::{Deserialize, Serialize};

use crate::lifecycle::IssueState;
use crate::lifecycle::labels::LabelSpec;
use crate::lifecycle::links::RepoName;
pub use actions::{CheckOutputData, CheckRunData, DispatchedRun, StartedCheck, WorkflowRunData};
pub use projects::SelectField;

/// Why a call failed, in the terms the shell branches on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// 403 or 404 for lack of permission (a read-only token, a fork).
    #[error("not allowed ({status}): {message}")]
    NotAllowed { status: u16, message: String },
    #[error("not found: {0}")]
    NotFound(String),
    /// 429, or 403 with a rate-limit header, after the retries ran out;
    /// `retry_after` is how long GitHub wants nothing sent meanwhile.
    #[error("rate limited: {message}")]
    RateLimited {
        retry_after: std::time::Duration,
        message: String,
    },
    /// 5xx after the retries ran out.
    #[error("GitHub answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("GitHub did not answer in time")]
    Timeout,
    /// 422 and other refusals of the request itself.
    #[error("GitHub refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("{0}")]
    Transport(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Conclusion {
    Success,
    Failure,
    Neutral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationLevel {
    Notice,
    Warning,
    Failure,
}

/// A note on a line of a file, shown in the pull request's diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub path: String,
    pub start_line: u64,
    pub end_line: u64,
    pub annotation_level: AnnotationLevel,
    pub message: String,
    pub title: String,
}

/// The `dslp` check run of one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    pub name: String,
    pub head_sha: String,
    pub conclusion: Conclusion,
    pub title: String,
    pub summary: String,
    pub text: String,
    pub annotations: Vec<Annotation>,
}

/// GitHub takes at most this many annotations per check-run request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// GitHub's limit on a check run's summary and text.
pub const CHECK_TEXT_LIMIT: usize = 65_535;

/// A commit status: the fallback when the Checks API is not allowed, the
/// branch rules' `dslp/branch`, and a maintainer's approval of a fork's
/// head (`dslp/ok-to-test`), which only writers can set on the base
/// repository and which a new push leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub state: StatusState,
    pub context: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    Success,
    Failure,
    Pending,
    Error,
}

/// The context of the status that approves a fork's head commit.
pub const APPROVAL_CONTEXT: &str = "dslp/ok-to-test";

/// A user's role on a repository, as GitHub names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Admin,
    Maintain,
    Write,
    Triage,
    Read,
    None,
}

impl Permission {
    /// GitHub's `permission` (or `role_name`); anything unknown is none.
    pub fn from_github(text: &str) -> Permission {
        match text {
            "admin" => Permission::Admin,
            "maintain" => Permission::Maintain,
            "write" => Permission::Write,
            "triage" => Permission::Triage,
            "read" => Permission::Read,
            _ => Permission::None,
        }
    }

    /// Write access or more: may give commands and approve forks.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Permission::Admin | Permission::Maintain | Permission::Write
        )
    }
}

/// What the port's callers need of an issue or pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IssueData {
    /// GitHub's id of the issue (sub-issues are linked by it).
    #[serde(default)]
    pub id: u64,
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub labels: Vec<LabelData>,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
    /// The organisation's issue type, where it has them.
    #[serde(default, rename = "type")]
    pub issue_type: Option<LabelData>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LabelData {
    pub name: String,
}

impl IssueData {
    /// For a pull request: whether it was merged (the issues list says so
    /// in `pull_request.merged_at`).
    pub fn merged(&self) -> bool {
        self.pull_request
            .as_ref()
            .and_then(|p| p.get("merged_at"))
            .is_some_and(|m| !m.is_null())
    }

    pub fn to_issue(&self) -> crate::lifecycle::Issue {
        crate::lifecycle::Issue {
            number: Some(self.number),
            title: self.title.clone(),
            body: self.body.clone().unwrap_or_default(),
            labels: self.labels.iter().map(|l| l.name.clone()).collect(),
            state: crate::lifecycle::IssueState::from_github(&self.state),
            is_pull_request: self.pull_request.as_ref().is_some_and(|v| !v.is_null()),
        }
        .with_type(self.issue_type.as_ref().map(|t| t.name.as_str()))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IssueUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<IssueState>,
}

/// What the port's callers need of a pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PullData {
    pub number: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub mergeable: Option<bool>,
    #[serde(default)]
    pub labels: Vec<LabelData>,
    #[serde(default)]
    pub user: Option<UserData>,
    pub head: PullRef,
    pub base: PullRef,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UserData {
    #[serde(default)]
    pub login: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PullRef {
    #[serde(rename = "ref")]
    pub name: String,
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub repo: Option<PullRepo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PullRepo {
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub clone_url: Option<String>,
}

/// What the port's callers need of a GitHub release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ReleaseData {
    pub id: u64,
    pub tag_name: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub html_url: String,
    /// Where its assets go (`uploads.github.com`, or a GitHub Enterprise
    /// Server's own host), as the RFC 6570 template GitHub gives.
    #[serde(default)]
    pub upload_url: String,
    #[serde(default)]
    pub assets: Vec<AssetData>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AssetData {
    #[serde(default)]
    pub id: u64,
    pub name: String,
}

/// A repository ruleset, as the list names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RulesetData {
    pub id: u64,
    pub name: String,
}

/// A release to create: as a draft, published once its assets are up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRelease {
    pub tag_name: String,
    pub target_commitish: String,
    pub name: String,
    pub body: String,
    pub draft: bool,
}

/// Everything dslp-bot asks of GitHub.
#[allow(async_fn_in_trait)] // used with generics, never as `dyn`
pub trait GitHub {
    async fn comments(&self, repo: &RepoName, issue: u64) -> Result<Vec<Comment>, GitHubError>;
    async fn create_comment(
        &self,
        repo: &RepoName,
        issue: u64,
        body: &str,
    ) -> Result<Comment, GitHubError>;
    async fn update_comment(&self, repo: &RepoName, id: u64, body: &str)
    -> Result<(), GitHubError>;
    /// The id of the check run called `name` on `sha`, if there is one.
    async fn find_check_run(
        &self,
        repo: &RepoName,
        sha: &str,
        name: &str,
    ) -> Result<Option<u64>, GitHubError>;
    async fn create_check_run(
        &self,
        repo: &RepoName,
        run: &CheckRun,
        annotations: &[Annotation],
    ) -> Result<u64, GitHubError>;
    async fn update_check_run(
        &self,
        repo: &RepoName,
        id: u64,
        run: &CheckRun,
        annotations: &[Annotation],
    ) -> Result<(), GitHubError>;
    /// Starts a check run that concludes later.
    async fn start_check_run(
        &self,
        repo: &RepoName,
        run: &StartedCheck,
    ) -> Result<u64, GitHubError>;
    /// The check runs called `name` on `sha`, whichever App made them.
    async fn check_runs(
        &self,
        repo: &RepoName,
        sha: &str,
        name: &str,
    ) -> Result<Vec<CheckRunData>, GitHubError>;
    /// Dispatches `workflow` (its file name) on `reference` with `inputs`:
    /// the run GitHub started, when it says (GitHub Enterprise Server
    /// versions without `return_run_details` do not).
    async fn dispatch_workflow(
        &self,
        repo: &RepoName,
        workflow: &str,
        reference: &str,
        inputs: &serde_json::Value,
    ) -> Result<Option<DispatchedRun>, GitHubError>;
    async fn workflow_run(&self, repo: &RepoName, id: u64) -> Result<WorkflowRunData, GitHubError>;
    /// The organisation's issue types; `None` where there are none to have
    /// (a personal account, a GitHub without them).
    async fn org_issue_types(&self, org: &str) -> Result<Option<Vec<String>>, GitHubError>;
    async fn create_org_issue_type(
        &self,
        org: &str,
        name: &str,
        description: &str,
        color: &str,
    ) -> Result<(), GitHubError>;
    /// The number of the organisation's project titled `title`.
    async fn project_number(&self, org: &str, title: &str) -> Result<Option<u64>, GitHubError>;
    /// The project's single-select field called `name`, if it has one.
    async fn project_field(
        &self,
        org: &str,
        project: u64,
        name: &str,
    ) -> Result<Option<SelectField>, GitHubError>;
    /// Adds a single-select field with these (name, colour) options.
    async fn add_project_field(
        &self,
        org: &str,
        project: u64,
        name: &str,
        options: &[(&str, &str)],
    ) -> Result<SelectField, GitHubError>;
    /// Puts the issue on the project (answering the item it already is,
    /// when it is one): the item's id.
    async fn add_project_item(
        &self,
        org: &str,
        project: u64,
        repo: &RepoName,
        number: u64,
    ) -> Result<u64, GitHubError>;
    /// Sets a single-select field of an item to the option `option` (its id).
    async fn set_project_field(
        &self,
        org: &str,
        project: u64,
        item: u64,
        field: u64,
        option: &str,
    ) -> Result<(), GitHubError>;
    async fn create_status(
        &self,
        repo: &RepoName,
        sha: &str,
        status: &Status,
    ) -> Result<(), GitHubError>;
    /// The statuses of a commit, newest first.
    async fn statuses(&self, repo: &RepoName, sha: &str) -> Result<Vec<Status>, GitHubError>;
    async fn ensure_label(&self, repo: &RepoName, label: &LabelSpec) -> Result<(), GitHubError>;
    async fn add_labels(
        &self,
        repo: &RepoName,
        issue: u64,
        labels: &[String],
    ) -> Result<(), GitHubError>;
    async fn remove_label(
        &self,
        repo: &RepoName,
        issue: u64,
        label: &str,
    ) -> Result<(), GitHubError>;
    async fn file_at(
        &self,
        repo: &RepoName,
        path: &str,
        reference: &str,
    ) -> Result<Option<Vec<u8>>, GitHubError>;
    async fn issue(&self, repo: &RepoName, number: u64) -> Result<IssueData, GitHubError>;
    /// Changes an issue's title, body or state (`None` leaves it as it is).
    async fn update_issue(
        &self,
        repo: &RepoName,
        number: u64,
        update: &IssueUpdate,
    ) -> Result<(), GitHubError>;
    async fn pull(&self, repo: &RepoName, number: u64) -> Result<PullData, GitHubError>;
    /// Every issue and pull request, open and closed.
    async fn issues(&self, repo: &RepoName) -> Result<Vec<IssueData>, GitHubError>;
    async fn pull_files(&self, repo: &RepoName, number: u64) -> Result<Vec<String>, GitHubError>;
    /// The commit a branch points at.
    async fn branch_head(&self, repo: &RepoName, branch: &str) -> Result<String, GitHubError>;
    /// A user's permission on the repository.
    async fn permission(&self, repo: &RepoName, user: &str) -> Result<Permission, GitHubError>;
    /// Opens an issue, of `issue_type` when given; answers its number.
    async fn create_issue(
        &self,
        repo: &RepoName,
        title: &str,
        body: &str,
        labels: &[String],
        issue_type: Option<&str>,
    ) -> Result<u64, GitHubError>;
    /// The issue types the repository's organisation has (none for a
    /// personal account or where GitHub has no issue types).
    async fn issue_types(&self, repo: &RepoName) -> Result<Vec<String>, GitHubError>;
    /// Creates `branch` at `sha`.
    async fn create_branch(
        &self,
        repo: &RepoName,
        branch: &str,
        sha: &str,
    ) -> Result<(), GitHubError>;
    async fn delete_branch(&self, repo: &RepoName, branch: &str) -> Result<(), GitHubError>;
    /// How many commits of `base` are missing from `head`.
    async fn behind_by(&self, repo: &RepoName, base: &str, head: &str) -> Result<u64, GitHubError>;
    /// The repository's default branch.
    async fn default_branch(&self, repo: &RepoName) -> Result<String, GitHubError>;
    /// Creates a file on `branch` (it must not exist there yet).
    async fn create_file(
        &self,
        repo: &RepoName,
        branch: &str,
        path: &str,
        contents: &str,
        message: &str,
    ) -> Result<(), GitHubError>;
    /// Opens a pull request; answers its number.
    async fn create_pull(
        &self,
        repo: &RepoName,
        title: &str,
        head: &str,
        base: &str,
        body: &str,
    ) -> Result<u64, GitHubError>;
    /// Whether the branch has protection rules.
    async fn is_protected(&self, repo: &RepoName, branch: &str) -> Result<bool, GitHubError>;
    /// Protects an unprotected branch: the `checks` must pass before merging.
    async fn protect(
        &self,
        repo: &RepoName,
        branch: &str,
        checks: &[&str],
    ) -> Result<(), GitHubError>;
    /// The repository's releases, newest first (drafts too, for a token
    /// that may push).
    async fn releases(&self, repo: &RepoName) -> Result<Vec<ReleaseData>, GitHubError>;
    async fn create_release(
        &self,
        repo: &RepoName,
        release: &NewRelease,
    ) -> Result<ReleaseData, GitHubError>;
    /// Uploads one asset to the release's `upload_url`.
    async fn upload_asset(
        &self,
        release: &ReleaseData,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), GitHubError>;
    /// An asset's bytes.
    async fn download_asset(&self, repo: &RepoName, id: u64) -> Result<Vec<u8>, GitHubError>;
    /// Publishes a draft release.
    async fn publish_release(&self, repo: &RepoName, id: u64) -> Result<(), GitHubError>;
    /// The repository's own rulesets.
    async fn rulesets(&self, repo: &RepoName) -> Result<Vec<RulesetData>, GitHubError>;
    /// Creates a ruleset (`id: None`) or replaces ruleset `id` with `ruleset`.
    async fn put_ruleset(
        &self,
        repo: &RepoName,
        id: Option<u64>,
        ruleset: &serde_json::Value,
    ) -> Result<(), GitHubError>;
    /// The issue's parent issue's number, if it has one.
    async fn parent(&self, repo: &RepoName, number: u64) -> Result<Option<u64>, GitHubError>;
    /// The numbers of an issue's sub-issues.
    async fn sub_issues(&self, repo: &RepoName, number: u64) -> Result<Vec<u64>, GitHubError>;
    /// Makes the issue with id `sub_issue_id` a sub-issue of `parent`,
    /// taking it from any parent it had.
    async fn add_sub_issue(
        &self,
        repo: &RepoName,
        parent: u64,
        sub_issue_id: u64,
    ) -> Result<(), GitHubError>;
    async fn remove_sub_issue(
        &self,
        repo: &RepoName,
        parent: u64,
        sub_issue_id: u64,
    ) -> Result<(), GitHubError>;
    /// Changes a pull request's base branch or state (`None` leaves it).
    async fn update_pull(
        &self,
        repo: &RepoName,
        number: u64,
        base: Option<&str>,
        state: Option<IssueState>,
    ) -> Result<(), GitHubError>;
}
