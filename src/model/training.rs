//! One model, from dataset bytes to an evaluated report.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::algorithms::{Fitted, select_rows};
use super::evaluation::Evaluation;
use super::features::FeaturePlan;
pub use super::problem::Problem;
use super::problem::Target;
use super::spec::{Algorithm, DeclaredSplit, ModelSpec, SplitChoice, Task};
use super::tune::{self, TuningReport};
use super::{ModelError, SeededRng};
use crate::data::column::ColumnView;
use crate::data::load::read_table;
use crate::data::spec::{ColumnType, DatasetSpec, SplitSpec};
use crate::data::{self, format_of};

/// The data a model trains on, read by the caller.
pub struct TrainingData {
    /// The dataset file.
    pub bytes: Vec<u8>,
    /// The train and test files of a `split: { train_path, test_path }`.
    pub split_files: Option<(Vec<u8>, Vec<u8>)>,
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
}

pub fn train(
    name: &str,
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    data: TrainingData,
) -> Result<Trained, ModelError> {
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
    check_params(algorithm, &spec.params)?;
    let declared: BTreeMap<String, ColumnType> = dataset
        .columns
        .iter()
        .filter_map(|(n, c)| c.column_type.map(|t| (n.clone(), t)))
        .collect();
    let format = format_of(dataset).map_err(|e| ModelError::new(e.to_string()))?;
    let (frame, declared_test_from) = match (&spec.split, &dataset.split, data.split_files) {
        (
            SplitChoice::Declared(DeclaredSplit::Dataset),
            Some(SplitSpec::Files {
                train_path,
                test_path,
            }),
            Some((train, test)),
        ) => {
            let read = |bytes: &[u8], path: &str| {
                read_table(bytes, format, path, &declared)
                    .map(|l| l.frame)
                    .map_err(|e| ModelError::new(e.to_string()))
            };
            let train = read(&train, &train_path.0)?;
            let rows = train.height();
            let stacked = train.vstack(&read(&test, &test_path.0)?).map_err(|e| {
                ModelError::new(format!(
                    "the test file's columns differ from the training file's: {e}"
                ))
            })?;
            (stacked, Some(rows))
        }
        _ => (
            read_table(&data.bytes, format, &dataset.path.0, &declared)
                .map_err(|e| ModelError::new(e.to_string()))?
                .frame,
            None,
        ),
    };
    let views: Vec<(String, ColumnView)> = frame
        .columns()
        .iter()
        .map(|c| ColumnView::of(c).map(|v| (c.name().to_string(), v)))
        .collect::<Result<_, _>>()
        .map_err(|e| ModelError::new(format!("cannot read the dataset's columns: {e}")))?;
    let view = |column: &str| views.iter().find(|(n, _)| n == column).map(|(_, v)| v);
    let target_view = view(&spec.target).ok_or_else(|| {
        ModelError::new(format!(
            "the target column `{}` is not in {}",
            spec.target, dataset.path.0
        ))
    })?;
    let mut notes = Vec::new();
    let target = encode_target(spec, target_view)?;
    let labelled: Vec<usize> = (0..frame.height())
        .filter(|r| match &target {
            Target::Classes { index, .. } => index[*r].is_some(),
            Target::Values(values) => values[*r].is_some(),
        })
        .collect();
    if labelled.len() < frame.height() {
        notes.push(format!(
            "{} rows without a target value were left out",
            frame.height() - labelled.len()
        ));
    }
    let split_column = match &dataset.split {
        Some(SplitSpec::Column { column, .. }) => Some(column.clone()),
        _ => None,
    };
    let (train_rows, test_rows) = split_rows(
        spec,
        dataset,
        &labelled,
        &target,
        &views,
        declared_test_from,
    )?;

    let feature_names: Vec<String> = match &spec.features {
        Some(list) => list.clone(),
        None => views
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| {
                *n != spec.target && Some(n) != split_column.as_ref() && !spec.exclude.contains(n)
            })
            .collect(),
    };
    if feature_names.is_empty() {
        return Err(ModelError::new(
            "no feature columns are left; list them under `features:`",
        ));
    }
    let mut feature_views: Vec<(&str, &ColumnView)> = Vec::with_capacity(feature_names.len());
    for feature in &feature_names {
        let v = view(feature).ok_or_else(|| {
            ModelError::new(format!(
                "feature `{feature}` is not a column of {}",
                dataset.path.0
            ))
        })?;
        feature_views.push((feature.as_str(), v));
    }
    let plan = FeaturePlan::fit(
        &feature_views,
        &train_rows,
        &labelled,
        spec.standardize,
        spec.max_levels,
    )?;
    let x_train = plan.transform(&feature_views, &train_rows)?;
    let x_test = plan.transform(&feature_views, &test_rows)?;

    let mut params: BTreeMap<String, f64> = algorithm
        .defaults()
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    params.extend(spec.params.clone());
    let problem = Problem::new(&target, &train_rows);
    let tuning = match &spec.tune {
        Some(search) => {
            let report = tune::search(algorithm, &params, search, &x_train, &problem, spec.task)?;
            params.extend(report.chosen.clone());
            Some(report)
        }
        None => None,
    };
    let started = Instant::now();
    let (fitted, note) = problem.fit(algorithm, &params, &x_train)?;
    let training_seconds = started.elapsed().as_secs_f64();
    notes.extend(note);

    let test_problem = Problem::new(&target, &test_rows);
    let evaluation = test_problem.evaluate(&fitted, &x_test);
    let baseline = test_problem.evaluate(&problem.baseline(), &x_test);
    let cross_validation = match spec.cv {
        Some(folds) if folds >= 2 => Some(
            tune::cross_validate(algorithm, &params, folds, 0, &x_train, &problem, spec.task)?
                .summary(),
        ),
        Some(_) => return Err(ModelError::new("`cv:` needs at least 2 folds")),
        None => None,
    };
    let mut slices = Vec::new();
    for column in &spec.slices {
        let v = view(column).ok_or_else(|| {
            ModelError::new(format!("slice column `{column}` is not in the dataset"))
        })?;
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, row) in test_rows.iter().enumerate() {
            groups.entry(v.display(*row)).or_default().push(i);
        }
        for (value, members) in groups.into_iter().take(50) {
            let rows: Vec<usize> = members.iter().map(|i| test_rows[*i]).collect();
            let metrics = Problem::new(&target, &rows)
                .evaluate(&fitted, &select_rows(&x_test, &members))
                .metrics;
            slices.push(SliceMetrics {
                column: column.clone(),
                value,
                rows: members.len(),
                metrics,
            });
        }
    }
    let (latency_p50_us, latency_p95_us) = latency(
        &fitted,
        &plan,
        &feature_views,
        &test_rows,
        problem.classes(),
    );
    let model_bytes = serde_json::to_vec(&(&plan, &fitted))
        .map(|b| b.len())
        .unwrap_or(0);
    let (classes, positive) = match &target {
        Target::Classes {
            labels, positive, ..
        } => (
            labels.clone(),
            (spec.task == Task::Binary).then(|| labels[*positive].clone()),
        ),
        Target::Values(_) => (Vec::new(), None),
    };
    let report = ModelReport {
        name: name.to_string(),
        task: spec.task,
        algorithm: Some(algorithm),
        params,
        features: plan.names(),
        classes,
        positive,
        train_rows: train_rows.len(),
        test_rows: test_rows.len(),
        evaluation,
        baseline,
        cross_validation,
        tuning,
        slices,
        training_seconds,
        latency_p50_us,
        latency_p95_us,
        model_bytes,
        notes,
    };
    Ok(Trained {
        report,
        plan,
        fitted,
    })
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

