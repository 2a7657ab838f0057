//! `compute: actions`: the App hands a pull request's evaluation to the
//! repository's own GitHub Actions runners and follows it. It dispatches
//! the compute workflow (on the base branch, whose workflow file is
//! trusted) with the pull request and head as inputs; a `dslp/compute`
//! check links the run; the Action, running there, posts the `dslp` check
//! and the report as usual. The App looks at the run until it ends, then
//! concludes its check as the Action's and keeps the result in its ledger;
//! a run that has not ended by the deadline fails the check.

use anyhow::Result;
use serde_json::json;

use super::context::{FollowUp, Ledgered, Outcome, RunContext};
use super::facts::Seen;
use crate::automation::asks_touched;
use crate::config::{COMPUTE_WORKFLOW, Compute, RepoConfig};
use crate::engine::CHECK_NAME;
use crate::event::{Event, PullRequestEvent, RunWatch};
use crate::evidence::ledger_evaluation;
use crate::github::{CheckRun, CheckRunData, Conclusion, GitHub, GitHubError, StartedCheck};
use crate::lifecycle::issue::Lookup;
use crate::report::ledger::LedgerRecord;
use crate::timestamp::now_ms;

/// The App's check that follows a dispatched run.
pub const COMPUTE_CHECK: &str = "dslp/compute";

/// Whether `config` (the base branch's) hands evaluations to the runners.
pub(super) fn wanted(config: Option<&Result<RepoConfig>>) -> bool {
    matches!(config, Some(Ok(config)) if config.compute == Compute::Actions)
}

/// Dispatches the pull request's evaluation and starts the check that
/// follows it; a dispatch GitHub refuses is a failed check saying why.
pub(super) async fn to_actions(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
) -> Result<Outcome> {
    let inputs = json!({
        "pull_request": event.number.to_string(),
        "head_sha": event.head_sha,
    });
    let dispatched = github
        .dispatch_workflow(&event.repo, COMPUTE_WORKFLOW, &event.base_ref, &inputs)
        .await;
    let run = match dispatched {
        Ok(Some(run)) => run,
        Ok(None) => {
            let summary = format!(
                "dslp-bot dispatched this pull request's evaluation to `{COMPUTE_WORKFLOW}` on the \
                 repository's runners (`compute: actions`). This GitHub does not say which run it \
                 started, so the run's own `dslp` check is the result to read."
            );
            conclude_new(
                github,
                event,
                Conclusion::Neutral,
                "Dispatched to GitHub Actions",
                &summary,
            )
            .await?;
            return Ok(Outcome::neutral(summary));
        }
        Err(error) => return refused(github, event, error).await,
    };
    let deadline = ctx.following.deadline;
    let started = StartedCheck {
        name: COMPUTE_CHECK.into(),
        head_sha: event.head_sha.clone(),
        details_url: run.html_url.clone(),
        external_id: run.id.to_string(),
        title: "Evaluating on GitHub Actions".into(),
        summary: format!(
            "dslp-bot dispatched this pull request's evaluation to [a run of `{COMPUTE_WORKFLOW}`]({}) \
             on the repository's runners (`compute: actions`). The run posts the `{CHECK_NAME}` check \
             and the report; this check follows it, and fails if the run has not ended within {}.",
            run.html_url,
            crate::timestamp::duration_words(deadline)
        ),
    };
    let check_run = github.start_check_run(&event.repo, &started).await?;
    let watch = RunWatch {
        repo: event.repo.clone(),
        pull: event.number,
        head_ref: event.head_ref.clone(),
        head_sha: event.head_sha.clone(),
        base_sha: event.base_sha.clone(),
        run_id: run.id,
        run_url: run.html_url,
        check_run,
        deadline_ms: now_ms() + deadline.as_millis() as i64,
    };
    let mut outcome = Outcome::neutral(format!(
        "Dispatched to GitHub Actions run {} ({}).",
        watch.run_id, watch.run_url
    ));
    outcome.follow_up = Some(follow(&watch, ctx));
    Ok(outcome)
}

fn follow(watch: &RunWatch, ctx: RunContext<'_>) -> FollowUp {
    FollowUp {
        id: format!("watch:{}:{}:{}", watch.repo, watch.run_id, now_ms()),
        key: format!("{}#{}", watch.repo, watch.pull),
        event: Event::Watch(watch.clone()),
        after: ctx.following.poll,
    }
}

