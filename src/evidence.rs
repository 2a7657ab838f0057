//! The evidence for a revision: data tests, training and evaluation, the
//! base revision's metrics, gates and the verdict. This is the shell around
//! the pure `data` and `model` modules: it reads the working tree and git.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{CONFIG_PATH, RepoConfig};
use crate::data::source::{DataError, Input, resolve_in_repo};
use crate::data::spec::{DatasetSpec, FileFormat, SplitSpec};
use crate::data::{self, DatasetFiles, DatasetReport, Source};
use crate::lifecycle::ask::Evaluation as LedgerEvaluation;
use crate::model::gates::{self, GateInputs, GateResult, Verdict};
use crate::model::spec::ModelSpec;
use crate::model::stamp::{self, Stamp};
use crate::model::training::{self, ModelReport, Trained, TrainingData};
use crate::model::{ModelError, evaluation::Evaluation};
use crate::revision::{RevisionError, Revisions};

/// What to gather evidence for.
pub struct Request<'a> {
    pub root: &'a Path,
    pub config: &'a RepoConfig,
    pub base: Option<&'a str>,
    /// Only these models (all when empty).
    pub models: &'a [String],
    pub run_data_tests: bool,
    pub run_training: bool,
    /// Where to write model artifacts and cards, if anywhere.
    pub output: Option<&'a Path>,
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
    pub base_note: Option<String>,
    pub gates: Vec<GateResult>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub stamp: Stamp,
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

pub fn gather(request: &Request<'_>) -> Evidence {
    let revisions = Revisions::discover(request.root).ok();
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
            .filter(|(name, _)| request.run_data_tests || model_datasets.contains(name))
            .map(|(name, spec)| {
                data::evaluate(
                    name,
                    spec,
                    dataset_files(request.root, spec, request.base, revisions.as_ref()),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut models = Vec::new();
    if request.run_training {
        for (name, spec) in config.models.iter().filter(|(n, _)| wanted(n)) {
            let dataset_report = datasets.iter().find(|d| d.name == spec.dataset);
            models.push(model_outcome(
                request,
                name,
                spec,
                dataset_report,
                revisions.as_ref(),
                &head_commit,
                &base_commit,
            ));
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
        (
            Verdict::Neutral,
            vec!["nothing on this branch is gated".into()],
        )
    }
}

fn read_working(root: &Path, relative: &str) -> Result<Vec<u8>, DataError> {
    Input::File(resolve_in_repo(root, relative)?).into_bytes(relative)
}

/// The files of a dataset in the working tree, and at the base revision.
pub fn dataset_files<'r>(
    root: &'r Path,
    spec: &'r DatasetSpec,
    base: Option<&'r str>,
    revisions: Option<&'r Revisions>,
) -> DatasetFiles<'r> {
    let path = &spec.path.0;
    let base = base.map(|rev| {
        Source::lazy(move || match revisions {
            Some(r) => r.read(rev, path).map_err(|e| match e {
                RevisionError::NoSuchFile { .. } => {
                    DataError::new(path, format!("the dataset is new: {e}"))
                }
                other => DataError::new(path, other.to_string()),
            }),
            None => Err(DataError::new(
                path,
                format!("{} is not inside a git repository", root.display()),
            )),
        })
    });
    let split = match &spec.split {
        Some(SplitSpec::Files {
            train_path,
            test_path,
        }) => Some((
            read_working(root, &train_path.0),
            read_working(root, &test_path.0),
        )),
        _ => None,
    };
    DatasetFiles {
        head: resolve_in_repo(root, path).map(Input::File),
        base,
        split,
    }
}

fn training_data(
    read: impl Fn(&str) -> Result<Vec<u8>, String>,
    dataset: &DatasetSpec,
) -> Result<TrainingData, ModelError> {
    let bytes = read(&dataset.path.0).map_err(ModelError::new)?;
    let split_files = match &dataset.split {
        Some(SplitSpec::Files {
            train_path,
            test_path,
        }) => Some((
            read(&train_path.0).map_err(ModelError::new)?,
            read(&test_path.0).map_err(ModelError::new)?,
        )),
        _ => None,
    };
    Ok(TrainingData { bytes, split_files })
}

/// Trains (or reads the metrics file of) one model at one revision's files.
fn run_model(
    name: &str,
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    read: impl Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<ModelRun, ModelError> {
    if let Some(path) = &spec.metrics_file {
        let bytes = read(&path.0).map_err(ModelError::new)?;
        return external_metrics(&bytes, &path.0).map(ModelRun::External);
    }
    let data = training_data(&read, dataset)?;
    training::train(name, spec, dataset, data).map(|trained| ModelRun::Trained(Box::new(trained)))
}

/// What one model's run gave.
enum ModelRun {
    /// A model dslp-bot trained and evaluated.
    Trained(Box<Trained>),
    /// The metrics a team's own pipeline wrote (`metrics_file`).
    External(BTreeMap<String, f64>),
}

/// Metrics a team's own pipeline wrote: a JSON object, nested keys joined
/// with dots, numeric leaves kept.
pub fn external_metrics(bytes: &[u8], path: &str) -> Result<BTreeMap<String, f64>, ModelError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ModelError::new(format!("{path} is not valid JSON: {e}")))?;
    let mut out = BTreeMap::new();
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, f64>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    let name = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&name, child, out);
                }
            }
            serde_json::Value::Number(n) => {
                if let Some(v) = n.as_f64() {
                    out.insert(prefix.to_string(), v);
                }
            }
            _ => {}
        }
    }
    if !value.is_object() {
        return Err(ModelError::new(format!(
            "{path} must hold a JSON object of metrics"
        )));
    }
    walk("", &value, &mut out);
    if out.is_empty() {
        return Err(ModelError::new(format!("{path} holds no numeric metrics")));
    }
    Ok(out)
}

