//! One model's evidence: trained (or read from the team's metrics file) at
//! the head, compared with the base revision and the baseline, judged by
//! its gates.

use std::collections::BTreeMap;

use crate::data::DatasetReport;
use crate::data::source::Resolver;
use crate::model::ModelError;
use crate::model::artifact::ModelArtifact;
use crate::model::evaluation::{Evaluation, metric_names};
use crate::model::gates::{self, GateInputs, Verdict};
use crate::model::schema::OutputSchema;
use crate::model::spec::{ModelSpec, SplitChoice};
use crate::model::stamp::{self, Stamp};
use crate::model::training::{ModelReport, Trained};

use super::files::{dataset_paths, read_head};
use super::outcome::{ModelOutcome, Request};
use super::run::{ModelRun, run_model};

/// Where a model's evidence is gathered: the request, and the commits.
pub(super) struct At<'a> {
    pub request: &'a Request<'a>,
    pub resolver: &'a Resolver<'a>,
    pub head_commit: &'a Option<String>,
    pub base_commit: &'a Option<String>,
}

pub(super) fn model_outcome(
    at: &At<'_>,
    name: &str,
    spec: &ModelSpec,
    dataset_report: Option<&DatasetReport>,
) -> ModelOutcome {
    let mut outcome = ModelOutcome::new(name, spec, stamp_of(spec, at));
    let Some(dataset) = at.request.config.datasets.get(&spec.dataset) else {
        outcome.fail(format!(
            "model `{name}` names dataset `{}`, which is not declared under `datasets:`",
            spec.dataset
        ));
        return outcome;
    };
    let read_head =
        |path: &str| read_head(at.resolver, Some(dataset), path).map_err(|e| e.to_string());
    outcome.stamp.config_hash = stamp::hash_of(&(spec, dataset));
    for path in dataset_paths(dataset) {
        if let Ok(bytes) = read_head(&path) {
            outcome
                .stamp
                .datasets
                .insert(path, stamp::sha256_hex(&bytes));
        }
    }
    let ran = run_model(name, spec, dataset, read_head, at.request.keep_artifacts);
    let baseline = outcome.record(ran, spec, at.request.keep_artifacts);
    if let (Some(rev), Some(_)) = (at.request.base, at.resolver.revisions) {
        match super::base::base_run(at.resolver, rev, name) {
            Ok(base) => {
                outcome.base_metrics = Some(base.metrics);
                outcome.base_params = base.params;
                outcome.base_curves = base.curves;
            }
            Err(note) => outcome.base_note = Some(note),
        }
    }
    let Some(metrics) = outcome.metrics().cloned() else {
        outcome.reasons = outcome.error.clone().into_iter().collect();
        return outcome;
    };
    outcome.gates = gates::evaluate(
        &spec.gates,
        &GateInputs {
            metrics: &metrics,
            base: outcome.base_metrics.as_ref(),
            baseline: baseline.as_ref(),
            data_tests_passed: dataset_report.map(DatasetReport::passed),
        },
    );
    (outcome.verdict, outcome.reasons) = gates::verdict(&outcome.gates, &[]);
    outcome
}

/// The stamp before anything is trained: commits, declared parameters,
/// seeds and versions.
fn stamp_of(spec: &ModelSpec, at: &At<'_>) -> Stamp {
    Stamp {
        head_commit: at.head_commit.clone(),
        base_commit: at.base_commit.clone(),
        datasets: BTreeMap::new(),
        config_hash: String::new(),
        params: spec.params.clone(),
        seed: match &spec.split {
            SplitChoice::Holdout { seed, .. } => Some(*seed),
            _ => None,
        },
        tune_seed: spec.tune.as_ref().map(|tune| tune.seed),
        versions: stamp::versions(),
    }
}

impl ModelOutcome {
    fn new(name: &str, spec: &ModelSpec, stamp: Stamp) -> ModelOutcome {
        ModelOutcome {
            name: name.to_string(),
            shown_metrics: match spec.metrics.is_empty() {
                true => metric_names(spec.task)
                    .iter()
                    .map(|m| m.to_string())
                    .collect(),
                false => spec.metrics.clone(),
            },
            report: None,
            error: None,
            base_metrics: None,
            base_params: None,
            base_curves: None,
            base_note: None,
            gates: Vec::new(),
            verdict: Verdict::NoGo,
            reasons: Vec::new(),
            stamp,
            artifact: None,
        }
    }

    fn fail(&mut self, error: String) {
        self.reasons = vec![error.clone()];
        self.error = Some(error);
    }

    /// Keeps what the run gave; answers the baseline's metrics.
    fn record(
        &mut self,
        ran: Result<ModelRun, ModelError>,
        spec: &ModelSpec,
        keep_artifact: bool,
    ) -> Option<BTreeMap<String, f64>> {
        match ran {
            Ok(ModelRun::Trained(trained)) => {
                let Trained {
                    report,
                    plan,
                    fitted,
                    input,
                    reference,
                } = *trained;
                self.stamp.params = report.params.clone();
                let baseline = report.baseline.metrics.clone();
                if keep_artifact {
                    self.artifact = Some(ModelArtifact {
                        name: self.name.clone(),
                        features: plan,
                        model: fitted,
                        classes: report.classes.clone(),
                        stamp: self.stamp.clone(),
                        input: Some(input),
                        reference,
                        spec: Some(spec.clone()),
                        output: Some(OutputSchema {
                            task: report.task,
                            classes: report.classes.clone(),
                            positive: report.positive.clone(),
                        }),
                    });
                }
                self.report = Some(report);
                Some(baseline)
            }
            Ok(ModelRun::External(external)) => {
                self.report = Some(external_report(&self.name, spec, external));
                None
            }
            Err(error) => {
                self.error = Some(error.message);
                None
            }
        }
    }
}

fn external_report(name: &str, spec: &ModelSpec, metrics: BTreeMap<String, f64>) -> ModelReport {
    ModelReport {
        name: name.to_string(),
        task: spec.task,
        algorithm: None,
        params: BTreeMap::new(),
        features: Vec::new(),
        classes: Vec::new(),
        positive: None,
        train_rows: 0,
        test_rows: 0,
        evaluation: Evaluation {
            metrics,
            ..Evaluation::default()
        },
        baseline: Evaluation::default(),
        cross_validation: None,
        tuning: None,
        slices: Vec::new(),
        training_seconds: 0.0,
        latency_p50_us: 0.0,
        latency_p95_us: 0.0,
        model_bytes: 0,
        notes: vec!["metrics read from the team's own pipeline".into()],
        importance: None,
        weak_segments: Vec::new(),
    }
}
