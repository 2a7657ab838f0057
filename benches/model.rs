//! Model-evidence benchmark: logistic regression trained and evaluated on
//! the synthetic data at 10⁵ and 10⁶ rows, each size in its own process, and
//! scikit-learn's pipeline (impute, scale, one-hot, LogisticRegression) on
//! the same files and split when python3 with scikit-learn is available.
//!
//!     cargo bench --bench model               # 100000 and 1000000 rows
//!     cargo bench --bench model -- 100000

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dslp_bot::data::spec::DatasetSpec;
use dslp_bot::model::spec::ModelSpec;
use dslp_bot::model::training::{TrainingData, train};

#[path = "common/measure.rs"]
mod measure;
use measure::peak_rss_mib;

#[path = "common/synthetic.rs"]
mod synthetic;

const DATASET: &str = "path: base.csv\nsplit: { column: split }\n";
const MODEL: &str = "dataset: bench\ntask: binary\ntarget: churned\nfeatures: [income, spend, age, score, plan, active]\nalgorithm: logistic_regression\nparams: { c: 1.0, max_iterations: 100 }\nsplit: dataset\n";

fn run_once(dir: &Path) {
    let dataset: DatasetSpec = serde_saphyr::from_str(DATASET).expect("dataset spec");
    let model: ModelSpec = serde_saphyr::from_str(MODEL).expect("model spec");
    let bytes = std::fs::read(dir.join("base.csv")).expect("data");
    let trained = train(
        "bench",
        &model,
        &dataset,
        TrainingData {
            bytes,
            split_files: None,
        },
    )
    .expect("training");
    let m = &trained.report.evaluation.metrics;
    println!(
        "RESULT fit_s={:.2} roc_auc={:.4} accuracy={:.4} peak_rss_mib={:.0} notes={}",
        trained.report.training_seconds,
        m["roc_auc"],
        m["accuracy"],
        peak_rss_mib(),
        trained.report.notes.len()
    );
}

fn fields(text: &str) -> BTreeMap<String, String> {
    text.split_whitespace()
        .filter_map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn main() {
    let sizes = match measure::invocation(&[100_000, 1_000_000]) {
        measure::Invocation::Child(dir) => return run_once(&dir),
        measure::Invocation::Sizes(sizes) => sizes,
    };
    let root = measure::data_root();
    println!(
        "model evidence: logistic regression, 6 features (4 numeric, 2 one-hot), whole process per size"
    );
    println!(
        "{:>9} {:>8} {:>9} {:>8} {:>9} {:>9} {:>10}",
        "rows", "who", "wall s", "fit s", "peak MiB", "ROC-AUC", "accuracy"
    );
    for rows in sizes {
        let dir = root.join(rows.to_string());
        std::fs::create_dir_all(&dir).expect("bench dir");
        let path = dir.join("base.csv");
        if !path.exists() {
            synthetic::generate(&path, rows, 7, false).expect("generate");
        }
        let started = Instant::now();
        let ours = Command::new(std::env::current_exe().expect("exe"))
            .arg("--run")
            .arg(&dir)
            .output()
            .expect("child");
        let wall = started.elapsed().as_secs_f64();
        let f = fields(&String::from_utf8_lossy(&ours.stdout));
        let get =
            |f: &BTreeMap<String, String>, k: &str| f.get(k).cloned().unwrap_or_else(|| "?".into());
        println!(
            "{rows:>9} {:>8} {wall:>9.2} {:>8} {:>9} {:>9} {:>10}",
            "dslp",
            get(&f, "fit_s"),
            get(&f, "peak_rss_mib"),
            get(&f, "roc_auc"),
            get(&f, "accuracy")
        );
        if !ours.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&ours.stderr));
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/sklearn_logreg.py");
        let started = Instant::now();
        let sklearn = Command::new("/usr/bin/time")
            .arg("-f")
            .arg("MAXRSS_KB=%M")
            .arg("python3")
            .arg(&script)
            .arg(&path)
            .output();
        let wall = started.elapsed().as_secs_f64();
        match sklearn {
            Ok(out) if out.status.success() => {
                let mut f = fields(&String::from_utf8_lossy(&out.stdout));
                f.extend(fields(&String::from_utf8_lossy(&out.stderr)));
                let peak = f
                    .get("MAXRSS_KB")
                    .and_then(|k| k.parse::<f64>().ok())
                    .map_or("?".into(), |k| format!("{:.0}", k / 1024.0));
                println!(
                    "{rows:>9} {:>8} {wall:>9.2} {:>8} {:>9} {:>9} {:>10}",
                    "sklearn",
                    get(&f, "fit_s"),
                    peak,
                    get(&f, "roc_auc"),
                    get(&f, "accuracy")
                );
            }
            _ => println!(
                "{rows:>9} {:>8} (python3 with scikit-learn, pandas and /usr/bin/time needed; skipped)",
                "sklearn"
            ),
        }
    }
}
