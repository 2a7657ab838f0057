//! What dslp-bot does for an event, the same for the Action and the App:
//! gather the facts through the GitHub port and the repository's tree, let
//! the engine decide, carry out the plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use crate::automation::{self, Lifecycle, Repository};
use crate::chatops::{self, Command, Request as ChatRequest};
use crate::config::{CONFIG_PATH, ConfigError, RepoConfig};
use crate::engine::{self, Effect, Plan};
use crate::event::{CommentAction, Event, IssueAction, PullAction, PullRequestEvent};
use crate::evidence::{self, Evidence, FileLimits};
use crate::github::fetch::{Fetch, PullHead};
use crate::github::{
    self, Annotation, AnnotationLevel, CheckRun, Conclusion, GitHub, GitHubError, PullData, Status,
    StatusState,
};
use crate::lifecycle::ask::Evaluation;
use crate::lifecycle::issue::Lookup;
use crate::lifecycle::labels::{DSLP_LABELS, FAILED, SUCCEEDED};
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{
    BranchKind, Issue, IssueKind, IssueState, PullRequest, Rulebook, Severity, Verdict,
};
use crate::report::comment::{ISSUE_MARKER, PR_MARKER};
use crate::revision::{RevisionError, Revisions};

mod commands;
mod pull_request;
pub mod sandbox;

use commands::command;
use pull_request::{approve, labelled_ok_to_test, pull_request};

/// The marker of dslp-bot's answer to `/dslp` commands, edited in place.
pub const COMMAND_MARKER: &str = "<!-- dslp:command-reply -->";
/// The commit status context of the branch-name rules.
pub const BRANCH_STATUS: &str = "dslp/branch";

/// Where the repository's files come from.
#[derive(Clone)]
pub enum Tree {
    /// The Action: the runner's checkout of the event's commit.
    Workspace(PathBuf),
    /// The App: the repository fetched when a pull request needs its files;
    /// the config of other events is read through the API.
    Fetched(Arc<dyn Fetch>),
}

/// Limits on the CPU-heavy part (git, polars, linfa).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub evidence_time: Duration,
    /// The address space an evaluation may take, bytes.
    pub memory_bytes: u64,
    /// The most a pull request from a fork gets; its config can lower these.
    pub fork_files: FileLimits,
    pub fork_time: Duration,
    pub fork_memory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            evidence_time: Duration::from_secs(30 * 60),
            memory_bytes: 4096 << 20,
            fork_files: FileLimits {
                rows: 1_000_000,
                bytes: 200_000_000,
                columns: 1_000,
            },
            fork_time: Duration::from_secs(5 * 60),
            fork_memory_bytes: 2048 << 20,
        }
    }
}

impl Limits {
    /// The limits for a fork's pull request under `config`: the lower of
    /// the server's and the repository's.
    fn for_fork(self, config: &RepoConfig) -> Limits {
        let asked = config.automations.fork_limits;
        let time = asked.seconds.map_or(self.fork_time, |s| {
            self.fork_time.min(Duration::from_secs(s))
        });
        Limits {
            evidence_time: self.evidence_time.min(time),
            memory_bytes: self.memory_bytes.min(self.fork_memory_bytes),
            fork_files: FileLimits {
                rows: asked
                    .rows
                    .map_or(self.fork_files.rows, |r| r.min(self.fork_files.rows)),
                bytes: asked.megabytes.map_or(self.fork_files.bytes, |mb| {
                    (mb * 1_000_000).min(self.fork_files.bytes)
                }),
                columns: self.fork_files.columns,
            },
            fork_time: time,
            fork_memory_bytes: self.fork_memory_bytes,
        }
    }
}

/// What a run concluded.
#[derive(Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub summary: String,
    /// The pull requests evaluated, with their evidence, for the runs ledger.
    pub evaluated: Vec<Evaluated>,
    /// What the user should know that did not stop the run (the Action
    /// prints them as `::warning::`, the App logs them).
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub struct Evaluated {
    pub repo: RepoName,
    pub pull: u64,
    pub verdict: Verdict,
    pub head_ref: String,
    pub head_sha: String,
    pub base_sha: String,
    pub evidence: Evidence,
}

