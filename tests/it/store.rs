//! The App's store, the same contract on SQLite and on a real PostgreSQL;
//! and what sharing PostgreSQL between replicas adds (each replica here is
//! a `Store` of its own on one database): duplicates across replicas,
//! leases that run out, one claim per job, fairness between
//! installations, a shared rate limit, one leader.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dslp_bot::app::intake::recorder::Journaling;
use dslp_bot::app::store::{DEFAULT_LEASE, NewDelivery, NewJob, Recorded, Run, Store, now_ms};

use crate::postgres::fresh_database;

fn delivery(id: &str, key: &str, evaluates: bool, installation: u64) -> NewDelivery {
    NewDelivery {
        id: id.into(),
        event: "pull_request".into(),
        action: Some("synchronize".into()),
        installation: Some(installation),
        job: Some(NewJob {
            key: key.into(),
            evaluates,
            payload: format!("{{\"id\":\"{id}\"}}").into_bytes(),
        }),
    }
}

/// A SQLite store in `dir`, and a PostgreSQL one when PostgreSQL is here.
async fn both(dir: &std::path::Path) -> Vec<(&'static str, Store)> {
    let sqlite = format!("sqlite://{}", dir.join("s.db").display());
    let mut stores = vec![("sqlite", Store::open(&sqlite).await.unwrap())];
    if let Some(url) = fresh_database().await {
        stores.push(("postgres", Store::open(&url).await.unwrap()));
    }
    stores
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_stores_keep_the_same_contract() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in both(dir.path()).await {
        let first = store.record(delivery("a", "o/r#1", true, 7)).await.unwrap();
        let again = store.record(delivery("a", "o/r#1", true, 7)).await.unwrap();
        assert_eq!(
            (first, again),
            (Recorded::New, Recorded::Duplicate),
            "{name}"
        );
        store.record(delivery("b", "o/r#1", true, 7)).await.unwrap();
        store
            .record(delivery("c", "o/r#1", false, 7))
            .await
            .unwrap();
        store.record(delivery("d", "o/r#2", true, 7)).await.unwrap();
        store.flush().await.unwrap();
        assert_eq!(store.delivery_count().await.unwrap(), 4, "{name}");
        assert!(store.has_delivery("c").await.unwrap() && !store.has_delivery("z").await.unwrap());
        // b superseded a; #1 runs one job at a time.
        let one = store.claim().await.unwrap().unwrap();
        let two = store.claim().await.unwrap().unwrap();
        assert_eq!(
            (one.key.as_str(), one.payload.as_slice(), two.key.as_str()),
            ("o/r#1", &b"{\"id\":\"b\"}"[..], "o/r#2"),
            "{name}"
        );
        assert!(
            store.claim().await.unwrap().is_none(),
            "{name}: c waits for b"
        );
        store.finish(&one).await.unwrap();
        let three = store.claim().await.unwrap().unwrap();
        assert_eq!(three.payload, b"{\"id\":\"c\"}", "{name}");
        store
            .retry_or_fail(&three, "502", Some(Duration::from_secs(60)))
            .await
            .unwrap();
        assert!(
            store.claim().await.unwrap().is_none(),
            "{name}: c waits its delay"
        );
        assert!(store.next_ready_at().await.unwrap().unwrap() > now_ms() + 50_000);
        store.retry_or_fail(&two, "bad config", None).await.unwrap();
        let states: BTreeMap<String, i64> =
            store.jobs_by_state().await.unwrap().into_iter().collect();
        let expected = [("done", 1), ("failed", 1), ("queued", 1), ("superseded", 1)];
        let expected: BTreeMap<String, i64> =
            expected.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        assert_eq!(states, expected, "{name}");
        ledger_and_schedules(name, &store).await;
        store.healthy().await.unwrap();
        assert!(store.lead().await.unwrap(), "{name}: a lone replica leads");
        store.close().await;
    }
}

