//! A merged model branch, released: its models trained at the merge
//! commit, each changed one published as a GitHub Release, and the pull
//! request and its Model issue told which.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::automation::Lifecycle;
use crate::automation::closed::ClosedPull;
use crate::automation::release::{self, RELEASE_MARKER, ReleaseKind, Released};
use crate::config::{Compute, Mode, RepoConfig};
use crate::engine::Effect;
use crate::event::{PullAction, PullRequestEvent};
use crate::evidence::Evidence;
use crate::github::GitHub;
use crate::lifecycle::ask::asks_of;
use crate::lifecycle::body::IssueBody;
use crate::lifecycle::issue::Lookup;
use crate::lifecycle::kinds::BASED_ON_EXPERIMENT;
use crate::lifecycle::links::{RepoName, find_refs};
use crate::report::data_release::{self, DataRecord};
use crate::report::release::{Links, ReleaseRecord, latest, prepare};
use crate::revision::Revisions;

use super::context::{Outcome, RunContext, Tree};
use super::execute::execute;
use super::facts::{Seen, load_config, rerun_event};
use super::sandbox::{EvaluationJob, JobLimits};
use super::tree::{checkout, sources_for};

/// Releases what a merged model branch changed (or says how, for
/// `suggest`); nothing for any other pull request that closed. The switch
/// and the models are the merge commit's: what was just merged decides.
pub(super) async fn merged(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
    lifecycle: &Lifecycle<'_>,
) -> Result<()> {
    let conventions = &lifecycle.rulebook.conventions;
    let head = conventions.classify(&event.head_ref);
    let closed = ClosedPull {
        kind: head.kind,
        issue: None,
        head_ref: &event.head_ref,
        base_kind: conventions.classify(&event.base_ref).kind,
        merged: event.merged,
    };
    let Some(kind) = release::due(&closed) else {
        return Ok(());
    };
    // The collaboration branch's config after the merge (the Action's
    // checkout, the App's read of the default branch) says whether to go
    // on: nothing is fetched for a release that is switched off.
    if lifecycle.config.automations.release == Mode::Off {
        return Ok(());
    }
    // GitHub is taking `merge_commit_sha` out of pull requests (REST
    // version 2026-03-10): without it, the base branch's head, which the
    // merge just made.
    let mut event = event.clone();
    if event.merge_commit_sha.is_none() {
        event.merge_commit_sha = github.branch_head(&event.repo, &event.base_ref).await.ok();
    }
    let event = &event;
    // The App under `compute: actions`: the runners train the release.
    let runners = matches!(ctx.tree, Tree::Fetched(_))
        && lifecycle.config.compute == Compute::Actions
        && lifecycle.config.automations.release == Mode::Act
        && !released(kind, lifecycle.config).is_empty();
    let said = match event.merge_commit_sha.as_deref().filter(|_| runners) {
        Some(merge_sha) => {
            Some(super::dispatch::release_to_actions(github, event, merge_sha).await?)
        }
        None => match at_merge(ctx, event, lifecycle.config).await {
            Err(why) => Some(format!("No release: {why}")),
            Ok((root, config)) => {
                release_at(github, ctx, event, lifecycle, kind, &root, &config).await?
            }
        },
    };
    say(github, event, lifecycle, head.number, said).await
}

/// The compute workflow's release run, dispatched by the App for a merged
/// pull request under `compute: actions`: the Action on the runner trains
/// and publishes, as it would on the pull request's `closed` event.
pub(super) async fn dispatched(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    number: u64,
    merge_sha: &str,
) -> Result<Outcome> {
    let pull = github.pull(repo, number).await?;
    let mut event = rerun_event(repo, &pull);
    if !event.merged {
        return Ok(Outcome::neutral(format!(
            "Pull request #{number} is not merged: nothing to release."
        )));
    }
    event.action = PullAction::Closed;
    event.merge_commit_sha = Some(merge_sha.to_string());
    let seen = Seen::read(github, ctx.tree, repo).await?;
    merged(github, ctx, &event, &seen.lifecycle(ctx.evaluations)).await?;
    Ok(Outcome::neutral(format!(
        "Released what pull request #{number} merged, from `{merge_sha}`."
    )))
}

