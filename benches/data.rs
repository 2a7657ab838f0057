//! Data-evidence benchmark, as users run it and side by side: `dslp data
//! test --base main` in a git repository holding a team-like table (the
//! base read from git), against the same work scripted in Python polars
//! and pandas (`benches/python_data_tests.py`, base via `git show`),
//! interleaved rounds, whole processes, ranges and same-round ratios.
//!
//!     cargo bench --bench data                 # 1e6 and 1e7 rows
//!     cargo bench --bench data -- 1000000      # chosen sizes
//!     cargo bench --bench data -- 1000000 all  # also the sections below
//!
//! With `all`: the older in-process run on the project's synthetic table
//! (base as a plain file), and, with `dvc` and `moto_server` on PATH
//! (`PATH=.ci/venv/bin:$PATH`), `dslp data test --base main` on a DVC
//! project: bytes in the checkout's DVC cache, in an S3 remote, and
//! downloaded before.
//!
//! Data goes to target/bench-data (reused when present).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dslp_bot::data::spec::DatasetSpec;

#[path = "common/measure.rs"]
mod measure;
use measure::peak_rss_mib;

#[path = "common/dvc_s3.rs"]
mod dvc_s3;

#[path = "common/team_repo.rs"]
mod team_repo;

#[path = "common/team_table.rs"]
mod team_table;

#[path = "common/synthetic.rs"]
mod synthetic;
use dslp_bot::data::source::Input;
use dslp_bot::data::{DatasetFiles, evaluate};
use synthetic::generate;

const SPEC: &str = r#"
path: head.csv
target: churned
split: { column: split }
columns:
  id: { type: string, unique: true, nullable: false }
  income: { type: float, max_null_fraction: 0.05 }
  spend: { type: float, min: 0 }
  age: { type: int, min: 18, max: 120 }
  plan: { type: category, values: [monthly, yearly, two-year] }
  city: { type: category, regex: 'city_[0-9]{4}' }
  active: { type: bool }
  score: { type: int, min: 0, max: 999 }
  churned: { type: int, values: ["0", "1"] }
  split: { type: category, values: [train, test] }
rows: { min: 1000 }
duplicates: { max_fraction: 0.02 }
drift: { psi: { warn: 0.1, fail: 0.25 }, ks: { fail: 0.2 } }
"#;

/// The measured work: read both files, run everything, as `dslp data test --base` does.
fn run_once(dir: &Path) {
    let spec: DatasetSpec = serde_saphyr::from_str(SPEC).expect("bench spec");
    let base_path = dir.join("base.csv");
    let started = Instant::now();
    let report = evaluate(
        "bench",
        &spec,
        DatasetFiles {
            // The head from the working tree, the base as bytes (a git blob).
            head: Ok(Input::File(dir.join("head.csv"))),
            base: Some(dslp_bot::data::Source::lazy(move || {
                Ok(Input::Bytes(std::fs::read(&base_path).expect("base")))
            })),
            split: None,
        },
    );
    let failed = report.checks.iter().filter(|c| !c.passed).count();
    println!(
        "RESULT rows={} checks={} failed={} drift_columns={} evaluate_s={:.2} peak_rss_mib={:.0}",
        report.rows.unwrap_or(0),
        report.checks.len(),
        failed,
        report.drift.as_ref().map_or(0, Vec::len),
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
}

fn main() {
    let sizes = match measure::invocation(&[1_000_000, 10_000_000]) {
        measure::Invocation::Child(dir) => return run_once(&dir),
        measure::Invocation::Sizes(sizes) => sizes,
    };
    let rounds = std::env::var("DSLP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    for &rows in &sizes {
        team_repo::table(rows, rounds);
    }
    if std::env::args().any(|a| a == "all") {
        synthetic_and_dvc(&sizes);
    }
}

/// The older sections: the project's synthetic table in process, and DVC.
fn synthetic_and_dvc(sizes: &[u64]) {
    let root = measure::data_root();
    println!(
        "data evidence: checks + profile + drift + leakage, 10 columns, whole process per size"
    );
    println!(
        "{:>10} {:>10} {:>10} {:>12} {:>14}",
        "rows", "file MB", "wall s", "peak MiB", "failed checks"
    );
    for &rows in sizes {
        let dir = root.join(rows.to_string());
        std::fs::create_dir_all(&dir).expect("bench dir");
        for (name, seed, drift) in [("base.csv", 7u64, false), ("head.csv", 11u64, true)] {
            let path = dir.join(name);
            if !path.exists() {
                generate(&path, rows, seed, drift).expect("generate");
            }
        }
        let size_mb = std::fs::metadata(dir.join("head.csv"))
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0);
        let started = Instant::now();
        let output = Command::new(std::env::current_exe().expect("exe"))
            .arg("--run")
            .arg(&dir)
            .output()
            .expect("bench child");
        let wall = started.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&output.stdout);
        let field = |key: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_string))
                .unwrap_or_else(|| "?".into())
        };
        println!(
            "{rows:>10} {size_mb:>10.0} {wall:>10.2} {:>12} {:>14}",
            field("peak_rss_mib"),
            field("failed")
        );
        if !output.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        }
    }
    // Where teams keep the bytes: DVC, locally and over S3.
    for &rows in sizes {
        let dslp = Path::new(env!("CARGO_BIN_EXE_dslp"));
        dvc_s3::table(&root, &root.join(rows.to_string()), rows, SPEC, dslp);
    }
}