fn model_outcome(
    request: &Request<'_>,
    name: &str,
    spec: &ModelSpec,
    dataset_report: Option<&DatasetReport>,
    revisions: Option<&Revisions>,
    head_commit: &Option<String>,
    base_commit: &Option<String>,
) -> ModelOutcome {
    let config = request.config;
    let mut stamp = Stamp {
        head_commit: head_commit.clone(),
        base_commit: base_commit.clone(),
        datasets: BTreeMap::new(),
        config_hash: String::new(),
        params: spec.params.clone(),
        seed: match &spec.split {
            crate::model::spec::SplitChoice::Holdout { seed, .. } => Some(*seed),
            _ => None,
        },
        tune_seed: spec.tune.as_ref().map(|tune| tune.seed),
        versions: stamp::versions(),
    };
    let mut outcome = ModelOutcome {
        name: name.to_string(),
        shown_metrics: if spec.metrics.is_empty() {
            crate::model::evaluation::metric_names(spec.task)
                .iter()
                .map(|m| m.to_string())
                .collect()
        } else {
            spec.metrics.clone()
        },
        report: None,
        error: None,
        base_metrics: None,
        base_note: None,
        gates: Vec::new(),
        verdict: Verdict::NoGo,
        reasons: Vec::new(),
        stamp: stamp.clone(),
    };
    let Some(dataset) = config.datasets.get(&spec.dataset) else {
        outcome.error = Some(format!(
            "model `{name}` names dataset `{}`, which is not declared under `datasets:`",
            spec.dataset
        ));
        outcome.reasons = outcome.error.clone().into_iter().collect();
        return outcome;
    };
    stamp.config_hash = stamp::hash_of(&(spec, dataset));
    let read_head = |path: &str| read_working(request.root, path).map_err(|e| e.to_string());
    for path in dataset_paths(dataset) {
        if let Ok(bytes) = read_head(&path) {
            stamp.datasets.insert(path, stamp::sha256_hex(&bytes));
        }
    }
    let mut metrics: Option<BTreeMap<String, f64>> = None;
    let mut baseline: Option<BTreeMap<String, f64>> = None;
    let mut artifact: Option<Trained> = None;
    match run_model(name, spec, dataset, read_head) {
        Ok(ModelRun::Trained(trained)) => {
            stamp.params = trained.report.params.clone();
            metrics = Some(trained.report.evaluation.metrics.clone());
            baseline = Some(trained.report.baseline.metrics.clone());
            outcome.report = Some(trained.report.clone());
            artifact = Some(*trained);
        }
        Ok(ModelRun::External(external)) => {
            metrics = Some(external.clone());
            outcome.report = Some(external_report(name, spec, external));
        }
        Err(error) => outcome.error = Some(error.message),
    }
    if let (Some(rev), Some(revisions)) = (request.base, revisions) {
        match base_metrics(request.root, revisions, rev, name) {
            Ok(m) => outcome.base_metrics = Some(m),
            Err(note) => outcome.base_note = Some(note),
        }
    }
    outcome.stamp = stamp;
    let Some(metrics) = metrics else {
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
    let (verdict, reasons) = gates::verdict(&outcome.gates, &[]);
    outcome.verdict = verdict;
    outcome.reasons = reasons;
    if let (Some(dir), Some(trained)) = (request.output, &artifact)
        && let Err(e) = write_artifacts(dir, trained, &outcome)
        && let Some(report) = outcome.report.as_mut()
    {
        report.notes.push(format!(
            "the artifacts could not be written to {}: {e}",
            dir.display()
        ));
    }
    outcome
}

fn dataset_paths(dataset: &DatasetSpec) -> Vec<String> {
    let mut paths = vec![dataset.path.0.clone()];
    if let Some(SplitSpec::Files {
        train_path,
        test_path,
    }) = &dataset.split
    {
        paths.push(train_path.0.clone());
        paths.push(test_path.0.clone());
    }
    paths
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
    }
}

