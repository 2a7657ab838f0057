//! A scheduled run: each model under `monitor:` is read from its newest
//! release, scored on the fresh data, compared with the reference profile
//! the release carries, and the monitoring flow opens, updates, tells or
//! closes its Data and retrain issues.

use anyhow::{Result, anyhow};

use crate::automation::Repository;
use crate::automation::monitoring::{self, Watched};
use crate::config::monitor::MonitorSpec;
use crate::data::load::columns_of;
use crate::data::source::Resolver;
use crate::data::spec::FileFormat;
use crate::github::{GitHub, IssueData, ReleaseData};
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{IssueState, Verdict};
use crate::model::artifact::ModelArtifact;
use crate::model::monitor::{self as watch, Level, Limits, MonitorReport};
use crate::report::monitor::markdown;
use crate::report::release::{ReleaseRecord, latest};
use crate::revision::Revisions;

use super::context::{Outcome, RunContext, Tree};
use super::execute::execute;
use super::facts::{load_config, off_executor};

/// One model's monitoring, done.
struct Checked {
    model: String,
    release: ReleaseRecord,
    report: MonitorReport,
    limits: Limits,
}

pub(super) async fn scheduled(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    clone_url: Option<&str>,
) -> Result<Outcome> {
    let root = match ctx.tree {
        Tree::Workspace(root) => root.clone(),
        // The App: the default branch's config and fresh data.
        Tree::Fetched(fetch) => {
            let clone_url = clone_url
                .ok_or_else(|| anyhow!("the schedule of {repo} names no clone URL"))?
                .to_string();
            let branch = github.default_branch(repo).await?;
            let (fetch, name) = (fetch.clone(), repo.clone());
            off_executor(ctx.limits, "fetching the default branch", move || {
                fetch.checkout_branch(&name, &branch, &clone_url)
            })
            .await??
        }
    };
    let root = &root;
    let config = load_config(root)?;
    if config.monitor.is_empty() {
        return Ok(Outcome::neutral(
            "Nothing to monitor: `.github/dslp.yml` has no `monitor:` entries (see README, *After the merge*).",
        ));
    }
    let releases: Vec<ReleaseData> = github
        .releases(repo)
        .await?
        .into_iter()
        .filter(|r| !r.draft)
        .collect();
    let (checked, problems) = check_all(github, ctx, repo, root, &config, &releases).await;
    let repository = Repository::read(github, repo).await?;
    let open: Vec<_> = repository
        .issues
        .iter()
        .map(IssueData::to_issue)
        .filter(|i| i.state == IssueState::Open && !i.is_pull_request)
        .collect();
    let at = crate::timestamp::iso(crate::timestamp::now());
    let watched: Vec<Watched<'_>> = checked
        .iter()
        .map(|c| {
            let spec = &config.monitor[&c.model];
            Watched {
                model: &c.model,
                data: &spec.data,
                dataset: config
                    .models
                    .get(&c.model)
                    .map_or(c.model.as_str(), |m| m.dataset.as_str()),
                release: &c.release,
                report: &c.report,
                limits: &c.limits,
                close_when_recovered: spec.close_when_recovered,
                at: &at,
            }
        })
        .collect();
    let step = monitoring::decide(&watched, &open);
    let mut warnings = execute(github, repo, &step.effects).await?.warnings;
    warnings.extend(problems.iter().cloned());
    Ok(outcome(&checked, &problems, &step.said, warnings))
}

/// Every watched model against its newest release: what was checked, and
/// why the others could not be.
async fn check_all(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    root: &std::path::Path,
    config: &crate::config::RepoConfig,
    releases: &[ReleaseData],
) -> (Vec<Checked>, Vec<String>) {
    let records = latest(releases.iter().filter_map(|r| r.body.as_deref()));
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    for (model, spec) in &config.monitor {
        let found = records.get(model).ok_or_else(|| {
            format!("no release of `{model}` yet: merge its model branch with `automations.release: act`, or publish one made by `dslp release`")
        });
        let result = match found {
            Ok(record) => check(github, ctx, repo, root, (model, spec), record, releases).await,
            Err(why) => Err(why),
        };
        match result {
            Ok(one) => checked.push(one),
            Err(why) => problems.push(format!("monitor `{model}`: {why}")),
        }
    }
    (checked, problems)
}

/// One model against its release: the artifact downloaded, the fresh data
/// read as a dataset's path is (git, LFS, DVC, object store).
#[allow(clippy::too_many_arguments)]
async fn check(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    root: &std::path::Path,
    (model, spec): (&String, &MonitorSpec),
    record: &ReleaseRecord,
    releases: &[ReleaseData],
) -> Result<Checked, String> {
    let name = format!("{model}.model.json");
    let asset = releases
        .iter()
        .find(|r| r.tag_name == record.tag)
        .and_then(|r| r.assets.iter().find(|a| a.name == name))
        .ok_or_else(|| format!("release {} has no `{name}` asset", record.tag))?;
    let bytes = github
        .download_asset(repo, asset.id)
        .await
        .map_err(|e| format!("downloading `{name}` of {}: {e}", record.tag))?;
    let artifact: ModelArtifact = serde_json::from_slice(&bytes)
        .map_err(|e| format!("`{name}` of {} is not a model artifact: {e}", record.tag))?;
    let revisions = Revisions::discover(root).ok();
    let resolver = Resolver {
        root,
        revisions: revisions.as_ref(),
        sources: ctx.sources,
    };
    let path = &spec.data;
    let format = FileFormat::from_path(path).ok_or_else(|| {
        format!("`{path}`: cannot tell the format; use .csv, .parquet or .ndjson")
    })?;
    let data = resolver
        .head(path, None, format)
        .and_then(|input| input.into_bytes(path))
        .map_err(|e| e.to_string())?;
    let (columns, height) = columns_of(&data, path)?;
    let labels = match &spec.labels {
        Some(labels) => Some(
            &columns
                .iter()
                .find(|(c, _)| *c == labels.column)
                .ok_or_else(|| format!("`{path}` has no column `{}` (`labels:`)", labels.column))?
                .1,
        ),
        None => None,
    };
    let limits = spec.limits();
    let report = watch::monitor(&artifact, &columns, height, labels, &limits)
        .map_err(|e| format!("`{path}`: {e}"))?;
    Ok(Checked {
        model: model.clone(),
        release: record.clone(),
        report,
        limits,
    })
}

/// The job summary: every model's evidence, and what was done of it.
fn outcome(checked: &[Checked], problems: &[String], said: &str, warnings: Vec<String>) -> Outcome {
    let mut summary = String::from("## dslp monitor\n\n");
    let mut worst = Level::Ok;
    for c in checked {
        worst = worst.max(c.report.level());
        summary.push_str(&format!(
            "### {} ({})\n\n{}\n",
            c.model,
            c.release.tag,
            markdown(&c.report, &c.limits)
        ));
    }
    for problem in problems {
        summary.push_str(&format!("- ⚠️ {problem}\n"));
    }
    if !said.is_empty() {
        summary.push_str(&format!("\n{said}\n"));
    }
    Outcome {
        verdict: match (worst, problems.is_empty()) {
            (Level::Fail, _) | (_, false) => Verdict::NoGo,
            _ => Verdict::Go,
        },
        summary,
        evaluated: Vec::new(),
        warnings,
        schedule: None,
        ledgered: Vec::new(),
        follow_up: None,
    }
}
