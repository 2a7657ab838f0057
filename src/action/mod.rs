//! `dslp action`: the GitHub Action. Reads the runner's event file, decides
//! with the same engine as the App, and posts through the GitHub port.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::data::source::{LfsRemote, Sources};
use crate::event::{self, Event};
use crate::evidence::Evidence;
use crate::github::fetch::{GitFetcher, Secret};
use crate::github::octo::OctocrabGitHub;
use crate::github::retry::RetryPolicy;
use crate::handler::sandbox::Sandbox;
use crate::handler::{self, Limits, Outcome, RunContext, Tree};
use crate::lifecycle::Verdict;
use crate::lifecycle::links::RepoName;

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
    #[arg(long, env = "GITHUB_SERVER_URL", default_value = "https://github.com")]
    server_url: String,
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
            let failed = fail_on == FailOn::NoGo && outcome.verdict == Verdict::NoGo;
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
    let mut event = event::parse(&args.event_name, &payload)?;
    // An Action's event file names its repository; GITHUB_REPOSITORY must agree.
    let repository = RepoName::parse(&args.repository)
        .with_context(|| format!("GITHUB_REPOSITORY `{}` is not owner/name", args.repository))?;
    if let Event::Scheduled {
        repo: repo @ None, ..
    } = &mut event
    {
        *repo = Some(repository);
    }
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(args.retry_base_ms),
        ..RetryPolicy::default()
    };
    let github = OctocrabGitHub::new(&args.api_url, &args.token, policy)?;
    let tree = tree_for(args, &event);
    // Git LFS objects the checkout lacks come from the repository's server
    // with the workflow's token.
    let sources = Sources {
        lfs: Some(LfsRemote {
            url: format!(
                "{}/{}.git",
                args.server_url.trim_end_matches('/'),
                args.repository
            ),
            token: Some(Secret::new(args.token.clone())),
        }),
        ..Sources::default()
    };
    // The Action has no runs ledger: the Ask's leaderboard shows this run only.
    let context = RunContext {
        tree: &tree,
        limits: Limits::default(),
        sandbox: &Sandbox::InProcess,
        sources: &sources,
        evaluations: &[],
        set_up: crate::automation::SetUp::NOTHING,
        following: crate::handler::Following::default(),
    };
    let outcome = handler::handle(&github, context, &event).await?;
    for warning in &outcome.warnings {
        eprintln!("::warning::{warning}");
    }
    Ok(outcome)
}

/// Where the event's files come from. A comment's workflow runs on the
/// default branch's checkout, so a command on a pull request (`/dslp
/// rerun`, `/dslp ok-to-test`) fetches the pull request's own two commits,
/// as the App does, with the workflow's token: nothing of them is run, and
/// a fork's wait for approval and its limits apply.
fn tree_for(args: &ActionArgs, event: &Event) -> Tree {
    match event {
        Event::IssueComment { issue, .. } if issue.is_pull_request => {
            crate::github::fetch::register_transport();
            let scratch = args.runner_temp.clone().unwrap_or_else(std::env::temp_dir);
            Tree::Fetched(std::sync::Arc::new(GitFetcher {
                root: scratch.join("dslp-checkouts"),
                token: Secret::new(args.token.clone()),
            }))
        }
        _ => Tree::Workspace(args.workspace.clone()),
    }
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
        if let Some(evaluated) = outcome.evaluated.first() {
            let path = write_evidence(args, &evaluated.evidence)?;
            writeln!(file, "metrics-json={}", path.display())?;
        }
    }
    Ok(())
}
