//! One model, from dataset bytes to an evaluated report.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::ModelError;
use super::algorithms::{Fitted, select_rows};
use super::evaluation::Evaluation;
use super::features::FeaturePlan;
use super::importance::{self, Importances};
pub use super::problem::Problem;
use super::problem::Target;
use super::reference::{Distribution, ReferenceProfile, Sample};
use super::schema::InputSchema;
use super::segments::weakest;
use super::spec::{Algorithm, DeclaredSplit, ModelSpec, SplitChoice, Task};
use super::tune::{self, TuningReport};

mod split;
mod target;

use crate::data::column::ColumnView;
use crate::data::load::read_table;
use crate::data::spec::{ColumnType, DatasetSpec, SplitSpec};
use crate::data::{self, format_of};
use polars::prelude::DataFrame;
use split::split_rows;
use target::encode_target;

/// The data a model trains on, read by the caller.
pub struct TrainingData {
    /// The dataset file.
    pub bytes: Vec<u8>,
    /// The train and test files of a `split: { train_path, test_path }`.
    pub split_files: Option<(Vec<u8>, Vec<u8>)>,
    /// Also learn the reference profile (only a kept model ships one).
    pub reference: bool,
}

/// Everything measured about one trained model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelReport {
    pub name: String,
    pub task: Task,
    pub algorithm: Option<Algorithm>,
    /// The parameters used, after tuning.
    pub params: BTreeMap<String, f64>,
    pub features: Vec<String>,
    pub classes: Vec<String>,
    pub positive: Option<String>,
    pub train_rows: usize,
    pub test_rows: usize,
    /// On the test split.
    pub evaluation: Evaluation,
    /// The dummy baseline (class priors, or the training mean) on the test split.
    pub baseline: Evaluation,
    /// Mean and standard deviation of each metric over k folds of the training split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_validation: Option<BTreeMap<String, (f64, f64)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuning: Option<TuningReport>,
    /// Metrics per value of each slice column: (column, value, rows, metrics).
    pub slices: Vec<SliceMetrics>,
    pub training_seconds: f64,
    /// Prediction latency of one row, microseconds.
    pub latency_p50_us: f64,
    pub latency_p95_us: f64,
    /// Serialised model and feature encoding, bytes.
    pub model_bytes: usize,
    /// Things worth knowing that did not stop training.
    pub notes: Vec<String>,
    /// Permutation importance on the test rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importances>,
    /// Where the model does worst on the test rows, found by itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weak_segments: Vec<crate::model::segments::Segment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SliceMetrics {
    pub column: String,
    pub value: String,
    pub rows: usize,
    pub metrics: BTreeMap<String, f64>,
}

/// A trained model: the report, and what to save as the artifact.
pub struct Trained {
    pub report: ModelReport,
    pub plan: FeaturePlan,
    pub fitted: Fitted,
    pub input: InputSchema,
    /// When `TrainingData::reference` asked for it.
    pub reference: Option<ReferenceProfile>,
}