fn encode_target(spec: &ModelSpec, view: &ColumnView) -> Result<Target, ModelError> {
    if spec.task == Task::Regression {
        let ColumnView::Numeric(values) = view else {
            return Err(ModelError::new(format!(
                "the target `{}` is not numeric, so it cannot be regressed",
                spec.target
            )));
        };
        let values: Vec<Option<f64>> = values.iter().map(|v| v.filter(|v| !v.is_nan())).collect();
        if let Some(row) = values.iter().position(|v| v.is_some_and(f64::is_infinite)) {
            return Err(ModelError::new(format!(
                "the target `{}` is infinite in row {}",
                spec.target,
                row + 1
            )));
        }
        let mut present = values.iter().flatten();
        let first = present.next().copied();
        if first.is_none() || present.all(|v| Some(*v) == first) {
            return Err(ModelError::new(format!(
                "the target `{}` is constant or empty: there is nothing to learn",
                spec.target
            )));
        }
        return Ok(Target::Values(values));
    }
    // Each distinct value is formatted once, not once per row.
    let (codes, mut labels): (Vec<Option<usize>>, Vec<String>) = match view {
        ColumnView::Numeric(values) => {
            let mut distinct: Vec<f64> = Vec::new();
            let mut seen: ahash::HashMap<u64, usize> = ahash::HashMap::default();
            let codes = values
                .iter()
                .map(|v| {
                    let v = v.filter(|v| !v.is_nan())?;
                    let key = if v == 0.0 { 0 } else { v.to_bits() };
                    Some(*seen.entry(key).or_insert_with(|| {
                        distinct.push(v);
                        distinct.len() - 1
                    }))
                })
                .collect();
            (
                codes,
                distinct
                    .into_iter()
                    .map(crate::data::column::format_number)
                    .collect(),
            )
        }
        ColumnView::Text(values) => {
            let mut distinct: Vec<&str> = Vec::new();
            let mut seen: ahash::HashMap<&str, usize> = ahash::HashMap::default();
            let codes = values
                .iter()
                .map(|v| {
                    let v = v?;
                    Some(*seen.entry(v).or_insert_with(|| {
                        distinct.push(v);
                        distinct.len() - 1
                    }))
                })
                .collect();
            (codes, distinct.into_iter().map(str::to_string).collect())
        }
    };
    if labels.len() > 1000 {
        return Err(ModelError::new(format!(
            "the target `{}` has {} distinct values, too many classes; is this `task: regression`?",
            spec.target,
            labels.len()
        )));
    }
    let first_seen = labels.clone();
    labels.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    let remap: Vec<usize> = first_seen
        .iter()
        .map(|l| labels.iter().position(|s| s == l).unwrap_or(0))
        .collect();
    match (spec.task, labels.len()) {
        (_, 0) => {
            return Err(ModelError::new(format!(
                "the target `{}` has no values",
                spec.target
            )));
        }
        (_, 1) => {
            return Err(ModelError::new(format!(
                "the target `{}` has a single class ({}): there is nothing to learn",
                spec.target, labels[0]
            )));
        }
        (Task::Binary, n) if n > 2 => {
            return Err(ModelError::new(format!(
                "`task: binary` but the target `{}` has {n} classes; use `task: multiclass`",
                spec.target
            )));
        }
        _ => {}
    }
    let positive = match &spec.positive {
        Some(p) => labels.iter().position(|l| l == p).ok_or_else(|| {
            ModelError::new(format!(
                "`positive: {p}` is not a value of the target (its values are {})",
                labels.join(", ")
            ))
        })?,
        None => labels.len() - 1,
    };
    let index = codes.into_iter().map(|c| c.map(|c| remap[c])).collect();
    Ok(Target::Classes {
        index,
        labels,
        positive,
    })
}

