//! Monitoring a released model: fresh production inputs against the
//! reference profile the model shipped with (not against git) — each
//! feature's drift (PSI, KS, new levels), the drift of the model's scores,
//! and, when outcomes are known, the metrics against the release's test
//! metrics. Pure: the caller reads the files and acts on the verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ModelError;
use super::artifact::ModelArtifact;
use super::evaluation;
use super::predict::{self, OnInvalid};
use super::reference::{Drift, Sample};
use crate::data::column::ColumnView;

/// When drift or a drop counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    pub psi_warn: f64,
    pub psi_fail: f64,
    pub ks_fail: Option<f64>,
    /// The largest allowed fall of each metric below the release's (in the
    /// metric's units; for losses and errors, the largest rise).
    pub drops: BTreeMap<String, f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            psi_warn: 0.1,
            psi_fail: 0.25,
            ks_fail: None,
            drops: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Drifted {
    pub name: String,
    pub drift: Drift,
    pub level: Level,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricChange {
    pub metric: String,
    pub released: f64,
    pub now: f64,
    pub level: Level,
}

/// What the fresh data says; `input_drift` and `performance_drop` are the
/// two causes an issue is opened for (a Data issue, a retrain issue).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorReport {
    pub model: String,
    pub rows: usize,
    pub features: Vec<Drifted>,
    pub predictions: Option<Drifted>,
    pub metrics: Vec<MetricChange>,
    pub input_drift: Level,
    pub performance_drop: Level,
}

impl MonitorReport {
    pub fn level(&self) -> Level {
        self.input_drift.max(self.performance_drop)
    }
}

pub fn monitor(
    artifact: &ModelArtifact,
    columns: &[(String, ColumnView)],
    height: usize,
    labels: Option<&ColumnView>,
    limits: &Limits,
) -> Result<MonitorReport, ModelError> {
    let reference = artifact.reference.as_ref().ok_or_else(|| {
        ModelError::new(format!(
            "the artifact of `{}` has no reference profile; train it again with this dslp to monitor it",
            artifact.name
        ))
    })?;
    let all: Vec<usize> = (0..height).collect();
    let mut features = Vec::new();
    for (name, distribution) in &reference.features {
        let Some((_, view)) = columns.iter().find(|(c, _)| c == name) else {
            continue; // `score` below names the missing features
        };
        if let Some(drift) = distribution.drift(&Sample::of_view(view, &all)) {
            let level = level_of(&drift, limits);
            features.push(Drifted {
                name: name.clone(),
                drift,
                level,
            });
        }
    }
    let scored = predict::score(artifact, columns, height, OnInvalid::Skip)?;
    let positive = artifact.positive_index();
    let scores = Sample::of_outputs(&scored.outputs, &artifact.classes, positive);
    let predictions = reference.predictions.drift(&scores).map(|drift| Drifted {
        name: "model score".into(),
        level: level_of(&drift, limits),
        drift,
    });
    let metrics = match labels {
        Some(labels) => changes(artifact, &scored, labels, &reference.metrics, limits)?,
        None => Vec::new(),
    };
    let input_drift = features.iter().map(|f| f.level).max().unwrap_or(Level::Ok);
    let performance_drop = metrics.iter().map(|m| m.level).max().unwrap_or(Level::Ok);
    Ok(MonitorReport {
        model: artifact.name.clone(),
        rows: height,
        features,
        predictions,
        metrics,
        input_drift,
        performance_drop,
    })
}

fn level_of(drift: &Drift, limits: &Limits) -> Level {
    let ks_fails = limits
        .ks_fail
        .zip(drift.ks)
        .is_some_and(|(limit, ks)| ks > limit);
    if drift.psi > limits.psi_fail || ks_fails {
        Level::Fail
    } else if drift.psi > limits.psi_warn || !drift.new_levels.is_empty() {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// The metrics on the labelled fresh rows against the release's.
fn changes(
    artifact: &ModelArtifact,
    scored: &predict::Scored,
    labels: &ColumnView,
    released: &BTreeMap<String, f64>,
    limits: &Limits,
) -> Result<Vec<MetricChange>, ModelError> {
    let text = |r: usize| match labels {
        ColumnView::Text(t) => t.get(r).map(str::to_string),
        ColumnView::Numeric(v) => v.get(r).filter(|x| !x.is_nan()).map(|x| format!("{x}")),
    };
    let now = if artifact.classes.is_empty() {
        let (truth, predicted): (Vec<f64>, Vec<f64>) = scored
            .rows
            .iter()
            .zip(&scored.outputs)
            .filter_map(|(r, o)| Some((text(*r)?.parse::<f64>().ok()?, o[0])))
            .unzip();
        evaluation::regression(&truth, &predicted)
    } else {
        let mut truth = Vec::new();
        let mut probabilities = Vec::new();
        for (r, o) in scored.rows.iter().zip(&scored.outputs) {
            let label = text(*r).map(|l| l.trim_end_matches(".0").to_string());
            if let Some(k) = label.and_then(|l| artifact.classes.iter().position(|c| *c == l)) {
                truth.push(k);
                probabilities.push(o.clone());
            }
        }
        if truth.is_empty() {
            return Err(ModelError::new(format!(
                "no label in the fresh data is one of the model's classes ({})",
                artifact.classes.join(", ")
            )));
        }
        let predicted: Vec<usize> = probabilities
            .iter()
            .map(|o| super::metrics::most_probable(o))
            .collect();
        let classes = artifact.classes.len();
        let positive = artifact.positive_index();
        evaluation::classification(&truth, &probabilities, &predicted, classes, positive)
    };
    Ok(now
        .metrics
        .iter()
        .filter_map(|(metric, value)| {
            let before = *released.get(metric)?;
            let higher = crate::lifecycle::metric::greater_is_better(metric);
            let fall = if higher {
                before - value
            } else {
                value - before
            };
            let level = match limits.drops.get(metric) {
                Some(limit) if fall > *limit => Level::Fail,
                _ => Level::Ok,
            };
            Some(MetricChange {
                metric: metric.clone(),
                released: before,
                now: *value,
                level,
            })
        })
        .collect())
}
