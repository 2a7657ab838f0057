//! Data where teams keep it, made by the real tools: DVC (a folder remote,
//! an S3 remote on moto), Git LFS, and `s3://` URIs; read by `dslp` as a
//! user runs it, with the base from the base revision's own `.dvc` file.

use std::path::{Path, PathBuf};

use crate::support::{dslp_in, dslp_in_env, git, sha256_hex};
use crate::tools::{AWS, Moto, needs, run};

const CONFIG: &str = "version: 1\ndatasets:\n  churn:\n    path: data/churn.csv\n    columns:\n      tenure: { type: int, min: 0 }\n    drift: { psi: { warn: 0.1 } }\n";

fn rows(n: usize, shift: usize) -> String {
    let mut csv = String::from("id,tenure,plan\n");
    for i in 0..n {
        let plan = ["monthly", "yearly"][(i + shift) % 2];
        csv.push_str(&format!("{i},{},{plan}\n", (i * 7 + shift * 13) % 60));
    }
    csv
}

/// A DVC project on `main` with `data/churn.csv` tracked and pushed to a
/// folder remote; `data/2-refresh` changes the data. The checkout's DVC
/// cache and data file are then removed, as a fresh clone has neither.
fn dvc_project(dvc: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("data")).unwrap();
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::write(repo.join(".github/dslp.yml"), CONFIG).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let dvc = dvc.to_str().unwrap();
    run(&repo, dvc, &["init", "-q"], &[]);
    run(
        &repo,
        dvc,
        &["remote", "add", "-d", "storage", "../remote"],
        &[],
    );
    std::fs::write(repo.join("data/churn.csv"), rows(500, 0)).unwrap();
    run(&repo, dvc, &["add", "-q", "data/churn.csv"], &[]);
    run(&repo, dvc, &["push", "-q"], &[]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "churn data, in DVC"]);
    git(&repo, &["checkout", "-q", "-b", "data/2-refresh"]);
    std::fs::write(repo.join("data/churn.csv"), rows(800, 1)).unwrap();
    run(&repo, dvc, &["add", "-q", "data/churn.csv"], &[]);
    run(&repo, dvc, &["push", "-q"], &[]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "refreshed data"]);
    std::fs::remove_file(repo.join("data/churn.csv")).unwrap();
    std::fs::remove_dir_all(repo.join(".dvc/cache")).unwrap();
    (dir, repo)
}

#[test]
fn a_dvc_tracked_dataset_is_read_from_its_remote_and_its_base_from_the_base_dvc_file() {
    let Some(dvc) = needs("dvc") else { return };
    let (_dir, repo) = dvc_project(&dvc);
    let run = dslp_in(
        &repo,
        &["data", "test", "--base", "main", "--format", "json"],
    );
    let json = run.json();
    assert_eq!(json[0]["rows"], 800, "the head's object: {}", run.stderr);
    let drift = json[0]["drift"]
        .as_array()
        .expect("drift against the base's object");
    let plan = drift.iter().find(|d| d["column"] == "plan").unwrap();
    assert!(plan["psi"].as_f64().is_some(), "{plan}");
    let tenure = drift.iter().find(|d| d["column"] == "tenure").unwrap();
    assert!(tenure["ks"].as_f64().unwrap() > 0.0, "{tenure}");
    // Downloaded once: the next run reads the cache, not the remote.
    std::fs::remove_dir_all(repo.parent().unwrap().join("remote")).unwrap();
    let again = dslp_in(
        &repo,
        &["data", "test", "--base", "main", "--format", "json"],
    )
    .json();
    assert_eq!(again[0]["rows"], 800);
    assert_eq!(again[0]["drift"], json[0]["drift"]);
}

