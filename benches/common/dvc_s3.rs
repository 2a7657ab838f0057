//! The same `dslp data test --base main` on a DVC project whose bytes are
//! (1) in the checkout's DVC cache, (2) only in an S3 remote (moto, on
//! loopback), and (3) in S3 but already downloaded once: the path a team
//! with `data/` in DVC takes. Rounds are interleaved; each run is a process
//! of its own, measured with wait4 (wall and peak RSS).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../tests/it/tools.rs"]
#[allow(dead_code)]
mod tools;
use super::measure::range;
use tools::{AWS, Moto, needs, run};

pub const ROUNDS: usize = 3;

/// The bench's project: the synthetic base on `main`, the head on a branch.
fn project(dir: &Path, sizes_dir: &Path, spec: &str, moto: &Moto, dvc: &str) -> PathBuf {
    let repo = dir.join("repo");
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::create_dir_all(repo.join("data")).unwrap();
    let indented: String = spec
        .replace("path: head.csv", "path: data/churn.csv")
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    std::fs::write(
        repo.join(".github/dslp.yml"),
        format!("version: 1\ndatasets:\n  bench:\n{indented}"),
    )
    .unwrap();
    let git = |args: &[&str]| run(&repo, "git", args, &[]);
    git(&["init", "-q", "-b", "main"]);
    git(&["config", "user.email", "bench@example.com"]);
    git(&["config", "user.name", "bench"]);
    run(&repo, dvc, &["init", "-q"], &[]);
    run(
        &repo,
        dvc,
        &["remote", "add", "-d", "s3", "s3://bench/dvc"],
        &[],
    );
    run(
        &repo,
        dvc,
        &["remote", "modify", "s3", "endpointurl", &moto.endpoint],
        &[],
    );
    for (file, branch) in [("base.csv", None), ("head.csv", Some("data/2-refresh"))] {
        if let Some(branch) = branch {
            git(&["checkout", "-q", "-b", branch]);
        }
        std::fs::copy(sizes_dir.join(file), repo.join("data/churn.csv")).unwrap();
        run(&repo, dvc, &["add", "-q", "data/churn.csv"], &[]);
        run(&repo, dvc, &["push", "-q"], &AWS);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", file]);
    }
    repo
}

/// One `dslp` run: wall seconds and peak RSS in MiB.
fn measured(dslp: &Path, repo: &Path) -> (f64, f64) {
    let run = super::measure::run_measured(
        Command::new(dslp)
            .args(["data", "test", "--base", "main", "--format", "json"])
            .current_dir(repo)
            .envs(AWS),
    );
    assert!(
        run.stdout.contains("\"drift\": ["),
        "the run read both revisions: {}",
        &run.stdout[..run.stdout.len().min(2000)]
    );
    (run.wall, run.peak_mib)
}

/// Prints the table for `rows`; `sizes_dir` holds the synthetic files.
pub fn table(root: &Path, sizes_dir: &Path, rows: u64, spec: &str, dslp: &Path) {
    let (Some(dvc), Some(moto_server)) = (needs("dvc"), needs("moto_server")) else {
        println!("(DVC over S3 skipped: put `dvc` and `moto_server` on PATH, e.g. .ci/venv/bin)");
        return;
    };
    let moto = Moto::start(&moto_server);
    moto.bucket(&moto_server, "bench", &[]);
    let dir = root.join(format!("dvc-{rows}"));
    let repo = project(&dir, sizes_dir, spec, &moto, dvc.to_str().unwrap());
    let aside = dir.join("aside");
    let _ = std::fs::remove_dir_all(&aside);
    std::fs::create_dir_all(&aside).unwrap();
    let (mut local, mut cold, mut cached) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let _ = std::fs::remove_dir_all(repo.join(".git/dslp-cache"));
        local.push(measured(dslp, &repo));
        // A fresh clone's state: no data file, no DVC cache, no downloads.
        std::fs::rename(repo.join("data/churn.csv"), aside.join("churn.csv")).unwrap();
        std::fs::rename(repo.join(".dvc/cache"), aside.join("cache")).unwrap();
        cold.push(measured(dslp, &repo));
        cached.push(measured(dslp, &repo));
        std::fs::rename(aside.join("churn.csv"), repo.join("data/churn.csv")).unwrap();
        std::fs::rename(aside.join("cache"), repo.join(".dvc/cache")).unwrap();
    }
    let walls = |v: &[(f64, f64)]| v.iter().map(|x| x.0).collect::<Vec<_>>();
    let peaks = |v: &[(f64, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
    let ratios: Vec<f64> = cold.iter().zip(&local).map(|(c, l)| c.0 / l.0).collect();
    println!(
        "\n`dslp data test --base main`, {rows} rows, DVC-tracked, {ROUNDS} interleaved rounds"
    );
    println!(
        "{:<34} {:>14} {:>16}",
        "where the bytes are", "wall s", "peak MiB"
    );
    for (name, runs) in [
        ("the checkout's .dvc/cache", &local),
        ("S3 remote (moto), downloaded", &cold),
        ("S3 remote, already downloaded", &cached),
    ] {
        println!(
            "{name:<34} {:>14} {:>16}",
            range(&walls(runs)),
            range(&peaks(runs))
        );
    }
    println!("S3 ÷ local wall, same round: {}", range(&ratios));
    let _ = std::fs::remove_dir_all(&dir);
}