pub fn train(
    name: &str,
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    data: TrainingData,
) -> Result<Trained, ModelError> {
    let kept = data.reference;
    let algorithm = checked_algorithm(name, spec)?;
    let (frame, declared_test_from) = read_frame(spec, dataset, data)?;
    let views = views_of(&frame)?;
    let mut notes = Vec::new();
    let target = target_of(spec, dataset, &views)?;
    let labelled = labelled_rows(&target, frame.height(), &mut notes);
    let (train_rows, test_rows) = split_rows(
        spec,
        dataset,
        &labelled,
        &target,
        &views,
        declared_test_from,
    )?;
    let feature_views = features(spec, dataset, &views)?;
    let plan = plan_of(spec, &feature_views, &train_rows, &labelled)?;
    let x_train = plan.transform(&feature_views, &train_rows)?;
    let x_test = plan.transform(&feature_views, &test_rows)?;
    let mut problem = Problem::new(&target, &train_rows);
    problem.balanced = spec.class_weight.is_some();
    let (params, tuning) = parameters(algorithm, spec, &x_train, &problem)?;
    let started = Instant::now();
    let (fitted, note) = problem.fit(algorithm, &params, &x_train)?;
    let training_seconds = started.elapsed().as_secs_f64();
    notes.extend(note);
    let test_problem = Problem::new(&target, &test_rows);
    let cross_validation = cross_validation(spec, algorithm, &params, &x_train, &problem)?;
    let test = Tested {
        target: &target,
        rows: &test_rows,
        fitted: &fitted,
        x: &x_test,
    };
    let slices = slices(spec, &views, &test)?;
    let latency_us = latency(&test, &plan, &feature_views, problem.classes());
    let (classes, positive) = classes_of(&target, spec.task);
    let test_scores = test_problem.score(&fitted, &x_test);
    let report = ModelReport {
        name: name.to_string(),
        task: spec.task,
        algorithm: Some(algorithm),
        features: plan.names(),
        classes,
        positive,
        train_rows: train_rows.len(),
        test_rows: test_rows.len(),
        evaluation: test_problem.evaluate_scores(&test_scores),
        baseline: test_problem.evaluate(&problem.baseline(), &x_test),
        params,
        cross_validation,
        tuning,
        slices,
        training_seconds,
        latency_p50_us: latency_us.0,
        latency_p95_us: latency_us.1,
        model_bytes: serde_json::to_vec(&(&plan, &fitted)).map_or(0, |b| b.len()),
        notes,
        importance: importance::permutation(&fitted, &plan, &test_problem, &x_test, 0),
        weak_segments: weakest(
            &feature_views,
            &test_rows,
            &test_problem.errors(&test_scores),
        ),
    };
    Ok(Trained {
        input: InputSchema::learn(&plan, &feature_views, &train_rows),
        reference: reference_of(kept, &report, &feature_views, &train_rows, &test_scores),
        report,
        plan,
        fitted,
    })
}

/// The feature plan fitted on the training rows (every labelled row is
/// checked for infinite values).
fn plan_of(
    spec: &ModelSpec,
    features: &[(&str, &ColumnView)],
    train: &[usize],
    labelled: &[usize],
) -> Result<FeaturePlan, ModelError> {
    FeaturePlan::fit(features, train, labelled, spec.standardize, spec.max_levels)
}

/// The model's algorithm, when it has one that fits its task.
fn checked_algorithm(name: &str, spec: &ModelSpec) -> Result<Algorithm, ModelError> {
    let algorithm = spec.algorithm.ok_or_else(|| {
        ModelError::new(format!(
            "model `{name}` names neither an `algorithm` nor a `metrics_file`"
        ))
    })?;
    if !algorithm.supports(spec.task) {
        return Err(ModelError::new(
            format!("{} does not fit `task: {:?}`", algorithm.name(), spec.task).to_lowercase(),
        ));
    }
    if spec.class_weight.is_some()
        && (spec.task == Task::Regression || !algorithm.takes_class_weights())
    {
        return Err(ModelError::new(format!(
            "model `{name}`: `class_weight` weighs classes, for classification with logistic_regression, gradient_boosting, decision_tree or random_forest, not {} on `task: {}`",
            algorithm.name(),
            format!("{:?}", spec.task).to_lowercase()
        )));
    }
    check_params(algorithm, &spec.params)?;
    Ok(algorithm)
}

/// The dataset as one frame: its file, or its train file stacked on its
/// test file (answering where the test rows begin).
fn read_frame(
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    data: TrainingData,
) -> Result<(DataFrame, Option<usize>), ModelError> {
    let declared: BTreeMap<String, ColumnType> = dataset
        .columns
        .iter()
        .filter_map(|(n, c)| c.column_type.map(|t| (n.clone(), t)))
        .collect();
    let format = format_of(dataset).map_err(|e| ModelError::new(e.to_string()))?;
    let read = |bytes: &[u8], path: &str| {
        read_table(bytes, format, path, &declared)
            .map(|l| l.frame)
            .map_err(|e| ModelError::new(e.to_string()))
    };
    match (&spec.split, &dataset.split, data.split_files) {
        (
            SplitChoice::Declared(DeclaredSplit::Dataset),
            Some(SplitSpec::Files {
                train_path,
                test_path,
            }),
            Some((train, test)),
        ) => {
            let train = read(&train, &train_path.0)?;
            let rows = train.height();
            let stacked = train.vstack(&read(&test, &test_path.0)?).map_err(|e| {
                ModelError::new(format!(
                    "the test file's columns differ from the training file's: {e}"
                ))
            })?;
            Ok((stacked, Some(rows)))
        }
        _ => Ok((read(&data.bytes, &dataset.path.0)?, None)),
    }
}

