//! `check:N` of the model bench: `dslp check` on an experiment branch — the
//! data tests against the base and one model, the base's metrics cached as
//! on a second push — against the same work scripted with pandas and
//! scikit-learn (`benches/python_check.py`), interleaved rounds.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::measure::{self, Measured, range, run_measured};
use super::{team_repo, team_table};

const MODEL: &str = "models:
  churn:
    dataset: team
    task: binary
    target: churned
    features: [tenure_days, monthly_spend, sessions, discount, nps, region, segment, is_promo, has_app]
    split: dataset
    algorithm: logistic_regression
    params: { c: C, max_iterations: 100 }
";

/// `main` holds the team table and the model; `experiment/1-try` has new
/// rows from the same world and another `c`.
fn repository(rows: u64) -> PathBuf {
    let dir = measure::data_root().join("check").join(rows.to_string());
    if dir.join(".git/dslp-bench-ready").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("bench dir");
    std::fs::create_dir_all(dir.join(".github")).expect("bench dir");
    let config = |c: &str| format!("{}{}", team_repo::CONFIG, MODEL.replace("C", c));
    std::fs::write(dir.join(".github/dslp.yml"), config("1.0")).expect("config");
    let data = dir.join("data/team.csv");
    team_repo::git(&dir, &["init", "-q", "-b", "main"]);
    team_table::generate(&data, rows, 11, false).expect("generate base");
    team_repo::git(&dir, &["add", "."]);
    team_repo::git(&dir, &["commit", "-q", "-m", "team table and churn model"]);
    team_repo::git(&dir, &["checkout", "-q", "-b", "experiment/1-try"]);
    team_table::generate(&data, rows, 12, false).expect("generate head");
    std::fs::write(dir.join(".github/dslp.yml"), config("0.5")).expect("config");
    team_repo::git(&dir, &["commit", "-q", "-am", "new rows, c 0.5"]);
    std::fs::write(dir.join(".git/dslp-bench-ready"), "").expect("marker");
    dir
}

fn ours(repo: &Path) -> Measured {
    let run = run_measured(
        Command::new(env!("CARGO_BIN_EXE_dslp"))
            .args(["check", "--quiet", "--format", "json"])
            .current_dir(repo),
    );
    // Exit 1 is a NO-GO verdict; no report is a failure.
    assert!(
        run.stdout.trim_start().starts_with('{'),
        "dslp check: {}",
        run.stderr
    );
    run
}

fn theirs(repo: &Path) -> Option<Measured> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_check.py");
    let run = run_measured(
        Command::new(measure::python())
            .arg(script)
            .arg(repo)
            .args(["data/team.csv", "lr"]),
    );
    if !run.success {
        eprintln!("pandas + scikit-learn side failed: {}", run.stderr.trim());
        return None;
    }
    Some(run)
}

pub fn bench(rows: u64, rounds: usize) {
    let repo = repository(rows);
    // The first run trains the base's model and caches its metrics.
    ours(&repo);
    let (mut dslp, mut python) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        dslp.push(ours(&repo));
        python.extend(theirs(&repo));
    }
    println!(
        "\n`dslp check` on experiment/1-try, {rows} rows, one logistic regression, base metrics cached, {rounds} interleaved rounds"
    );
    let walls = |v: &[Measured]| range(&v.iter().map(|m| m.wall).collect::<Vec<_>>());
    let peaks = |v: &[Measured]| range(&v.iter().map(|m| m.peak_mib).collect::<Vec<_>>());
    println!(
        "dslp              wall {:>13} s  peak {:>13} MiB",
        walls(&dslp),
        peaks(&dslp)
    );
    if python.len() != dslp.len() {
        println!("pandas + sklearn  skipped (needs python with pandas, scipy, scikit-learn)");
        return;
    }
    let ratio = |f: &dyn Fn(&Measured) -> f64| {
        range(
            &dslp
                .iter()
                .zip(&python)
                .map(|(a, b)| f(a) / f(b))
                .collect::<Vec<_>>(),
        )
    };
    println!(
        "pandas + sklearn  wall {:>13} s  peak {:>13} MiB",
        walls(&python),
        peaks(&python)
    );
    println!(
        "dslp ÷ Python (same round): wall {}, memory {}",
        ratio(&|m| m.wall),
        ratio(&|m| m.peak_mib)
    );
}
