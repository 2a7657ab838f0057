//! Model-evidence benchmark, side by side: `dslp train` (the release binary,
//! the whole process: reading the CSV, the feature plan, fitting, the
//! baseline, evaluation) against what a data scientist would script in
//! Python (pandas, scikit-learn's impute/scale/one-hot pipeline and the same
//! estimator; `benches/sklearn_models.py`) on the same file and split.
//! Rounds are interleaved; each cell is the range over rounds, and the ratio
//! is taken within each round.
//!
//! The table is a team's, not ours (`common/team_table.rs`): a 50-level
//! Zipf-skewed text column with nulls, a 5-level one, booleans, skewed
//! numbers with nulls.
//!
//!     cargo bench --bench model                 # lr 1e6, rf 1e5, gb 1e6
//!     cargo bench --bench model -- rf:1000000 lr:100000
//!     cargo bench --bench model -- rfm:100000   # multiclass forest (segment, 5 classes; ROC-AUC one-vs-rest)
//!     cargo bench --bench model -- predict:1000000   # scoring throughput
//!     cargo bench --bench model -- check:1000000     # `dslp check`, cached base
//!
//! `predict`: `dslp predict` with the saved logistic regression and gradient
//! boosting (whole process: reading the file, checking it against the input
//! schema, preprocessing, scoring, writing the CSV) against the fitted
//! scikit-learn pipeline's `read_csv` + `predict_proba` on the same rows.
//!     DSLP_BENCH_ROUNDS=5 cargo bench --bench model
//!
//! Python: DSLP_BENCH_PYTHON, else target/bench-venv/bin/python, else python3
//! (with pandas and scikit-learn).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/measure.rs"]
mod measure;
use measure::{Measured, range, run_measured};

#[path = "common/team_table.rs"]
mod team_table;

#[path = "common/team_repo.rs"]
#[allow(dead_code)]
mod team_repo;

#[path = "common/check_case.rs"]
mod check_case;

const CASES: [(&str, u64); 3] = [("lr", 1_000_000), ("rf", 100_000), ("gb", 1_000_000)];

fn algorithm(short: &str) -> &'static str {
    match short {
        "lr" => "logistic_regression\n    params: { c: 1.0, max_iterations: 100 }",
        "rf" => "random_forest\n    params: { n_estimators: 100, seed: 0 }",
        "gb" => "gradient_boosting",
        "rfm" => "random_forest\n    params: { n_estimators: 100, seed: 0 }",
        other => panic!("unknown model `{other}`: lr, rf, rfm or gb"),
    }
}

/// A repository with the team table and one model declared.
fn repository(short: &str, rows: u64) -> PathBuf {
    let root = measure::data_root().join("model").join(rows.to_string());
    let data = root.join("data/team.csv");
    if !data.exists() {
        std::fs::create_dir_all(root.join("data")).expect("bench dir");
        team_table::generate(&data, rows, 11, false).expect("generate");
    }
    std::fs::create_dir_all(root.join(".github")).expect("bench dir");
    let mut features = [&team_table::NUMERIC[..], &team_table::CATEGORICAL[..]].concat();
    // `rfm`: a multiclass forest, the 5-level segment from the rest.
    let (task, target) = match short {
        "rfm" => {
            features.retain(|f| *f != "segment");
            features.push("churned");
            ("multiclass", "segment")
        }
        _ => ("binary", "churned"),
    };
    let config = format!(
        "version: 1\ndatasets:\n  team:\n    path: data/team.csv\n    split: {{ column: split }}\nmodels:\n  bench:\n    dataset: team\n    task: {task}\n    target: {target}\n    features: [{}]\n    split: dataset\n    algorithm: {}\n",
        features.join(", "),
        algorithm(short)
    );
    std::fs::write(root.join(format!(".github/{short}.yml")), config).expect("config");
    root
}

/// Wall, peak memory, fit seconds and ROC-AUC of one run.
struct Run {
    measured: Measured,
    fit: f64,
    auc: f64,
}

fn ours(root: &Path, short: &str) -> Run {
    let measured = run_measured(
        Command::new(env!("CARGO_BIN_EXE_dslp"))
            .args(["train", "--format", "json", "--root"])
            .arg(root)
            .arg("--config")
            .arg(root.join(format!(".github/{short}.yml"))),
    );
    let json: serde_json::Value = serde_json::from_str(&measured.stdout)
        .unwrap_or_else(|e| panic!("dslp train: {e}\n{}\n{}", measured.stdout, measured.stderr));
    let report = &json["models"][0]["report"];
    Run {
        fit: report["training_seconds"].as_f64().unwrap_or(f64::NAN),
        auc: {
            let metrics = &report["evaluation"]["metrics"];
            metrics["roc_auc"]
                .as_f64()
                .or(metrics["roc_auc_ovr"].as_f64())
                .unwrap_or(f64::NAN)
        },
        measured,
    }
}

fn theirs(root: &Path, short: &str) -> Option<Run> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sklearn_models.py");
    let measured = run_measured(
        Command::new(measure::python())
            .arg(script)
            .arg(short)
            .arg(root.join("data/team.csv")),
    );
    if !measured.success {
        eprintln!("scikit-learn side failed: {}", measured.stderr.trim());
        return None;
    }
    let field = |key: &str| {
        measured
            .stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    Some(Run {
        fit: field("fit_s="),
        auc: field("roc_auc="),
        measured,
    })
}

