//! What dslp-bot does for an event, the same for the Action and the App:
//! gather the facts through the GitHub port and the repository's tree, let
//! the engine decide, carry out the plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use crate::automation::{self, Repository};
use crate::chatops::{self, Command, Request as ChatRequest};
use crate::config::{CONFIG_PATH, ConfigError, RepoConfig};
use crate::engine::{self, Effect, Plan};
use crate::event::{Event, PullRequestEvent};
use crate::evidence::{self, Evidence, FileLimits, Request};
use crate::github::{
    self, Annotation, AnnotationLevel, CheckRun, Conclusion, GitHub, GitHubError, PullData, Status,
};
use crate::lifecycle::ask::Evaluation;
use crate::lifecycle::labels::{DSLP_LABELS, FAILED, SUCCEEDED};
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{
    BranchKind, Issue, IssueDirectory, IssueKind, IssueState, PullRequest, Rulebook, Severity,
};
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
    /// The most a pull request from a fork gets; its config can lower these.
    pub fork_files: FileLimits,
    pub fork_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            evidence_time: Duration::from_secs(30 * 60),
            fork_files: FileLimits {
                rows: 1_000_000,
                bytes: 200_000_000,
            },
            fork_time: Duration::from_secs(5 * 60),
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
            fork_files: FileLimits {
                rows: asked
                    .rows
                    .map_or(self.fork_files.rows, |r| r.min(self.fork_files.rows)),
                bytes: asked.megabytes.map_or(self.fork_files.bytes, |mb| {
                    (mb * 1_000_000).min(self.fork_files.bytes)
                }),
            },
            fork_time: time,
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

/// What a job knows beyond the event: where files come from, its limits,
/// and the runs ledger's evaluations of the repository (empty for the Action).
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    pub tree: &'a Tree,
    pub limits: Limits,
    pub evaluations: &'a [Evaluation],
    /// What to set up when the App is installed.
    pub set_up: automation::SetUp,
}

