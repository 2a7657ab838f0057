//! Three `dslp serve` replicas on one PostgreSQL database, as behind a load
//! balancer: 300 deliveries spread across them (some sent again to another
//! replica), and the replica running one job `kill -9`'d in the middle of
//! it. Every job is done exactly once, each issue gets one sticky comment,
//! no delivery is lost, one replica at a time runs the redelivery sweep,
//! and the killed replica's job completes elsewhere once its lease runs out.

use std::time::Duration;

use axum::http::Method;
use serde_json::{Value, json};
use sqlx::Row;

use crate::app_e2e::{Server, app_host, example};
use crate::fake_github::Fault;
use crate::postgres::fresh_database;

const ISSUES: u64 = 100;
const KILLED_ISSUE: u64 = 150;

/// Issue `number` of acme/churn: an Experiment without its Ask link.
fn experiment_issue(number: u64, action: &str) -> Value {
    let mut payload = example(&format!("issues.{action}"));
    payload["repository"]["full_name"] = "acme/churn".into();
    payload["issue"]["number"] = number.into();
    payload["issue"]["title"] = format!("Experiment {number}").into();
    payload["issue"]["labels"] = json!([{"name": "Experiment"}]);
    payload["issue"]["body"] =
        "### Ask Reference\n\n_No response_\n\n### Hypothesis\n\nBoosting beats LR.\n".into();
    if payload["installation"].is_null() {
        payload["installation"] = json!({"id": 1});
    }
    payload
}

fn leaders(servers: &[Option<Server>]) -> Vec<usize> {
    (0..servers.len())
        .filter(|i| {
            servers[*i]
                .as_ref()
                .is_some_and(|s| s.log().contains("now leads"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_work_and_survive_a_kill() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let github = app_host().await;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // The job of one issue hangs on GitHub: its replica is killed meanwhile.
    let comments = format!("/repos/acme/churn/issues/{KILLED_ISSUE}/comments");
    github.inject(Method::GET, &comments, Fault::Slow(Duration::from_secs(60)));
    let settings = [
        ("DATABASE_URL", url.as_str()),
        ("DSLP_JOB_LEASE_SECONDS", "2"),
        ("DSLP_REDELIVER_EVERY", "1"),
    ];
    let mut servers = Vec::new();
    for dir in &dirs {
        servers.push(Some(Server::start(&github, dir.path(), &settings).await));
    }
    // 100 issues, each opened then edited twice: 300 deliveries, round
    // robin; every tenth sent again to the next replica.
    let mut sent = 0;
    for round in 0..3 {
        for number in 100..100 + ISSUES {
            let action = if round == 0 { "opened" } else { "edited" };
            let id = format!("d-{number}-{round}");
            let payload = experiment_issue(number, action);
            let to = (sent % 3) as usize;
            let server = servers[to].as_ref().unwrap();
            assert_eq!(server.deliver("issues", &id, &payload).await.0, 202, "{id}");
            if sent % 10 == 0 {
                let again = servers[(to + 1) % 3].as_ref().unwrap();
                assert_eq!(
                    again.deliver("issues", &id, &payload).await,
                    (200, "already received\n".into()),
                    "a redelivery to another replica"
                );
            }
            sent += 1;
        }
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let killed = kill_the_replica_running(&pool, &mut servers).await;
    all_done(&pool, &servers).await;
    // The killed replica's job: claimed again elsewhere, done once.
    let key = format!("acme/churn#{KILLED_ISSUE}");
    let attempts: Vec<i64> =
        sqlx::query("SELECT attempts FROM jobs WHERE key = $1 AND attempts > 1")
            .bind(&key)
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(attempts, vec![2], "the killed job ran again, once");
    for number in 100..100 + ISSUES {
        let on_issue = github.comments_on(number);
        assert_eq!(on_issue.len(), 1, "issue #{number}: {on_issue:?}");
        assert!(on_issue[0].body.contains("R13"), "{}", on_issue[0].body);
    }
    let delivered: i64 = sqlx::query("SELECT COUNT(*) FROM deliveries")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(delivered, 300);
    one_leader_sweeps(&github, &servers, killed).await;
    github.assert_no_violations();
}

/// Waits for the slow issue's job to run, and kills its replica.
async fn kill_the_replica_running(pool: &sqlx::PgPool, servers: &mut [Option<Server>]) -> usize {
    let key = format!("acme/churn#{KILLED_ISSUE}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let holder = loop {
        let row = sqlx::query("SELECT leased_by FROM jobs WHERE key = $1 AND state = 'running'")
            .bind(&key)
            .fetch_optional(pool)
            .await
            .unwrap();
        if let Some(row) = row {
            break row.get::<String, _>(0);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slow job never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let pid: u32 = holder.rsplit(':').next().unwrap().parse().unwrap();
    let index = servers
        .iter()
        .position(|s| s.as_ref().is_some_and(|s| s.pid() == pid))
        .expect("the lease names one of the replicas");
    servers[index].as_mut().unwrap().kill();
    index
}

async fn all_done(pool: &sqlx::PgPool, servers: &[Option<Server>]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let states: Vec<(String, i64)> =
            sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        if states == vec![("done".to_string(), 300)] {
            return;
        }
        let logs: Vec<String> = servers.iter().flatten().map(|s| s.log()).collect();
        assert!(
            std::time::Instant::now() < deadline,
            "jobs not all done: {states:?}\n{}",
            logs.join("\n----\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Exactly one live replica leads, and the sweep runs.
async fn one_leader_sweeps(
    github: &crate::fake_github::FakeGitHub,
    servers: &[Option<Server>],
    killed: usize,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let alive: Vec<Option<&Server>> = (0..servers.len())
            .map(|i| {
                if i == killed {
                    None
                } else {
                    servers[i].as_ref()
                }
            })
            .collect();
        let led = leaders(servers);
        let live_leaders = led.iter().filter(|i| alive[**i].is_some()).count();
        if live_leaders == 1 {
            // Before the kill, one replica led; a second only if the first was killed.
            assert!(
                led.len() == 1 || (led.len() == 2 && led.contains(&killed)),
                "{led:?}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "leaders: {led:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sweeps = github
        .world
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.starts_with("GET /app/hook/deliveries"))
        .count();
    assert!(sweeps >= 1, "the leader sweeps");
}

/// A load balancer's health check fails on a replica that cannot reach
/// its store, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_when_the_replica_cannot_reach_postgresql() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&github, dir.path(), &[("DATABASE_URL", url.as_str())]).await;
    assert_eq!(server.get("/healthz").await.unwrap().0, 200);
    let (admin, name) = url.rsplit_once('/').unwrap();
    let mut connection =
        <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{admin}/postgres"))
            .await
            .unwrap();
    // The name is the test's own.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut connection)
    .await
    .unwrap();
    let (status, body) = server.get("/healthz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("store"), "{body}");
    let (status, _) = server
        .deliver("issues", "after-drop", &experiment_issue(7, "opened"))
        .await;
    assert_eq!(
        status, 503,
        "a delivery it cannot store is refused, for GitHub to send again"
    );
}
