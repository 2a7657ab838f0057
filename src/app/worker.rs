//! Workers: take a job from the store, run the handler with the
//! installation's client, and record how it ended. Failures are retried by
//! the job with backoff (never by the webhook request); a job that keeps
//! failing ends as a failed check run on its pull request, not in silence.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use tokio::sync::watch;
use tracing::Instrument;

use crate::app::auth::{Installation, Installations};
use crate::app::metrics::Metrics;
use crate::app::store::{Job, NewDelivery, NewJob, Run, Store, now_ms};
use crate::config::ConfigError;
use crate::data::source::{LfsRemote, Sources};
use crate::event::{Event, EventError};
use crate::github::GitHubError;
use crate::github::fetch::GitFetcher;
use crate::handler::sandbox::Sandbox;
use crate::handler::{self, Ledgered, Limits, Outcome, RunContext, Tree};
use crate::lifecycle::Verdict;
use crate::lifecycle::ask::Evaluation;
use crate::model::stamp::Stamp;
use crate::report::ledger::LedgerRecord;

/// The longest a job waits between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

pub struct Worker {
    pub store: Store,
    pub installations: Arc<Installations>,
    pub metrics: Arc<Metrics>,
    pub checkouts: PathBuf,
    /// Downloaded data (Git LFS, DVC, URIs), by content hash, for every job.
    pub downloads: PathBuf,
    pub limits: Limits,
    /// Where evaluations run: a child process of this binary.
    pub sandbox: Sandbox,
    /// How dispatched evaluations are followed (`compute: actions`).
    pub following: crate::handler::Following,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub set_up: crate::automation::SetUp,
}