/// Trains and publishes (or suggests) the release at the merge commit.
async fn release_at(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
    lifecycle: &Lifecycle<'_>,
    kind: ReleaseKind,
    root: &Path,
    config: &RepoConfig,
) -> Result<Option<String>> {
    let head = lifecycle.rulebook.conventions.classify(&event.head_ref);
    let names = released(kind, config);
    Ok(match config.automations.release {
        _ if names.is_empty() => None,
        Mode::Off => None,
        Mode::Suggest => Some(release::suggested(kind, &names, &event.base_ref)),
        Mode::Act => {
            let at = Merged {
                ctx,
                event,
                root,
                config,
                links: links_of(lifecycle, head.number),
            };
            Some(publish(github, &at, kind).await?)
        }
    })
}

/// Posts what was said on the pull request and its Model or Data issue.
async fn say(
    github: &impl GitHub,
    event: &PullRequestEvent,
    lifecycle: &Lifecycle<'_>,
    number: Option<u64>,
    said: Option<String>,
) -> Result<()> {
    let Some(said) = said else { return Ok(()) };
    let said = match said.starts_with(RELEASE_MARKER) {
        true => said,
        false => format!("{RELEASE_MARKER}\n{said}"),
    };
    let directory = &lifecycle.repository.directory;
    let model_issue = number.and_then(|n| match directory.lookup_number(n) {
        Lookup::Found(issue) if !issue.is_pull_request => issue.number,
        _ => None,
    });
    let effects: Vec<Effect> = std::iter::once(event.number)
        .chain(model_issue)
        .map(|issue| Effect::UpsertComment {
            issue,
            marker: RELEASE_MARKER,
            body: said.clone(),
        })
        .collect();
    execute(github, &event.repo, &effects).await?;
    Ok(())
}

/// The Model issue the branch names, its Experiment and its Ask.
fn links_of(lifecycle: &Lifecycle<'_>, number: Option<u64>) -> Links {
    let directory = &lifecycle.repository.directory;
    let model = match number.map(|n| directory.lookup_number(n)) {
        Some(Lookup::Found(issue)) if !issue.is_pull_request => issue,
        _ => return Links::default(),
    };
    let experiment = IssueBody::parse(&model.body)
        .field(BASED_ON_EXPERIMENT)
        .and_then(|text| {
            find_refs(&text)
                .first()
                .and_then(|r| r.number_in(Some(&lifecycle.repository.name)))
        });
    Links {
        model_issue: model.number,
        experiment,
        ask: asks_of(model, directory).first().copied(),
    }
}

/// What a release of `kind` is made of: the models trained by an
/// algorithm, or the datasets.
fn released(kind: ReleaseKind, config: &RepoConfig) -> Vec<String> {
    match kind {
        ReleaseKind::Model => config
            .models
            .iter()
            .filter(|(_, spec)| spec.algorithm.is_some())
            .map(|(name, _)| name.clone())
            .collect(),
        ReleaseKind::Data => config.datasets.keys().cloned().collect(),
    }
}

/// The merge commit's working tree and config: the Action's checkout, or
/// the App's fetch of it. Why not, in words for the comment.
async fn at_merge(
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
    workspace_config: &RepoConfig,
) -> Result<(PathBuf, RepoConfig), String> {
    let target = event
        .merge_commit_sha
        .clone()
        .ok_or("the event names no merge commit.")?;
    match ctx.tree {
        Tree::Workspace(root) => {
            let at = Revisions::discover(root).and_then(|r| r.commit_id("HEAD"));
            let acts = workspace_config.automations.release == Mode::Act;
            if acts && at.as_deref().ok() != Some(target.as_str()) {
                return Err(format!(
                    "the workflow's checkout is not the merge commit `{target}`. Check it out for merged pull requests: `ref: ${{{{ github.event.pull_request.merged && github.event.pull_request.merge_commit_sha || '' }}}}` on actions/checkout (as `dslp init` writes it)."
                ));
            }
            Ok((root.clone(), workspace_config.clone()))
        }
        Tree::Fetched(fetch) => {
            let at_merge = PullRequestEvent {
                head_sha: target,
                ..event.clone()
            };
            let root = checkout(fetch, &at_merge, ctx.limits)
                .await
                .map_err(|e| format!("fetching the merge commit failed: {e:#}"))?;
            let config = load_config(&root).map_err(|e| format!("{e:#}"))?;
            Ok((root, config))
        }
    }
}