fn views_of(frame: &DataFrame) -> Result<Vec<(String, ColumnView)>, ModelError> {
    frame
        .columns()
        .iter()
        .map(|c| ColumnView::of(c).map(|v| (c.name().to_string(), v)))
        .collect::<Result<_, _>>()
        .map_err(|e| ModelError::new(format!("cannot read the dataset's columns: {e}")))
}

/// The target column, encoded for the task.
fn target_of(
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    views: &[(String, ColumnView)],
) -> Result<Target, ModelError> {
    let view = views
        .iter()
        .find(|(n, _)| *n == spec.target)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            ModelError::new(format!(
                "the target column `{}` is not in {}",
                spec.target, dataset.path.0
            ))
        })?;
    encode_target(spec, view)
}

/// The rows with a target value; a note says how many had none.
fn labelled_rows(target: &Target, rows: usize, notes: &mut Vec<String>) -> Vec<usize> {
    let labelled: Vec<usize> = (0..rows)
        .filter(|r| match target {
            Target::Classes { index, .. } => index[*r].is_some(),
            Target::Values(values) => values[*r].is_some(),
        })
        .collect();
    if labelled.len() < rows {
        notes.push(format!(
            "{} rows without a target value were left out",
            rows - labelled.len()
        ));
    }
    labelled
}

/// The feature columns: those listed, or every column but the target,
/// the split column and the excluded.
fn features<'v>(
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    views: &'v [(String, ColumnView)],
) -> Result<Vec<(&'v str, &'v ColumnView)>, ModelError> {
    let split_column = match &dataset.split {
        Some(SplitSpec::Column { column, .. }) => Some(column),
        _ => None,
    };
    let names: Vec<&str> = match &spec.features {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => views
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| {
                *n != spec.target
                    && split_column.is_none_or(|c| c != n)
                    && !spec.exclude.iter().any(|e| e == n)
            })
            .collect(),
    };
    if names.is_empty() {
        return Err(ModelError::new(
            "no feature columns are left; list them under `features:`",
        ));
    }
    names
        .into_iter()
        .map(|feature| {
            views
                .iter()
                .find(|(n, _)| n == feature)
                .map(|(n, v)| (n.as_str(), v))
                .ok_or_else(|| {
                    ModelError::new(format!(
                        "feature `{feature}` is not a column of {}",
                        dataset.path.0
                    ))
                })
        })
        .collect()
}

/// The parameters: the algorithm's defaults, the declared ones, and what
/// tuning chose when it ran.
fn parameters(
    algorithm: Algorithm,
    spec: &ModelSpec,
    x_train: &ndarray::Array2<f64>,
    problem: &Problem,
) -> Result<(BTreeMap<String, f64>, Option<TuningReport>), ModelError> {
    let mut params: BTreeMap<String, f64> = algorithm
        .defaults()
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    params.extend(spec.params.clone());
    let Some(search) = &spec.tune else {
        return Ok((params, None));
    };
    let report = tune::search(algorithm, &params, search, x_train, problem, spec.task)?;
    params.extend(report.chosen.clone());
    Ok((params, Some(report)))
}

/// Each metric's mean and spread over `cv:` folds of the training rows.
fn cross_validation(
    spec: &ModelSpec,
    algorithm: Algorithm,
    params: &BTreeMap<String, f64>,
    x_train: &ndarray::Array2<f64>,
    problem: &Problem,
) -> Result<Option<BTreeMap<String, (f64, f64)>>, ModelError> {
    match spec.cv {
        Some(folds) if folds >= 2 => Ok(Some(
            tune::cross_validate(algorithm, params, folds, 0, x_train, problem, spec.task)?
                .summary(),
        )),
        Some(_) => Err(ModelError::new("`cv:` needs at least 2 folds")),
        None => Ok(None),
    }
}