impl Worker {
    /// Runs jobs until `shutdown` turns true; a job in flight is finished first.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.claim().await {
                Ok(Some(job)) => self.attempt(job).await,
                Ok(None) => {
                    let wait = match self.store.next_ready_at().await {
                        Ok(Some(at)) => {
                            Duration::from_millis((at - now_ms()).clamp(10, 1000) as u64)
                        }
                        _ => Duration::from_secs(1),
                    };
                    tokio::select! {
                        _ = self.store.queued.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::error!("taking a job from the store: {error:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// One attempt at a job, its log lines in the job's own span: a span
    /// entered across an await would wrap whatever else the thread runs
    /// meanwhile (`job{id=35}:job{id=32}`), so the future carries it.
    async fn attempt(&self, job: Job) {
        let span = tracing::info_span!("job", id = job.id, key = %job.key, event = %job.event, attempt = job.attempts);
        self.attempt_in_span(job).instrument(span).await
    }

    async fn attempt_in_span(&self, job: Job) {
        let started = Instant::now();
        // Read once: the attempt and, if it gives up, its report.
        let event = Event::from_stored(&job.event, &job.payload);
        let result = match &event {
            Ok(event) => match self.execute_leased(&job, event).await {
                Some(result) => result,
                // Another replica has the job now: it reports, not this one.
                None => return,
            },
            Err(error) => Err(error.clone().into()),
        };
        let took = started.elapsed();
        let recorded = match result {
            Ok(outcome) => {
                tracing::info!(verdict = %outcome.verdict, took_ms = took.as_millis() as u64, "job done");
                for warning in &outcome.warnings {
                    tracing::warn!("{warning}");
                }
                self.metrics.job("done", took);
                self.record_runs(&outcome).await;
                self.keep_schedule(&job, &outcome).await;
                self.queue_follow_up(&job, &outcome).await;
                self.store.finish(&job).await
            }
            Err(error) => {
                let message = format!("{error:#}");
                let permanent = is_permanent(&error);
                if !permanent && job.attempts < self.max_attempts {
                    let delay = retry_delay(&error, job.attempts, self.retry_base);
                    tracing::warn!(
                        delay_ms = delay.as_millis() as u64,
                        "job failed, will retry: {message}"
                    );
                    self.metrics.job("retried", took);
                    self.store.retry_or_fail(&job, &message, Some(delay)).await
                } else {
                    tracing::error!("job failed for good: {message}");
                    self.metrics.job("failed", took);
                    if let Ok(event) = &event {
                        self.report_failure(&job, event, &message).await;
                    }
                    self.store.retry_or_fail(&job, &message, None).await
                }
            }
        };
        if let Err(error) = recorded {
            tracing::error!("recording the job's end: {error:#}");
        }
    }

    /// Runs the job while renewing its lease (a store shared by replicas);
    /// `None` when the lease was lost meanwhile, and the work was dropped
    /// (an evaluation's child process with it).
    async fn execute_leased(&self, job: &Job, event: &Event) -> Option<Result<Outcome>> {
        let Some(every) = self.store.renew_every() else {
            return Some(self.execute(job, event).await);
        };
        let work = self.execute(job, event);
        tokio::pin!(work);
        let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                result = &mut work => return Some(result),
                _ = renewals.tick() => match self.store.renew(job).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!("the job's lease ran out and another replica took it: stopping here");
                        return None;
                    }
                    // The lease may still hold: go on, and try at the next tick.
                    Err(error) => tracing::warn!("renewing the job's lease: {error:#}"),
                },
            }
        }
    }

    async fn execute(&self, job: &Job, event: &Event) -> Result<Outcome> {
        let installation = job
            .installation
            .ok_or_else(|| anyhow!("the delivery names no installation"))?;
        let installation = self.installations.get(installation).await?;
        let tree = Tree::Fetched(Arc::new(GitFetcher {
            root: self.checkouts.clone(),
            token: installation.token.clone(),
        }));
        let evaluations = match &event {
            Event::PullRequest(pr) => self.evaluations(&pr.repo.to_string()).await,
            Event::Issue { repo, .. }
            | Event::IssueComment { repo, .. }
            | Event::Rerequested { repo, .. } => self.evaluations(&repo.to_string()).await,
            Event::Watch(watch) => self.evaluations(&watch.repo.to_string()).await,
            _ => Vec::new(),
        };
        // The pull request's clone URL is its LFS server's; the token reads it.
        let sources = Sources {
            cache: Some(self.downloads.clone()),
            lfs: Some(LfsRemote {
                url: String::new(),
                token: Some(installation.token.clone()),
            }),
            ..Sources::default()
        };
        let context = RunContext {
            tree: &tree,
            limits: self.limits,
            sandbox: &self.sandbox,
            sources: &sources,
            evaluations: &evaluations,
            set_up: self.set_up,
            following: self.following,
        };
        let outcome = handler::handle(&*installation.client, context, event).await;
        self.share_rate_limit(job, &installation).await;
        outcome
    }

    /// What GitHub said of the installation's rate limit, for every
    /// replica to slow down together before it runs out.
    async fn share_rate_limit(&self, job: &Job, installation: &Installation) {
        let (Some(id), Some((remaining, reset))) =
            (job.installation, installation.client.rate_limit())
        else {
            return;
        };
        if let Err(error) = self
            .store
            .keep_rate_limit(id, remaining, reset * 1000)
            .await
        {
            tracing::warn!("sharing the installation's rate limit: {error:#}");
        }
    }

    /// The ledger's runs of a repository, as the Ask's leaderboard reads them.
    async fn evaluations(&self, repository: &str) -> Vec<Evaluation> {
        let runs = match self.store.runs(repository).await {
            Ok(runs) => runs,
            Err(error) => {
                tracing::warn!("reading the runs ledger: {error:#}");
                return Vec::new();
            }
        };
        runs.into_iter()
            .map(|run| {
                let stamps: BTreeMap<String, Stamp> =
                    serde_json::from_value(run.stamps).unwrap_or_default();
                crate::evidence::ledger_evaluation(
                    &run.head_ref,
                    run.pull_request,
                    Verdict::parse(&run.verdict).unwrap_or(Verdict::Neutral),
                    serde_json::from_value(run.metrics).unwrap_or_default(),
                    &stamps,
                )
            })
            .collect()
    }

    /// A push to the default branch: its monitoring schedule, kept.
    async fn keep_schedule(&self, job: &Job, outcome: &Outcome) {
        let Some(change) = &outcome.schedule else {
            return;
        };
        let kept = self
            .store
            .keep_schedule(
                &change.repo.to_string(),
                job.installation,
                change.clone_url.as_deref(),
                change.every,
            )
            .await;
        if let Err(error) = kept {
            tracing::error!(
                "keeping the monitoring schedule of {}: {error:#}",
                change.repo
            );
        }
    }

    /// Every evaluation the job made or read back, into the runs ledger.
    async fn record_runs(&self, outcome: &Outcome) {
        let made = outcome.evaluated.iter().map(|e| Ledgered {
            repo: e.repo.clone(),
            pull: e.pull,
            head_ref: e.head_ref.clone(),
            head_sha: e.head_sha.clone(),
            base_sha: e.base_sha.clone(),
            record: LedgerRecord::of(e.verdict, &e.evidence),
        });
        for ledgered in made.chain(outcome.ledgered.iter().cloned()) {
            let run = Run {
                repository: ledgered.repo.to_string(),
                pull_request: ledgered.pull,
                head_ref: ledgered.head_ref,
                head_commit: ledgered.head_sha,
                base_commit: ledgered.base_sha,
                verdict: ledgered.record.verdict.to_string(),
                metrics: serde_json::to_value(&ledgered.record.metrics).unwrap_or_default(),
                stamps: serde_json::to_value(&ledgered.record.stamps).unwrap_or_default(),
            };
            if let Err(error) = self.store.record_run(&run).await {
                tracing::error!("recording the run in the ledger: {error:#}");
            }
        }
    }

    /// The job this one asked for next (looking at a dispatched run again).
    async fn queue_follow_up(&self, job: &Job, outcome: &Outcome) {
        let Some(follow) = &outcome.follow_up else {
            return;
        };
        let delivery = NewDelivery {
            id: follow.id.clone(),
            event: "watch".into(),
            action: None,
            installation: job.installation,
            job: Some(NewJob {
                key: follow.key.clone(),
                evaluates: false,
                payload: follow.event.to_stored(),
            }),
        };
        let at = now_ms() + follow.after.as_millis() as i64;
        if let Err(error) = self.store.queue_later(&delivery, at).await {
            tracing::error!("queueing the job that follows this one: {error:#}");
        }
    }

    /// A job that gave up says so where people look: a pull request's
    /// check run fails, an issue's sticky comment says the check could not
    /// finish; both say why.
    async fn report_failure(&self, job: &Job, event: &Event, message: &str) {
        let Some(installation) = job.installation else {
            return;
        };
        let installation = match self.installations.get(installation).await {
            Ok(installation) => installation,
            Err(error) => return tracing::error!("reporting the failure: {error:#}"),
        };
        let github = &*installation.client;
        let reported = match event {
            Event::PullRequest(pr) => {
                handler::report_failure(github, &pr.repo, &pr.head_sha, message).await
            }
            Event::Rerequested { repo, head_sha, .. } => {
                handler::report_failure(github, repo, head_sha, message).await
            }
            Event::Issue { repo, issue, .. } | Event::IssueComment { repo, issue, .. } => {
                handler::report_issue_failure(github, repo, issue, message).await
            }
            _ => return,
        };
        if let Err(error) = reported {
            tracing::error!("reporting the failure: {error}");
        }
    }
}

