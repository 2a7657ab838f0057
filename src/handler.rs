//! What dslp-bot does for an event, the same for the Action and the App:
//! gather the facts through the GitHub port and the repository's tree, let
//! the engine decide, carry out the plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use crate::chatops::{self, Command, Request as ChatRequest};
use crate::config::{CONFIG_PATH, ConfigError, RepoConfig};
use crate::engine::{self, Effect, Plan};
use crate::event::{Event, PullRequestEvent};
use crate::evidence::{self, Evidence, Request};
use crate::github::{
    self, Annotation, AnnotationLevel, CheckRun, Conclusion, GitHub, GitHubError, PullData, Status,
};
use crate::lifecycle::labels::DSLP_LABELS;
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{Issue, IssueDirectory, IssueState, PullRequest, Rulebook, Severity};
use crate::report::comment::{ISSUE_MARKER, PR_MARKER};
use crate::revision::{RevisionError, Revisions};

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

/// Brings a pull request's commits to a local working tree.
pub trait Fetch: Send + Sync {
    /// A working tree at the pull request's head, with its base commit in
    /// the object database. Blocking (git).
    fn checkout(&self, event: &PullRequestEvent, clone_url: &str) -> Result<PathBuf>;
}

/// Limits on the CPU-heavy part (git, polars, linfa).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub evidence_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            evidence_time: Duration::from_secs(30 * 60),
        }
    }
}

/// What a run concluded.
#[derive(Debug, Default)]
pub struct Outcome {
    pub verdict: String,
    pub summary: String,
    /// The pull request evaluated, with its evidence, for the runs ledger.
    pub evaluated: Option<Evaluated>,
    /// What the user should know that did not stop the run (the Action
    /// prints them as `::warning::`, the App logs them).
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub struct Evaluated {
    pub pull: u64,
    pub head_ref: String,
    pub head_sha: String,
    pub base_sha: String,
    pub evidence: Evidence,
}

impl Outcome {
    fn neutral(summary: impl Into<String>) -> Outcome {
        Outcome {
            verdict: "NEUTRAL".into(),
            summary: summary.into(),
            ..Outcome::default()
        }
    }