impl Outcome {
    fn neutral(summary: impl Into<String>) -> Outcome {
        Outcome {
            verdict: Verdict::Neutral,
            summary: summary.into(),
            evaluated: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn of(plan: Plan, warnings: Vec<String>) -> Outcome {
        Outcome {
            verdict: plan.verdict,
            summary: plan.summary,
            evaluated: Vec::new(),
            warnings,
        }
    }
}

/// What a job knows beyond the event: where files come from, its limits,
/// and the runs ledger's evaluations of the repository (empty for the Action).
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    pub tree: &'a Tree,
    pub limits: Limits,
    /// Where evaluations run.
    pub sandbox: &'a sandbox::Sandbox,
    pub evaluations: &'a [Evaluation],
    /// What to set up when the App is installed.
    pub set_up: automation::SetUp,
}

pub async fn handle(github: &impl GitHub, ctx: RunContext<'_>, event: &Event) -> Result<Outcome> {
    let tree = ctx.tree;
    match event {
        Event::PullRequest(pr) if pr.action == PullAction::LabeledOkToTest => {
            labelled_ok_to_test(github, ctx, pr).await
        }
        Event::PullRequest(pr) => pull_request(github, ctx, pr).await,
        Event::Issue {
            action,
            repo,
            issue,
        } => check_issue(github, ctx, repo, issue, IssueTrigger::Event(*action)).await,
        Event::IssueComment {
            action,
            repo,
            issue,
            comment,
            author,
        } => {
            let requests = chatops::commands(comment);
            if *action == CommentAction::Created && !requests.is_empty() {
                command(github, ctx, repo, issue, author, &requests).await
            } else if issue.is_pull_request {
                Ok(Outcome::neutral(
                    "A comment on a pull request: nothing to check.",
                ))
            } else {
                check_issue(github, ctx, repo, issue, IssueTrigger::Comment).await
            }
        }
        Event::Push {
            repo,
            branch: Some(branch),
            after,
            deleted: false,
            ..
        } => branch_status(github, tree, repo, branch, after).await,
        Event::Rerequested {
            repo,
            head_sha,
            pulls,
        } => {
            if pulls.is_empty() {
                return Ok(Outcome::neutral(format!(
                    "No pull request of {repo} has {head_sha} as its head; nothing to run again."
                )));
            }
            let mut last = Outcome::neutral("");
            let mut evaluated = Vec::new();
            for number in pulls {
                let pull = github.pull(repo, *number).await?;
                last = pull_request(github, ctx, &rerun_event(repo, &pull)).await?;
                evaluated.append(&mut last.evaluated);
            }
            last.evaluated = evaluated;
            Ok(last)
        }
        Event::Installed { repos } => {
            let mut warnings = Vec::new();
            for repo in repos {
                for label in &DSLP_LABELS {
                    github.ensure_label(repo, label).await?;
                }
                let done = automation::set_up(github, repo, ctx.set_up).await?;
                if !done.is_empty() {
                    warnings.push(done);
                }
            }
            let mut outcome = Outcome::neutral(format!(
                "The {} DSLP labels are in place on {} repositor{}.",
                DSLP_LABELS.len(),
                repos.len(),
                if repos.len() == 1 { "y" } else { "ies" }
            ));
            outcome.warnings = warnings;
            Ok(outcome)
        }
        other => Ok(Outcome::neutral(format!(
            "Nothing to check for {}.",
            describe(other)
        ))),
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::Ignored {
            event,
            action: Some(action),
        } => format!("`{event}` ({action})"),
        Event::Ignored { event, .. } => format!("`{event}`"),
        Event::Push { deleted: true, .. } => "a deleted branch".into(),
        Event::Push { .. } => "a push that is not to a branch".into(),
        _ => "this event".into(),
    }
}

/// A pull request as an event, to run it again.
fn rerun_event(repo: &RepoName, pull: &PullData) -> PullRequestEvent {
    PullRequestEvent {
        action: PullAction::Rerun,
        repo: repo.clone(),
        number: pull.number,
        head_ref: pull.head.name.clone(),
        head_sha: pull.head.sha.clone(),
        base_ref: pull.base.name.clone(),
        base_sha: pull.base.sha.clone(),
        body: pull.body.clone().unwrap_or_default(),
        labels: pull.labels.iter().map(|l| l.name.clone()).collect(),
        merged: pull.merged.unwrap_or(false),
        state: IssueState::from_github(&pull.state),
        head_repo: pull
            .head
            .repo
            .as_ref()
            .and_then(|r| RepoName::parse(&r.full_name)),
        author: pull
            .user
            .as_ref()
            .map(|u| u.login.clone())
            .unwrap_or_default(),
        sender: String::new(),
        clone_url: pull.base.repo.as_ref().and_then(|r| r.clone_url.clone()),
    }
}

/// Why an issue is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueTrigger {
    Event(IssueAction),
    /// A comment without commands.
    Comment,
    /// `/dslp rerun`.
    Rerun,
}

