//! `compute: actions`: the App hands a pull request's evaluation to the
//! repository's Actions runners. The fake GitHub validates the dispatch;
//! the run is simulated by `dslp action` on the dispatch's event (what the
//! compute workflow runs), and the App follows it to its end or deadline.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::app_e2e::{
    Server, app_host, eventually, futures_lite_block, pull_request_payload, serve_repository,
};
use crate::fake_github::{CheckRun, FakeGitHub};

const COMPUTE: &str = "dslp-compute.yml";

/// The base branch's config says `compute: actions`.
fn compute_on_actions(github: &FakeGitHub, dir: &std::path::Path, workflow: bool) {
    let config = std::fs::read_to_string(dir.join("work/.github/dslp.yml")).unwrap();
    let mut world = github.world.lock().unwrap();
    world.files.insert(
        (".github/dslp.yml".into(), "main".into()),
        format!("{config}\ncompute: actions\n").into_bytes(),
    );
    if workflow {
        world.workflows.insert(COMPUTE.into());
    }
}

fn compute_check(github: &FakeGitHub, head: &str) -> Option<CheckRun> {
    github
        .check_runs()
        .into_iter()
        .find(|r| r.head_sha == head && r.name == "dslp/compute")
}

/// What the compute workflow runs: `dslp action` on the dispatch's event,
/// in a checkout of the head, with a token GitHub gave the run.
fn run_the_workflow(github: &FakeGitHub, dir: &std::path::Path, dispatch: &Value) -> String {
    let event = json!({
        "inputs": dispatch["inputs"],
        "ref": format!("refs/heads/{}", dispatch["ref"].as_str().unwrap()),
        "repository": {"full_name": "acme/churn"},
        "workflow": ".github/workflows/dslp-compute.yml",
    });
    let path = dir.join("dispatch-event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let token = github.world.lock().unwrap().tokens.last().cloned().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dslp"))
        .arg("action")
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .env("GITHUB_EVENT_PATH", &path)
        .env("GITHUB_REPOSITORY", "acme/churn")
        .env("GITHUB_WORKSPACE", dir.join("work"))
        .env("GITHUB_API_URL", &github.url)
        .env("INPUT_TOKEN", token)
        .env("RUNNER_TEMP", dir)
        .env("DSLP_RETRY_BASE_MS", "10")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.code().is_some(), "{log}");
    log
}

/// The App's ledger already holds Experiment #5's run (PR 10).
async fn ledger_holds_experiment_5(dir: &std::path::Path, base: &str) {
    let url = format!("sqlite://{}", dir.join("dslp.db").display());
    let store = dslp_bot::app::store::Store::open(&url).await.unwrap();
    let run = dslp_bot::app::store::Run {
        repository: "acme/churn".into(),
        pull_request: 10,
        head_ref: "experiment/5-logistic-regression".into(),
        head_commit: "5".repeat(40),
        base_commit: base.into(),
        verdict: "GO".into(),
        metrics: json!({"churn_lr": {"roc_auc": 0.9912}}),
        stamps: json!({}),
    };
    store.record_run(&run).await.unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_evaluation_runs_on_the_runners_and_the_app_follows_it() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    compute_on_actions(&github, dir.path(), true);
    ledger_holds_experiment_5(dir.path(), &base).await;
    let settings = [("DSLP_COMPUTE_POLL_SECONDS", "1")];
    let server = Server::start(&github, dir.path(), &settings).await;
    let payload = pull_request_payload(&github, "opened", &base, &head);
    assert_eq!(
        server.deliver("pull_request", "pr-d", &payload).await.0,
        202
    );
    let started = eventually("the dslp/compute check", &server, || {
        compute_check(&github, &head)
    })
    .await;
    let (workflow, dispatch) = github.world.lock().unwrap().dispatches[0].clone();
    assert_eq!(workflow, COMPUTE);
    assert_eq!(
        dispatch["ref"], "main",
        "the base branch's workflow runs, not the head's"
    );
    assert_eq!(
        dispatch["inputs"],
        json!({"pull_request": "12", "head_sha": head})
    );
    assert_eq!(started.status, "in_progress");
    let run_id: u64 = started.external_id.parse().unwrap();
    assert!(
        started
            .details_url
            .ends_with(&format!("/actions/runs/{run_id}"))
    );
    assert!(
        !dir.path().join("data/checkouts/acme/churn/12").exists(),
        "the App fetched nothing and evaluated nothing itself"
    );
    // The run: the Action reports as usual; then the run ends.
    let log = run_the_workflow(&github, dir.path(), &dispatch);
    let report = github
        .check_runs()
        .into_iter()
        .find(|r| r.head_sha == head && r.name == "dslp")
        .unwrap_or_else(|| panic!("the Action's dslp check; its log:\n{log}"));
    github.world.lock().unwrap().workflow_runs.insert(
        run_id,
        json!({"id": run_id, "status": "completed", "conclusion": "success", "html_url": started.details_url}),
    );
    let followed = eventually("the App's check to conclude", &server, || {
        compute_check(&github, &head).filter(|c| c.status == "completed")
    })
    .await;
    assert_eq!(
        followed.conclusion, report.conclusion,
        "ours concludes as the Action's"
    );
    let store = server.store().await;
    let runs = eventually("the run in the ledger", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| r.len() == 2)
    })
    .await;
    // After #5's run the App already had, this one.
    assert_eq!(
        (runs[1].pull_request, runs[1].head_commit.as_str()),
        (12, head.as_str())
    );
    assert!(
        runs[1].metrics.get("churn_lr").is_some(),
        "{:?}",
        runs[1].metrics
    );
    // The Action rewrote the Ask from its own view, without the ledger's
    // other run; the App rewrites it with the ledger and this run.
    let ask = eventually("the Ask kept current", &server, || {
        let ask = github.world.lock().unwrap().issues[&1]["body"]
            .as_str()?
            .to_string();
        let row = |n: &str| {
            ask.lines()
                .find(|l| l.contains(n))
                .unwrap_or_default()
                .to_string()
        };
        (row("| #5 ").contains("0.9912") && row("| #6 ").contains("churn_lr")).then_some(ask)
    })
    .await;
    assert!(ask.contains("### Experiment leaderboard"), "{ask}");
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_never_ends_fails_its_check_at_the_deadline() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    compute_on_actions(&github, dir.path(), true);
    let settings = [
        ("DSLP_COMPUTE_POLL_SECONDS", "1"),
        ("DSLP_COMPUTE_DEADLINE_SECONDS", "2"),
    ];
    let server = Server::start(&github, dir.path(), &settings).await;
    let payload = pull_request_payload(&github, "opened", &base, &head);
    assert_eq!(
        server.deliver("pull_request", "pr-late", &payload).await.0,
        202
    );
    let failed = eventually("the deadline", &server, || {
        compute_check(&github, &head).filter(|c| c.status == "completed")
    })
    .await;
    assert_eq!(failed.conclusion, "failure");
    assert!(
        failed.title.contains("did not end in time"),
        "{}",
        failed.title
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        github.world.lock().unwrap().dispatches.len(),
        1,
        "dispatched once"
    );
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_compute_workflow_the_check_says_how_to_add_it() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    compute_on_actions(&github, dir.path(), false);
    let server = Server::start(&github, dir.path(), &[]).await;
    let payload = pull_request_payload(&github, "opened", &base, &head);
    assert_eq!(
        server.deliver("pull_request", "pr-nowf", &payload).await.0,
        202
    );
    let check = eventually("the failed check", &server, || {
        compute_check(&github, &head)
    })
    .await;
    assert_eq!(check.conclusion, "failure");
    assert!(
        check.summary.contains("dslp init --compute actions"),
        "{}",
        check.summary
    );
    github.assert_no_violations();
}

