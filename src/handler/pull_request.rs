//! A pull request: its trust, the fetch, its config, the evidence, the
//! report, and the lifecycle around it, one step each.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::automation::closed::ClosedPull;
use crate::automation::{self, Lifecycle, Repository};
use crate::config::{CONFIG_PATH, ConfigError, RepoConfig};
use crate::engine::trust::{Trust, TrustFacts};
use crate::engine::{self, Effect, EvidenceState, Plan, notices};
use crate::event::{PullAction, PullRequestEvent};
use crate::evidence::{self, Evidence};
use crate::github::{APPROVAL_CONTEXT, GitHub, PullData, Status, StatusState};
use crate::lifecycle::ask::AskLeader;
use crate::lifecycle::issue::Lookup;
use crate::lifecycle::labels::OK_TO_TEST;
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{BranchKind, BranchReport};
use crate::lifecycle::{PullRequest, Rulebook};
use crate::report::comment::PR_MARKER;
use crate::report::history::{self, HistoryRow};
use crate::revision::{RevisionError, Revisions};

use super::context::{Evaluated, Limits, Outcome, RunContext, Tree};
use super::execute::execute;
use super::facts::{config_at, config_of, load_config, rerun_event};
use super::flows::{self, reply};
use super::sandbox::{EvaluationJob, JobLimits};
use super::tree::{checkout, sources_for};

pub(super) async fn pull_request(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
) -> Result<Outcome> {
    let mut gate = ForkGate::decide(github, ctx.tree, event).await?;
    let closed = event.action == PullAction::Closed;
    if !closed && on_the_runners(github, ctx, event, &gate).await {
        return super::dispatch::to_actions(github, ctx, event).await;
    }
    let root = match ctx.tree {
        Tree::Workspace(root) => Some(root.clone()),
        // A closed pull request needs only its rules: no fetch.
        Tree::Fetched(_) if closed || !gate.trust.evaluates() => None,
        Tree::Fetched(fetch) => Some(checkout(fetch, event, gate.limits(ctx.limits)).await?),
    };
    let base_config = gate.base_config.take();
    let (config, rulebook) = match config_for(github, ctx.tree, event, base_config, &root).await? {
        Ok(loaded) => loaded,
        Err(plan) => {
            let warnings = execute(github, &event.repo, &plan.effects).await?.warnings;
            return Ok(Outcome::of(plan, warnings));
        }
    };
    if gate.stale_label {
        unlabel_stale_approval(github, event).await?;
    }
    let repository = Repository::read(github, &event.repo).await?;
    let branch = rules_of(github, event, &rulebook, &repository.directory).await;
    let kind = branch
        .head
        .kind
        .map(|k| rulebook.conventions.policies.get(k).policy.evidence)
        .unwrap_or_default();
    let due = (kind.data_tests || kind.training) && !closed;
    let mut warnings = Vec::new();
    let evaluated = match root.filter(|_| due && gate.trust.evaluates()) {
        Some(root) => gather(ctx, &root, event, &config, kind, &gate, &mut warnings).await?,
        None => Gathered::default(),
    };
    let waiting = (due && !gate.trust.evaluates()).then(|| gate.waiting_notice(event));
    let state = evaluated.state(waiting.as_deref());
    let earlier = earlier_history(github, event).await;
    let leader = ask_leader(ctx, &repository, &rulebook, &branch);
    let plan = engine::pull_request(
        event.number,
        &event.head_sha,
        &branch,
        &rulebook,
        state,
        earlier,
        leader.as_ref(),
    );
    warnings.extend(execute(github, &event.repo, &plan.effects).await?.warnings);
    let lifecycle = Lifecycle {
        repository: &repository,
        rulebook: &rulebook,
        config: &config,
        evaluations: ctx.evaluations,
    };
    let evidence = evaluated.evidence;
    around(github, &lifecycle, event, &plan, evidence.as_ref()).await?;
    if closed {
        super::release::merged(github, ctx, event, &lifecycle).await?;
    }
    let mut outcome = Outcome::of(plan, warnings);
    outcome.evaluated = evidence
        .into_iter()
        .map(|evidence| Evaluated {
            repo: event.repo.clone(),
            pull: event.number,
            verdict: outcome.verdict,
            head_ref: event.head_ref.clone(),
            head_sha: event.head_sha.clone(),
            base_sha: event.base_sha.clone(),
            evidence,
        })
        .collect();
    Ok(outcome)
}