/// The test rows and the model's predictions on them.
struct Tested<'a> {
    target: &'a Target,
    rows: &'a [usize],
    fitted: &'a Fitted,
    x: &'a ndarray::Array2<f64>,
}

/// Every metric again per value of each slice column (50 values at most).
fn slices(
    spec: &ModelSpec,
    views: &[(String, ColumnView)],
    test: &Tested<'_>,
) -> Result<Vec<SliceMetrics>, ModelError> {
    let mut slices = Vec::new();
    for column in &spec.slices {
        let v = views
            .iter()
            .find(|(n, _)| n == column)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                ModelError::new(format!("slice column `{column}` is not in the dataset"))
            })?;
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, row) in test.rows.iter().enumerate() {
            groups.entry(v.display(*row)).or_default().push(i);
        }
        for (value, members) in groups.into_iter().take(50) {
            let rows: Vec<usize> = members.iter().map(|i| test.rows[*i]).collect();
            let metrics = Problem::new(test.target, &rows)
                .evaluate(test.fitted, &select_rows(test.x, &members))
                .metrics;
            slices.push(SliceMetrics {
                column: column.clone(),
                value,
                rows: members.len(),
                metrics,
            });
        }
    }
    Ok(slices)
}

/// The class labels, and the positive class of a binary task.
/// What monitoring will compare with: the features on the training rows,
/// the model's scores and the metrics on the test rows.
fn reference_of(
    wanted: bool,
    report: &ModelReport,
    features: &[(&str, &ColumnView)],
    train: &[usize],
    outputs: &[Vec<f64>],
) -> Option<ReferenceProfile> {
    if !wanted {
        return None;
    }
    let positive = report
        .positive
        .as_ref()
        .and_then(|p| report.classes.iter().position(|c| c == p))
        .unwrap_or(0);
    Some(ReferenceProfile {
        rows: train.len(),
        features: features
            .iter()
            .map(|(name, view)| {
                (
                    name.to_string(),
                    Distribution::of(&Sample::of_view(view, train)),
                )
            })
            .collect(),
        predictions: Distribution::of(&Sample::of_outputs(outputs, &report.classes, positive)),
        metrics: report.evaluation.metrics.clone(),
    })
}

fn classes_of(target: &Target, task: Task) -> (Vec<String>, Option<String>) {
    match target {
        Target::Classes {
            labels, positive, ..
        } => (
            labels.clone(),
            (task == Task::Binary).then(|| labels[*positive].clone()),
        ),
        Target::Values(_) => (Vec::new(), None),
    }
}

fn check_params(algorithm: Algorithm, params: &BTreeMap<String, f64>) -> Result<(), ModelError> {
    let known: Vec<&str> = algorithm.defaults().iter().map(|(k, _)| *k).collect();
    for (name, value) in params {
        if !known.contains(&name.as_str()) {
            return Err(ModelError::new(format!(
                "{} has no parameter `{name}`; its parameters are {}",
                algorithm.name(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        if !value.is_finite() {
            return Err(ModelError::new(format!(
                "parameter `{name}` must be a finite number"
            )));
        }
    }
    Ok(())
}

/// Median and 95th-percentile time to encode and predict one row.
fn latency(
    test: &Tested,
    plan: &FeaturePlan,
    features: &[(&str, &ColumnView)],
    classes: usize,
) -> (f64, f64) {
    let fitted = test.fitted;
    let mut times: Vec<f64> = Vec::new();
    for row in test.rows.iter().take(500) {
        let started = Instant::now();
        if let Ok(x) = plan.transform(features, std::slice::from_ref(row)) {
            if classes > 0 {
                std::hint::black_box(fitted.probabilities(x.view(), classes));
            } else {
                std::hint::black_box(fitted.values(x.view()));
            }
        }
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    data::stats::sort_f64(&mut times);
    (
        data::stats::quantile_sorted(&times, 0.5).unwrap_or(0.0),
        data::stats::quantile_sorted(&times, 0.95).unwrap_or(0.0),
    )
}