/// A merged pull request's release, handed to the runners as its
/// evaluations are: the compute workflow with `release: true` trains the
/// merge commit there and publishes the release (its comment replaces
/// this one). What to say on the pull request; a refusal says how to mend
/// it, anything else is retried.
pub(super) async fn release_to_actions(
    github: &impl GitHub,
    event: &PullRequestEvent,
    merge_sha: &str,
) -> Result<String> {
    let inputs = json!({
        "pull_request": event.number.to_string(),
        "head_sha": merge_sha,
        "release": "true",
    });
    let dispatched = github
        .dispatch_workflow(&event.repo, COMPUTE_WORKFLOW, &event.base_ref, &inputs)
        .await;
    let run = match dispatched {
        Ok(Some(run)) => format!("[a run of `{COMPUTE_WORKFLOW}`]({})", run.html_url),
        Ok(None) => format!("a run of `{COMPUTE_WORKFLOW}`"),
        Err(GitHubError::NotFound(_) | GitHubError::Rejected { status: 422, .. }) => {
            return Ok(format!(
                "No release: `compute: actions` hands training to the repository's runners, and                  `.github/workflows/{COMPUTE_WORKFLOW}` on `{}` takes no `release` input. Run                  `dslp init --compute actions` to write the current workflow, commit it, and                  merge again (or re-run from a new merge).",
                event.base_ref
            ));
        }
        Err(error @ GitHubError::NotAllowed { .. }) => {
            return Ok(format!(
                "No release: GitHub refused to dispatch it to the runners; the App needs the                  **Actions: write** repository permission. ({error})"
            ));
        }
        Err(error) => return Err(error.into()),
    };
    Ok(format!(
        "The release of what this pull request merged is being trained on the repository's          runners (`compute: actions`): {run}, from the merge commit `{merge_sha}`. The run          publishes the release and says so here."
    ))
}

/// A dispatch GitHub refused for good (no workflow file, no permission):
/// a failed check that says how to mend it. Anything else is retried.
async fn refused(
    github: &impl GitHub,
    event: &PullRequestEvent,
    error: GitHubError,
) -> Result<Outcome> {
    let summary = match &error {
        GitHubError::NotFound(_) | GitHubError::Rejected { status: 422, .. } => format!(
            "`compute: actions` in `.github/dslp.yml` asks dslp-bot to evaluate this pull request on \
             the repository's GitHub Actions runners, but `.github/workflows/{COMPUTE_WORKFLOW}` is not \
             on `{}` or takes no `workflow_dispatch` with the inputs `pull_request` and `head_sha`. Run \
             `dslp init --compute actions`, commit the workflow it writes to `{}`, and push again. \
             ({error})",
            event.base_ref, event.base_ref
        ),
        GitHubError::NotAllowed { .. } => format!(
            "`compute: actions` asks dslp-bot to dispatch the evaluation to GitHub Actions, and GitHub \
             refused: the App needs the **Actions: write** repository permission (the App's settings, \
             Permissions; then accept the new permission on the installation). ({error})"
        ),
        _ => return Err(error.into()),
    };
    conclude_new(
        github,
        event,
        Conclusion::Failure,
        "Could not dispatch to GitHub Actions",
        &summary,
    )
    .await?;
    Ok(Outcome::neutral(summary))
}

async fn conclude_new(
    github: &impl GitHub,
    event: &PullRequestEvent,
    conclusion: Conclusion,
    title: &str,
    summary: &str,
) -> Result<()> {
    let check = compute_check(&event.head_sha, conclusion, title, summary);
    github.create_check_run(&event.repo, &check, &[]).await?;
    Ok(())
}

/// The `dslp/compute` check, concluded.
fn compute_check(head_sha: &str, conclusion: Conclusion, title: &str, summary: &str) -> CheckRun {
    CheckRun {
        name: COMPUTE_CHECK.into(),
        head_sha: head_sha.into(),
        conclusion,
        title: title.chars().take(200).collect(),
        summary: summary.into(),
        text: String::new(),
        annotations: Vec::new(),
    }
}

