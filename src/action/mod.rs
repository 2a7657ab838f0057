//! `dslp action`: the GitHub Action. Reads the runner's event file, decides
//! with the same engine as the App, and posts through the GitHub port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::{CONFIG_PATH, ConfigError, RepoConfig};
use crate::engine::{self, Effect, Plan};
use crate::event::{self, Event, PullRequestEvent};
use crate::evidence::{self, Evidence, Request};
use crate::github::octo::OctocrabGitHub;
use crate::github::retry::RetryPolicy;
use crate::github::{
    self, Annotation, AnnotationLevel, CheckRun, Conclusion, GitHub, GitHubError, Status,
};
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{IssueDirectory, PullRequest, Rulebook, Severity};
use crate::report::comment::ISSUE_MARKER;
use crate::revision::{RevisionError, Revisions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Fail the step on a NO-GO verdict or an error.
    NoGo,
    /// Fail the step only when dslp-bot could not do its job.
    Error,
    /// Never fail the step.
    Never,
}

/// The Actions environment, read once at start.
#[derive(Debug, clap::Args)]
pub struct ActionArgs {
    #[arg(long, env = "GITHUB_EVENT_NAME")]
    event_name: String,
    #[arg(long, env = "GITHUB_EVENT_PATH")]
    event_path: PathBuf,
    #[arg(long, env = "GITHUB_REPOSITORY")]
    repository: String,
    #[arg(long, env = "GITHUB_WORKSPACE", default_value = ".")]
    workspace: PathBuf,
    #[arg(long, env = "GITHUB_SHA", default_value = "")]
    sha: String,
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    api_url: String,
    /// The token; never printed.
    #[arg(long, env = "INPUT_TOKEN", hide_env_values = true)]
    token: String,
    #[arg(long, env = "INPUT_FAIL_ON", value_enum, default_value = "no-go")]
    fail_on: FailOn,
    #[arg(long, env = "GITHUB_STEP_SUMMARY")]
    step_summary: Option<PathBuf>,
    #[arg(long, env = "GITHUB_OUTPUT")]
    output: Option<PathBuf>,
    #[arg(long, env = "RUNNER_TEMP")]
    runner_temp: Option<PathBuf>,
    /// First retry delay in milliseconds (tests shorten it).
    #[arg(long, env = "DSLP_RETRY_BASE_MS", default_value_t = 500, hide = true)]
    retry_base_ms: u64,
}

/// What the run concluded.
struct Outcome {
    verdict: String,
    summary: String,
    evidence_path: Option<PathBuf>,
}

pub fn run(args: ActionArgs) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let fail_on = args.fail_on;
    match runtime.block_on(run_async(&args)) {
        Ok(outcome) => {
            write_outputs(&args, &outcome)?;
            let failed = fail_on == FailOn::NoGo && outcome.verdict == "NO-GO";
            Ok(if failed { 1 } else { 0 })
        }
        Err(error) => {
            eprintln!("::error::dslp-bot could not finish: {error:#}");
            Ok(if fail_on == FailOn::Never { 0 } else { 2 })
        }
    }
}

async fn run_async(args: &ActionArgs) -> Result<Outcome> {
    let payload = std::fs::read(&args.event_path)
        .with_context(|| format!("reading the event file {}", args.event_path.display()))?;
    let event = event::parse(&args.event_name, &payload)?;
    let repo = RepoName::parse(&args.repository)
        .with_context(|| format!("GITHUB_REPOSITORY `{}` is not owner/name", args.repository))?;
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(args.retry_base_ms),
        ..RetryPolicy::default()
    };
    let github = OctocrabGitHub::new(&args.api_url, &args.token, policy)?;
    let loaded = load_config(&args.workspace).and_then(|config| {
        let rulebook = config.rulebook(CONFIG_PATH)?;
        Ok((config, rulebook))
    });
    let (config, rulebook) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => match (error.downcast_ref::<ConfigError>(), &event) {
            (Some(config_error), Event::PullRequest(pr)) => {
                return bad_config(&github, &repo, pr, config_error).await;
            }
            _ => return Err(error),
        },
    };
    match event {
        Event::PullRequest(pr) => pull_request(args, &github, &repo, &config, &rulebook, &pr).await,
        Event::Issue { issue, .. } | Event::IssueComment { issue, .. }
            if !issue.is_pull_request || matches!(args.event_name.as_str(), "issues") =>
        {
            let directory = directory(&github, &repo).await?;
            let number = issue.number.unwrap_or_default();
            let had_comment = github
                .comments(&repo, number)
                .await?
                .iter()
                .any(|c| c.body.as_deref().is_some_and(|b| b.contains(ISSUE_MARKER)));
            let plan = engine::issue(&issue, &rulebook, &directory, had_comment);
            execute(&github, &repo, &plan).await?;
            Ok(Outcome {
                verdict: plan.verdict,
                summary: plan.summary,
                evidence_path: None,
            })
        }
        Event::Push {
            branch: Some(branch),
            after,
            deleted: false,
            ..
        } => {
            let directory = directory(&github, &repo).await?;
            let report = rulebook.check_branch(&branch, &directory);
            let errors = report
                .findings
                .iter()
                .any(|f| f.severity == Severity::Error);
            let description = report
                .findings
                .first()
                .map(|f| format!("{}: {}", f.rule, f.message))
                .unwrap_or_else(|| "the branch follows DSLP's conventions".into());
            let status = Status {
                state: if errors { "failure" } else { "success" }.into(),
                context: "dslp/branch".into(),
                description: description.chars().take(140).collect(),
            };
            github.create_status(&repo, &after, &status).await?;
            Ok(Outcome {
                verdict: if errors { "NO-GO" } else { "GO" }.into(),
                summary: description,
                evidence_path: None,
            })
        }
        other => {
            eprintln!("dslp-bot has nothing to do for {other:?}");
            Ok(Outcome {
                verdict: "NEUTRAL".into(),
                summary: "Nothing to check for this event.".into(),
                evidence_path: None,
            })
        }
    }
}

