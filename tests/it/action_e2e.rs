//! The GitHub Action end to end: a real git repository, the real `dslp`
//! binary in Action mode, and the fake GitHub it posts to.

use std::path::Path;
use std::process::Command;

use axum::http::Method;
use serde_json::Value;

use crate::fake_github::{FakeGitHub, Fault};
use crate::support::{fixture, git};

pub(crate) const TOKEN: &str = "ghs_test_token_never_printed";

/// The demo project on `main`, and `experiment/6-boosting` changing the model.
fn repository() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    for file in [".github/dslp.yml", "data/churn.csv"] {
        std::fs::copy(fixture(&format!("demo/{file}")), dir.path().join(file)).unwrap();
    }
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "churn project"]);
    let base = git(dir.path(), &["rev-parse", "HEAD"]);
    git(
        dir.path(),
        &["checkout", "-q", "-b", "experiment/6-boosting"],
    );
    let config = std::fs::read_to_string(dir.path().join(".github/dslp.yml"))
        .unwrap()
        .replace("params: { c: 1.0 }", "params: { c: 0.5 }");
    std::fs::write(dir.path().join(".github/dslp.yml"), config).unwrap();
    git(
        dir.path(),
        &["commit", "-q", "-am", "weaker regularisation"],
    );
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, base, head)
}

/// GitHub's example `pull_request.opened` payload, pointed at our repository.
fn pull_request_event(
    dir: &Path,
    base_sha: &str,
    head_sha: &str,
    base_ref: &str,
) -> std::path::PathBuf {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("github/webhooks/pull_request.opened.json")).unwrap(),
    )
    .unwrap();
    event["repository"]["full_name"] = "acme/churn".into();
    let pr = &mut event["pull_request"];
    pr["number"] = 12.into();
    pr["body"] = "Boosting for #6.".into();
    pr["head"]["ref"] = "experiment/6-boosting".into();
    pr["head"]["sha"] = head_sha.into();
    pr["head"]["repo"]["full_name"] = "acme/churn".into();
    pr["base"]["ref"] = base_ref.into();
    pr["base"]["sha"] = base_sha.into();
    let path = dir.join("event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

pub(crate) struct ActionRun {
    pub code: i32,
    pub stderr: String,
    pub summary: String,
    pub output: String,
}

pub(crate) async fn run_action(
    github: &FakeGitHub,
    workspace: &Path,
    event: &Path,
    event_name: &str,
) -> ActionRun {
    let scratch = tempfile::tempdir().unwrap();
    let summary = scratch.path().join("summary.md");
    let output_file = scratch.path().join("output");
    let mut command = Command::new(env!("CARGO_BIN_EXE_dslp"));
    command
        .arg("action")
        .env("GITHUB_EVENT_NAME", event_name)
        .env("GITHUB_EVENT_PATH", event)
        .env("GITHUB_REPOSITORY", "acme/churn")
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_API_URL", &github.url)
        .env("INPUT_TOKEN", TOKEN)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output_file)
        .env("RUNNER_TEMP", scratch.path())
        .env("DSLP_RETRY_BASE_MS", "10");
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "the token leaked into the log"
    );
    ActionRun {
        code: out.status.code().unwrap(),
        stderr,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        output: std::fs::read_to_string(&output_file).unwrap_or_default(),
    }
}