/// The pushes the pull request's comment already lists; none when it
/// cannot be read (a first report, a token that may not read comments).
async fn earlier_history(github: &impl GitHub, event: &PullRequestEvent) -> Vec<HistoryRow> {
    let comments = github
        .comments(&event.repo, event.number)
        .await
        .unwrap_or_default();
    comments
        .iter()
        .filter_map(|c| c.body.as_deref())
        .find(|body| body.contains(PR_MARKER))
        .map(history::read)
        .unwrap_or_default()
}

/// The config the pull request answers to: a fork's base branch's, else
/// its head's (from the checkout, or through the API when nothing was
/// fetched). One that cannot be read is the plan that says so.
/// The leader of the Ask an experiment branch's issue refers to, from the
/// runs ledger (the App's; the Action has none, so no leader).
fn ask_leader(
    ctx: RunContext<'_>,
    repository: &Repository,
    rulebook: &Rulebook,
    branch: &BranchReport,
) -> Option<AskLeader> {
    if branch.head.kind != Some(BranchKind::Experiment) || ctx.evaluations.is_empty() {
        return None;
    }
    crate::lifecycle::ask::leader_for(
        branch.head.number?,
        &repository.directory,
        &rulebook.conventions,
        ctx.evaluations,
        &repository.pull_states(),
    )
}

/// The `ok-to-test` label said a maintainer approved; not this commit.
async fn unlabel_stale_approval(github: &impl GitHub, event: &PullRequestEvent) -> Result<()> {
    let unlabel = Effect::RemoveLabel {
        issue: event.number,
        label: OK_TO_TEST.into(),
    };
    execute(github, &event.repo, &[unlabel]).await?;
    Ok(())
}

/// Whether the App hands this evaluation to the repository's Actions
/// runners: the base branch's config says `compute: actions` (the head's
/// cannot choose), for a head the App may evaluate.
async fn on_the_runners(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
    gate: &ForkGate,
) -> bool {
    if !matches!(ctx.tree, Tree::Fetched(_)) || !gate.trust.evaluates() {
        return false;
    }
    match &gate.base_config {
        Some(config) => super::dispatch::wanted(Some(config)),
        None => {
            let base = config_at(github, &event.repo, &event.base_ref).await;
            super::dispatch::wanted(Some(&base))
        }
    }
}

async fn config_for(
    github: &impl GitHub,
    tree: &Tree,
    event: &PullRequestEvent,
    base_config: Option<Result<RepoConfig>>,
    root: &Option<PathBuf>,
) -> Result<Result<(RepoConfig, Rulebook), Plan>> {
    let loaded = match (base_config, root) {
        (Some(config), _) => config,
        (None, Some(root)) => load_config(root),
        (None, None) => config_of(github, tree, &event.repo).await,
    }
    .and_then(|config| {
        let rulebook = config.rulebook(CONFIG_PATH)?;
        Ok((config, rulebook))
    });
    match loaded {
        Ok(loaded) => Ok(Ok(loaded)),
        Err(error) => match error.downcast_ref::<ConfigError>() {
            Some(config_error) => Ok(Err(notices::bad_config(
                event.number,
                &event.head_sha,
                config_error,
            ))),
            None => Err(error),
        },
    }
}

/// Whether a pull request's head may be fetched and evaluated, and under
/// which config: a fork answers to its base branch's.
struct ForkGate {
    trust: Trust,
    /// The base branch's config, for a fork's pull request.
    base_config: Option<Result<RepoConfig>>,
    /// The `ok-to-test` label is on a fork whose head nobody approved: it
    /// approved an earlier commit.
    stale_label: bool,
}

impl ForkGate {
    /// Gathers the facts trust is decided from. In the Action's own
    /// checkout GitHub decides what a fork's workflow may do (a read-only
    /// token, no secrets), so only fetched heads are gated.
    async fn decide(
        github: &impl GitHub,
        tree: &Tree,
        event: &PullRequestEvent,
    ) -> Result<ForkGate> {
        if matches!(tree, Tree::Workspace(_)) || !event.from_fork() {
            return Ok(ForkGate {
                trust: Trust::SameRepository,
                base_config: None,
                stale_label: false,
            });
        }
        let repo = &event.repo;
        let base_config = config_at(github, repo, &event.base_ref).await;
        let approval_required = base_config
            .as_ref()
            .map_or(true, |c| c.automations.fork_approval);
        let head_approved = approved(github, repo, &event.head_sha).await?;
        let author_may_write =
            !event.author.is_empty() && automation::may_act(github, repo, &event.author).await?;
        let trust = Trust::decide(TrustFacts {
            same_repository: false,
            approval_required,
            head_approved,
            author_may_write,
        });
        Ok(ForkGate {
            trust,
            base_config: Some(base_config),
            stale_label: trust == Trust::Unapproved && event.labels.iter().any(|l| l == OK_TO_TEST),
        })
    }

