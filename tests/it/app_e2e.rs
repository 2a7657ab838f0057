//! The GitHub App end to end: the real `dslp serve` process on loopback,
//! deliveries built from GitHub's example payloads and signed as GitHub
//! signs them, sent over real HTTP, and the fake GitHub (as an App host:
//! JWTs checked, installation tokens issued, git served over smart HTTP).
//!
//! GitHub's examples are repository-webhook payloads; an App's deliveries
//! also carry `installation`, which the tests add where it is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use dslp_bot::app::store::Store;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fake_github::{AppHost, FakeGitHub, Fault};
use crate::support::{fixture, git};

const SECRET: &str = "a webhook secret for tests";
const APP_ID: u64 = 4242;

pub(crate) fn example(name: &str) -> Value {
    let mut payload: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("github/webhooks/{name}.json"))).unwrap(),
    )
    .unwrap();
    if payload.get("installation").is_none_or(Value::is_null) {
        payload["installation"] = json!({"id": 77});
    }
    payload
}

pub(crate) fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One `dslp serve` process with its own store and data directory.
pub(crate) struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
}

/// The port a server's log says it listens on (it binds port 0, so no
/// other test can take the port between choosing and binding it).
fn port_in_log(log: &str) -> Option<u16> {
    let after = log.split("listening on http://").nth(1)?;
    let address = after.split_whitespace().next()?;
    address.rsplit(':').next()?.parse().ok()
}

impl Server {
    pub(crate) async fn start(github: &FakeGitHub, dir: &Path, extra: &[(&str, &str)]) -> Server {
        Server::start_on(github, dir, extra, None).await
    }