    fn of(plan: Plan, warnings: Vec<String>) -> Outcome {
        Outcome {
            verdict: plan.verdict,
            summary: plan.summary,
            evaluated: None,
            warnings,
        }
    }
}

pub async fn handle(
    github: &impl GitHub,
    tree: &Tree,
    limits: Limits,
    event: &Event,
) -> Result<Outcome> {
    match event {
        Event::PullRequest(pr) => pull_request(github, tree, limits, pr).await,
        Event::Issue { repo, issue, .. } => check_issue(github, tree, repo, issue).await,
        Event::IssueComment {
            action,
            repo,
            issue,
            comment,
            ..
        } => {
            let requests = chatops::commands(comment);
            if action == "created" && !requests.is_empty() {
                command(github, tree, limits, repo, issue, &requests).await
            } else if issue.is_pull_request {
                Ok(Outcome::neutral(
                    "A comment on a pull request: nothing to check.",
                ))
            } else {
                check_issue(github, tree, repo, issue).await
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
            let mut last = Outcome::default();
            for number in pulls {
                let pull = github.pull(repo, *number).await?;
                last = pull_request(github, tree, limits, &rerun_event(repo, &pull)).await?;
            }
            Ok(last)
        }
        Event::Installed { repos } => {
            for repo in repos {
                for label in &DSLP_LABELS {
                    github.ensure_label(repo, label).await?;
                }
            }
            Ok(Outcome::neutral(format!(
                "The {} DSLP labels are in place on {} repositor{}.",
                DSLP_LABELS.len(),
                repos.len(),
                if repos.len() == 1 { "y" } else { "ies" }
            )))
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
    let head_repo = pull
        .head
        .repo
        .as_ref()
        .and_then(|r| RepoName::parse(&r.full_name));
    PullRequestEvent {
        action: "synchronize".into(),
        repo: repo.clone(),
        number: pull.number,
        head_ref: pull.head.name.clone(),
        head_sha: pull.head.sha.clone(),
        base_ref: pull.base.name.clone(),
        base_sha: pull.base.sha.clone(),
        body: pull.body.clone().unwrap_or_default(),
        labels: pull.labels.iter().map(|l| l.name.clone()).collect(),
        merged: pull.merged.unwrap_or(false),
        state: if pull.state.eq_ignore_ascii_case("closed") {
            IssueState::Closed
        } else {
            IssueState::Open
        },
        from_fork: head_repo.is_some_and(|h| !h.same_as(repo)),
        clone_url: pull.base.repo.as_ref().and_then(|r| r.clone_url.clone()),
    }
}

/// The config of the repository's default branch (or the Action's checkout).
async fn config_of(github: &impl GitHub, tree: &Tree, repo: &RepoName) -> Result<RepoConfig> {
    match tree {
        Tree::Workspace(root) => load_config(root),
        Tree::Fetched(_) => match github.file_at(repo, CONFIG_PATH, "").await? {
            Some(bytes) => Ok(RepoConfig::parse(
                &String::from_utf8_lossy(&bytes),
                CONFIG_PATH,
            )?),
            None => Ok(RepoConfig::parse("version: 1\n", CONFIG_PATH)?),
        },
    }
}

/// `.github/dslp.yml` under `root`, or the defaults when there is none.
pub fn load_config(root: &Path) -> Result<RepoConfig> {
    let path = root.join(CONFIG_PATH);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(RepoConfig::parse(&text, CONFIG_PATH)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(RepoConfig::parse("version: 1\n", CONFIG_PATH)?)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

async fn rulebook_of(github: &impl GitHub, tree: &Tree, repo: &RepoName) -> Result<Rulebook> {
    let config = config_of(github, tree, repo).await?;
    Ok(config.rulebook(CONFIG_PATH)?)
}

async fn directory(github: &impl GitHub, repo: &RepoName) -> Result<IssueDirectory, GitHubError> {
    let issues = github.issues(repo).await?;
    Ok(IssueDirectory::complete(
        Some(repo.clone()),
        issues.iter().map(|i| i.to_issue()),
    ))
}

async fn check_issue(
    github: &impl GitHub,
    tree: &Tree,
    repo: &RepoName,
    issue: &Issue,
) -> Result<Outcome> {
    if issue.is_pull_request {
        return Ok(Outcome::neutral(
            "A pull request's conversation: nothing to check.",
        ));
    }
    let rulebook = rulebook_of(github, tree, repo).await?;
    let directory = directory(github, repo).await?;
    let number = issue.number.unwrap_or_default();
    let had_comment = github
        .comments(repo, number)
        .await?
        .iter()
        .any(|c| c.body.as_deref().is_some_and(|b| b.contains(ISSUE_MARKER)));
    let plan = engine::issue(issue, &rulebook, &directory, had_comment);
    let warnings = execute(github, repo, &plan).await?;
    Ok(Outcome::of(plan, warnings))
}

async fn branch_status(
    github: &impl GitHub,
    tree: &Tree,
    repo: &RepoName,
    branch: &str,
    after: &str,
) -> Result<Outcome> {
    let rulebook = rulebook_of(github, tree, repo).await?;
    let directory = directory(github, repo).await?;
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
        state: if errors { "failure" } else { "success" }.into(),
        context: BRANCH_STATUS.into(),
        description: description.chars().take(140).collect(),
    };
    github.create_status(repo, &sha, &status).await?;
    Ok(Outcome {
        verdict: if errors { "NO-GO" } else { "GO" }.into(),
        summary: description,
        ..Outcome::default()
    })
}

async fn command(
    github: &impl GitHub,
    tree: &Tree,
    limits: Limits,
    repo: &RepoName,
    issue: &Issue,
    requests: &[ChatRequest],
) -> Result<Outcome> {
    let number = issue.number.unwrap_or_default();
    let mut last = Outcome::neutral("");
    for request in requests {
        last = match request {
            ChatRequest::Known(Command::Help) => {
                reply(github, repo, number, &chatops::help()).await?;
                Outcome::neutral(chatops::help())
            }
            ChatRequest::Known(Command::Rerun) if issue.is_pull_request => {
                let pull = github.pull(repo, number).await?;
                pull_request(github, tree, limits, &rerun_event(repo, &pull)).await?
            }
            ChatRequest::Known(Command::Rerun) => check_issue(github, tree, repo, issue).await?,
            ChatRequest::Unknown { word, suggestion } => {
                let text = chatops::unknown(word, *suggestion);
                reply(github, repo, number, &text).await?;
                Outcome::neutral(text)
            }
        };
    }
    Ok(last)
}

async fn reply(github: &impl GitHub, repo: &RepoName, issue: u64, text: &str) -> Result<()> {
    let body = format!("{COMMAND_MARKER}\n{text}");
    github::upsert_comment(github, repo, issue, COMMAND_MARKER, &body).await?;
    Ok(())
}

async fn pull_request(
    github: &impl GitHub,
    tree: &Tree,
    limits: Limits,
    event: &PullRequestEvent,
) -> Result<Outcome> {
    let repo = &event.repo;
    let root = match tree {
        Tree::Workspace(root) => Some(root.clone()),
        // A closed pull request needs only its rules: no fetch.
        Tree::Fetched(_) if event.action == "closed" => None,
        Tree::Fetched(fetch) => {
            let clone_url = event.clone_url.clone().ok_or_else(|| {
                anyhow!("the payload names no clone URL for {repo}; cannot fetch its commits")
            })?;
            let (fetch, pull) = (fetch.clone(), event.clone());
            Some(
                off_executor(limits, "fetching the pull request's commits", move || {
                    fetch.checkout(&pull, &clone_url)
                })
                .await??,
            )
        }
    };
    let loaded = match &root {
        Some(root) => load_config(root),
        None => config_of(github, tree, repo).await,
    }
    .and_then(|config| {
        let rulebook = config.rulebook(CONFIG_PATH)?;
        Ok((config, rulebook))
    });
    let (config, rulebook) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => match error.downcast_ref::<ConfigError>() {
            Some(config_error) => return bad_config(github, repo, event, config_error).await,
            None => return Err(error),
        },
    };
    let directory = directory(github, repo).await?;
    let changed = github.pull_files(repo, event.number).await.ok();
    let facts = PullRequest {
        number: Some(event.number),
        head: event.head_ref.clone(),
        base: event.base_ref.clone(),
        body: Some(event.body.clone()),
        labels: event.labels.clone(),
        state: event.state,
        merged: event.merged,
        changed_files: changed,
        ..PullRequest::default()
    };
    let branch = engine::pull_request_rules(&facts, &rulebook, &directory);
    let kind = branch
        .head
        .kind
        .map(|k| rulebook.conventions.policies.get(k).policy.evidence)
        .unwrap_or_default();
    let wants_evidence = (kind.data_tests || kind.training) && event.action != "closed";
    let mut warnings = Vec::new();
    let evidence = match root.filter(|_| wants_evidence) {
        Some(root) => {
            if let Err(RevisionError::ShallowClone { .. }) =
                Revisions::discover(&root).and_then(|r| r.commit_id(&event.base_sha))
            {
                warnings.push(format!(
                    "the base commit {} is not in this shallow clone; set `fetch-depth: 0` on actions/checkout to compare with the base branch",
                    event.base_sha
                ));
            }
            let base = event.base_sha.clone();
            let (data_tests, training) = (kind.data_tests, kind.training);
            Some(
                off_executor(limits, "gathering the evidence", move || {
                    evidence::gather(&Request {
                        root: &root,
                        config: &config,
                        base: Some(&base),
                        models: &[],
                        run_data_tests: data_tests,
                        run_training: training,
                        output: None,
                    })
                })
                .await?,
            )
        }
        None => None,
    };
    let plan = engine::pull_request(
        event.number,
        &event.head_sha,
        &branch,
        &rulebook,
        evidence.as_ref(),
        CONFIG_PATH,
    );
    warnings.extend(execute(github, repo, &plan).await?);
    let mut outcome = Outcome::of(plan, warnings);
    outcome.evaluated = evidence.map(|evidence| Evaluated {
        pull: event.number,
        head_ref: event.head_ref.clone(),
        head_sha: event.head_sha.clone(),
        base_sha: event.base_sha.clone(),
        evidence,
    });
    Ok(outcome)
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

/// A config that cannot be read fails the check, with an annotation at the
/// line and column, and says so in the pull request.
async fn bad_config(
    github: &impl GitHub,
    repo: &RepoName,
    pr: &PullRequestEvent,
    error: &ConfigError,
) -> Result<Outcome> {
    let title = format!("{CONFIG_PATH} is invalid");
    let message = format!(
        "{}:{}:{}: {}",
        CONFIG_PATH, error.line, error.column, error.message
    );
    let body = format!(
        "{PR_MARKER}\n## ❌ dslp: **NO-GO**\n\n`{CONFIG_PATH}` cannot be used, so nothing was checked:\n\n```\n{message}\n```\n\n`dslp lint config` checks it locally.\n",
    );
    let run = CheckRun {
        name: engine::CHECK_NAME.into(),
        head_sha: pr.head_sha.clone(),
        conclusion: Conclusion::Failure,
        title: title.clone(),
        summary: message.clone(),
        text: body.clone(),
        annotations: vec![Annotation {
            path: CONFIG_PATH.into(),
            start_line: error.line,
            end_line: error.line,
            annotation_level: AnnotationLevel::Failure,
            message: error.message.clone(),
            title,
        }],
    };
    let plan = Plan {
        effects: vec![
            Effect::UpsertComment {
                issue: pr.number,
                marker: PR_MARKER,
                body: body.clone(),
            },
            Effect::Check(run),
        ],
        summary: body,
        verdict: "NO-GO".into(),
    };
    let warnings = execute(github, repo, &plan).await?;
    Ok(Outcome::of(plan, warnings))
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