    /// The limits the fetch runs under.
    fn limits(&self, limits: Limits) -> Limits {
        match self.trust.is_fork() {
            true => Limits {
                evidence_time: limits.evidence_time.min(limits.fork_time),
                ..limits
            },
            false => limits,
        }
    }

    /// What the report says while a fork waits for a maintainer.
    fn waiting_notice(&self, event: &PullRequestEvent) -> String {
        let short: String = event.head_sha.chars().take(7).collect();
        if self.stale_label {
            format!(
                "This pull request comes from a fork, and `{short}` was pushed after a maintainer's approval: an approval covers the commit it was given for. Its data tests and training run after a maintainer comments `/dslp ok-to-test` again."
            )
        } else {
            "This pull request comes from a fork: its data tests and training run after a maintainer comments `/dslp ok-to-test`.".to_string()
        }
    }
}

/// Whether a maintainer approved exactly this commit: the newest
/// `dslp/ok-to-test` status on it is a success.
async fn approved(github: &impl GitHub, repo: &RepoName, sha: &str) -> Result<bool> {
    let statuses = github.statuses(repo, sha).await?;
    Ok(statuses
        .iter()
        .find(|s| s.context == APPROVAL_CONTEXT)
        .is_some_and(|s| s.state == StatusState::Success))
}

/// Approves the pull request's head commit for evaluation on `by`'s word:
/// a `dslp/ok-to-test` status on it, which only writers can set, and the
/// label people see.
pub(super) async fn approve(
    github: &impl GitHub,
    repo: &RepoName,
    pull: &PullData,
    by: &str,
) -> Result<()> {
    let status = Status {
        state: StatusState::Success,
        context: APPROVAL_CONTEXT.into(),
        description: format!("@{by} approved this commit for dslp-bot's data tests and training")
            .chars()
            .take(140)
            .collect(),
    };
    let mut effects = vec![Effect::SetStatus {
        sha: pull.head.sha.clone(),
        status,
    }];
    if !pull.labels.iter().any(|l| l.name == OK_TO_TEST) {
        effects.push(Effect::AddLabels {
            issue: pull.number,
            labels: vec![OK_TO_TEST.to_string()],
        });
    }
    execute(github, repo, &effects).await?;
    Ok(())
}

/// Someone added `ok-to-test`: from a maintainer it approves the head
/// commit; from anyone else it is taken off again.
pub(super) async fn labelled_ok_to_test(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
) -> Result<Outcome> {
    let repo = &event.repo;
    if !event.from_fork() {
        return Ok(Outcome::neutral(
            "`ok-to-test` on a pull request from the repository itself: nothing to approve.",
        ));
    }
    if !automation::may_act(github, repo, &event.sender).await? {
        let unlabel = Effect::RemoveLabel {
            issue: event.number,
            label: OK_TO_TEST.into(),
        };
        execute(github, repo, &[unlabel]).await?;
        let text = format!(
            "@{}, thanks: `{OK_TO_TEST}` lets a fork's pull request be evaluated, so it is kept for people with write access to this repository. A maintainer can add it, or comment `/dslp ok-to-test`.",
            event.sender
        );
        reply(github, repo, event.number, &text).await?;
        return Ok(Outcome::neutral(text));
    }
    let pull = github.pull(repo, event.number).await?;
    approve(github, repo, &pull, &event.sender).await?;
    pull_request(github, ctx, &rerun_event(repo, &pull)).await
}

/// The rules of the pull request's branch and of the issue it names.
async fn rules_of(
    github: &impl GitHub,
    event: &PullRequestEvent,
    rulebook: &Rulebook,
    directory: &crate::lifecycle::IssueDirectory,
) -> crate::lifecycle::BranchReport {
    let changed = github.pull_files(&event.repo, event.number).await.ok();
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
    engine::pull_request_rules(&facts, rulebook, directory)
}

