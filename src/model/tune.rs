//! Cross-validation and parameter search, on the training split only: the
//! test split never influences which parameters are chosen.

use std::collections::BTreeMap;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::algorithms::select_rows;
use super::evaluation::{greater_is_better, metric_names};
use super::problem::Problem;
use super::spec::{Algorithm, Task, TuneSpec};
use super::{ModelError, SeededRng};

/// The metrics of each fold.
pub struct FoldScores {
    pub folds: Vec<BTreeMap<String, f64>>,
}

impl FoldScores {
    /// Mean and sample standard deviation per metric.
    pub fn summary(&self) -> BTreeMap<String, (f64, f64)> {
        let mut out = BTreeMap::new();
        let Some(first) = self.folds.first() else {
            return out;
        };
        for metric in first.keys() {
            let values: Vec<f64> = self
                .folds
                .iter()
                .filter_map(|f| f.get(metric).copied())
                .collect();
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let std = if values.len() > 1 {
                (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            } else {
                0.0
            };
            out.insert(metric.clone(), (mean, std));
        }
        out
    }
}

/// Positions 0..n dealt into k folds; classes are dealt separately so each
/// fold keeps their shares.
fn folds(
    n: usize,
    k: usize,
    seed: u64,
    strata: Option<&ndarray::Array1<usize>>,
) -> Vec<Vec<usize>> {
    let mut rng = SeededRng::new(seed);
    let mut out = vec![Vec::new(); k];
    let groups: Vec<Vec<usize>> = match strata {
        Some(labels) => {
            let classes = labels.iter().max().map_or(0, |m| m + 1);
            (0..classes)
                .map(|c| (0..n).filter(|i| labels[*i] == c).collect())
                .collect()
        }
        None => vec![(0..n).collect()],
    };
    let mut next = 0;
    for mut group in groups {
        rng.shuffle(&mut group);
        for position in group {
            out[next % k].push(position);
            next += 1;
        }
    }
    out
}

pub fn cross_validate(
    algorithm: Algorithm,
    params: &BTreeMap<String, f64>,
    k: u32,
    seed: u64,
    x: &Array2<f64>,
    problem: &Problem,
    _task: Task,
) -> Result<FoldScores, ModelError> {
    let k = k as usize;
    if x.nrows() < k {
        return Err(ModelError::new(format!(
            "{k}-fold cross-validation needs at least {k} training rows"
        )));
    }
    let parts = folds(x.nrows(), k, seed, problem.strata());
    let mut scores = Vec::with_capacity(k);
    for held_out in &parts {
        let mut train: Vec<usize> = parts
            .iter()
            .filter(|p| !std::ptr::eq(*p, held_out))
            .flatten()
            .copied()
            .collect();
        train.sort_unstable();
        let fold_problem = problem.subset(&train);
        let (fitted, _) = fold_problem.fit(algorithm, params, &select_rows(x, &train))?;
        let evaluation = problem
            .subset(held_out)
            .evaluate(&fitted, &select_rows(x, held_out));
        scores.push(evaluation.metrics);
    }
    Ok(FoldScores { folds: scores })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    pub params: BTreeMap<String, f64>,
    pub score_mean: f64,
    pub score_std: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TuningReport {
    pub scoring: String,
    pub folds: u32,
    /// The search space in words, per parameter.
    pub space: BTreeMap<String, String>,
    pub candidates: Vec<Candidate>,
    pub chosen: BTreeMap<String, f64>,
}

pub fn search(
    algorithm: Algorithm,
    base: &BTreeMap<String, f64>,
    spec: &TuneSpec,
    x: &Array2<f64>,
    problem: &Problem,
    task: Task,
) -> Result<TuningReport, ModelError> {
    tunable(algorithm, spec, task)?;
    let (space, candidates) = candidates(spec);
    let higher = greater_is_better(&spec.scoring);
    let mut scored = Vec::with_capacity(candidates.len());
    let total = candidates.len();
    for (i, candidate) in candidates.into_iter().enumerate() {
        crate::progress::step(|| format!("tuning: candidate {} of {total}", i + 1));
        let mut params = base.clone();
        params.extend(candidate.clone());
        let summary = cross_validate(
            algorithm,
            &params,
            spec.folds.max(2),
            spec.seed,
            x,
            problem,
            task,
        )?
        .summary();
        let (mean, std) = summary
            .get(&spec.scoring)
            .copied()
            .unwrap_or((f64::NAN, 0.0));
        scored.push(Candidate {
            params: candidate,
            score_mean: mean,
            score_std: std,
        });
    }
    let best = scored
        .iter()
        .filter(|c| c.score_mean.is_finite())
        .fold(None::<&Candidate>, |best, c| match best {
            Some(b)
                if (higher && c.score_mean <= b.score_mean)
                    || (!higher && c.score_mean >= b.score_mean) =>
            {
                Some(b)
            }
            _ => Some(c),
        })
        .ok_or_else(|| ModelError::new("no tuning candidate could be scored"))?;
    Ok(TuningReport {
        scoring: spec.scoring.clone(),
        folds: spec.folds.max(2),
        space,
        chosen: best.params.clone(),
        candidates: scored,
    })
}

/// The scoring is a metric of the task, and every tuned name a parameter
/// of the algorithm.
fn tunable(algorithm: Algorithm, spec: &TuneSpec, task: Task) -> Result<(), ModelError> {
    if !metric_names(task).contains(&spec.scoring.as_str()) {
        return Err(ModelError::new(
            format!(
                "`tune.scoring: {}` is not a {:?} metric; use one of {}",
                spec.scoring,
                task,
                metric_names(task).join(", ")
            )
            .to_lowercase(),
        ));
    }
    let known: Vec<&str> = algorithm.defaults().iter().map(|(k, _)| *k).collect();
    match spec
        .grid
        .keys()
        .chain(spec.random.keys())
        .find(|name| !known.contains(&name.as_str()))
    {
        Some(name) => Err(ModelError::new(format!(
            "cannot tune `{name}`: {} takes {}",
            algorithm.name(),
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// The search space as words, and the candidates: every combination of
/// the grid, then `budget` random draws from the ranges (seeded).
fn candidates(spec: &TuneSpec) -> (BTreeMap<String, String>, Vec<BTreeMap<String, f64>>) {
    let mut space = BTreeMap::new();
    let mut candidates: Vec<BTreeMap<String, f64>> = vec![BTreeMap::new()];
    for (name, values) in &spec.grid {
        space.insert(name.clone(), format!("grid {values:?}"));
        candidates = candidates
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut next = c.clone();
                    next.insert(name.clone(), *v);
                    next
                })
            })
            .collect();
    }
    if spec.random.is_empty() {
        return (space, candidates);
    }
    for (name, range) in &spec.random {
        space.insert(
            name.clone(),
            format!(
                "{} from {} to {}{}",
                if range.log { "log-uniform" } else { "uniform" },
                range.min,
                range.max,
                if range.integer { ", whole numbers" } else { "" }
            ),
        );
    }
    let budget = spec.budget.unwrap_or(10).max(1) as usize;
    let mut rng = SeededRng::new(spec.seed);
    let grid = std::mem::take(&mut candidates);
    for i in 0..budget {
        let mut candidate = grid[i % grid.len()].clone();
        for (name, range) in &spec.random {
            let u = rng.unit();
            let mut value = if range.log && range.min > 0.0 {
                (range.min.ln() + u * (range.max.ln() - range.min.ln())).exp()
            } else {
                range.min + u * (range.max - range.min)
            };
            if range.integer {
                value = value.round();
            }
            candidate.insert(name.clone(), value);
        }
        candidates.push(candidate);
    }
    (space, candidates)
}