/// How long a failed job waits before its next attempt: its own backoff,
/// or longer when GitHub asked for a wait (a rate limit): never sooner.
fn retry_delay(error: &anyhow::Error, attempts: u32, base: Duration) -> Duration {
    let backoff = base
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let asked = error.chain().find_map(|cause| match cause.downcast_ref() {
        Some(GitHubError::RateLimited { retry_after, .. }) => Some(*retry_after),
        _ => None,
    });
    asked.map_or(backoff, |asked| asked.max(backoff))
}

/// Errors that another attempt cannot mend: a payload or config we cannot read.
fn is_permanent(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<EventError>().is_some()
            || cause.downcast_ref::<ConfigError>().is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_waits_out_what_github_asked_for() {
        let base = Duration::from_millis(500);
        let limited = anyhow::Error::new(GitHubError::RateLimited {
            retry_after: Duration::from_secs(120),
            message: "create comment: retry after 120 s".into(),
        })
        .context("running the job");
        assert_eq!(retry_delay(&limited, 1, base), Duration::from_secs(120));
        let failed = anyhow::anyhow!("502");
        assert_eq!(retry_delay(&failed, 1, base), base);
        assert_eq!(retry_delay(&failed, 3, base), base * 4);
        assert_eq!(retry_delay(&failed, 30, base), MAX_BACKOFF);
    }
}