/// Looks at a dispatched run: still going (look again later), ended (the
/// Action's check concludes ours, its evaluation goes to the ledger), or
/// past its deadline (ours fails).
pub(super) async fn watch(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    watch: &RunWatch,
) -> Result<Outcome> {
    let run = github.workflow_run(&watch.repo, watch.run_id).await?;
    if !run.completed() {
        if now_ms() < watch.deadline_ms {
            let mut outcome = Outcome::neutral(format!("Run {} is {}.", run.id, run.status));
            outcome.follow_up = Some(follow(watch, ctx));
            return Ok(outcome);
        }
        let summary = format!(
            "The [GitHub Actions run]({}) this pull request's evaluation was dispatched to had not \
             ended by its deadline (it is `{}`): no runner took it, or it is stuck. Its `{CHECK_NAME}` \
             check is the result if it ends later; `/dslp rerun` dispatches a new one.",
            watch.run_url, run.status
        );
        conclude(
            github,
            watch,
            Conclusion::Failure,
            "The run did not end in time",
            &summary,
        )
        .await?;
        return Ok(Outcome::neutral(summary));
    }
    let reports = github
        .check_runs(&watch.repo, &watch.head_sha, CHECK_NAME)
        .await?;
    let report = reports.iter().find(|c| c.status == "completed");
    let Some(report) = report else {
        let summary = format!(
            "The [GitHub Actions run]({}) ended (`{}`) without posting the `{CHECK_NAME}` check: \
             see its log.",
            watch.run_url,
            run.conclusion.as_deref().unwrap_or("unknown")
        );
        conclude(
            github,
            watch,
            Conclusion::Failure,
            "The run did not report",
            &summary,
        )
        .await?;
        return Ok(Outcome::neutral(summary));
    };
    ended(github, ctx, watch, report).await
}

/// The run ended and reported: ours concludes as its `dslp` check did.
async fn ended(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    watch: &RunWatch,
    report: &CheckRunData,
) -> Result<Outcome> {
    let conclusion = match report.conclusion.as_deref() {
        Some("success") => Conclusion::Success,
        Some("neutral" | "skipped") => Conclusion::Neutral,
        _ => Conclusion::Failure,
    };
    let title = report
        .output
        .title
        .clone()
        .unwrap_or_else(|| "Evaluated on GitHub Actions".into());
    let link = report.html_url.as_deref().unwrap_or(&watch.run_url);
    let summary = format!(
        "Evaluated on [the repository's GitHub Actions runners]({}): [the `{CHECK_NAME}` check]({link}) \
         has the report.",
        watch.run_url
    );
    conclude(github, watch, conclusion, &title, &summary).await?;
    let mut outcome = Outcome::neutral(summary);
    if let Some(record) = report.output.text.as_deref().and_then(LedgerRecord::read) {
        outcome.verdict = record.verdict;
        outcome.warnings = refresh_asks(github, ctx, watch, &record).await?;
        outcome.ledgered.push(Ledgered {
            repo: watch.repo.clone(),
            pull: watch.pull,
            head_ref: watch.head_ref.clone(),
            head_sha: watch.head_sha.clone(),
            base_sha: watch.base_sha.clone(),
            record,
        });
    }
    Ok(outcome)
}

/// The Asks the experiment refers to, their leaderboards with this run:
/// the Action rewrote them from its own view, which has no ledger.
async fn refresh_asks(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    watch: &RunWatch,
    record: &LedgerRecord,
) -> Result<Vec<String>> {
    let seen = Seen::read(github, ctx.tree, &watch.repo).await?;
    let mut evaluations = ctx.evaluations.to_vec();
    evaluations.push(ledger_evaluation(
        &watch.head_ref,
        watch.pull,
        record.verdict,
        record.metrics.clone(),
        &record.stamps,
    ));
    let experiment = seen.rulebook.conventions.classify(&watch.head_ref).number;
    let directory = &seen.repository.directory;
    let asks = match experiment.map(|n| directory.lookup_number(n)) {
        Some(Lookup::Found(issue)) => asks_touched(issue, directory),
        _ => return Ok(Vec::new()),
    };
    let lifecycle = seen.lifecycle(&evaluations);
    let updated = super::flows::refresh_asks(github, &lifecycle, &asks).await?;
    Ok(updated
        .iter()
        .map(|n| format!("kept Ask #{n} current"))
        .collect())
}

async fn conclude(
    github: &impl GitHub,
    watch: &RunWatch,
    conclusion: Conclusion,
    title: &str,
    summary: &str,
) -> Result<()> {
    let check = compute_check(&watch.head_sha, conclusion, title, summary);
    github
        .update_check_run(&watch.repo, watch.check_run, &check, &[])
        .await?;
    Ok(())
}