/// A merged model branch under `compute: actions`: the App trains nothing
/// and dispatches the release (the merge commit, `release: true`); the run,
/// `dslp action` on that dispatch in a checkout of the merge commit, trains
/// and publishes it, and its comment replaces the App's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_model_branch_is_released_on_the_runners() {
    use crate::releases::{release_comment, releases, served_after_a_model_merge};
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let payload = served_after_a_model_merge(&github, dir.path(), &|work| {
        let path = work.join(".github/dslp.yml");
        let config = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{config}\ncompute: actions\n")).unwrap();
    });
    let pull = payload["pull_request"].clone();
    let merge = pull["merge_commit_sha"].as_str().unwrap().to_string();
    {
        let mut world = github.world.lock().unwrap();
        world.workflows.insert(COMPUTE.into());
        world.pulls.insert(
            20,
            json!({"number": 20, "state": "closed", "merged": true, "body": "",
                   "labels": [], "user": {"login": "ada"},
                   "head": {"ref": pull["head"]["ref"], "sha": pull["head"]["sha"],
                            "repo": {"full_name": "acme/churn"}},
                   "base": {"ref": "main", "sha": merge,
                            "repo": {"full_name": "acme/churn"}}}),
        );
    }
    let server = Server::start(&github, dir.path(), &[]).await;
    assert_eq!(
        server
            .deliver("pull_request", "merged-rt", &payload)
            .await
            .0,
        202
    );
    let said = eventually("the App's release comment", &server, || {
        Some(release_comment(&github, 20)).filter(|s| s.contains("runners"))
    })
    .await;
    assert!(said.contains(&merge), "{said}");
    let (workflow, dispatch) = github.world.lock().unwrap().dispatches[0].clone();
    assert_eq!(workflow, COMPUTE);
    assert_eq!(
        dispatch["inputs"],
        json!({"pull_request": "20", "head_sha": merge, "release": "true"})
    );
    assert!(releases(&github).is_empty(), "the App published nothing");
    assert!(
        !dir.path().join("data/checkouts/acme/churn/20").exists(),
        "the App fetched and trained nothing itself"
    );
    // The run: the workspace is the merge commit, as the release job checks it out.
    let log = run_the_workflow(&github, dir.path(), &dispatch);
    let all = releases(&github);
    assert_eq!(all.len(), 1, "{all:?}\n{log}");
    assert_eq!(
        github.world.lock().unwrap().releases[0]["target_commitish"],
        merge.as_str()
    );
    let said = release_comment(&github, 20);
    assert!(said.contains("churn_lr-v1.0.0"), "{said}\n{log}");
    github.assert_no_violations();
}