async fn fake_with_issues() -> FakeGitHub {
    let github = FakeGitHub::start().await;
    github.with_demo_issues();
    github.add_pull_request(12, "Boosting", &[".github/dslp.yml"]);
    github
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_posts_one_comment_and_one_check_second_run_edits_them() {
    let (repo, base, head) = repository();
    let github = fake_with_issues().await;
    {
        // Experiment #6 left its Metrics empty: an R11 warning on the linked issue.
        let mut world = github.world.lock().unwrap();
        let body = world.issues[&6]["body"]
            .as_str()
            .unwrap()
            .replace("ROC-AUC on the held-out split.", "_No response_");
        world.issues.get_mut(&6).unwrap()["body"] = body.into();
    }
    let event = pull_request_event(repo.path(), &base, &head, "main");

    let first = run_action(&github, repo.path(), &event, "pull_request").await;
    // An experiment PR into main is blocked by R42: NO-GO, and fail-on no-go fails the step.
    assert_eq!(first.code, 1, "{}", first.stderr);
    let comments = github.comments_on(12);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.starts_with("<!-- dslp:pr-report -->"));
    assert!(
        comments[0].body.contains("## ❌ dslp: **NO-GO**"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("| ⛔ | R42 |"));
    // The linked Experiment #6's own rules are reported too.
    assert!(
        comments[0]
            .body
            .contains("| ⚠️ | R11 | issue #6: required section is empty: Metrics |"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("Model `churn_lr`"));
    let runs = github.check_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].name.as_str(),
            runs[0].head_sha.as_str(),
            runs[0].conclusion.as_str()
        ),
        ("dslp", head.as_str(), "failure")
    );
    assert!(runs[0].title.starts_with("NO-GO: R42"), "{}", runs[0].title);
    assert!(first.summary.contains("Model `churn_lr`"));
    assert!(first.output.contains("verdict=NO-GO"));
    assert!(first.output.contains("metrics-json="));

    // The base branch's model was evaluated from git: deltas appear.
    assert!(
        comments[0].body.contains("| roc_auc | **"),
        "{}",
        comments[0].body
    );

    let second = run_action(&github, repo.path(), &event, "pull_request").await;
    assert_eq!(second.code, 1);
    let comments = github.comments_on(12);
    assert_eq!(comments.len(), 1, "the report was posted twice");
    assert_eq!(
        github.check_runs().len(),
        1,
        "a second check run was created"
    );
    // A rerun of the same head is one row of the history.
    assert!(
        comments[0]
            .body
            .contains("History of this pull request (1 push)")
    );

    // A new push: the comment keeps the earlier head's row, newest first.
    let config = std::fs::read_to_string(repo.path().join(".github/dslp.yml"))
        .unwrap()
        .replace("params: { c: 0.5 }", "params: { c: 0.2 }");
    std::fs::write(repo.path().join(".github/dslp.yml"), config).unwrap();
    git(
        repo.path(),
        &["commit", "-q", "-am", "stronger regularisation"],
    );
    let newer = git(repo.path(), &["rev-parse", "HEAD"]);
    let event = pull_request_event(repo.path(), &base, &newer, "main");
    run_action(&github, repo.path(), &event, "pull_request").await;
    let body = &github.comments_on(12)[0].body;
    assert!(
        body.contains("History of this pull request (2 pushes)"),
        "{body}"
    );
    let (first_row, second_row) = (
        body.find(&format!("| `{}` | NO-GO |", &newer[..7]))
            .expect("the newer head"),
        body.find(&format!("| `{}` | NO-GO |", &head[..7]))
            .expect("the earlier head"),
    );
    assert!(first_row < second_row, "{body}");
    assert!(body.contains("churn_lr roc_auc"), "{body}");
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_502_is_retried_and_the_report_lands_once() {
    let (repo, base, head) = repository();
    let github = fake_with_issues().await;
    github.inject(Method::GET, "/issues", Fault::Status(502));
    github.inject(Method::POST, "/issues/12/comments", Fault::Status(502));
    github.inject(
        Method::POST,
        "/check-runs",
        Fault::RateLimited { retry_after: 1 },
    );
    let event = pull_request_event(repo.path(), &base, &head, "main");
    let run = run_action(&github, repo.path(), &event, "pull_request").await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(github.comments_on(12).len(), 1);
    assert_eq!(github.check_runs().len(), 1);
    assert!(
        github.world.lock().unwrap().faults.is_empty(),
        "every injected fault was met"
    );
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_falls_back_to_a_status_and_the_job_summary() {
    let (repo, base, head) = repository();
    let github = fake_with_issues().await;
    github.world.lock().unwrap().read_only = true;
    let event = pull_request_event(repo.path(), &base, &head, "main");
    let run = run_action(&github, repo.path(), &event, "pull_request").await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("may not"), "{}", run.stderr);
    assert!(github.check_runs().is_empty());
    let statuses = github.world.lock().unwrap().statuses.clone();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].1["context"], "dslp");
    assert_eq!(statuses[0].1["state"], "failure");
    assert!(
        run.summary.contains("NO-GO"),
        "the job summary must carry the report"
    );
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_event_keeps_one_comment_with_the_findings() {
    let (repo, _, _) = repository();
    let github = fake_with_issues().await;
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("github/webhooks/issues.opened.json")).unwrap(),
    )
    .unwrap();
    event["repository"]["full_name"] = "acme/churn".into();
    event["issue"]["number"] = 30.into();
    event["issue"]["title"] = "Try a random forest".into();
    event["issue"]["labels"] = serde_json::json!([{"name": "Experiment"}]);
    event["issue"]["body"] =
        std::fs::read_to_string(fixture("issues/legacy/experiment-as-opened.md"))
            .unwrap()
            .into();
    let path = repo.path().join("issue-event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let run = run_action(&github, repo.path(), &path, "issues").await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let again = run_action(&github, repo.path(), &path, "issues").await;
    assert_eq!(again.code, 1);
    let comments = github.comments_on(30);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("| ❌ | R13 |"),
        "{}",
        comments[0].body
    );
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_event_file_is_an_error_not_a_panic() {
    let (repo, _, _) = repository();
    let github = fake_with_issues().await;
    let path = repo.path().join("broken.json");
    std::fs::write(&path, "{\"action\": \"opened\", \"pull_request\": ").unwrap();
    let run = run_action(&github, repo.path(), &path, "pull_request").await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read the `pull_request` event"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_typo_fails_the_check_with_an_annotation_at_its_line() {
    let (repo, base, _) = repository();
    let config = std::fs::read_to_string(repo.path().join(".github/dslp.yml"))
        .unwrap()
        .replace("  main: [main]", "  mian: [main]");
    std::fs::write(repo.path().join(".github/dslp.yml"), config).unwrap();
    git(repo.path(), &["commit", "-q", "-am", "typo"]);
    let head = git(repo.path(), &["rev-parse", "HEAD"]);
    let github = fake_with_issues().await;
    let event = pull_request_event(repo.path(), &base, &head, "main");
    let run = run_action(&github, repo.path(), &event, "pull_request").await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let runs = github.check_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conclusion, "failure");
    assert_eq!(runs[0].annotations, 1);
    let comment = &github.comments_on(12)[0].body;
    assert!(
        comment.contains(".github/dslp.yml:4:3: unknown field `mian`"),
        "{comment}"
    );
    github.assert_no_violations();
}