fn cases() -> Vec<(String, u64)> {
    let given: Vec<(String, u64)> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            let (short, rows) = a.split_once(':')?;
            Some((short.to_string(), rows.parse().ok()?))
        })
        .collect();
    if given.is_empty() {
        CASES.iter().map(|(s, r)| (s.to_string(), *r)).collect()
    } else {
        given
    }
}

fn main() {
    let rounds: usize = std::env::var("DSLP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    println!(
        "model evidence, whole process, {rounds} interleaved rounds (ranges over rounds; ratio = dslp ÷ Python within a round)"
    );
    println!(
        "{:<4} {:>8} {:<8} {:>13} {:>11} {:>13} {:>8} {:>13} {:>13}",
        "", "rows", "who", "wall s", "fit s", "peak MiB", "ROC-AUC", "wall ratio", "memory ratio"
    );
    for (short, rows) in cases() {
        if short == "predict" {
            predict_throughput(rows, rounds);
            continue;
        }
        if short == "check" {
            check_case::bench(rows, rounds);
            continue;
        }
        let root = repository(&short, rows);
        let (mut ours_runs, mut their_runs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            ours_runs.push(ours(&root, &short));
            their_runs.extend(theirs(&root, &short));
        }
        print_rows(&short, rows, &ours_runs, &their_runs);
    }
}

fn print_rows(short: &str, rows: u64, ours: &[Run], theirs: &[Run]) {
    let cells = |runs: &[Run]| {
        let get = |f: &dyn Fn(&Run) -> f64| range(&runs.iter().map(f).collect::<Vec<_>>());
        (
            get(&|r| r.measured.wall),
            get(&|r| r.fit),
            get(&|r| r.measured.peak_mib),
            {
                let aucs: Vec<f64> = runs.iter().map(|r| r.auc).collect();
                let low = aucs.iter().cloned().fold(f64::INFINITY, f64::min);
                let high = aucs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if low == high {
                    format!("{low:.4}")
                } else {
                    format!("{low:.4}–{high:.4}")
                }
            },
        )
    };
    let (wall, fit, peak, auc) = cells(ours);
    let paired = ours.len() == theirs.len();
    let ratio = |f: &dyn Fn(&Run) -> f64| {
        let values: Vec<f64> = ours.iter().zip(theirs).map(|(a, b)| f(a) / f(b)).collect();
        if paired { range(&values) } else { "-".into() }
    };
    println!(
        "{short:<4} {rows:>8} {:<8} {wall:>13} {fit:>11} {peak:>13} {auc:>8} {:>13} {:>13}",
        "dslp",
        ratio(&|r| r.measured.wall),
        ratio(&|r| r.measured.peak_mib)
    );
    if theirs.is_empty() {
        println!("{short:<4} {rows:>8} Python side skipped (pandas and scikit-learn needed)");
        return;
    }
    let (wall, fit, peak, auc) = cells(theirs);
    println!(
        "{short:<4} {rows:>8} {:<8} {wall:>13} {fit:>11} {peak:>13} {auc:>8}",
        "sklearn"
    );
}

/// Rows a second through `dslp predict` and through scikit-learn's
/// `predict_proba`, for the saved logistic regression and gradient boosting.
fn predict_throughput(rows: u64, rounds: usize) {
    println!(
        "\nscoring {rows} rows, {rounds} interleaved rounds (rows/s; dslp: whole process; scikit-learn: read_csv + predict_proba)"
    );
    for short in ["lr", "gb"] {
        let root = repository(short, rows);
        let artifact = root.join(format!("out-{short}/bench.model.json"));
        if !artifact.exists() {
            let run = run_measured(
                Command::new(env!("CARGO_BIN_EXE_dslp"))
                    .args(["train", "--root"])
                    .arg(&root)
                    .arg("--config")
                    .arg(root.join(format!(".github/{short}.yml")))
                    .arg("--output")
                    .arg(root.join(format!("out-{short}"))),
            );
            assert!(artifact.exists(), "dslp train --output: {}", run.stderr);
        }
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let run = run_measured(
                Command::new(env!("CARGO_BIN_EXE_dslp"))
                    .args(["predict", "--model"])
                    .arg(&artifact)
                    .arg("--input")
                    .arg(root.join("data/team.csv"))
                    .args(["--output", "/dev/null"]),
            );
            assert!(run.success, "dslp predict: {}", run.stderr);
            ours.push(rows as f64 / run.wall);
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sklearn_models.py");
            let sklearn = run_measured(
                Command::new(measure::python())
                    .arg(script)
                    .arg(format!("predict-{short}"))
                    .arg(root.join("data/team.csv")),
            );
            let field = |key: &str| {
                sklearn
                    .stdout
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix(key))
                    .and_then(|v| v.parse::<f64>().ok())
            };
            if let (Some(read), Some(predict)) = (field("read_s="), field("predict_s=")) {
                theirs.push(rows as f64 / (read + predict));
            }
        }
        let ratio: Vec<f64> = ours.iter().zip(&theirs).map(|(a, b)| a / b).collect();
        println!(
            "{short:<4} dslp {:>22} rows/s   scikit-learn {:>22} rows/s   dslp ÷ scikit-learn {}",
            range(&ours),
            range(&theirs),
            if ratio.is_empty() {
                "-".to_string()
            } else {
                range(&ratio)
            }
        );
    }
}