/// The merge, as the releases are made from it.
struct Merged<'a> {
    ctx: RunContext<'a>,
    event: &'a PullRequestEvent,
    root: &'a Path,
    config: &'a RepoConfig,
    /// The issues the merged branch answers (its Model or Data issue…).
    links: Links,
}

/// Evaluates the merge commit (trains the models, or tests and reads the
/// datasets) and publishes what changed; answers what to say.
async fn publish(github: &impl GitHub, at: &Merged<'_>, kind: ReleaseKind) -> Result<String> {
    let event = at.event;
    let job = EvaluationJob {
        root: at.root.to_path_buf(),
        config: at.config.source.clone(),
        base: None,
        run_data_tests: kind == ReleaseKind::Data,
        run_training: kind == ReleaseKind::Model,
        keep_artifacts: true,
        sources: sources_for(at.ctx, at.root, event, None),
    };
    let limits = JobLimits {
        wall: at.ctx.limits.evidence_time,
        memory_bytes: at.ctx.limits.memory_bytes,
        fork: false,
    };
    let evidence = match at.ctx.sandbox.evaluate(job, limits).await {
        Ok(evidence) => evidence,
        Err(error) => {
            return Ok(format!(
                "No release: evaluating the merge commit stopped: {error}."
            ));
        }
    };
    let releases = github.releases(&event.repo).await?;
    let notes = || {
        releases
            .iter()
            .filter(|r| !r.draft)
            .filter_map(|r| r.body.as_deref())
    };
    let target = event.merge_commit_sha.clone().unwrap_or_default();
    let decided = match kind {
        ReleaseKind::Model => model_releases(&evidence, &latest(notes()), at.links),
        ReleaseKind::Data => {
            let commit = Some(target.clone());
            let issue = at.links.model_issue;
            data_releases(&evidence, &data_release::latest(notes()), commit, issue)
        }
    };
    let step = release::decide(&target, &decided);
    let effects: Vec<Effect> = step
        .effects
        .into_iter()
        .map(|effect| {
            effect.or_say(
                "No release: the token may not create releases. Give the workflow `contents: write` (`dslp init --release` writes it), or the App the Contents: write permission.",
            )
        })
        .collect();
    let executed = execute(github, &event.repo, &effects).await?;
    Ok(executed.refused.unwrap_or(step.said))
}

/// Each trained model against its newest release.
fn model_releases(
    evidence: &Evidence,
    previous: &BTreeMap<String, ReleaseRecord>,
    links: Links,
) -> Vec<Released> {
    evidence
        .models
        .iter()
        .map(|outcome| {
            let before = previous.get(&outcome.name);
            match prepare(outcome, before, links) {
                Ok(Some(prepared)) => Released::New(Box::new(prepared.into())),
                Ok(None) => Released::Unchanged {
                    name: outcome.name.clone(),
                    tag: before.map(|p| p.tag.clone()).unwrap_or_default(),
                },
                Err(why) => Released::Failed {
                    name: outcome.name.clone(),
                    why,
                },
            }
        })
        .collect()
}

/// Each dataset read at the merge against its newest version.
fn data_releases(
    evidence: &Evidence,
    previous: &BTreeMap<String, DataRecord>,
    commit: Option<String>,
    issue: Option<u64>,
) -> Vec<Released> {
    evidence
        .datasets
        .iter()
        .map(|report| {
            let before = previous.get(&report.name);
            match data_release::prepare(report, before, commit.clone(), issue) {
                Ok(Some(prepared)) => Released::New(Box::new(prepared.into())),
                Ok(None) => Released::Unchanged {
                    name: report.name.clone(),
                    tag: before.map(|p| p.tag.clone()).unwrap_or_default(),
                },
                Err(why) => Released::Failed {
                    name: report.name.clone(),
                    why,
                },
            }
        })
        .collect()
}