async fn ledger_and_schedules(name: &str, store: &Store) {
    let run = Run {
        repository: "o/r".into(),
        pull_request: 12,
        head_ref: "experiment/6-boosting".into(),
        head_commit: "h".into(),
        base_commit: "b".into(),
        verdict: "GO".into(),
        metrics: serde_json::json!({"churn": {"roc_auc": 0.91}}),
        stamps: serde_json::json!({}),
    };
    store.record_run(&run).await.unwrap();
    let runs = store.runs("o/r").await.unwrap();
    assert_eq!(runs.len(), 1, "{name}");
    assert_eq!(
        (runs[0].pull_request, runs[0].metrics.clone()),
        (12, run.metrics),
        "{name}"
    );
    let week = Duration::from_secs(7 * 86_400);
    store
        .keep_schedule("o/r", Some(7), Some("https://x/o/r.git"), Some(week))
        .await
        .unwrap();
    let now = now_ms() + 1;
    let (a, b) = tokio::join!(
        store.claim_due_schedules(now),
        store.claim_due_schedules(now)
    );
    let claimed: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(claimed.len(), 1, "{name}: {claimed:?}");
    assert_eq!(claimed[0].installation, Some(7), "{name}");
    assert_eq!(claimed[0].next_run, now + week.as_millis() as i64, "{name}");
    // Not due again before a week has passed; then due once more.
    let soon = store.claim_due_schedules(now + 1000).await.unwrap();
    assert!(soon.is_empty(), "{name}: {soon:?}");
    let later = store
        .claim_due_schedules(claimed[0].next_run)
        .await
        .unwrap();
    assert_eq!(later.len(), 1, "{name}");
    // Dropped, it is never due.
    store.keep_schedule("o/r", None, None, None).await.unwrap();
    assert!(
        store
            .claim_due_schedules(i64::MAX / 2)
            .await
            .unwrap()
            .is_empty(),
        "{name}"
    );
}

/// Replicas: `n` stores on one PostgreSQL database, with `lease`.
async fn replicas(n: usize, lease: Duration) -> Option<Vec<Store>> {
    let url = fresh_database().await?;
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(
            Store::open_journaled(&url, Journaling::default(), lease)
                .await
                .unwrap(),
        );
    }
    Some(stores)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_to_another_replica_is_a_duplicate() {
    let Some(stores) = replicas(3, DEFAULT_LEASE).await else {
        return;
    };
    let mut sends = Vec::new();
    for i in 0..60 {
        for store in &stores {
            let store = store.clone();
            sends.push(tokio::spawn(async move {
                store
                    .record(delivery(&format!("d{i}"), &format!("o/r#{i}"), true, 1))
                    .await
                    .unwrap()
            }));
        }
    }
    let mut new = 0;
    for send in sends {
        new += usize::from(send.await.unwrap() == Recorded::New);
    }
    assert_eq!(new, 60, "each delivery is new on exactly one replica");
    assert_eq!(
        stores[0].jobs_by_state().await.unwrap(),
        vec![("queued".into(), 60)]
    );
}

/// Three replicas claim 120 jobs on 12 keys at once: each job is claimed
/// once, and no two jobs of a key run together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_claim_each_job_once_and_one_per_key() {
    let Some(stores) = replicas(3, DEFAULT_LEASE).await else {
        return;
    };
    for i in 0..120 {
        let key = format!("o/r@{}", i % 12);
        stores[0]
            .record(delivery(&format!("d{i}"), &key, false, 1 + i % 3))
            .await
            .unwrap();
    }
    let running = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let mut workers = Vec::new();
    for store in stores.iter().flat_map(|s| [s.clone(), s.clone()]) {
        let running = running.clone();
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            while let Some(job) = store.claim().await.unwrap() {
                assert!(
                    running.lock().unwrap().insert(job.key.clone()),
                    "{} runs twice",
                    job.key
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
                running.lock().unwrap().remove(&job.key);
                store.finish(&job).await.unwrap();
                done.push(job.id);
            }
            done
        }));
    }
    let mut done = Vec::new();
    for worker in workers {
        done.extend(worker.await.unwrap());
    }
    // A worker stops at the first empty claim: the rest are left for it.
    while let Some(job) = stores[1].claim().await.unwrap() {
        stores[1].finish(&job).await.unwrap();
        done.push(job.id);
    }
    let unique: BTreeSet<_> = done.iter().collect();
    assert_eq!((done.len(), unique.len()), (120, 120));
    assert_eq!(
        stores[2].jobs_by_state().await.unwrap(),
        vec![("done".into(), 120)]
    );
}

