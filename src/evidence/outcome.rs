//! What gathering evidence is asked for, and what it gives: each dataset's
//! report and each model's outcome, with the verdict.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::RepoConfig;
use crate::data::DatasetReport;
use crate::data::source::Sources;
use crate::lifecycle::ask::Evaluation as LedgerEvaluation;
use crate::model::artifact::ModelArtifact;
use crate::model::gates::{GateResult, Verdict};
use crate::model::stamp::Stamp;
use crate::model::training::ModelReport;

/// What to gather evidence for.
pub struct Request<'a> {
    pub root: &'a Path,
    pub config: &'a RepoConfig,
    pub base: Option<&'a str>,
    /// Only these models (all when empty).
    pub models: &'a [String],
    /// Only these datasets' data tests (all when empty).
    pub datasets: &'a [String],
    pub run_data_tests: bool,
    pub run_training: bool,
    /// Keep each trained model (its fitted preprocessing and weights) in
    /// its outcome, for artifacts and releases.
    pub keep_artifacts: bool,
    /// Where data beyond the working tree comes from (LFS, DVC, URIs).
    pub sources: &'a Sources,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelOutcome {
    pub name: String,
    /// The metrics to show, in order (the config's `metrics:`, or all).
    pub shown_metrics: Vec<String>,
    pub report: Option<ModelReport>,
    pub error: Option<String>,
    /// The same model on the base revision.
    pub base_metrics: Option<BTreeMap<String, f64>>,
    /// The parameters the base revision's model was trained with.
    #[serde(default)]
    pub base_params: Option<BTreeMap<String, f64>>,
    /// The base revision's ROC and precision-recall curves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_curves: Option<crate::model::curves::Curves>,
    pub base_note: Option<String>,
    pub gates: Vec<GateResult>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub stamp: Stamp,
    /// The trained model, when the request kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<ModelArtifact>,
}

impl ModelOutcome {
    pub fn metrics(&self) -> Option<&BTreeMap<String, f64>> {
        self.report.as_ref().map(|r| &r.evaluation.metrics)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    pub datasets: Vec<DatasetReport>,
    pub models: Vec<ModelOutcome>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub head_commit: Option<String>,
    pub base_commit: Option<String>,
}

impl Evidence {
    /// Each trained model's metrics, by model name (the runs ledger's shape).
    pub fn metrics_by_model(&self) -> BTreeMap<String, BTreeMap<String, f64>> {
        self.models
            .iter()
            .filter_map(|m| Some((m.name.clone(), m.metrics()?.clone())))
            .collect()
    }

    /// This evidence as the Ask's leaderboard reads it: each model's
    /// metrics, parameters and data hash (its first dataset file's sha256).
    pub fn evaluation(&self, head_ref: &str, pull: u64, verdict: Verdict) -> LedgerEvaluation {
        ledger_evaluation(
            head_ref,
            pull,
            verdict,
            self.metrics_by_model(),
            &self.stamps_by_model(),
        )
    }

    /// Each model's stamp, by model name.
    pub fn stamps_by_model(&self) -> BTreeMap<String, Stamp> {
        self.models
            .iter()
            .map(|m| (m.name.clone(), m.stamp.clone()))
            .collect()
    }
}

/// An evaluation of the runs ledger, from each model's metrics and stamp.
pub fn ledger_evaluation(
    head_ref: &str,
    pull: u64,
    verdict: Verdict,
    metrics: BTreeMap<String, BTreeMap<String, f64>>,
    stamps: &BTreeMap<String, Stamp>,
) -> LedgerEvaluation {
    LedgerEvaluation {
        head_ref: head_ref.to_string(),
        pull,
        verdict,
        metrics,
        params: stamps
            .iter()
            .map(|(model, s)| (model.clone(), s.params.clone()))
            .collect(),
        data_hash: stamps
            .iter()
            .filter_map(|(model, s)| Some((model.clone(), s.datasets.values().next()?.clone())))
            .collect(),
    }
}