fn split_rows(
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    labelled: &[usize],
    target: &Target,
    views: &[(String, ColumnView)],
    test_from: Option<usize>,
) -> Result<(Vec<usize>, Vec<usize>), ModelError> {
    let (train, test): (Vec<usize>, Vec<usize>) = match (&spec.split, &dataset.split) {
        (
            SplitChoice::Declared(_),
            Some(SplitSpec::Column {
                column,
                train,
                test,
            }),
        ) => {
            let split = views
                .iter()
                .find(|(n, _)| n == column)
                .map(|(_, v)| v)
                .ok_or_else(|| {
                    ModelError::new(format!("the split column `{column}` is not in the dataset"))
                })?;
            let (is_train, is_test) = split.membership(train, test);
            (
                labelled.iter().copied().filter(|r| is_train[*r]).collect(),
                labelled.iter().copied().filter(|r| is_test[*r]).collect(),
            )
        }
        (SplitChoice::Declared(_), Some(SplitSpec::Files { .. })) => {
            let from =
                test_from.ok_or_else(|| ModelError::new("the split files could not be read"))?;
            labelled.iter().partition(|r| **r < from)
        }
        (SplitChoice::Declared(_), None) => {
            return Err(ModelError::new(format!(
                "`split: dataset` but dataset `{}` declares no split",
                spec.dataset
            )));
        }
        (
            SplitChoice::Holdout {
                holdout,
                seed,
                stratify,
            },
            _,
        ) => {
            let mut rng = SeededRng::new(*seed);
            let groups: Vec<Vec<usize>> = match target {
                Target::Classes { index, labels, .. } if *stratify => (0..labels.len())
                    .map(|c| {
                        labelled
                            .iter()
                            .copied()
                            .filter(|r| index[*r] == Some(c))
                            .collect()
                    })
                    .collect(),
                _ => vec![labelled.to_vec()],
            };
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for mut group in groups {
                rng.shuffle(&mut group);
                let take = (group.len() as f64 * holdout.0).round() as usize;
                test.extend_from_slice(&group[..take.min(group.len())]);
                train.extend_from_slice(&group[take.min(group.len())..]);
            }
            train.sort_unstable();
            test.sort_unstable();
            (train, test)
        }
    };
    if train.is_empty() || test.is_empty() {
        return Err(ModelError::new(format!(
            "the split leaves {} training and {} test rows; both need rows",
            train.len(),
            test.len()
        )));
    }
    if let Target::Classes { index, labels, .. } = target {
        let seen: std::collections::BTreeSet<usize> =
            train.iter().filter_map(|r| index[*r]).collect();
        if seen.len() < 2 {
            let only = seen
                .iter()
                .next()
                .map(|c| labels[*c].as_str())
                .unwrap_or("none");
            return Err(ModelError::new(format!(
                "the training split holds a single class ({only}); the model cannot learn to tell classes apart"
            )));
        }
    }
    Ok((train, test))
}

/// Median and 95th-percentile time to encode and predict one row.
fn latency(
    fitted: &Fitted,
    plan: &FeaturePlan,
    features: &[(&str, &ColumnView)],
    rows: &[usize],
    classes: usize,
) -> (f64, f64) {
    let mut times: Vec<f64> = Vec::new();
    for row in rows.iter().take(500) {
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