/// A replica that stops renewing loses its job when the lease runs out;
/// another replica takes it, and the first can neither renew nor end it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_runs_out_gives_the_job_to_another_replica() {
    let Some(stores) = replicas(2, Duration::from_millis(300)).await else {
        return;
    };
    stores[0]
        .record(delivery("a", "o/r#1", true, 1))
        .await
        .unwrap();
    let mine = stores[0].claim().await.unwrap().unwrap();
    assert!(stores[1].claim().await.unwrap().is_none(), "leased");
    assert!(stores[0].renew(&mine).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let theirs = stores[1].claim().await.unwrap().expect("the lease ran out");
    assert_eq!((theirs.id, theirs.attempts), (mine.id, 2));
    assert!(
        !stores[0].renew(&mine).await.unwrap(),
        "the first claim is stale"
    );
    stores[0].finish(&mine).await.unwrap();
    assert_eq!(
        stores[1].jobs_by_state().await.unwrap(),
        vec![("running".into(), 1)]
    );
    stores[1].finish(&theirs).await.unwrap();
    assert_eq!(
        stores[0].jobs_by_state().await.unwrap(),
        vec![("done".into(), 1)]
    );
}

/// One installation queues 40 jobs, then another queues 3: the second's
/// are claimed among the first few, not after the 40.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_installation_does_not_starve_the_others() {
    let Some(stores) = replicas(1, DEFAULT_LEASE).await else {
        return;
    };
    let store = &stores[0];
    for i in 0..40 {
        store
            .record(delivery(
                &format!("busy{i}"),
                &format!("big/r#{i}"),
                true,
                1,
            ))
            .await
            .unwrap();
    }
    for i in 0..3 {
        store
            .record(delivery(
                &format!("small{i}"),
                &format!("small/r#{i}"),
                true,
                2,
            ))
            .await
            .unwrap();
    }
    let mut order = Vec::new();
    while let Some(job) = store.claim().await.unwrap() {
        order.push(job.installation.unwrap());
        store.finish(&job).await.unwrap();
    }
    assert_eq!(order.len(), 43);
    let last_small = order.iter().rposition(|i| *i == 2).unwrap();
    assert!(last_small <= 6, "the small installation waited: {order:?}");
}

/// An installation GitHub says is nearly out of calls waits for its reset
/// on every replica; the others go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_an_installations_rate_limit() {
    let Some(stores) = replicas(2, DEFAULT_LEASE).await else {
        return;
    };
    stores[0]
        .record(delivery("a", "o/r#1", true, 1))
        .await
        .unwrap();
    stores[0]
        .record(delivery("b", "p/r#1", true, 2))
        .await
        .unwrap();
    let reset = now_ms() + 60_000;
    stores[0].keep_rate_limit(1, 12, reset).await.unwrap();
    let job = stores[1].claim().await.unwrap().unwrap();
    assert_eq!(job.installation, Some(2));
    assert!(
        stores[1].claim().await.unwrap().is_none(),
        "installation 1 waits"
    );
    // A later answer with calls left (a new hour) lets it go.
    stores[1]
        .keep_rate_limit(1, 4999, reset + 3_600_000)
        .await
        .unwrap();
    assert_eq!(
        stores[0].claim().await.unwrap().unwrap().installation,
        Some(1)
    );
}

