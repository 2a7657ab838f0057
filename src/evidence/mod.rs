//! The evidence for a revision: data tests, training and evaluation, the
//! base revision's metrics, gates and the verdict. This is the shell around
//! the pure `data` and `model` modules: it reads the working tree and git.

mod base;
mod files;
mod limits;
mod model;
mod outcome;
mod run;

use crate::data::source::Resolver;
use crate::data::{self, DatasetReport};
use crate::model::gates::Verdict;
use crate::revision::Revisions;

pub use files::{dataset_files, dataset_paths};
pub use limits::{FileLimits, within_limits};
use model::{At, model_outcome};
pub use outcome::{Evidence, ModelOutcome, Request, ledger_evaluation};
pub use run::external_metrics;

pub fn gather(request: &Request<'_>) -> Evidence {
    let revisions = Revisions::discover(request.root).ok();
    let resolver = Resolver {
        root: request.root,
        revisions: revisions.as_ref(),
        sources: request.sources,
    };
    // The base's own declarations: its data may live elsewhere (a `.dvc`
    // file, a URI) than the head's.
    let base_config = request
        .base
        .and_then(|rev| base::config_at(revisions.as_ref()?, rev).ok());
    let head_commit = revisions.as_ref().and_then(|r| r.commit_id("HEAD").ok());
    let base_commit = match (request.base, &revisions) {
        (Some(rev), Some(r)) => r.commit_id(rev).ok(),
        _ => None,
    };
    let config = request.config;
    let wanted = |name: &String| request.models.is_empty() || request.models.contains(name);
    let model_datasets: Vec<&String> = config
        .models
        .iter()
        .filter(|(n, _)| wanted(n))
        .map(|(_, m)| &m.dataset)
        .collect();
    let datasets: Vec<DatasetReport> = if request.run_data_tests || request.run_training {
        config
            .datasets
            .iter()
            .filter(|(name, _)| {
                let tested = request.run_data_tests
                    && (request.datasets.is_empty() || request.datasets.contains(name));
                tested || model_datasets.contains(name)
            })
            .map(|(name, spec)| {
                crate::progress::step(|| format!("reading and testing `{name}` ({})", spec.path.0));
                let base_spec = base_config.as_ref().and_then(|c| c.datasets.get(name));
                let base = request.base.map(|rev| (rev, base_spec));
                let mut report = data::evaluate(name, spec, dataset_files(&resolver, spec, base));
                // A kept dataset is one to version: what its bytes are.
                if request.keep_artifacts && request.run_data_tests {
                    report.content = files::read_head(&resolver, Some(spec), &spec.path.0)
                        .ok()
                        .map(|bytes| data::DataContent {
                            sha256: crate::model::stamp::sha256_hex(&bytes),
                            source: resolver.kind_of(&spec.path.0),
                        });
                }
                report
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut models = Vec::new();
    if request.run_training {
        for (name, spec) in config.models.iter().filter(|(n, _)| wanted(n)) {
            crate::progress::step(|| format!("training `{name}`"));
            let dataset_report = datasets.iter().find(|d| d.name == spec.dataset);
            let at = At {
                request,
                resolver: &resolver,
                head_commit: &head_commit,
                base_commit: &base_commit,
            };
            models.push(model_outcome(&at, name, spec, dataset_report));
        }
    }
    let (verdict, reasons) = overall(request, &datasets, &models);
    Evidence {
        datasets,
        models,
        verdict,
        reasons,
        head_commit,
        base_commit,
    }
}

fn overall(
    request: &Request<'_>,
    datasets: &[DatasetReport],
    models: &[ModelOutcome],
) -> (Verdict, Vec<String>) {
    let mut reasons = Vec::new();
    if request.run_data_tests {
        for d in datasets.iter().filter(|d| !d.passed()) {
            let failed = d.checks.iter().filter(|c| c.blocks()).count();
            reasons.push(format!(
                "dataset `{}`: {failed} data check{} failed",
                d.name,
                if failed == 1 { "" } else { "s" }
            ));
        }
    }
    for m in models.iter().filter(|m| m.verdict == Verdict::NoGo) {
        reasons.extend(m.reasons.iter().map(|r| format!("model `{}`: {r}", m.name)));
    }
    if !reasons.is_empty() {
        return (Verdict::NoGo, reasons);
    }
    let gated = models.iter().any(|m| m.verdict == Verdict::Go)
        || (request.run_data_tests && !datasets.is_empty());
    if gated {
        let mut why: Vec<String> = datasets
            .iter()
            .filter(|_| request.run_data_tests)
            .map(|d| format!("dataset `{}`: all data checks passed", d.name))
            .collect();
        why.extend(
            models
                .iter()
                .filter(|m| m.verdict == Verdict::Go)
                .map(|m| format!("model `{}`: every gate holds", m.name)),
        );
        (Verdict::Go, why)
    } else {
        (Verdict::Neutral, vec![ungated(request, models)])
    }
}

/// Why nothing was judged, and which keys would judge it.
fn ungated(request: &Request<'_>, models: &[ModelOutcome]) -> String {
    let file = crate::config::CONFIG_PATH;
    let example = "`dslp init` writes a commented example";
    if request.run_training && !models.is_empty() {
        let names: Vec<String> = models.iter().map(|m| format!("`{}`", m.name)).collect();
        return format!(
            "nothing on this branch is gated: model {} has no `gates:`; add one in {file}, e.g. `gates: {{ roc_auc: {{ threshold: 0.7 }} }}`",
            names.join(", ")
        );
    }
    match (request.run_data_tests, request.run_training) {
        (false, false) => {
            "nothing on this branch is gated: this kind of branch runs no data tests or training"
                .into()
        }
        (true, false) => format!(
            "nothing on this branch is gated: declare its data under `datasets:` in {file} ({example})"
        ),
        (_, true) => format!(
            "nothing on this branch is gated: declare `datasets:`, and `models:` with `gates:`, in {file} ({example})"
        ),
    }
}