#[derive(Serialize, Deserialize)]
struct CachedMetrics {
    key: String,
    metrics: BTreeMap<String, f64>,
}

/// The model's metrics at the base revision, from its own config and data;
/// cached by (config hash, data hash) so an unchanged base is not retrained.
fn base_metrics(
    root: &Path,
    revisions: &Revisions,
    rev: &str,
    name: &str,
) -> Result<BTreeMap<String, f64>, String> {
    let text = revisions
        .read(rev, CONFIG_PATH)
        .map_err(|e| format!("no base config: {e}"))?;
    let text = String::from_utf8(text).map_err(|_| "the base config is not UTF-8".to_string())?;
    let config = RepoConfig::parse(&text, &format!("{CONFIG_PATH} at {rev}"))
        .map_err(|e| format!("the base config is invalid: {e}"))?;
    let spec = config
        .models
        .get(name)
        .ok_or_else(|| format!("model `{name}` is new on this branch"))?;
    let dataset = config
        .datasets
        .get(&spec.dataset)
        .ok_or_else(|| format!("the base config lacks dataset `{}`", spec.dataset))?;
    let read_base = |path: &str| revisions.read(rev, path).map_err(|e| e.to_string());
    if let Some(path) = &spec.metrics_file {
        let bytes = read_base(&path.0)?;
        return external_metrics(&bytes, &path.0).map_err(|e| e.message);
    }
    let mut hasher_input = vec![stamp::hash_of(&(spec, dataset))];
    for path in dataset_paths(dataset) {
        hasher_input.push(stamp::sha256_hex(&read_base(&path)?));
    }
    hasher_input.push(
        stamp::versions()
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join(","),
    );
    let key = stamp::hash_of(&hasher_input);
    let cache = cache_path(root, &key);
    if let Some(cached) = cache.as_deref().and_then(|p| read_cached(p, &key)) {
        return Ok(cached);
    }
    let metrics = match run_model(name, spec, dataset, read_base)
        .map_err(|e| format!("the base model could not be trained: {e}"))?
    {
        ModelRun::Trained(trained) => trained.report.evaluation.metrics,
        ModelRun::External(metrics) => metrics,
    };
    if let Some(path) = cache {
        write_cached(&path, key, &metrics);
    }
    Ok(metrics)
}

/// The cached metrics at `path`, when they are `key`'s. Read back bit for
/// bit (serde_json's `float_roundtrip`): a cached base must compare with a
/// head exactly as a fresh one would.
fn read_cached(path: &Path, key: &str) -> Option<BTreeMap<String, f64>> {
    let bytes = std::fs::read(path).ok()?;
    let cached: CachedMetrics = serde_json::from_slice(&bytes).ok()?;
    (cached.key == key).then_some(cached.metrics)
}