pub async fn handle(github: &impl GitHub, ctx: RunContext<'_>, event: &Event) -> Result<Outcome> {
    let tree = ctx.tree;
    match event {
        Event::PullRequest(pr) => pull_request(github, ctx, pr, false).await,
        Event::Issue {
            action,
            repo,
            issue,
        } => check_issue(github, ctx, repo, issue, action).await,
        Event::IssueComment {
            action,
            repo,
            issue,
            comment,
            author,
        } => {
            let requests = chatops::commands(comment);
            if action == "created" && !requests.is_empty() {
                command(github, ctx, repo, issue, author, &requests).await
            } else if issue.is_pull_request {
                Ok(Outcome::neutral(
                    "A comment on a pull request: nothing to check.",
                ))
            } else {
                check_issue(github, ctx, repo, issue, "commented").await
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
                last = pull_request(github, ctx, &rerun_event(repo, &pull), false).await?;
            }
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
        Tree::Fetched(_) => config_at(github, repo, "").await,
    }
}

/// The config at a branch, through the API (`""`: the default branch).
async fn config_at(github: &impl GitHub, repo: &RepoName, reference: &str) -> Result<RepoConfig> {
    match github.file_at(repo, CONFIG_PATH, reference).await? {
        Some(bytes) => Ok(RepoConfig::parse(
            &String::from_utf8_lossy(&bytes),
            CONFIG_PATH,
        )?),
        None => Ok(RepoConfig::parse("version: 1\n", CONFIG_PATH)?),
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

async fn rulebook_of(
    github: &impl GitHub,
    tree: &Tree,
    repo: &RepoName,
) -> Result<(RepoConfig, Rulebook)> {
    let config = config_of(github, tree, repo).await?;
    let rulebook = config.rulebook(CONFIG_PATH)?;
    Ok((config, rulebook))
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
    ctx: RunContext<'_>,
    repo: &RepoName,
    issue: &Issue,
    action: &str,
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
    // The experiment's flows follow its status label.
    if matches!(action, "labeled" | "opened" | "edited" | "commented") {
        let flow = if issue.labels.iter().any(|l| l == SUCCEEDED) {
            allowed(
                automation::promote(
                    github,
                    &repository,
                    &rulebook,
                    &config,
                    issue,
                    ctx.evaluations,
                    None,
                )
                .await,
                "run the success flow",
            )?
        } else if issue.labels.iter().any(|l| l == FAILED) && issue.state == IssueState::Open {
            allowed(
                automation::fail(
                    github,
                    &repository,
                    &rulebook,
                    &config,
                    issue,
                    ctx.evaluations,
                    None,
                )
                .await,
                "run the failure flow",
            )?
        } else {
            String::new()
        };
        automation::say(github, repo, number, &flow).await?;
    }
    let asks = automation::asks_touched(issue, &repository.directory);
    let updated = automation::refresh_asks(
        github,
        &repository,
        &rulebook,
        &config,
        &asks,
        ctx.evaluations,
    )
    .await?;
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
    ctx: RunContext<'_>,
    repo: &RepoName,
    issue: &Issue,
    author: &str,
    requests: &[ChatRequest],
) -> Result<Outcome> {
    let number = issue.number.unwrap_or_default();
    let mut last = Outcome::neutral("");
    for request in requests {
        if let ChatRequest::Known(command, _) = request {
            if command.acts() && !automation::may_act(github, repo, author).await? {
                let text = format!(
                    "@{author}, thanks: `/dslp {}` changes things, so it is kept for people with write access to this repository. A maintainer can run it.",
                    chatops::COMMANDS
                        .iter()
                        .find(|c| c.command == *command)
                        .map_or("", |c| c.word)
                );
                reply(github, repo, number, &text).await?;
                last = Outcome::neutral(text);
                continue;
            }
        }
        last = match request {
            ChatRequest::Known(Command::Help, _) => {
                reply(github, repo, number, &chatops::help()).await?;
                Outcome::neutral(chatops::help())
            }
            ChatRequest::Known(Command::Rerun, _) if issue.is_pull_request => {
                let pull = github.pull(repo, number).await?;
                pull_request(github, ctx, &rerun_event(repo, &pull), false).await?
            }
            ChatRequest::Known(Command::Rerun, _) => {
                check_issue(github, ctx, repo, issue, "rerun").await?
            }
            ChatRequest::Known(Command::OkToTest, _) => {
                if !issue.is_pull_request {
                    let text = "`/dslp ok-to-test` is for pull requests from forks.".to_string();
                    reply(github, repo, number, &text).await?;
                    Outcome::neutral(text)
                } else {
                    github
                        .add_labels(repo, number, &[automation::OK_TO_TEST.to_string()])
                        .await?;
                    let pull = github.pull(repo, number).await?;
                    reply(
                        github,
                        repo,
                        number,
                        &format!("@{author} approved: evaluating this pull request."),
                    )
                    .await?;
                    pull_request(github, ctx, &rerun_event(repo, &pull), true).await?
                }
            }
            ChatRequest::Known(
                command @ (Command::Succeed | Command::Fail | Command::Promote),
                argument,
            ) => experiment_command(github, ctx, repo, issue, *command, argument).await?,
            ChatRequest::Unknown { word, suggestion } => {
                let text = chatops::unknown(word, *suggestion);
                reply(github, repo, number, &text).await?;
                Outcome::neutral(text)
            }
        };
    }
    Ok(last)
}

/// `succeed`, `fail` and `promote`, on an Experiment issue or its pull request.
async fn experiment_command(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    issue: &Issue,
    command: Command,
    argument: &str,
) -> Result<Outcome> {
    let number = issue.number.unwrap_or_default();
    let (config, rulebook) = rulebook_of(github, ctx.tree, repo).await?;
    let repository = Repository::read(github, repo).await?;
    // On a pull request, the experiment is the issue its branch names.
    let (experiment_number, at_hand) = if issue.is_pull_request {
        let pull = github.pull(repo, number).await?;
        let branch = rulebook.conventions.classify(&pull.head.name);
        match (branch.kind, branch.number) {
            (Some(BranchKind::Experiment), Some(n)) => (n, Some(number)),
            _ => {
                let text = format!(
                    "`{}` is not an experiment branch (`experiment/N-slug`), so there is no experiment to mark.",
                    pull.head.name
                );
                reply(github, repo, number, &text).await?;
                return Ok(Outcome::neutral(text));
            }
        }
    } else {
        (number, None)
    };
    let mut experiment = match github.issue(repo, experiment_number).await {
        Ok(data) => data.to_issue(),
        Err(GitHubError::NotFound(_)) => {
            let text = format!("There is no issue #{experiment_number}.");
            reply(github, repo, number, &text).await?;
            return Ok(Outcome::neutral(text));
        }
        Err(e) => return Err(e.into()),
    };
    if experiment.labelled_kind() != Some(IssueKind::Experiment) {
        let text = format!("#{experiment_number} is not an Experiment issue.");
        reply(github, repo, number, &text).await?;
        return Ok(Outcome::neutral(text));
    }
    let text = match command {
        Command::Succeed => {
            automation::set_status(github, repo, &mut experiment, SUCCEEDED, None).await?;
            allowed(
                automation::promote(
                    github,
                    &repository,
                    &rulebook,
                    &config,
                    &experiment,
                    ctx.evaluations,
                    at_hand,
                )
                .await,
                "run the success flow",
            )?
        }
        Command::Promote => allowed(
            automation::promote(
                github,
                &repository,
                &rulebook,
                &config,
                &experiment,
                ctx.evaluations,
                at_hand,
            )
            .await,
            "run the success flow",
        )?,
        _ => {
            let tldr = Some(argument).filter(|a| !a.trim().is_empty());
            automation::set_status(github, repo, &mut experiment, FAILED, tldr).await?;
            allowed(
                automation::fail(
                    github,
                    &repository,
                    &rulebook,
                    &config,
                    &experiment,
                    ctx.evaluations,
                    at_hand,
                )
                .await,
                "run the failure flow",
            )?
        }
    };
    automation::say(github, repo, experiment_number, &text).await?;
    if at_hand.is_some() {
        reply(github, repo, number, &text).await?;
    }
    let repository = Repository::read(github, repo).await?;
    let asks = automation::asks_touched(&experiment, &repository.directory);
    automation::refresh_asks(
        github,
        &repository,
        &rulebook,
        &config,
        &asks,
        ctx.evaluations,
    )
    .await?;
    Ok(Outcome::neutral(text))
}

async fn reply(github: &impl GitHub, repo: &RepoName, issue: u64, text: &str) -> Result<()> {
    let body = format!("{COMMAND_MARKER}\n{text}");
    github::upsert_comment(github, repo, issue, COMMAND_MARKER, &body).await?;
    Ok(())
}

async fn pull_request(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
    approved: bool,
) -> Result<Outcome> {
    let (tree, limits) = (ctx.tree, ctx.limits);
    let repo = &event.repo;
    // A fork's pull request answers to the base branch's config, and is not
    // fetched at all until a maintainer approves it.
    let fork_config = match tree {
        Tree::Fetched(_) if event.from_fork => Some(config_at(github, repo, &event.base_ref).await),
        _ => None,
    };
    let fork_approval = match &fork_config {
        Some(Ok(config)) => config.automations.fork_approval,
        _ => true,
    };
    let waits_for_approval = event.from_fork
        && fork_approval
        && !approved
        && !event.labels.iter().any(|l| l == automation::OK_TO_TEST);
    let root = match tree {
        Tree::Workspace(root) => Some(root.clone()),
        // A closed pull request needs only its rules: no fetch.
        Tree::Fetched(_) if event.action == "closed" || waits_for_approval => None,
        Tree::Fetched(fetch) => {
            let clone_url = event.clone_url.clone().ok_or_else(|| {
                anyhow!("the payload names no clone URL for {repo}; cannot fetch its commits")
            })?;
            let (fetch, pull) = (fetch.clone(), event.clone());
            let fetch_limits = if event.from_fork {
                Limits {
                    evidence_time: limits.evidence_time.min(limits.fork_time),
                    ..limits
                }
            } else {
                limits
            };
            Some(
                off_executor(
                    fetch_limits,
                    "fetching the pull request's commits",
                    move || fetch.checkout(&pull, &clone_url),
                )
                .await??,
            )
        }
    };
    let loaded = match (fork_config, &root) {
        (Some(config), _) => config,
        (None, Some(root)) => load_config(root),
        (None, None) => config_of(github, tree, repo).await,
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
    let repository = Repository::read(github, repo).await?;
    let directory = &repository.directory;
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
    let branch = engine::pull_request_rules(&facts, &rulebook, directory);
    let kind = branch
        .head
        .kind
        .map(|k| rulebook.conventions.policies.get(k).policy.evidence)
        .unwrap_or_default();
    let wants_evidence =
        (kind.data_tests || kind.training) && event.action != "closed" && !waits_for_approval;
    let mut warnings = Vec::new();
    let limits = if event.from_fork {
        limits.for_fork(&config)
    } else {
        limits
    };
    // A fork's files are measured before anything of them is parsed.
    let over_limit = match (&root, event.from_fork && wants_evidence) {
        (Some(root), true) => evidence::within_limits(root, &config, limits.fork_files).err(),
        _ => None,
    };
    let evidence = match root.filter(|_| wants_evidence && over_limit.is_none()) {
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
            let config = config.clone();
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
    let mut plan = engine::pull_request(
        event.number,
        &event.head_sha,
        &branch,
        &rulebook,
        evidence.as_ref(),
        CONFIG_PATH,
    );
    let note = match &over_limit {
        Some(why) => Some(format!(
            "> Not evaluated: {why}. The server's limits (`DSLP_FORK_MAX_ROWS`, `DSLP_FORK_MAX_MB`) and `automations.fork_limits` set them.\n\n"
        )),
        None if waits_for_approval && (kind.data_tests || kind.training) && event.action != "closed" => Some(
            "> This pull request comes from a fork: its data tests and training run after a maintainer comments `/dslp ok-to-test`.\n\n".to_string(),
        ),
        None => None,
    };
    if let Some(note) = note {
        for effect in &mut plan.effects {
            if let Effect::UpsertComment { body, .. } = effect {
                *body = body.replacen(PR_MARKER, &format!("{PR_MARKER}\n{note}"), 1);
            }
        }
        plan.summary = format!("{note}{}", plan.summary);
    }
    warnings.extend(execute(github, repo, &plan).await?);
    // The lifecycle around the pull request.
    let head = rulebook.conventions.classify(&event.head_ref);
    let linked = head
        .number
        .and_then(|n| repository.issues.iter().find(|i| i.number == n))
        .map(|i| i.to_issue())
        .filter(|i| !i.is_pull_request);
    if event.action == "closed" {
        let base_kind = rulebook.conventions.classify(&event.base_ref).kind;
        if let Some(text) = automation::pull_closed(
            github,
            &repository,
            &config,
            head.kind,
            linked.as_ref(),
            &event.head_ref,
            base_kind,
            event.merged,
        )
        .await?
        {
            automation::say(github, repo, event.number, &text).await?;
        }
    }
    let mut evaluations = ctx.evaluations.to_vec();
    if let Some(evidence) = &evidence {
        evaluations.push(automation::evaluation_of(
            &event.head_ref,
            event.number,
            &plan.verdict,
            evidence,
        ));
    }
    if let Some(issue) = &linked {
        let asks = automation::asks_touched(issue, directory);
        automation::refresh_asks(github, &repository, &rulebook, &config, &asks, &evaluations)
            .await?;
    }
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