fn load_config(workspace: &Path) -> Result<RepoConfig> {
    let path = workspace.join(CONFIG_PATH);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(RepoConfig::parse(&text, CONFIG_PATH)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(RepoConfig::parse("version: 1\n", CONFIG_PATH)?)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

async fn directory(github: &impl GitHub, repo: &RepoName) -> Result<IssueDirectory, GitHubError> {
    let issues = github.issues(repo).await?;
    Ok(IssueDirectory::complete(
        Some(repo.clone()),
        issues.iter().map(|i| i.to_issue()),
    ))
}

async fn pull_request(
    args: &ActionArgs,
    github: &impl GitHub,
    repo: &RepoName,
    config: &RepoConfig,
    rulebook: &Rulebook,
    event: &PullRequestEvent,
) -> Result<Outcome> {
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
    let branch = engine::pull_request_rules(&facts, rulebook, &directory);
    let kind = branch
        .head
        .kind
        .map(|k| rulebook.conventions.policies.get(k).policy.evidence)
        .unwrap_or_default();
    let wants_evidence = (kind.data_tests || kind.training) && event.action != "closed";
    let evidence = if wants_evidence {
        if let Err(RevisionError::ShallowClone { .. }) =
            Revisions::discover(&args.workspace).and_then(|r| r.commit_id(&event.base_sha))
        {
            eprintln!(
                "::warning::the base commit {} is not in this shallow clone; set `fetch-depth: 0` on actions/checkout to compare with the base branch",
                event.base_sha
            );
        }
        let workspace = args.workspace.clone();
        let config = config.clone();
        let base = event.base_sha.clone();
        let (data_tests, training) = (kind.data_tests, kind.training);
        // git2, polars and linfa are CPU-bound: keep them off the async executor.
        Some(
            tokio::task::spawn_blocking(move || {
                evidence::gather(&Request {
                    root: &workspace,
                    config: &config,
                    base: Some(&base),
                    models: &[],
                    run_data_tests: data_tests,
                    run_training: training,
                    output: None,
                })
            })
            .await
            .context("gathering the evidence")?,
        )
    } else {
        None
    };
    let plan = engine::pull_request(
        event.number,
        &event.head_sha,
        &branch,
        rulebook,
        evidence.as_ref(),
        CONFIG_PATH,
    );
    execute(github, repo, &plan).await?;
    let evidence_path = match &evidence {
        Some(evidence) => Some(write_evidence(args, evidence)?),
        None => None,
    };
    Ok(Outcome {
        verdict: plan.verdict,
        summary: plan.summary,
        evidence_path,
    })
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
        "{}\n## ❌ dslp: **NO-GO**\n\n`{CONFIG_PATH}` cannot be used, so nothing was checked:\n\n```\n{message}\n```\n\n`dslp lint config` checks it locally.\n",
        crate::report::comment::PR_MARKER
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
                marker: crate::report::comment::PR_MARKER,
                body: body.clone(),
            },
            Effect::Check(run),
        ],
        summary: body,
        verdict: "NO-GO".into(),
    };
    execute(github, repo, &plan).await?;
    Ok(Outcome {
        verdict: plan.verdict,
        summary: plan.summary,
        evidence_path: None,
    })
}

async fn execute(github: &impl GitHub, repo: &RepoName, plan: &Plan) -> Result<(), GitHubError> {
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
                Err(GitHubError::NotAllowed { message, .. }) => {
                    eprintln!(
                        "::warning::the token may not comment on #{issue} ({message}); the report is in the job summary"
                    );
                }
                Err(e) => return Err(e),
            },
            Effect::Check(run) => {
                let published = github::publish_check(github, repo, run).await?;
                eprintln!("dslp: published the check as {published:?}");
            }
        }
    }
    Ok(())
}

fn write_evidence(args: &ActionArgs, evidence: &Evidence) -> Result<PathBuf> {
    let dir = args.runner_temp.clone().unwrap_or_else(std::env::temp_dir);
    let path = dir.join("dslp-evidence.json");
    std::fs::write(&path, serde_json::to_vec_pretty(evidence)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn write_outputs(args: &ActionArgs, outcome: &Outcome) -> Result<()> {
    use std::io::Write;
    if let Some(path) = &args.step_summary {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(file, "{}", outcome.summary)?;
    }
    if let Some(path) = &args.output {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(file, "verdict={}", outcome.verdict)?;
        if let Some(evidence) = &outcome.evidence_path {
            writeln!(file, "metrics-json={}", evidence.display())?;
        }
    }
    Ok(())
}