/// Caches the metrics; a cache that cannot be written is only slower.
fn write_cached(path: &Path, key: String, metrics: &BTreeMap<String, f64>) {
    let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")));
    let cached = CachedMetrics {
        key,
        metrics: metrics.clone(),
    };
    let _ = std::fs::write(path, serde_json::to_vec(&cached).unwrap_or_default());
}

/// Inside `.git/`, so the cache is never committed.
fn cache_path(root: &Path, key: &str) -> Option<PathBuf> {
    let repo = git2::Repository::discover(root).ok()?;
    Some(
        repo.path()
            .join("dslp-cache")
            .join(format!("base-{key}.json")),
    )
}

fn write_artifacts(dir: &Path, trained: &Trained, outcome: &ModelOutcome) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let name = &outcome.name;
    let artifact = serde_json::json!({
        "name": name,
        "features": trained.plan,
        "model": trained.fitted,
        "classes": trained.report.classes,
        "stamp": outcome.stamp,
    });
    std::fs::write(
        dir.join(format!("{name}.model.json")),
        serde_json::to_vec_pretty(&artifact)?,
    )?;
    std::fs::write(
        dir.join(format!("{name}.card.md")),
        crate::report::model_card(outcome),
    )?;
    Ok(())
}

/// Limits on what a pull request from a fork may make dslp-bot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// Rows per dataset file (lines, for CSV and NDJSON).
    pub rows: u64,
    /// Bytes per dataset file, which bounds the memory its reading takes.
    pub bytes: u64,
    /// Columns per dataset file, counted in its header before any parsing:
    /// a narrow file can still ask for much memory if it is very wide.
    pub columns: u64,
}

/// Checks every declared dataset file against the limits before anything
/// is parsed; answers why not, naming the file. The file is streamed,
/// never held whole.
pub fn within_limits(root: &Path, config: &RepoConfig, limits: FileLimits) -> Result<(), String> {
    for spec in config.datasets.values() {
        for relative in dataset_paths(spec) {
            let Ok(path) = resolve_in_repo(root, &relative) else {
                continue; // the data tests report a bad path themselves
            };
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            if metadata.len() > limits.bytes {
                return Err(format!(
                    "`{relative}` is {:.1} MB, over the limit of {:.1} MB for pull requests from forks",
                    metadata.len() as f64 / 1e6,
                    limits.bytes as f64 / 1e6
                ));
            }
            let format = spec
                .format
                .or_else(|| FileFormat::from_path(&relative))
                .unwrap_or(FileFormat::Csv);
            let shape = measure(&path, format).map_err(|e| format!("reading `{relative}`: {e}"))?;
            if shape.columns > limits.columns {
                return Err(format!(
                    "`{relative}` has {} columns, over the limit of {} for pull requests from forks",
                    shape.columns, limits.columns
                ));
            }
            if shape.rows > limits.rows {
                return Err(format!(
                    "`{relative}` has {} rows, over the limit of {} for pull requests from forks",
                    shape.rows, limits.rows
                ));
            }
        }
    }
    Ok(())
}

/// A file's rows and columns, as far as they can be told without parsing.
struct Shape {
    rows: u64,
    columns: u64,
}

fn measure(path: &Path, format: FileFormat) -> std::io::Result<Shape> {
    use std::io::Read;
    if format == FileFormat::Parquet {
        // Rows and columns are in the footer, which parquet keeps small.
        let file = std::fs::File::open(path)?;
        let mut reader = polars::prelude::ParquetReader::new(file);
        use polars::prelude::SerReader as _;
        let schema = reader.schema().map_err(std::io::Error::other)?;
        let rows = reader.num_rows().map_err(std::io::Error::other)?;
        return Ok(Shape {
            rows: rows as u64,
            columns: schema.len() as u64,
        });
    }
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut buffer = vec![0u8; 1 << 20];
    let (mut lines, mut last, mut header) = (0u64, b'\n', HeaderCount::default());
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        let chunk = &buffer[..read];
        if !header.done {
            header.scan(chunk, format);
        }
        lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        last = chunk[read - 1];
    }
    let lines = lines + u64::from(last != b'\n');
    // A CSV's header line is not a row.
    let rows = match format {
        FileFormat::Csv => lines.saturating_sub(1),
        _ => lines,
    };
    Ok(Shape {
        rows,
        columns: header.fields,
    })
}