    /// `start`, with the server pinned to `core` when one is given (with
    /// taskset): on one core it runs its current-thread runtime.
    pub(crate) async fn start_on(
        github: &FakeGitHub,
        dir: &Path,
        extra: &[(&str, &str)],
        core: Option<u32>,
    ) -> Server {
        let runs = std::fs::read_dir(dir).map_or(0, |d| d.count());
        let log = dir.join(format!("serve-{runs}.log"));
        let mut command = match core {
            None => Command::new(env!("CARGO_BIN_EXE_dslp")),
            Some(core) => {
                let mut taskset = Command::new("taskset");
                taskset
                    .arg("-c")
                    .arg(core.to_string())
                    .arg(env!("CARGO_BIN_EXE_dslp"));
                taskset
            }
        };
        command
            .arg("serve")
            .current_dir(dir)
            .env("APP_ID", APP_ID.to_string())
            .env("PRIVATE_KEY_PATH", fixture("github/test-app-key.pem"))
            .env("WEBHOOK_SECRET", format!("an old secret,{SECRET}"))
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("GITHUB_API_URL", &github.url)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("dslp.db").display()),
            )
            .env("DSLP_DATA_DIR", dir.join("data"))
            .env("DSLP_RETRY_BASE_MS", "10")
            .env("DSLP_REDELIVER_EVERY", "0")
            .env("LOG_LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (key, value) in extra {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let mut server = Server {
            child,
            port: 0,
            dir: dir.to_path_buf(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if server.port == 0 {
                server.port = port_in_log(&server.log()).unwrap_or(0);
            }
            if server.port != 0
                && let Ok((200, _)) = server.get("/healthz").await
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "dslp serve did not start: {}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The names of the server's threads (Linux).
    fn thread_names(&self) -> Vec<String> {
        let tasks = format!("/proc/{}/task", self.child.id());
        std::fs::read_dir(tasks)
            .map(|tasks| {
                tasks
                    .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                    .map(|name| name.trim().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Raw HTTP/1.1, so that tests can also send what a client library would not.
    async fn raw(&self, request: &[u8], declared_longer: bool) -> std::io::Result<(u16, String)> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream.write_all(request).await?;
        if declared_longer {
            stream.shutdown().await?;
        }
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    pub(crate) async fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        self.raw(request.as_bytes(), false).await
    }

    async fn post(&self, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
        let mut request = format!(
            "POST /api/github/webhooks HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes, false).await.unwrap()
    }

    /// A delivery signed as GitHub signs it.
    pub(crate) async fn deliver(&self, event: &str, id: &str, payload: &Value) -> (u16, String) {
        let body = payload.to_string().into_bytes();
        self.post(
            &[
                ("Content-Type", "application/json".into()),
                ("X-GitHub-Event", event.into()),
                ("X-GitHub-Delivery", id.into()),
                ("X-Hub-Signature-256", sign(&body)),
            ],
            &body,
        )
        .await
    }

    pub(crate) async fn store(&self) -> Store {
        Store::inspect(&format!("sqlite://{}", self.dir.join("dslp.db").display()))
            .await
            .unwrap()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    /// SIGTERM, and wait for the graceful stop.
    pub(crate) fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn app_host() -> FakeGitHub {
    let github = FakeGitHub::start().await;
    {
        let mut world = github.world.lock().unwrap();
        world.app = Some(AppHost {
            app_id: APP_ID,
            public_key_pem: std::fs::read(fixture("github/test-app-key.pub.pem")).unwrap(),
        });
    }
    github.with_demo_issues();
    github
}

pub(crate) async fn eventually<T>(
    what: &str,
    server: &Server,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The issue-opened example, as issue #6 of acme/churn with its Ask link removed.
fn broken_experiment_issue() -> Value {
    let mut payload = example("issues.opened");
    payload["repository"]["full_name"] = "acme/churn".into();
    payload["issue"]["number"] = 6.into();
    payload["issue"]["title"] = "Gradient boosting".into();
    payload["issue"]["labels"] = json!([{"name": "Experiment"}]);
    payload["issue"]["body"] =
        "### Ask Reference\n\n_No response_\n\n### Hypothesis\n\nBoosting beats LR.\n".into();
    payload
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_answers_bad_requests_clearly_and_ignores_what_it_does_not_handle() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&github, dir.path(), &[]).await;
    let body = broken_experiment_issue().to_string().into_bytes();
    let headers = |signature: Option<String>, event: &str| {
        let mut h = vec![
            ("Content-Type", "application/json".to_string()),
            ("X-GitHub-Event", event.to_string()),
            ("X-GitHub-Delivery", "d-bad".to_string()),
        ];
        if let Some(signature) = signature {
            h.push(("X-Hub-Signature-256", signature));
        }
        h
    };
    let (status, text) = server.post(&headers(None, "issues"), &body).await;
    assert_eq!(
        (status, text.contains("missing X-Hub-Signature-256")),
        (401, true),
        "{text}"
    );
    let mut wrong = Hmac::<Sha256>::new_from_slice(b"not the secret").unwrap();
    wrong.update(&body);
    let forged = format!("sha256={}", hex::encode(wrong.finalize().into_bytes()));
    assert_eq!(
        server.post(&headers(Some(forged), "issues"), &body).await.0,
        401
    );

    // Broken JSON, correctly signed.
    let broken = b"{\"action\": \"opened\", \"issue\": ";
    let (status, text) = server
        .post(&headers(Some(sign(broken)), "issues"), broken)
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not the JSON GitHub sends"), "{text}");

    // A body cut short of its Content-Length.
    let mut truncated = format!(
        "POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nX-GitHub-Event: issues\r\nX-GitHub-Delivery: d-cut\r\nX-Hub-Signature-256: {}\r\n\r\n",
        body.len(),
        sign(&body)
    )
    .into_bytes();
    truncated.extend_from_slice(&body[..body.len() / 2]);
    let (status, _) = server
        .raw(&truncated, true)
        .await
        .unwrap_or((400, String::new()));
    assert_eq!(status, 400);

    // 30 MB: more than GitHub ever sends.
    let huge = vec![b' '; 30 * 1024 * 1024];
    let (status, _) = server
        .raw(
            format!(
                "POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nX-GitHub-Event: issues\r\nX-GitHub-Delivery: d-huge\r\nX-Hub-Signature-256: {}\r\n\r\n",
                huge.len(),
                sign(&huge)
            )
            .as_bytes()
            .iter()
            .chain(huge.iter())
            .copied()
            .collect::<Vec<u8>>()
            .as_slice(),
            false,
        )
        .await
        .unwrap_or((413, String::new()));
    assert_eq!(status, 413);

    // An event dslp-bot does not handle: 200, nothing queued.
    let star = json!({"action": "created", "repository": {"full_name": "acme/churn"}});
    assert_eq!(server.deliver("star", "d-star", &star).await.0, 200);

    // Work without an installation: a repository webhook, not the App's.
    let mut no_installation = broken_experiment_issue();
    no_installation
        .as_object_mut()
        .unwrap()
        .remove("installation");
    let (status, text) = server.deliver("issues", "d-noinst", &no_installation).await;
    assert_eq!(status, 400);
    assert!(text.contains("installation"), "{text}");

    let (_, metrics) = server.get("/metrics").await.unwrap();
    assert!(
        metrics.contains("dslp_deliveries_total{event=\"issues\",outcome=\"unauthorized\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dslp_deliveries_total{event=\"other\",outcome=\"ignored\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("dslp_queue_depth 0"), "{metrics}");
    assert!(
        github.world.lock().unwrap().requests.is_empty(),
        "nothing reached GitHub"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_issue_delivery_twice_gives_one_comment_and_secrets_stay_out_of_the_log() {
    same_issue_delivery_twice(None).await;
}

/// The same, with the server pinned to one core, where it runs on a
/// current-thread runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_core_the_same_issue_delivery_twice_gives_one_comment() {
    same_issue_delivery_twice(Some(0)).await;
}

async fn same_issue_delivery_twice(core: Option<u32>) {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&github, dir.path(), &[], core).await;
    let threads = server.thread_names();
    let workers = threads.iter().any(|name| name == "tokio-rt-worker");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(
        workers,
        core.is_none() && cores > 1,
        "a multi-thread runtime on several cores, a current-thread one on one: {threads:?}"
    );
    let payload = broken_experiment_issue();
    assert_eq!(
        server.deliver("issues", "same-id", &payload).await,
        (202, "queued\n".into())
    );
    assert_eq!(
        server.deliver("issues", "same-id", &payload).await,
        (200, "already received\n".into())
    );
    one_comment_on_the_broken_experiment(&github, &server).await;
    assert_eq!(
        github.world.lock().unwrap().tokens.len(),
        1,
        "one token, cached"
    );
    github.assert_no_violations();
    assert!(server.stop().success(), "a graceful stop exits 0");
    let log = server.log();
    let key = std::fs::read_to_string(fixture("github/test-app-key.pem")).unwrap();
    let key_line = key.lines().nth(1).unwrap();
    for secret in [SECRET, key_line, "ghs_fake_installation_token_1"] {
        assert!(!log.contains(secret), "a secret reached the log:\n{log}");
    }
}

/// A delivery is answered once the intake journal holds it; SQLite gets it
/// a moment later. Killed in that moment (here made an hour long), the
/// server records it from the journal at restart, and its job runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_answered_but_not_yet_committed_survives_a_sigkill() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let never = [("DSLP_COMMIT_EVERY_MS", "3600000")];
    let mut server = Server::start(&github, dir.path(), &never).await;
    let payload = broken_experiment_issue();
    assert_eq!(
        server.deliver("issues", "journaled", &payload).await,
        (202, "queued\n".into())
    );
    assert_eq!(
        server.deliver("issues", "journaled", &payload).await,
        (200, "already received\n".into()),
        "a delivery not yet committed is still known"
    );
    server.kill();
    let store = server.store().await;
    assert!(
        !store.has_delivery("journaled").await.unwrap(),
        "the kill came before the commit"
    );
    assert!(github.comments_on(6).is_empty());
    let server = Server::start(&github, dir.path(), &never).await;
    // The duplicate was journaled too; it is recorded once.
    let log = server.log();
    assert!(
        log.contains("2 deliveries read again") && log.contains("recorded now: 1 "),
        "{log}"
    );
    one_comment_on_the_broken_experiment(&github, &server).await;
    github.assert_no_violations();
}

/// Waits for the broken Experiment's comment (it names R13) and for its one
/// job to be done, after which no second comment has come.
async fn one_comment_on_the_broken_experiment(github: &FakeGitHub, server: &Server) {
    let comment = eventually("the issue comment", server, || {
        github.comments_on(6).into_iter().next()
    })
    .await;
    assert!(comment.body.contains("R13"), "{}", comment.body);
    let store = server.store().await;
    eventually("the job to finish", server, || {
        futures_lite_block(store.jobs_by_state())
            .ok()
            .filter(|s| s == &vec![("done".to_string(), 1)])
    })
    .await;
    assert_eq!(github.comments_on(6).len(), 1);
}

/// Polls a future from synchronous code (the `eventually` probes are sync).
pub(crate) fn futures_lite_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// A bare repository `acme/churn` with the demo project on `main` and
/// `experiment/6-boosting` as pull request 12, served by the fake.
pub(crate) fn serve_repository(github: &FakeGitHub, root: &Path) -> (String, String) {
    serve_repository_with(github, root, |_| {})
}

/// As [`serve_repository`], with `edit` changing the experiment branch's
/// files before its commit.
pub(crate) fn serve_repository_with(
    github: &FakeGitHub,
    root: &Path,
    edit: impl FnOnce(&Path),
) -> (String, String) {
    let work = root.join("work");
    std::fs::create_dir_all(work.join(".github")).unwrap();
    std::fs::create_dir_all(work.join("data")).unwrap();
    for file in [".github/dslp.yml", "data/churn.csv"] {
        std::fs::copy(fixture(&format!("demo/{file}")), work.join(file)).unwrap();
    }
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "churn project"]);
    let base = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["checkout", "-q", "-b", "experiment/6-boosting"]);
    let config = std::fs::read_to_string(work.join(".github/dslp.yml"))
        .unwrap()
        .replace("params: { c: 1.0 }", "params: { c: 0.5 }");
    std::fs::write(work.join(".github/dslp.yml"), config).unwrap();
    edit(&work);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "weaker regularisation"]);
    let head = git(&work, &["rev-parse", "HEAD"]);
    publish(github, root, &work, &base, &head);
    (base, head)
}

/// Serves `work` as `acme/churn` with `head` as pull request 12 onto
/// `main` at `base`.
pub(crate) fn publish(github: &FakeGitHub, root: &Path, work: &Path, base: &str, head: &str) {
    let (base, head) = (base.to_string(), head.to_string());
    let bare = root.join("git/acme/churn.git");
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(
        root,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git(&bare, &["update-ref", "refs/pull/12/head", &head]);
    let mut world = github.world.lock().unwrap();
    world.git_root = Some(root.join("git"));
    world.branches.insert("main".into(), base.clone());
    world
        .branches
        .insert("experiment/6-boosting".into(), head.clone());
    world.issues.insert(12, json!({"number": 12, "title": "Boosting", "body": "Boosting for #6.", "state": "open", "labels": [], "pull_request": {"url": "x"}}));
    world.pull_files.insert(12, vec![".github/dslp.yml".into()]);
    world.pulls.insert(12, json!({
        "number": 12, "body": "Boosting for #6.", "state": "open", "merged": false, "mergeable": true, "labels": [],
        "head": {"ref": "experiment/6-boosting", "sha": head, "repo": {"full_name": "acme/churn"}},
        "base": {"ref": "main", "sha": base, "repo": {"full_name": "acme/churn", "clone_url": format!("{}/git/acme/churn.git", github.url)}},
    }));
}

pub(crate) fn pull_request_payload(
    github: &FakeGitHub,
    action: &str,
    base: &str,
    head: &str,
) -> Value {
    let mut payload = example(&format!("pull_request.{action}"));
    payload["repository"]["full_name"] = "acme/churn".into();
    payload["repository"]["clone_url"] = format!("{}/git/acme/churn.git", github.url).into();
    let pr = &mut payload["pull_request"];
    pr["number"] = 12.into();
    pr["body"] = "Boosting for #6.".into();
    pr["state"] = "open".into();
    pr["merged"] = false.into();
    pr["head"]["ref"] = "experiment/6-boosting".into();
    pr["head"]["sha"] = head.into();
    pr["head"]["repo"]["full_name"] = "acme/churn".into();
    pr["base"]["ref"] = "main".into();
    pr["base"]["sha"] = base.into();
    payload
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_is_fetched_with_the_installation_token_evaluated_and_ledgered() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    let server = Server::start(&github, dir.path(), &[]).await;
    let payload = pull_request_payload(&github, "synchronize", &base, &head);
    assert_eq!(
        server.deliver("pull_request", "pr-1", &payload).await.0,
        202
    );
    let run = eventually("the check run", &server, || {
        github.check_runs().into_iter().find(|r| r.head_sha == head)
    })
    .await;
    let comment = eventually("the PR comment", &server, || {
        github.comments_on(12).into_iter().next()
    })
    .await;
    assert!(comment.body.contains("churn_lr"), "{}", comment.body);
    assert!(comment.body.contains("roc_auc"), "{}", comment.body);
    // The experiment weakened the regularisation: its parameter against the base's.
    assert!(
        comment.body.contains("| **`c`** | 0.5 | 1 |"),
        "{}",
        comment.body
    );
    // The base's ROC curve is drawn beside the branch's.
    assert!(
        comment.body.contains("ROC curve (AUC")
            && comment.body.contains("line 2: base, line 3: chance"),
        "{}",
        comment.body
    );
    assert!(!run.conclusion.is_empty());
    let store = server.store().await;
    let runs = eventually("the ledger row", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| !r.is_empty())
    })
    .await;
    assert_eq!(runs[0].pull_request, 12);
    assert_eq!(
        (runs[0].head_commit.as_str(), runs[0].base_commit.as_str()),
        (head.as_str(), base.as_str())
    );
    assert!(
        runs[0].metrics["churn_lr"]["roc_auc"].as_f64().is_some(),
        "{:?}",
        runs[0].metrics
    );
    // git was reached with the token; the fetch was shallow and left a checkout.
    let world = github.world.lock().unwrap();
    assert!(world.requests.iter().any(|r| r.contains("git-upload-pack")));
    drop(world);
    let checkout = dir.path().join("data/checkouts/acme/churn/12");
    assert!(checkout.join(".git/shallow").exists(), "a shallow fetch");
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_flight_finishes_after_restart_and_reports_once() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    // The job's first look at the issues hangs: the process dies meanwhile.
    github.inject(
        Method::GET,
        "/repos/acme/churn/issues",
        Fault::Slow(Duration::from_secs(20)),
    );
    let mut server = Server::start(&github, dir.path(), &[]).await;
    let payload = pull_request_payload(&github, "opened", &base, &head);
    assert_eq!(
        server.deliver("pull_request", "pr-kill", &payload).await.0,
        202
    );
    eventually("the job to reach GitHub", &server, || {
        github
            .world
            .lock()
            .unwrap()
            .requests
            .iter()
            .any(|r| r.starts_with("GET /repos/acme/churn/issues"))
            .then_some(())
    })
    .await;
    server.kill();
    assert!(github.check_runs().is_empty());
    let server = Server::start(&github, dir.path(), &[]).await;
    eventually("the check run after restart", &server, || {
        github.check_runs().into_iter().find(|r| r.head_sha == head)
    })
    .await;
    let store = server.store().await;
    eventually("the job to finish", &server, || {
        futures_lite_block(store.jobs_by_state())
            .ok()
            .filter(|s| s == &vec![("done".to_string(), 1)])
    })
    .await;
    assert_eq!(github.check_runs().len(), 1);
    assert_eq!(github.comments_on(12).len(), 1);
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_errors_are_retried_by_the_job_and_a_job_that_keeps_failing_fails_its_check() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    // Four 502s outlast the port's own retries: the job itself tries again.
    for _ in 0..4 {
        github.inject(Method::GET, "/repos/acme/churn/issues", Fault::Status(502));
    }
    github.inject(
        Method::GET,
        "/comments",
        Fault::RateLimited { retry_after: 1 },
    );
    let server = Server::start(&github, dir.path(), &[("DSLP_MAX_ATTEMPTS", "2")]).await;
    assert_eq!(
        server
            .deliver("issues", "i-1", &broken_experiment_issue())
            .await
            .0,
        202
    );
    eventually("the comment after the retries", &server, || {
        github.comments_on(6).into_iter().next()
    })
    .await;
    let (_, metrics) = server.get("/metrics").await.unwrap();
    assert!(
        metrics.contains("dslp_job_attempts_total{outcome=\"retried\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dslp_github_calls_total{status=\"502\"} 4"),
        "{metrics}"
    );

    // A pull request whose repository cannot be fetched: two attempts, then a failed check.
    let mut payload = pull_request_payload(
        &github,
        "synchronize",
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
    );
    payload["repository"]["clone_url"] = format!("{}/git/acme/missing.git", github.url).into();
    assert_eq!(
        server
            .deliver("pull_request", "pr-doomed", &payload)
            .await
            .0,
        202
    );
    let run = eventually("the failed check run", &server, || {
        github
            .check_runs()
            .into_iter()
            .find(|r| r.head_sha.starts_with("2222"))
    })
    .await;
    assert_eq!(run.conclusion, "failure");
    assert_eq!(run.title, "dslp-bot could not finish");
    let store = server.store().await;
    let states = eventually("the job to be given up", &server, || {
        futures_lite_block(store.jobs_by_state())
            .ok()
            .filter(|s| s.iter().any(|(state, _)| state == "failed"))
    })
    .await;
    assert_eq!(
        states,
        vec![("done".to_string(), 1), ("failed".to_string(), 1)]
    );
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_create_rerequest_installation_and_commands_are_handled() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    let server = Server::start(&github, dir.path(), &[]).await;

    // push and create: the branch-name rules as a commit status.
    let mut push = example("push");
    push["repository"]["full_name"] = "acme/churn".into();
    push["ref"] = "refs/heads/experiment/6-boosting".into();
    push["after"] = head.clone().into();
    push["created"] = true.into();
    push["deleted"] = false.into();
    assert_eq!(server.deliver("push", "push-1", &push).await.0, 202);
    let mut create = example("create");
    create["repository"]["full_name"] = "acme/churn".into();
    create["ref"] = "main".into();
    create["ref_type"] = "branch".into();
    assert_eq!(server.deliver("create", "create-1", &create).await.0, 202);
    let statuses = eventually("two commit statuses", &server, || {
        let world = github.world.lock().unwrap();
        (world.statuses.len() == 2).then(|| world.statuses.clone())
    })
    .await;
    let shas: Vec<&str> = statuses.iter().map(|(sha, _)| sha.as_str()).collect();
    assert!(
        shas.contains(&head.as_str()) && shas.contains(&base.as_str()),
        "{shas:?}"
    );
    assert!(statuses.iter().all(|(_, s)| s["context"] == "dslp/branch"));

    // installation: the eleven labels.
    let mut installed = example("installation.created");
    installed["repositories"] = json!([{"full_name": "acme/churn"}]);
    assert_eq!(
        server.deliver("installation", "inst-1", &installed).await.0,
        202
    );
    eventually("the labels", &server, || {
        (github.world.lock().unwrap().labels.len() == 11).then_some(())
    })
    .await;

    // check_suite rerequested: the pull request is evaluated.
    let mut suite = example("check_suite.rerequested");
    suite["repository"]["full_name"] = "acme/churn".into();
    suite["check_suite"]["head_sha"] = head.clone().into();
    suite["check_suite"]["pull_requests"] = json!([{"number": 12}]);
    assert_eq!(
        server.deliver("check_suite", "suite-1", &suite).await.0,
        202
    );
    eventually("the check run", &server, || {
        github.check_runs().into_iter().find(|r| r.head_sha == head)
    })
    .await;

    // /dslp help and an unknown command, in an issue comment.
    let mut comment = example("issue_comment.created");
    comment["repository"]["full_name"] = "acme/churn".into();
    comment["issue"]["number"] = 6.into();
    comment["issue"]["pull_request"] = Value::Null;
    comment["comment"]["body"] = "/dslp help".into();
    assert_eq!(
        server.deliver("issue_comment", "c-1", &comment).await.0,
        202
    );
    let reply = eventually("the help reply", &server, || {
        github
            .comments_on(6)
            .into_iter()
            .find(|c| c.body.contains("/dslp rerun"))
    })
    .await;
    comment["comment"]["body"] = "/dslp rerum".into();
    assert_eq!(
        server.deliver("issue_comment", "c-2", &comment).await.0,
        202
    );
    eventually("the did-you-mean, edited in place", &server, || {
        github
            .comments_on(6)
            .into_iter()
            .find(|c| c.id == reply.id && c.body.contains("Did you mean `/dslp rerun`"))
    })
    .await;
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_that_never_reached_us_are_asked_for_again_at_start() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    // A first run records one delivery.
    let mut server = Server::start(&github, dir.path(), &[]).await;
    assert_eq!(
        server
            .deliver("issues", "seen-guid", &broken_experiment_issue())
            .await
            .0,
        202
    );
    assert!(server.stop().success());
    github.world.lock().unwrap().hook_deliveries = vec![
        json!({"id": 3, "guid": "missed-guid", "status_code": 502, "event": "issues", "delivered_at": "2026-11-22T10:00:00Z"}),
        json!({"id": 2, "guid": "seen-guid", "status_code": 0, "event": "issues", "delivered_at": "2026-11-22T09:00:00Z"}),
        json!({"id": 1, "guid": "answered-guid", "status_code": 202, "event": "issues", "delivered_at": "2026-11-22T08:00:00Z"}),
    ];
    let server = Server::start(&github, dir.path(), &[("DSLP_REDELIVER_EVERY", "3600")]).await;
    eventually("the redelivery request", &server, || {
        let world = github.world.lock().unwrap();
        (!world.redeliveries.is_empty()).then(|| world.redeliveries.clone())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(github.world.lock().unwrap().redeliveries, vec![3]);
    github.assert_no_violations();
}

/// An operator's `sqlite3` read of the live store, between two bursts of
/// deliveries, changes nothing for the server: every delivery is answered
/// 2xx and recorded, the WAL stays, and no I/O error is logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_read_of_the_live_store_breaks_nothing() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&github, dir.path(), &[]).await;
    let star = json!({"action": "created", "repository": {"full_name": "acme/churn"}, "installation": {"id": 77}});
    let burst = |from: usize| {
        let (server, star) = (&server, &star);
        async move {
            for i in from..from + 40 {
                let (status, text) = server.deliver("star", &format!("star-{i}"), star).await;
                assert!(
                    (200..300).contains(&status),
                    "delivery {i}: {status} {text}"
                );
            }
        }
    };
    burst(0).await;
    let database = dir.path().join("dslp.db");
    let read = Command::new("sqlite3")
        .arg(&database)
        .arg("select count(*) from jobs; select count(*) from deliveries;")
        .output()
        .expect("the sqlite3 CLI is installed");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let mut wal = database.clone().into_os_string();
    wal.push("-wal");
    assert!(
        Path::new(&wal).exists(),
        "the WAL was unlinked under the running server"
    );
    burst(40).await;
    // A job too, which must be taken and done.
    assert_eq!(
        server
            .deliver("issues", "after-read", &broken_experiment_issue())
            .await
            .0,
        202
    );
    one_comment_on_the_broken_experiment(&github, &server).await;
    let store = server.store().await;
    assert_eq!(store.delivery_count().await.unwrap(), 81);
    let (status, _) = server.get("/healthz").await.unwrap();
    assert_eq!(status, 200);
    let log = server.log();
    assert!(!log.contains("disk I/O error"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
}

/// While another process holds the store's write lock, deliveries are
/// still answered from the journal, but the queue cannot take them:
/// `dslp healthcheck`: its exit code and what it said.
fn healthcheck(port: u16) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dslp"))
        .args(["healthcheck", "--port", &port.to_string()])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `/healthz` fails, saying why, and recovers once the lock is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_while_the_store_cannot_record() {
    use std::io::{BufRead, Write};
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&github, dir.path(), &[]).await;
    assert_eq!(server.get("/healthz").await.unwrap(), (200, "ok\n".into()));
    assert_eq!(healthcheck(server.port).0, Some(0));
    let mut holder = Command::new("sqlite3")
        .arg(dir.path().join("dslp.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sqlite3 CLI is installed");
    let mut stdin = holder.stdin.take().unwrap();
    writeln!(stdin, "BEGIN IMMEDIATE; SELECT 'locked';").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    let star = json!({"action": "created", "repository": {"full_name": "acme/churn"}, "installation": {"id": 77}});
    assert_eq!(server.deliver("star", "while-locked", &star).await.0, 200);
    let unhealthy = eventually("/healthz to fail", &server, || {
        let (status, text) = futures_lite_block(server.get("/healthz")).ok()?;
        (status == 503).then_some(text)
    })
    .await;
    assert!(
        unhealthy.contains("committing deliveries") && unhealthy.contains("locked"),
        "{unhealthy}"
    );
    // The container's HEALTHCHECK says the same.
    let probe = healthcheck(server.port);
    assert_eq!(probe.0, Some(1), "{}", probe.1);
    assert!(
        probe.1.contains("unhealthy (503") && probe.1.contains("committing deliveries"),
        "{}",
        probe.1
    );
    drop(stdin); // sqlite3 ends, and its transaction with it
    holder.wait().unwrap();
    eventually("/healthz to recover", &server, || {
        let (status, _) = futures_lite_block(server.get("/healthz")).ok()?;
        (status == 200).then_some(())
    })
    .await;
    assert!(
        server
            .store()
            .await
            .has_delivery("while-locked")
            .await
            .unwrap()
    );
}

/// The server's own resident memory, bytes.
fn resident(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// The server's own peak resident memory (`VmHWM`), bytes.
fn peak_resident(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// The server's own CPU time so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The processes running `dslp __evaluate` for the server `parent`.
fn evaluations_running(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let ppid = status.lines().find_map(|l| l.strip_prefix("PPid:"))?;
            (ppid.trim() == parent.to_string()
                && cmdline.split(|b| *b == 0).any(|arg| arg == b"__evaluate"))
            .then_some(pid)
        })
        .collect()
}

/// An evaluation past its time limit is stopped, not abandoned: its check
/// fails naming the limit and its setting, and no process of it goes on
/// using the CPU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_past_its_time_limit_is_stopped_and_fails_its_check() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository_with(&github, dir.path(), |work| {
        let config = std::fs::read_to_string(work.join(".github/dslp.yml"))
            .unwrap()
            .replace("algorithm: logistic_regression", "algorithm: random_forest")
            .replace("params: { c: 0.5 }", "params: { n_estimators: 100000 }");
        std::fs::write(work.join(".github/dslp.yml"), config).unwrap();
    });
    let server = Server::start(&github, dir.path(), &[("DSLP_JOB_TIME_LIMIT", "2")]).await;
    let payload = pull_request_payload(&github, "synchronize", &base, &head);
    assert_eq!(
        server.deliver("pull_request", "slow", &payload).await.0,
        202
    );
    let run = eventually("the failed check", &server, || {
        github.check_runs().into_iter().find(|r| r.head_sha == head)
    })
    .await;
    assert_eq!(run.conclusion, "failure", "{run:?}");
    assert!(
        run.text.contains("time limit of 2 s") && run.text.contains("DSLP_JOB_TIME_LIMIT"),
        "{run:?}"
    );
    // Within a second, nothing of the evaluation is left.
    let seen = Instant::now();
    while !evaluations_running(server.child.id()).is_empty() {
        assert!(
            seen.elapsed() < Duration::from_secs(1),
            "an evaluation goes on a second after its check: {:?}",
            evaluations_running(server.child.id())
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "no evaluation left {} ms after the failed check",
        seen.elapsed().as_millis()
    );
    let before = cpu_ticks(server.child.id());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let used = cpu_ticks(server.child.id()) - before;
    println!("the server's CPU in the second after: {used} ticks of 10 ms");
    assert!(used < 20, "the server used {used} ticks of CPU while idle");
    let store = server.store().await;
    assert_eq!(
        store.jobs_by_state().await.unwrap(),
        vec![("done".to_string(), 1)],
        "a limit is not retried"
    );
    github.assert_no_violations();
}

/// A CSV a million columns wide is stopped at the evaluation's memory
/// limit: the check fails naming it, and the server's own memory does not
/// grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_column_csv_stops_at_the_memory_limit_and_the_server_stays_small() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository_with(&github, dir.path(), |work| {
        let header: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
        let row = vec!["1"; 1_000_000].join(",");
        std::fs::write(
            work.join("data/churn.csv"),
            format!("{}\n{row}\n{row}\n", header.join(",")),
        )
        .unwrap();
    });
    let server = Server::start(&github, dir.path(), &[("DSLP_JOB_MEMORY_MB", "512")]).await;
    let before = resident(&server);
    let payload = pull_request_payload(&github, "synchronize", &base, &head);
    assert_eq!(
        server.deliver("pull_request", "wide", &payload).await.0,
        202
    );
    let run = eventually("the failed check", &server, || {
        github.check_runs().into_iter().find(|r| r.head_sha == head)
    })
    .await;
    assert_eq!(run.conclusion, "failure", "{run:?}");
    assert!(
        run.text.contains("memory limit of 512 MB") && run.text.contains("DSLP_JOB_MEMORY_MB"),
        "{}",
        run.text
    );
    let after = resident(&server);
    println!(
        "the server's resident memory: {} MiB before, {} MiB after, peak {} MiB",
        before >> 20,
        after >> 20,
        peak_resident(&server) >> 20
    );
    assert!(
        after < before + (64 << 20),
        "the server grew from {} to {} MiB",
        before >> 20,
        after >> 20
    );
    github.assert_no_violations();
}

