//! Action-mode benchmark: wall time from process start to report posted,
//! for `dslp action` on a pull request of the demo project (data tests,
//! training, base comparison from git, comment and check run), against the
//! fake GitHub on loopback.
//!
//!     cargo bench --bench action

use std::path::Path;
use std::process::Command;
use std::time::Instant;

// The fake GitHub of the tests; the bench uses part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/fake_github.rs"]
mod fake_github;

mod support {
    pub fn fixture(path: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(path)
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=b@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    std::fs::create_dir_all(dir.join(".github")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    for file in [".github/dslp.yml", "data/churn.csv"] {
        std::fs::copy(support::fixture(&format!("demo/{file}")), dir.join(file)).unwrap();
    }
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "churn"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    git(dir, &["checkout", "-q", "-b", "model/7-churn"]);
    let config = std::fs::read_to_string(dir.join(".github/dslp.yml"))
        .unwrap()
        .replace("params: { c: 1.0 }", "params: { c: 0.5 }");
    std::fs::write(dir.join(".github/dslp.yml"), config).unwrap();
    git(dir, &["commit", "-q", "-am", "tuned"]);
    let head = git(dir, &["rev-parse", "HEAD"]);

    let github = fake_github::FakeGitHub::start().await;
    let issues: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::fixture("demo/issues.json")).unwrap(),
    )
    .unwrap();
    github.with_issues(&issues);
    github.add_pull_request(12, "Churn model", &[".github/dslp.yml"]);
    let mut event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::fixture("github/webhooks/pull_request.opened.json"))
            .unwrap(),
    )
    .unwrap();
    event["repository"]["full_name"] = "acme/churn".into();
    event["pull_request"]["number"] = 12.into();
    event["pull_request"]["head"]["ref"] = "model/7-churn".into();
    event["pull_request"]["head"]["sha"] = head.clone().into();
    event["pull_request"]["head"]["repo"]["full_name"] = "acme/churn".into();
    event["pull_request"]["base"]["ref"] = "main".into();
    event["pull_request"]["base"]["sha"] = base.into();
    let event_path = dir.join("event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();

    let mut times = Vec::new();
    for _ in 0..7 {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dslp"));
        command
            .arg("action")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_REPOSITORY", "acme/churn")
            .env("GITHUB_WORKSPACE", dir)
            .env("GITHUB_API_URL", &github.url)
            .env("INPUT_TOKEN", "bench-token")
            .env("INPUT_FAIL_ON", "never");
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || command.output().expect("dslp"))
            .await
            .unwrap();
        times.push(started.elapsed().as_secs_f64());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let comments = github.comments_on(12);
    assert_eq!(comments.len(), 1);
    // The measured runs did the whole job: data tests, the model, its base.
    for part in [
        "Dataset `churn`",
        "Model `churn_lr`",
        "| roc_auc | **",
        "Reproducibility stamp",
    ] {
        assert!(comments[0].body.contains(part), "the report lacks {part}");
    }
    println!(
        "  report: {} characters, check runs: {}",
        comments[0].body.len(),
        github.check_runs().len()
    );
    times.sort_by(f64::total_cmp);
    println!(
        "action mode, demo project (2,000 rows, data tests + logistic regression + base from git), 7 runs:"
    );
    println!(
        "  process start to report posted: min {:.3} s, median {:.3} s, max {:.3} s",
        times[0], times[3], times[6]
    );
}