/// Counts the fields of a file's first record: commas outside quotes in a
/// CSV header, top-level keys in an NDJSON line (by its `":` pairs at depth
/// one).
#[derive(Default)]
struct HeaderCount {
    fields: u64,
    done: bool,
    quoted: bool,
    depth: u32,
    started: bool,
}

impl HeaderCount {
    fn scan(&mut self, chunk: &[u8], format: FileFormat) {
        for &byte in chunk {
            if !self.started {
                self.started = true;
                self.fields = u64::from(format == FileFormat::Csv);
            }
            match (format, byte) {
                (_, b'"') => self.quoted = !self.quoted,
                (_, b'\n') if !self.quoted => {
                    self.done = true;
                    return;
                }
                (FileFormat::Csv, b',') if !self.quoted => self.fields += 1,
                (FileFormat::Ndjson, b'{' | b'[') if !self.quoted => self.depth += 1,
                (FileFormat::Ndjson, b'}' | b']') if !self.quoted => {
                    self.depth = self.depth.saturating_sub(1)
                }
                (FileFormat::Ndjson, b':') if !self.quoted && self.depth == 1 => self.fields += 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(text: &str, format: FileFormat) -> (u64, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, text).unwrap();
        let shape = measure(&path, format).unwrap();
        (shape.rows, shape.columns)
    }

    /// The Brier score of the issue that found it: read back through the
    /// cache it came out one bit off, and an unchanged model showed a delta.
    #[test]
    fn cached_metrics_read_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base.json");
        let metrics = BTreeMap::from([
            ("brier".to_string(), 0.18457485394174467),
            ("roc_auc".to_string(), 0.1 + 0.2),
            ("tiny".to_string(), 5e-324),
        ]);
        write_cached(&path, "k".into(), &metrics);
        let back = read_cached(&path, "k").unwrap();
        for (name, value) in &metrics {
            assert_eq!(back[name].to_bits(), value.to_bits(), "{name}");
        }
        assert_eq!(read_cached(&path, "another key"), None);
    }

    #[test]
    fn a_files_rows_and_columns_are_told_from_its_bytes() {
        assert_eq!(shape_of("a,b,c\n1,2,3\n4,5,6\n", FileFormat::Csv), (2, 3));
        // Quoted commas and line breaks are not fields.
        assert_eq!(
            shape_of("a,\"b,\nc\",d\n1,2,3", FileFormat::Csv),
            (2, 3),
            "the last row has no line end"
        );
        assert_eq!(
            shape_of(
                "{\"a\": 1, \"b\": {\"c\": 2}, \"d\": \"x:y\"}\n{}\n",
                FileFormat::Ndjson
            ),
            (2, 3)
        );
        assert_eq!(shape_of("", FileFormat::Csv), (0, 0));
    }

    #[test]
    fn a_wide_fork_file_is_refused_by_its_header_before_anything_is_parsed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let header: Vec<String> = (0..5000).map(|i| format!("c{i}")).collect();
        std::fs::write(
            dir.path().join("data/wide.csv"),
            format!("{}\n", header.join(",")),
        )
        .unwrap();
        let config = RepoConfig::parse(
            "version: 1\ndatasets:\n  wide:\n    path: data/wide.csv\n",
            "t.yml",
        )
        .unwrap();
        let limits = FileLimits {
            rows: 10,
            bytes: 1 << 30,
            columns: 1000,
        };
        let refused = within_limits(dir.path(), &config, limits).unwrap_err();
        assert_eq!(
            refused,
            "`data/wide.csv` has 5000 columns, over the limit of 1000 for pull requests from forks"
        );
        let wide_enough = FileLimits {
            columns: 5000,
            ..limits
        };
        assert!(within_limits(dir.path(), &config, wide_enough).is_ok());
    }
}