/// A job on an issue that keeps failing says so in the issue's sticky
/// comment; and each job's log lines carry its own span alone, even with
/// two jobs running at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_given_up_on_an_issue_says_so_and_each_job_logs_in_its_own_span() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    // Two attempts of four calls each: the issue's job gives up.
    for _ in 0..8 {
        github.inject(Method::GET, "/repos/acme/churn/issues", Fault::Status(502));
    }
    // On one core both jobs share one thread: where a span could leak into
    // another job's lines, it does.
    let server =
        Server::start_on(&github, dir.path(), &[("DSLP_MAX_ATTEMPTS", "2")], Some(0)).await;
    assert_eq!(
        server
            .deliver("issues", "doomed-issue", &broken_experiment_issue())
            .await
            .0,
        202
    );
    let said = eventually(
        "the issue's comment saying it could not finish",
        &server,
        || {
            github
                .comments_on(6)
                .into_iter()
                .find(|c| c.body.contains("could not check this issue"))
        },
    )
    .await;
    assert!(
        said.body.contains("502") && said.body.contains("/dslp rerun"),
        "{}",
        said.body
    );
    // Two jobs at once: a pull request's evaluation and the issue again.
    let payload = pull_request_payload(&github, "synchronize", &base, &head);
    assert_eq!(
        server
            .deliver("pull_request", "pr-meanwhile", &payload)
            .await
            .0,
        202
    );
    assert_eq!(
        server
            .deliver("issues", "issue-meanwhile", &broken_experiment_issue())
            .await
            .0,
        202
    );
    let store = server.store().await;
    eventually("the three jobs to end", &server, || {
        futures_lite_block(store.jobs_by_state())
            .ok()
            .filter(|s| s == &vec![("done".to_string(), 2), ("failed".to_string(), 1)])
    })
    .await;
    let log = server.log();
    let nested: Vec<&str> = log
        .lines()
        .filter(|l| l.matches("job{").count() > 1)
        .collect();
    assert!(
        nested.is_empty(),
        "spans nest across jobs:\n{}",
        nested.join("\n")
    );
    assert!(
        log.lines()
            .any(|l| l.contains("job{") && l.contains("job done")),
        "{log}"
    );
    github.assert_no_violations();
}