/// A comment's workflow runs on the default branch's checkout. `/dslp
/// rerun` on a pull request evaluates the pull request's own head (fetched
/// with the workflow's token) and posts the check there, not on `main`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_on_a_pull_request_evaluates_its_head_not_the_default_branch() {
    let github = fake_with_issues().await;
    let root = tempfile::tempdir().unwrap();
    let (base, head) = crate::app_e2e::serve_repository(&github, root.path());
    let workspace = default_branch_checkout(&github, root.path());
    let event = comment_event(root.path(), "maria", "/dslp rerun");
    let run = run_action(&github, &workspace, &event, "issue_comment").await;
    assert_ne!(run.code, 2, "{}", run.stderr);
    let runs = github.check_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        runs[0].head_sha, head,
        "the check is on the pull request's head"
    );
    let report = github
        .comments_on(12)
        .into_iter()
        .find(|c| c.body.contains("dslp:pr-report"))
        .expect("the report");
    // The head's parameters, compared with main's.
    assert!(
        report.body.contains("c=0.5") || report.body.contains("\"c\": 0.5"),
        "{}",
        report.body
    );
    assert!(
        report.body.contains(&head[..7]) && report.body.contains(&base[..7]),
        "{}",
        report.body
    );
    github.assert_no_violations();
}

/// The same command on a fork's pull request waits for a maintainer's
/// approval, as in the App; `/dslp ok-to-test` then evaluates its head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_on_a_forks_pull_request_waits_for_approval_in_the_action_too() {
    let github = fake_with_issues().await;
    let root = tempfile::tempdir().unwrap();
    let (_, head) = crate::app_e2e::serve_repository(&github, root.path());
    {
        let mut world = github.world.lock().unwrap();
        world.pulls.get_mut(&12).unwrap()["head"]["repo"] = serde_json::json!(null);
        let config = std::fs::read(fixture("demo/.github/dslp.yml")).unwrap();
        world
            .files
            .insert((".github/dslp.yml".into(), "main".into()), config);
    }
    let workspace = default_branch_checkout(&github, root.path());
    let rerun = comment_event(root.path(), "maria", "/dslp rerun");
    run_action(&github, &workspace, &rerun, "issue_comment").await;
    let fetches = |github: &FakeGitHub| {
        github
            .world
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.contains("git-upload-pack"))
            .count()
    };
    assert_eq!(fetches(&github), 0, "nothing of the fork was fetched");
    let waiting = github
        .comments_on(12)
        .into_iter()
        .find(|c| c.body.contains("dslp:pr-report"))
        .expect("the report");
    assert!(
        waiting.body.contains("comes from a fork"),
        "{}",
        waiting.body
    );
    let approve = comment_event(root.path(), "maria", "/dslp ok-to-test");
    run_action(&github, &workspace, &approve, "issue_comment").await;
    assert!(fetches(&github) > 0);
    let runs = github.check_runs();
    assert_eq!(
        runs.last().map(|r| r.head_sha.as_str()),
        Some(head.as_str())
    );
    let report = github
        .comments_on(12)
        .into_iter()
        .find(|c| c.body.contains("dslp:pr-report"))
        .unwrap();
    assert!(report.body.contains("roc_auc"), "{}", report.body);
    github.assert_no_violations();
}

/// What `actions/checkout` leaves for an `issue_comment` workflow: the
/// default branch; the workflow's token may read the repository's git.
fn default_branch_checkout(github: &FakeGitHub, root: &Path) -> std::path::PathBuf {
    let workspace = root.join("workspace");
    let bare = root.join("git/acme/churn.git");
    git(
        root,
        &[
            "clone",
            "-q",
            "-b",
            "main",
            bare.to_str().unwrap(),
            workspace.to_str().unwrap(),
        ],
    );
    let mut world = github.world.lock().unwrap();
    world.tokens.push(TOKEN.to_string());
    world.permissions.insert("maria".into(), "write".into());
    workspace
}

/// `issue_comment` on pull request 12 with `body`, by `author`.
fn comment_event(dir: &Path, author: &str, body: &str) -> std::path::PathBuf {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("github/webhooks/issue_comment.created.json")).unwrap(),
    )
    .unwrap();
    event["repository"]["full_name"] = "acme/churn".into();
    event["issue"]["number"] = 12.into();
    event["issue"]["labels"] = serde_json::json!([]);
    event["issue"]["pull_request"] = serde_json::json!({"url": "x"});
    event["comment"]["body"] = body.into();
    event["comment"]["user"]["login"] = author.into();
    let path = dir.join(format!("comment-{}.json", body.replace(['/', ' '], "-")));
    std::fs::write(&path, event.to_string()).unwrap();
    path
}