/// The evidence gathered, or why it was not.
#[derive(Default)]
struct Gathered {
    evidence: Option<Evidence>,
    /// Why the evidence was not gathered: a fork's file over the limits,
    /// a limit hit while gathering.
    failed: Option<String>,
}

impl Gathered {
    fn state<'a>(&'a self, waiting: Option<&'a str>) -> EvidenceState<'a> {
        match (&self.evidence, &self.failed, waiting) {
            (Some(evidence), _, _) => EvidenceState::Gathered(evidence),
            (None, Some(why), _) => EvidenceState::Failed(why),
            (None, None, Some(notice)) => EvidenceState::Waiting(notice),
            (None, None, None) => EvidenceState::NotDue,
        }
    }
}

/// Measures a fork's files, then gathers the evidence under the limits,
/// in the sandbox.
async fn gather(
    ctx: RunContext<'_>,
    root: &Path,
    event: &PullRequestEvent,
    config: &RepoConfig,
    kind: crate::lifecycle::policy::Evidence,
    gate: &ForkGate,
    warnings: &mut Vec<String>,
) -> Result<Gathered> {
    let fork = gate.trust.is_fork();
    let limits = match fork {
        true => ctx.limits.for_fork(config),
        false => ctx.limits,
    };
    // A fork's files are measured before anything of them is parsed.
    if fork && let Err(why) = evidence::within_limits(root, config, limits.fork_files) {
        return Ok(Gathered {
            evidence: None,
            failed: Some(format!(
                "Not evaluated: {why}. The server's limits (`DSLP_FORK_MAX_ROWS`, `DSLP_FORK_MAX_MB`, `DSLP_FORK_MAX_COLUMNS`) and `automations.fork_limits` set them."
            )),
        });
    }
    if let Err(RevisionError::ShallowClone { .. }) =
        Revisions::discover(root).and_then(|r| r.commit_id(&event.base_sha))
    {
        warnings.push(format!(
            "the base commit {} is not in this shallow clone; set `fetch-depth: 0` on actions/checkout to compare with the base branch",
            event.base_sha
        ));
    }
    let job = EvaluationJob {
        root: root.to_path_buf(),
        config: config.source.clone(),
        base: Some(event.base_sha.clone()),
        run_data_tests: kind.data_tests,
        run_training: kind.training,
        keep_artifacts: false,
        sources: sources_for(ctx, root, event, fork.then_some(limits.fork_files.bytes)),
    };
    let job_limits = JobLimits {
        wall: limits.evidence_time,
        memory_bytes: limits.memory_bytes,
        fork,
    };
    Ok(match ctx.sandbox.evaluate(job, job_limits).await {
        Ok(evidence) => Gathered {
            evidence: Some(evidence),
            failed: None,
        },
        Err(error) => Gathered {
            evidence: None,
            failed: Some(format!("Not evaluated: {error}.")),
        },
    })
}

/// The lifecycle around the pull request: the explore and R46 flows when
/// it closed, and the Asks its issue belongs to.
async fn around(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    event: &PullRequestEvent,
    plan: &Plan,
    evidence: Option<&Evidence>,
) -> Result<()> {
    let (rulebook, directory) = (lifecycle.rulebook, &lifecycle.repository.directory);
    let head = rulebook.conventions.classify(&event.head_ref);
    let linked = match head.number.map(|n| directory.lookup_number(n)) {
        Some(Lookup::Found(issue)) if !issue.is_pull_request => Some(issue),
        _ => None,
    };
    // The ledger's evaluations, with this one.
    let mut evaluations = lifecycle.evaluations.to_vec();
    if let Some(evidence) = evidence {
        evaluations.push(evidence.evaluation(&event.head_ref, event.number, plan.verdict));
    }
    let lifecycle = Lifecycle {
        evaluations: &evaluations,
        ..*lifecycle
    };
    if event.action == PullAction::Closed {
        let closed = ClosedPull {
            kind: head.kind,
            issue: linked,
            head_ref: &event.head_ref,
            base_kind: rulebook.conventions.classify(&event.base_ref).kind,
            merged: event.merged,
        };
        let said = flows::pull_closed(github, &lifecycle, &closed).await?;
        flows::say(github, &event.repo, event.number, &said).await?;
    }
    if let Some(issue) = linked {
        let asks = automation::asks_touched(issue, directory);
        flows::refresh_asks(github, &lifecycle, &asks).await?;
    }
    Ok(())
}