/// With a ledger, an experiment's report compares it with its Ask's
/// leader: another experiment's run is in the ledger, ranked first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiments_report_compares_it_with_its_asks_leader() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("dslp.db").display()
    ))
    .await
    .unwrap();
    store
        .record_run(&dslp_bot::app::store::Run {
            repository: "acme/churn".into(),
            pull_request: 10,
            head_ref: "experiment/5-logistic-regression".into(),
            head_commit: "5".repeat(40),
            base_commit: base.clone(),
            verdict: "GO".into(),
            metrics: json!({"churn_lr": {"roc_auc": 0.9912}}),
            stamps: json!({}),
        })
        .await
        .unwrap();
    store.close().await;
    let server = Server::start(&github, dir.path(), &[]).await;
    let payload = pull_request_payload(&github, "synchronize", &base, &head);
    assert_eq!(
        server
            .deliver("pull_request", "pr-leader", &payload)
            .await
            .0,
        202
    );
    let comment = eventually("the PR comment", &server, || {
        github.comments_on(12).into_iter().next()
    })
    .await;
    assert!(
        comment.body.contains("**Against Ask #1's leader**, Experiment #5 Logistic regression baseline: roc_auc 0.9912")
            && comment.body.contains("This branch: roc_auc "),
        "{}",
        comment.body
    );
    github.assert_no_violations();
}