#[test]
fn dvc_objects_that_are_missing_altered_or_badly_recorded_are_named_with_what_to_do() {
    let Some(dvc) = needs("dvc") else { return };
    let (_dir, repo) = dvc_project(&dvc);
    let remote = repo.parent().unwrap().join("remote/files/md5");
    // Altered in the remote: its md5 no longer matches.
    let object = walk(&remote).into_iter().next().unwrap();
    std::fs::write(&object, "id,tenure,plan\n1,1,x\n").unwrap();
    let mut failures = String::new();
    for run in [
        dslp_in(&repo, &["data", "test", "--format", "json"]),
        dslp_in(
            &repo,
            &["data", "test", "--base", "main", "--format", "json"],
        ),
    ] {
        failures.push_str(&run.stdout);
    }
    assert!(
        failures.contains("is tracked by DVC (data/churn.csv.dvc) in remote"),
        "{failures}"
    );
    assert!(
        failures.contains("does not match") || failures.contains("not there"),
        "{failures}"
    );
    // Not pushed at all (and not downloaded before).
    std::fs::remove_dir_all(&remote).unwrap();
    let _ = std::fs::remove_dir_all(repo.join(".git/dslp-cache"));
    let run = dslp_in(&repo, &["data", "test", "--format", "json"]);
    assert!(
        run.stdout.contains("push it with `dvc push`"),
        "{}",
        run.stdout
    );
    // A `.dvc` file that is not YAML.
    std::fs::write(repo.join("data/churn.csv.dvc"), "outs: [ broken").unwrap();
    let run = dslp_in(&repo, &["data", "test", "--format", "json"]);
    assert!(
        run.stdout.contains("data/churn.csv.dvc") && run.stdout.contains("is not a DVC file"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_dvc_directory_is_one_table_and_files_whose_columns_differ_are_named() {
    let Some(dvc) = needs("dvc") else { return };
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("data/parts")).unwrap();
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::write(
        repo.join(".github/dslp.yml"),
        "version: 1\ndatasets:\n  churn: { path: data/parts, format: csv }\n",
    )
    .unwrap();
    std::fs::write(repo.join("data/parts/a.csv"), rows(100, 0)).unwrap();
    std::fs::write(repo.join("data/parts/b.csv"), rows(150, 1)).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let dvc = dvc.to_str().unwrap();
    run(&repo, dvc, &["init", "-q"], &[]);
    run(
        &repo,
        dvc,
        &["remote", "add", "-d", "storage", "../remote"],
        &[],
    );
    run(&repo, dvc, &["add", "-q", "data/parts"], &[]);
    run(&repo, dvc, &["push", "-q"], &[]);
    std::fs::remove_dir_all(repo.join("data/parts")).unwrap();
    std::fs::remove_dir_all(repo.join(".dvc/cache")).unwrap();
    let json = dslp_in(&repo, &["data", "test", "--format", "json"]).json();
    assert_eq!(json[0]["rows"], 250, "{json}");
    // A part with other columns.
    std::fs::create_dir_all(repo.join("data/parts")).unwrap();
    std::fs::write(repo.join("data/parts/a.csv"), rows(100, 0)).unwrap();
    std::fs::write(repo.join("data/parts/b.csv"), "id,plan\n1,monthly\n").unwrap();
    run(&repo, dvc, &["add", "-q", "data/parts"], &[]);
    run(&repo, dvc, &["push", "-q"], &[]);
    std::fs::remove_dir_all(repo.join("data/parts")).unwrap();
    let run = dslp_in(&repo, &["data", "test", "--format", "json"]);
    assert!(
        run.stdout.contains("files have different columns: `b.csv`"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_dvc_remote_on_s3_and_an_s3_uri_are_read_with_the_standard_credentials() {
    let (Some(dvc), Some(moto_server)) = (needs("dvc"), needs("moto_server")) else {
        return;
    };
    let moto = Moto::start(&moto_server);
    let dir = tempfile::tempdir().unwrap();
    let scoring = dir.path().join("scoring.csv");
    std::fs::write(&scoring, rows(300, 1)).unwrap();
    moto.bucket(
        &moto_server,
        "teamdata",
        &[("scoring/latest.csv", &scoring)],
    );
    let (_project, repo) = dvc_project(&dvc);
    let dvc = dvc.to_str().unwrap();
    run(
        &repo,
        dvc,
        &["remote", "add", "-f", "-d", "s3", "s3://teamdata/dvc"],
        &[],
    );
    run(
        &repo,
        dvc,
        &["remote", "modify", "s3", "endpointurl", &moto.endpoint],
        &[],
    );
    // The objects the folder remote has, pushed to S3 too.
    run(&repo, dvc, &["pull", "-q", "-r", "storage"], &[]);
    run(&repo, dvc, &["push", "-q", "-r", "s3"], &AWS);
    std::fs::remove_file(repo.join("data/churn.csv")).unwrap();
    std::fs::remove_dir_all(repo.join(".dvc/cache")).unwrap();
    std::fs::remove_dir_all(repo.parent().unwrap().join("remote")).unwrap();
    let read = dslp_in_env(&repo, &["data", "test", "--format", "json"], &AWS);
    assert_eq!(read.json()[0]["rows"], 800, "{}", read.stderr);
    // No credentials anywhere (no keys, no profile, no instance role):
    // said so, with what to do, and quickly.
    std::fs::remove_dir_all(repo.join(".git/dslp-cache")).unwrap();
    let home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let refused = dslp_in_env(
        &repo,
        &["data", "test", "--format", "json"],
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("AWS_METADATA_ENDPOINT", "http://127.0.0.1:9"),
        ],
    );
    assert!(
        refused
            .stdout
            .contains("give dslp-bot read access to the remote"),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
    eprintln!("no credentials: told in {:?}", started.elapsed());
    // Keys from the profile `aws configure` writes.
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let profile = dslp_in_env(
        &repo,
        &["data", "test", "--format", "json"],
        &[("HOME", home.path().to_str().unwrap())],
    );
    assert_eq!(profile.json()[0]["rows"], 800, "{}", profile.stderr);

    // A URI with its pin.
    let sha = sha256_hex(&std::fs::read(&scoring).unwrap());
    let config = |pin: &str| {
        format!(
            "version: 1\ndatasets:\n  scoring:\n    path: s3://teamdata/scoring/latest.csv\n    sha256: {pin}\n"
        )
    };
    let env = [
        AWS[0],
        AWS[1],
        AWS[2],
        ("AWS_ENDPOINT", moto.endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
    ];
    std::fs::write(repo.join(".github/dslp.yml"), config(&sha)).unwrap();
    let pinned = dslp_in_env(&repo, &["data", "test", "--format", "json"], &env);
    assert_eq!(pinned.json()[0]["rows"], 300, "{}", pinned.stderr);
    std::fs::write(repo.join(".github/dslp.yml"), config(&"0".repeat(64))).unwrap();
    let wrong = dslp_in_env(&repo, &["data", "test", "--format", "json"], &env);
    assert!(
        wrong.stdout.contains("does not match its pin"),
        "{}",
        wrong.stdout
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A fork cannot point dslp-bot at a remote of its choosing: its pull
/// request's data is read through the base branch's `.dvc/config`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forks_dvc_data_comes_from_the_base_branchs_remote_not_the_forks() {
    use crate::app_e2e::{Server, app_host, eventually, publish, pull_request_payload};
    let Some(dvc) = needs("dvc") else { return };
    let dvc = dvc.to_str().unwrap();
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join(".github")).unwrap();
    std::fs::create_dir_all(work.join("data")).unwrap();
    for file in [".github/dslp.yml", "data/churn.csv"] {
        std::fs::copy(
            crate::support::fixture(&format!("demo/{file}")),
            work.join(file),
        )
        .unwrap();
    }
    git(&work, &["init", "-q", "-b", "main"]);
    run(&work, dvc, &["init", "-q"], &[]);
    let good = dir.path().join("remote-good");
    run(
        &work,
        dvc,
        &["remote", "add", "-d", "storage", good.to_str().unwrap()],
        &[],
    );
    run(&work, dvc, &["add", "-q", "data/churn.csv"], &[]);
    run(&work, dvc, &["push", "-q"], &[]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "churn project, data in DVC"]);
    let base = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["checkout", "-q", "-b", "experiment/6-boosting"]);
    let evil = format!("{}/evil-remote", github.url);
    run(
        &work,
        dvc,
        &["remote", "modify", "storage", "url", &evil],
        &[],
    );
    git(&work, &["commit", "-q", "-am", "my remote"]);
    let head = git(&work, &["rev-parse", "HEAD"]);
    publish(&github, dir.path(), &work, &base, &head);
    {
        let mut world = github.world.lock().unwrap();
        world.pulls.get_mut(&12).unwrap()["head"]["repo"]["full_name"] = "stranger/churn".into();
        let config = std::fs::read(work.join(".github/dslp.yml")).unwrap();
        world
            .files
            .insert((".github/dslp.yml".into(), "main".into()), config);
        world.statuses.push((
            head.clone(),
            serde_json::json!({"state": "success", "context": "dslp/ok-to-test", "description": "approved"}),
        ));
    }
    let server = Server::start(&github, dir.path(), &[]).await;
    let mut payload = pull_request_payload(&github, "opened", &base, &head);
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/churn".into();
    assert_eq!(
        server.deliver("pull_request", "dvc-f", &payload).await.0,
        202
    );
    let report = eventually("the report", &server, || {
        github.comments_on(12).into_iter().next()
    })
    .await;
    assert!(
        report.body.contains("roc_auc"),
        "{}\n{}",
        report.body,
        server.log()
    );
    let world = github.world.lock().unwrap();
    assert!(
        !world.requests.iter().any(|r| r.contains("evil-remote")),
        "the fork's remote was never asked: {:#?}",
        world.requests
    );
}
