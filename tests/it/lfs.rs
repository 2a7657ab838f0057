//! Data in Git LFS, made by the real `git lfs`: read from the checkout's
//! LFS objects by the CLI, and from the repository's LFS server (the fake's
//! batch API, which the real client is also pointed at) by the App, with
//! the installation token; a fork's pointer is measured before anything
//! is downloaded.

use std::path::Path;

use base64::Engine as _;
use serde_json::json;

use crate::app_e2e::{Server, app_host, eventually, publish, pull_request_payload};
use crate::support::{dslp_in, fixture, git};
use crate::tools::needs;

/// The demo project with `data/*.csv` in Git LFS, on `main`, and
/// `experiment/6-boosting` with other data (`data` given) as its head.
fn lfs_work(root: &Path, data: &str) -> (String, String) {
    let work = root.join("work");
    std::fs::create_dir_all(work.join(".github")).unwrap();
    std::fs::create_dir_all(work.join("data")).unwrap();
    std::fs::copy(
        fixture("demo/.github/dslp.yml"),
        work.join(".github/dslp.yml"),
    )
    .unwrap();
    std::fs::copy(fixture("demo/data/churn.csv"), work.join("data/churn.csv")).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["lfs", "install", "--local"]);
    git(&work, &["lfs", "track", "data/*.csv"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "churn project, data in LFS"]);
    let base = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["checkout", "-q", "-b", "experiment/6-boosting"]);
    std::fs::write(work.join("data/churn.csv"), data).unwrap();
    git(&work, &["commit", "-q", "-am", "more customers"]);
    let head = git(&work, &["rev-parse", "HEAD"]);
    (base, head)
}