/// One replica leads at a time; when it goes, another takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_and_another_takes_over() {
    let Some(mut stores) = replicas(3, DEFAULT_LEASE).await else {
        return;
    };
    let mut leading = Vec::new();
    for store in &stores {
        leading.push(store.lead().await.unwrap());
    }
    assert_eq!(leading.iter().filter(|l| **l).count(), 1, "{leading:?}");
    let leader = leading.iter().position(|l| *l).unwrap();
    assert!(stores[leader].lead().await.unwrap(), "it keeps leading");
    stores.remove(leader).close().await;
    let mut leading = Vec::new();
    for store in &stores {
        leading.push(store.lead().await.unwrap());
    }
    assert_eq!(leading.iter().filter(|l| **l).count(), 1, "{leading:?}");
}

#[tokio::test]
async fn an_unknown_database_url_says_which_are_known() {
    let error = Store::open("mysql://u:secret@h/db")
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("sqlite://") && error.contains("postgres://"),
        "{error}"
    );
    assert!(!error.contains("secret"), "{error}");
}

/// `dslp store copy` moves a stopped App from SQLite to PostgreSQL with
/// its ledger; a job it left running is queued again, and a second copy
/// into the same database is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_moves_the_ledger_from_sqlite_to_postgresql() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("old.db").display());
    let old = Store::open(&sqlite).await.unwrap();
    for i in 0..3 {
        old.record(delivery(&format!("d{i}"), &format!("o/r#{i}"), true, 7))
            .await
            .unwrap();
    }
    old.flush().await.unwrap();
    let running = old.claim().await.unwrap().unwrap();
    let done = old.claim().await.unwrap().unwrap();
    old.finish(&done).await.unwrap();
    ledger_and_schedules("sqlite", &old).await;
    old.keep_schedule("o/r", Some(7), None, Some(Duration::from_secs(86_400)))
        .await
        .unwrap();
    old.close().await;
    let copy = crate::support::dslp(&["store", "copy", &sqlite, &url]);
    assert_eq!(copy.code, 0, "{}", copy.stderr);
    assert_eq!(
        copy.stdout.trim(),
        "copied 3 deliveries, 3 jobs, 1 runs and 1 schedules"
    );
    let new = Store::inspect(&url).await.unwrap();
    assert!(new.has_delivery("d2").await.unwrap());
    let states: BTreeMap<String, i64> = new.jobs_by_state().await.unwrap().into_iter().collect();
    assert_eq!(states.get("queued"), Some(&2), "{states:?}");
    assert_eq!(states.get("done"), Some(&1), "{states:?}");
    let runs = new.runs("o/r").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].head_ref, "experiment/6-boosting");
    let again = new.claim().await.unwrap().unwrap();
    assert_eq!(again.key, running.key, "the job left running runs again");
    let twice = crate::support::dslp(&["store", "copy", &sqlite, &url]);
    assert_ne!(twice.code, 0);
    assert!(twice.stderr.contains("empty database"), "{}", twice.stderr);
}

/// Pushes to one pull request recorded at once by three replicas: one
/// evaluation stays queued, the newest; the others are superseded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_push_supersedes_across_replicas() {
    let Some(stores) = replicas(3, DEFAULT_LEASE).await else {
        return;
    };
    let mut sends = Vec::new();
    for i in 0..30 {
        let store = stores[i % 3].clone();
        sends.push(tokio::spawn(async move {
            store
                .record(delivery(&format!("push{i}"), "o/r#1", true, 1))
                .await
                .unwrap()
        }));
    }
    for send in sends {
        assert_eq!(send.await.unwrap(), Recorded::New);
    }
    let states: BTreeMap<String, i64> = stores[0]
        .jobs_by_state()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        (states.get("queued"), states.get("superseded")),
        (Some(&1), Some(&29)),
        "{states:?}"
    );
    let last = stores[1].claim().await.unwrap().unwrap();
    assert!(stores[2].claim().await.unwrap().is_none());
    stores[1].finish(&last).await.unwrap();
}

/// An unreachable PostgreSQL is named with its cause, the password kept out.
#[tokio::test]
async fn an_unreachable_postgresql_says_why_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://dslp:s3cret@127.0.0.1:{port}/dslp");
    let error = format!("{:#}", Store::open(&url).await.err().unwrap());
    assert!(
        error.contains("Connection refused") && error.contains("DATABASE_URL"),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");
}
