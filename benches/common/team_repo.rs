//! The data bench's main table, as users run it: a git repository whose
//! `main` holds the team table and whose `data/1-refresh` branch changes it;
//! `dslp data test --base main` reads the base from git, and the Python
//! side (`benches/python_data_tests.py`) reads it with `git show`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::measure::{self, Measured, range, run_measured};
use super::team_table;

pub const CONFIG: &str = r#"version: 1
datasets:
  team:
    path: data/team.csv
    target: churned
    split: { column: split }
    columns:
      customer: { type: string, unique: true, nullable: false }
      region: { type: category, max_null_fraction: 0.05 }
      segment: { type: category, values: [consumer, smb, enterprise, education, public] }
      tenure_days: { type: int, min: 0 }
      monthly_spend: { type: float, min: 0, max_null_fraction: 0.05 }
      sessions: { type: int, min: 0 }
      discount: { type: float, min: 0, max: 0.4, max_null_fraction: 0.35 }
      is_promo: { type: bool }
      has_app: { type: bool }
      nps: { type: float, min: 0, max: 10 }
      churned: { type: int, values: ["0", "1"] }
      revenue: { type: float }
      split: { type: category, values: [train, test] }
    rows: { min: 1000 }
    duplicates: { max_fraction: 0.02 }
    drift: { psi: { warn: 0.1, fail: 0.25 }, ks: { fail: 0.2 } }
"#;

pub fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// The repository for `rows` (built once, reused).
pub fn repository(rows: u64) -> PathBuf {
    let dir = measure::data_root()
        .join("data-team")
        .join(rows.to_string());
    if dir.join(".git/dslp-bench-ready").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("bench dir");
    std::fs::create_dir_all(dir.join(".github")).expect("bench dir");
    std::fs::write(dir.join(".github/dslp.yml"), CONFIG).expect("config");
    let data = dir.join("data/team.csv");
    git(&dir, &["init", "-q", "-b", "main"]);
    team_table::generate(&data, rows, 11, false).expect("generate base");
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "team table"]);
    git(&dir, &["checkout", "-q", "-b", "data/1-refresh"]);
    team_table::generate(&data, rows, 12, true).expect("generate head");
    git(&dir, &["commit", "-q", "-am", "refreshed team table"]);
    std::fs::write(dir.join(".git/dslp-bench-ready"), "").expect("marker");
    dir
}

fn ours(repo: &Path) -> Measured {
    // Nothing cached from the previous round: every run reads and computes.
    let _ = std::fs::remove_dir_all(repo.join(".git/dslp-cache"));
    run_measured(
        Command::new(env!("CARGO_BIN_EXE_dslp"))
            .args(["data", "test", "--base", "main", "--format", "json"])
            .current_dir(repo),
    )
}

fn python(repo: &Path, engine: &str) -> Option<Measured> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_data_tests.py");
    let run = run_measured(
        Command::new(measure::python())
            .arg(script)
            .arg(engine)
            .arg(repo)
            .arg("data/team.csv"),
    );
    if run.success {
        Some(run)
    } else {
        eprintln!("{engine} side failed: {}", run.stderr.trim());
        None
    }
}

/// Interleaved rounds of dslp, Python polars and pandas; ranges and
/// same-round ratios.
pub fn table(rows: u64, rounds: usize) {
    let repo = repository(rows);
    let mb = std::fs::metadata(repo.join("data/team.csv")).map_or(0.0, |m| m.len() as f64 / 1e6);
    let (mut dslp, mut polars, mut pandas) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        dslp.push(ours(&repo));
        polars.extend(python(&repo, "polars"));
        pandas.extend(python(&repo, "pandas"));
    }
    println!(
        "\n`dslp data test --base main`, team table, {rows} rows ({mb:.0} MB head, base from git), {rounds} interleaved rounds"
    );
    println!(
        "{:<8} {:>13} {:>15} {:>22} {:>22}",
        "who", "wall s", "peak MiB", "wall ÷ dslp's (round)", "memory ÷ dslp's"
    );
    let walls = |v: &[Measured]| v.iter().map(|m| m.wall).collect::<Vec<_>>();
    let peaks = |v: &[Measured]| v.iter().map(|m| m.peak_mib).collect::<Vec<_>>();
    for (who, runs) in [("dslp", &dslp), ("polars", &polars), ("pandas", &pandas)] {
        if runs.is_empty() {
            println!("{who:<8} skipped (needs python with {who}, numpy, scipy)");
            continue;
        }
        let paired = runs.len() == dslp.len();
        let ratio = |f: &dyn Fn(&Measured) -> f64| {
            let v: Vec<f64> = runs.iter().zip(&dslp).map(|(a, b)| f(a) / f(b)).collect();
            if paired { range(&v) } else { "-".into() }
        };
        println!(
            "{who:<8} {:>13} {:>15} {:>22} {:>22}",
            range(&walls(runs)),
            range(&peaks(runs)),
            ratio(&|m| m.wall),
            ratio(&|m| m.peak_mib)
        );
    }
    // Exit 1 is a verdict (the refreshed table drifts); no report is a failure.
    if let Some(first) = dslp.first().filter(|m| m.stdout.trim().is_empty()) {
        eprintln!("dslp failed: {}", first.stderr.trim());
    }
}
