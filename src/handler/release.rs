//! A merged model branch, released: its models trained at the merge
//! commit, each changed one published as a GitHub Release, and the pull
//! request and its Model issue told which.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::automation::Lifecycle;
use crate::automation::closed::ClosedPull;
use crate::automation::release::{self, ModelRelease, RELEASE_MARKER};
use crate::config::{Mode, RepoConfig};
use crate::engine::Effect;
use crate::event::PullRequestEvent;
use crate::github::GitHub;
use crate::lifecycle::ask::asks_of;
use crate::lifecycle::body::IssueBody;
use crate::lifecycle::issue::Lookup;
use crate::lifecycle::kinds::BASED_ON_EXPERIMENT;
use crate::lifecycle::links::find_refs;
use crate::report::release::{Links, latest, prepare};
use crate::revision::Revisions;

use super::context::{RunContext, Tree};
use super::execute::execute;
use super::facts::load_config;
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
    if !release::due(&closed) {
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
    let said = match at_merge(ctx, event, lifecycle.config).await {
        Err(why) => Some(format!("No release: {why}")),
        Ok((root, config)) => {
            let models = released_models(&config);
            match config.automations.release {
                _ if models.is_empty() => None,
                Mode::Off => None,
                Mode::Suggest => Some(release::suggested(&models, &event.base_ref)),
                Mode::Act => {
                    let links = links_of(lifecycle, head.number);
                    Some(publish(github, ctx, event, &root, &config, links).await?)
                }
            }
        }
    };
    let Some(said) = said else { return Ok(()) };
    let said = match said.starts_with(RELEASE_MARKER) {
        true => said,
        false => format!("{RELEASE_MARKER}\n{said}"),
    };
    let directory = &lifecycle.repository.directory;
    let model_issue = head.number.and_then(|n| match directory.lookup_number(n) {
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

/// The models a release is made of: those trained by an algorithm.
fn released_models(config: &RepoConfig) -> Vec<String> {
    config
        .models
        .iter()
        .filter(|(_, spec)| spec.algorithm.is_some())
        .map(|(name, _)| name.clone())
        .collect()
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

/// Trains the models at the merge commit and publishes those that changed;
/// answers what to say.
async fn publish(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
    root: &Path,
    config: &RepoConfig,
    links: Links,
) -> Result<String> {
    let target = event.merge_commit_sha.clone().unwrap_or_default();
    let job = EvaluationJob {
        root: root.to_path_buf(),
        config: config.source.clone(),
        base: None,
        run_data_tests: false,
        run_training: true,
        keep_artifacts: true,
        sources: sources_for(ctx, root, event, None),
    };
    let limits = JobLimits {
        wall: ctx.limits.evidence_time,
        memory_bytes: ctx.limits.memory_bytes,
        fork: false,
    };
    let evidence = match ctx.sandbox.evaluate(job, limits).await {
        Ok(evidence) => evidence,
        Err(error) => {
            return Ok(format!(
                "No release: training at the merge commit stopped: {error}."
            ));
        }
    };
    let releases = github.releases(&event.repo).await?;
    let previous = latest(
        releases
            .iter()
            .filter(|r| !r.draft)
            .filter_map(|r| r.body.as_deref()),
    );
    let decided: Vec<ModelRelease> = evidence
        .models
        .iter()
        .map(
            |outcome| match prepare(outcome, previous.get(&outcome.name), links) {
                Ok(Some(prepared)) => ModelRelease::New(Box::new(prepared)),
                Ok(None) => ModelRelease::Unchanged {
                    model: outcome.name.clone(),
                    tag: previous
                        .get(&outcome.name)
                        .map(|p| p.tag.clone())
                        .unwrap_or_default(),
                },
                Err(why) => ModelRelease::Failed {
                    model: outcome.name.clone(),
                    why,
                },
            },
        )
        .collect();
    let step = release::decide(&target, &decided);
    let effects: Vec<Effect> = step
        .effects
        .into_iter()
        .map(|effect| {
            effect.or_say(
                "No release: the token may not create releases. Give the workflow `contents: write` (`dslp init` writes it when `automations.release: act`), or the App the Contents: write permission.",
            )
        })
        .collect();
    let executed = execute(github, &event.repo, &effects).await?;
    Ok(executed.refused.unwrap_or(step.said))
}