/// The config of the repository's default branch (or the Action's checkout).
async fn config_of(github: &impl GitHub, tree: &Tree, repo: &RepoName) -> Result<RepoConfig> {
    match tree {
        Tree::Workspace(root) => load_config(root),
        Tree::Fetched(_) => config_at(github, repo, "").await,
    }
}

/// The config at a branch, through the API (`""`: the default branch).
async fn config_at(github: &impl GitHub, repo: &RepoName, reference: &str) -> Result<RepoConfig> {
    let bytes = github.file_at(repo, CONFIG_PATH, reference).await?;
    config_or_defaults(bytes.as_deref().map(String::from_utf8_lossy).as_deref())
}

/// `.github/dslp.yml` under `root`, or the defaults when there is none.
pub fn load_config(root: &Path) -> Result<RepoConfig> {
    let path = root.join(CONFIG_PATH);
    match std::fs::read_to_string(&path) {
        Ok(text) => config_or_defaults(Some(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => config_or_defaults(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The config's text read, or the defaults when the repository has none.
fn config_or_defaults(text: Option<&str>) -> Result<RepoConfig> {
    Ok(RepoConfig::parse(
        text.unwrap_or("version: 1\n"),
        CONFIG_PATH,
    )?)
}

async fn rulebook_of(
    github: &impl GitHub,
    tree: &Tree,
    repo: &RepoName,
) -> Result<(RepoConfig, Rulebook)> {
    let config = config_of(github, tree, repo).await?;
    let rulebook = config.rulebook(CONFIG_PATH)?;
    Ok((config, rulebook))
}

async fn check_issue(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    issue: &Issue,
    trigger: IssueTrigger,
) -> Result<Outcome> {
    if issue.is_pull_request {
        return Ok(Outcome::neutral(
            "A pull request's conversation: nothing to check.",
        ));
    }
    let (config, rulebook) = rulebook_of(github, ctx.tree, repo).await?;
    let repository = Repository::read(github, repo).await?;
    let number = issue.number.unwrap_or_default();
    let had_comment = github
        .comments(repo, number)
        .await?
        .iter()
        .any(|c| c.body.as_deref().is_some_and(|b| b.contains(ISSUE_MARKER)));
    let plan = engine::issue(issue, &rulebook, &repository.directory, had_comment);
    let mut warnings = execute(github, repo, &plan).await?;
    let lifecycle = Lifecycle {
        repository: &repository,
        rulebook: &rulebook,
        config: &config,
        evaluations: ctx.evaluations,
    };
    // The experiment's flows follow its status label.
    let follows_status = matches!(
        trigger,
        IssueTrigger::Comment
            | IssueTrigger::Event(IssueAction::Labeled | IssueAction::Opened | IssueAction::Edited)
    );
    if follows_status {
        let flow = if issue.labels.iter().any(|l| l == SUCCEEDED) {
            allowed(
                automation::promote(github, &lifecycle, issue, None).await,
                "run the success flow",
            )?
        } else if issue.labels.iter().any(|l| l == FAILED) && issue.state == IssueState::Open {
            allowed(
                automation::fail(github, &lifecycle, issue, None).await,
                "run the failure flow",
            )?
        } else {
            String::new()
        };
        automation::say(github, repo, number, &flow).await?;
    }
    let asks = automation::asks_touched(issue, &repository.directory);
    let updated = automation::refresh_asks(github, &lifecycle, &asks).await?;
    if !updated.is_empty() {
        warnings.push(format!(
            "kept Ask{} {} current",
            if updated.len() == 1 { "" } else { "s" },
            updated
                .iter()
                .map(|n| format!("#{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Outcome::of(plan, warnings))
}

async fn branch_status(
    github: &impl GitHub,
    tree: &Tree,
    repo: &RepoName,
    branch: &str,
    after: &str,
) -> Result<Outcome> {
    let (_, rulebook) = rulebook_of(github, tree, repo).await?;
    let directory = Repository::read(github, repo).await?.directory;
    let report = rulebook.check_branch(branch, &directory);
    let errors = report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error);
    let description = report
        .findings
        .first()
        .map(|f| format!("{}: {}", f.rule, f.message))
        .unwrap_or_else(|| "the branch follows DSLP's conventions".into());
    // A `create` event names no commit: ask for the branch's.
    let sha = if after.is_empty() {
        github.branch_head(repo, branch).await?
    } else {
        after.to_string()
    };
    let status = Status {
        state: if errors {
            StatusState::Failure
        } else {
            StatusState::Success
        },
        context: BRANCH_STATUS.into(),
        description: description.chars().take(140).collect(),
    };
    github.create_status(repo, &sha, &status).await?;
    Ok(Outcome {
        verdict: if errors { Verdict::NoGo } else { Verdict::Go },
        summary: description,
        evaluated: Vec::new(),
        warnings: Vec::new(),
    })
}
/// A flow the token may not carry out says what is missing instead of
/// failing the run (the Action's default token cannot create branches).
fn allowed(result: Result<String>, what: &str) -> Result<String> {
    match result {
        Err(error)
            if matches!(
                error.downcast_ref::<GitHubError>(),
                Some(GitHubError::NotAllowed { .. })
            ) =>
        {
            Ok(format!(
                "dslp-bot may not {what} with its token ({error}). For the Action, give the workflow `contents: write`; for the App, *Contents: Read and write*. Then comment `/dslp promote` (or `/dslp fail`) to finish."
            ))
        }
        other => other,
    }
}

/// Runs CPU-bound work (git2, polars, linfa) on the blocking pool, so the
/// executor keeps answering, and gives up waiting after the time limit.
async fn off_executor<T: Send + 'static>(
    limits: Limits,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    match tokio::time::timeout(limits.evidence_time, tokio::task::spawn_blocking(work)).await {
        Ok(joined) => joined.with_context(|| what.to_string()),
        Err(_) => Err(anyhow!(
            "{what} took longer than the limit of {} s",
            limits.evidence_time.as_secs()
        )),
    }
}

/// A job that could not finish says so on the pull request's check run,
/// rather than leaving it silent.
pub async fn report_failure(
    github: &impl GitHub,
    repo: &RepoName,
    head_sha: &str,
    error: &str,
) -> Result<(), GitHubError> {
    let run = CheckRun {
        name: engine::CHECK_NAME.into(),
        head_sha: head_sha.to_string(),
        conclusion: Conclusion::Failure,
        title: "dslp-bot could not finish".into(),
        summary: format!(
            "dslp-bot gave up after several attempts: {error}\n\nComment `/dslp rerun` on the pull request, or re-run this check, to try again."
        ),
        text: String::new(),
        annotations: Vec::new(),
    };
    github::publish_check(github, repo, &run).await.map(|_| ())
}

/// A job on an issue that could not finish says so in the issue's sticky
/// comment; on a pull request's conversation, on its check run.
pub async fn report_issue_failure(
    github: &impl GitHub,
    repo: &RepoName,
    issue: &Issue,
    error: &str,
) -> Result<(), GitHubError> {
    let number = issue.number.unwrap_or_default();
    if issue.is_pull_request {
        let pull = github.pull(repo, number).await?;
        return report_failure(github, repo, &pull.head.sha, error).await;
    }
    let body = format!(
        "{ISSUE_MARKER}\n### ⚠️ dslp-bot could not check this issue\n\nIt gave up after several attempts: {error}\n\nComment `/dslp rerun` to try again.\n"
    );
    github::upsert_comment(github, repo, number, ISSUE_MARKER, &body)
        .await
        .map(|_| ())
}

/// Carries the plan out; answers the warnings worth showing.
async fn execute(
    github: &impl GitHub,
    repo: &RepoName,
    plan: &Plan,
) -> Result<Vec<String>, GitHubError> {
    let mut warnings = Vec::new();
    for effect in &plan.effects {
        match effect {
            Effect::UpsertComment {
                issue,
                marker,
                body,
            } => match github::upsert_comment(github, repo, *issue, marker, body).await {
                Ok(_) => {}
                // A fork's read-only token may not comment: the report still
                // reaches the job summary and the log.
                Err(GitHubError::NotAllowed { message, .. }) => warnings.push(format!(
                    "the token may not comment on #{issue} ({message}); the report is in the job summary"
                )),
                Err(e) => return Err(e),
            },
            Effect::Check(run) => {
                let published = github::publish_check(github, repo, run).await?;
                tracing::info!("published the check as {published:?}");
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_lowers_the_fork_limits_but_cannot_lift_them() {
        let server = Limits::default();
        let config = |yaml: &str| RepoConfig::parse(yaml, "t.yml").unwrap();
        let lowered = server.for_fork(&config(
            "version: 1\nautomations:\n  fork_limits: { rows: 10, megabytes: 1, seconds: 5 }\n",
        ));
        assert_eq!(lowered.fork_files.rows, 10);
        assert_eq!(lowered.fork_files.bytes, 1_000_000);
        assert_eq!(lowered.evidence_time, Duration::from_secs(5));
        let lifted = server.for_fork(&config(
            "version: 1\nautomations:\n  fork_limits: { rows: 999999999, megabytes: 999999, seconds: 99999 }\n",
        ));
        assert_eq!(lifted.fork_files, server.fork_files);
        assert_eq!(lifted.evidence_time, server.fork_time);
    }
}