/// The demo data with each row's monthly charge raised: drift to see.
fn shifted_data() -> String {
    let demo = std::fs::read_to_string(fixture("demo/data/churn.csv")).unwrap();
    let mut lines = demo.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        if let Ok(charge) = cells[3].parse::<f64>() {
            cells[3] = format!("{:.2}", charge * 1.3);
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[test]
fn the_cli_reads_the_base_from_its_pointer_and_the_checkouts_lfs_objects() {
    let Some(_) = needs("git-lfs") else { return };
    let dir = tempfile::tempdir().unwrap();
    lfs_work(dir.path(), &shifted_data());
    let work = dir.path().join("work");
    let pointer = git(&work, &["show", "main:data/churn.csv"]);
    assert!(pointer.starts_with("version https://git-lfs"), "{pointer}");
    let run = dslp_in(
        &work,
        &["data", "test", "--base", "main", "--format", "json"],
    );
    let json = run.json();
    let charges = json[0]["drift"]
        .as_array()
        .unwrap_or_else(|| panic!("drift against the base's LFS object: {json}"))
        .iter()
        .find(|d| d["column"] == "monthly_charges")
        .cloned()
        .unwrap();
    assert!(charges["ks"].as_f64().unwrap() > 0.2, "{charges}");

    // A clone without the objects (as `actions/checkout` makes by default):
    // read in place from its local origin; with an origin that cannot be
    // reached, told how to get them.
    let clone = dir.path().join("clone");
    let status = std::process::Command::new("git")
        .args([
            "clone",
            "-q",
            work.to_str().unwrap(),
            clone.to_str().unwrap(),
        ])
        .env("GIT_LFS_SKIP_SMUDGE", "1")
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        std::fs::read_to_string(clone.join("data/churn.csv"))
            .unwrap()
            .starts_with("version https://git-lfs")
    );
    let run = dslp_in(&clone, &["data", "test", "--format", "json"]);
    assert_eq!(run.json()[0]["rows"], 2000, "{}", run.stdout);
    git(
        &clone,
        &[
            "remote",
            "set-url",
            "origin",
            "http://127.0.0.1:9/acme/churn.git",
        ],
    );
    let run = dslp_in(&clone, &["data", "test", "--format", "json"]);
    assert!(
        run.stdout.contains("is a Git LFS pointer")
            && run.stdout.contains(
                "http://127.0.0.1:9/acme/churn.git/info/lfs/objects/batch could not be reached"
            )
            && run.stdout.contains("git lfs pull"),
        "{}",
        run.stdout
    );
}

/// Serves the LFS project as `acme/churn`, its objects pushed to the bare
/// repository by the real `git lfs push`.
fn serve_lfs_repository(
    github: &crate::fake_github::FakeGitHub,
    root: &Path,
    data: &str,
) -> (String, String) {
    let (base, head) = lfs_work(root, data);
    let work = root.join("work");
    publish(github, root, &work, &base, &head);
    let bare = root.join("git/acme/churn.git");
    git(
        &work,
        &[
            "lfs",
            "push",
            "--all",
            &format!("file://{}", bare.display()),
        ],
    );
    (base, head)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_downloads_lfs_objects_from_the_repositorys_server_with_its_token() {
    let Some(_) = needs("git-lfs") else { return };
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_lfs_repository(&github, dir.path(), &shifted_data());
    let server = Server::start(&github, dir.path(), &[]).await;
    let payload = pull_request_payload(&github, "synchronize", &base, &head);
    assert_eq!(
        server.deliver("pull_request", "lfs-1", &payload).await.0,
        202
    );
    let report = eventually("the report", &server, || {
        github.comments_on(12).into_iter().next()
    })
    .await;
    assert!(report.body.contains("roc_auc"), "{}", report.body);
    assert!(report.body.contains("monthly_charges"), "{}", report.body);
    assert!(!report.body.contains("pointer"), "{}", report.body);
    let world = github.world.lock().unwrap();
    let batches = world
        .requests
        .iter()
        .filter(|r| r.starts_with("POST") && r.ends_with("/info/lfs/objects/batch"))
        .count();
    // The head's object and the base's: each asked for once, with the
    // token (the fake refuses anything else).
    assert_eq!(batches, 2, "{:#?}", world.requests);
    drop(world);
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_lfs_client_fetches_from_the_fakes_batch_api() {
    let Some(_) = needs("git-lfs") else { return };
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, head) = serve_lfs_repository(&github, dir.path(), &shifted_data());
    let token = "ghs_lfs_client_token";
    github.world.lock().unwrap().tokens.push(token.into());
    let clone = dir.path().join("clone");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--no-checkout",
            dir.path().join("git/acme/churn.git").to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    let lfs_url = format!("{}/git/acme/churn.git/info/lfs", github.url);
    let fetched = tokio::task::spawn_blocking(move || {
        std::process::Command::new("git")
            .current_dir(&clone)
            .args([
                "-c",
                &format!("lfs.url={lfs_url}"),
                "-c",
                &format!("http.extraheader=Authorization: Basic {basic}"),
                "lfs",
                "fetch",
                "origin",
                &head,
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let objects = dir.path().join("clone/.git/lfs/objects");
    let count = walk_count(&objects);
    assert_eq!(count, 1, "the head's object, fetched through the fake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forks_lfs_pointer_over_the_limit_is_refused_before_any_download() {
    let Some(_) = needs("git-lfs") else { return };
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    // Over a megabyte: each row carries a long note.
    let mut big = String::new();
    for (i, line) in shifted_data().lines().enumerate() {
        let note = if i == 0 {
            "note".to_string()
        } else {
            "x".repeat(600)
        };
        big.push_str(&format!("{line},{note}\n"));
    }
    let (base, head) = serve_lfs_repository(&github, dir.path(), &big);
    {
        let mut world = github.world.lock().unwrap();
        world.pulls.get_mut(&12).unwrap()["head"]["repo"]["full_name"] = "stranger/churn".into();
        let mut config = std::fs::read_to_string(fixture("demo/.github/dslp.yml")).unwrap();
        config.push_str("\nautomations:\n  fork_limits: { megabytes: 1 }\n");
        world.files.insert(
            (".github/dslp.yml".into(), "main".into()),
            config.into_bytes(),
        );
        world.statuses.push((
            head.clone(),
            json!({"state": "success", "context": "dslp/ok-to-test", "description": "approved"}),
        ));
    }
    let server = Server::start(&github, dir.path(), &[]).await;
    let mut payload = pull_request_payload(&github, "opened", &base, &head);
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/churn".into();
    assert_eq!(
        server.deliver("pull_request", "lfs-f", &payload).await.0,
        202
    );
    let report = eventually("the report", &server, || {
        github.comments_on(12).into_iter().next()
    })
    .await;
    assert!(
        report.body.contains("Git LFS pointer to 1.")
            && report.body.contains("over the limit of 1.0 MB"),
        "{}",
        report.body
    );
    let world = github.world.lock().unwrap();
    assert!(
        !world.requests.iter().any(|r| r.contains("/info/lfs/")),
        "nothing was downloaded: {:#?}",
        world.requests
    );
}

fn walk_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| !p.ends_with("tmp") && !p.ends_with("incomplete"))
                .map(|p| if p.is_dir() { walk_count(&p) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}
