//! The SQLite store: its intake journal, its queue, its restarts.

use std::path::Path;

use super::*;
use crate::app::intake::journal::Journal;
use crate::app::intake::recorder::journal_path;

fn delivery(id: &str, key: &str, evaluates: bool) -> NewDelivery {
    NewDelivery {
        id: id.into(),
        event: "pull_request".into(),
        action: Some("synchronize".into()),
        installation: Some(7),
        job: Some(NewJob {
            key: key.into(),
            evaluates,
            payload: b"{}".to_vec(),
        }),
    }
}

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url(dir.path(), "t.db")).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_delivery_is_recorded_once() {
    let (_dir, store) = store().await;
    assert_eq!(
        store.record(delivery("a", "o/r#1", true)).await.unwrap(),
        Recorded::New
    );
    assert_eq!(
        store.record(delivery("a", "o/r#1", true)).await.unwrap(),
        Recorded::Duplicate
    );
    store.flush().await.unwrap();
    assert_eq!(
        store.jobs_by_state().await.unwrap(),
        vec![("queued".into(), 1)]
    );
}

#[tokio::test]
async fn a_newer_evaluation_supersedes_a_queued_one_and_keys_run_one_at_a_time() {
    let (_dir, store) = store().await;
    store.record(delivery("a", "o/r#1", true)).await.unwrap();
    store.record(delivery("b", "o/r#1", true)).await.unwrap();
    store.record(delivery("c", "o/r#1", false)).await.unwrap();
    store.record(delivery("d", "o/r#2", true)).await.unwrap();
    store.flush().await.unwrap();
    let first = store.claim().await.unwrap().unwrap();
    assert_eq!(first.key, "o/r#1");
    // #1 is running: the next claim skips its queued comment job.
    let second = store.claim().await.unwrap().unwrap();
    assert_eq!(second.key, "o/r#2");
    assert!(store.claim().await.unwrap().is_none());
    store.finish(&first).await.unwrap();
    let third = store.claim().await.unwrap().unwrap();
    assert_eq!((third.key.as_str(), third.id), ("o/r#1", 3));
    let states = store.jobs_by_state().await.unwrap();
    assert!(states.contains(&("superseded".into(), 1)), "{states:?}");
}

#[tokio::test]
async fn running_jobs_are_queued_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = url(dir.path(), "t.db");
    let store = Store::open(&url).await.unwrap();
    store.record(delivery("a", "o/r#1", true)).await.unwrap();
    store.flush().await.unwrap();
    let job = store.claim().await.unwrap().unwrap();
    assert_eq!(job.attempts, 1);
    store.close().await;
    let store = Store::open(&url).await.unwrap();
    let again = store.claim().await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (job.id, 2));
}

/// Answered deliveries reach the queue on their own within moments,
/// and a close commits what is still waiting and empties the journal.
#[tokio::test]
async fn answered_deliveries_are_committed_by_the_timer_and_at_close() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_small_journal(dir.path(), 1 << 16).await;
    let queued = store.queued.clone();
    let woken = queued.notified();
    store.record(delivery("a", "o/r#1", true)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .expect("the workers are woken once the job is committed");
    assert_eq!(
        store.jobs_by_state().await.unwrap(),
        vec![("queued".into(), 1)]
    );
    store.record(delivery("b", "o/r#2", true)).await.unwrap();
    store.close().await;
    let inspected = Store::inspect(&url(dir.path(), "t.db")).await.unwrap();
    assert_eq!(inspected.delivery_count().await.unwrap(), 2);
    // The next start has nothing to read again.
    let journal = journal_path(&dir.path().join("t.db"));
    let (_, held) = Journal::open(&journal, 1 << 16, |_| Ok(())).unwrap();
    assert_eq!(held, 0);
}

/// A redelivery is known whether its first copy waits for the
/// committer, is being committed, or is committed: with a commit every
/// millisecond, copies sent at every distance from their first are
/// each a duplicate, and each delivery is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_is_a_duplicate_at_every_moment_of_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let journaling = Journaling {
        commit_every: Duration::from_millis(1),
        ..small_journal(4 << 20)
    };
    let store = std::sync::Arc::new(
        Store::open_journaled(&url(dir.path(), "t.db"), journaling, DEFAULT_LEASE)
            .await
            .unwrap(),
    );
    let sent = 600;
    let senders: Vec<_> = (0..4)
        .map(|lane| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for i in (lane..sent).step_by(4) {
                    let id = format!("d{i}");
                    let key = format!("o/r#{i}");
                    outcomes.push(store.record(delivery(&id, &key, true)).await.unwrap());
                    // Later copies, further and further from the first.
                    tokio::time::sleep(Duration::from_micros((i % 7) as u64 * 300)).await;
                    outcomes.push(store.record(delivery(&id, &key, true)).await.unwrap());
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for sender in senders {
        outcomes.extend(sender.await.unwrap());
    }
    let new = outcomes.iter().filter(|o| **o == Recorded::New).count();
    assert_eq!((new, outcomes.len() - new), (sent, sent));
    store.flush().await.unwrap();
    assert_eq!(store.delivery_count().await.unwrap(), sent as i64);
    assert_eq!(
        store.jobs_by_state().await.unwrap(),
        vec![("queued".into(), sent as i64)]
    );
}

/// The store `t.db` in `dir`, with a journal of `journal_bytes`.
async fn with_small_journal(dir: &Path, journal_bytes: u64) -> Store {
    Store::open_journaled(
        &url(dir, "t.db"),
        small_journal(journal_bytes),
        DEFAULT_LEASE,
    )
    .await
    .unwrap()
}

fn small_journal(journal_bytes: u64) -> Journaling {
    Journaling {
        journal_bytes,
        ..Journaling::default()
    }
}

fn url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// What a power cut can leave: a journal whose deliveries the database
/// never got. They are recorded at start, once, in their order.
#[tokio::test]
async fn deliveries_only_in_the_journal_are_recorded_at_start_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("t.db");
    let (mut journal, _) = Journal::open(&journal_path(&database), 1 << 16, |_| Ok(())).unwrap();
    let mut records = Vec::new();
    for d in [
        delivery("a", "o/r#1", true),
        delivery("b", "o/r#1", true),
        NewDelivery {
            job: None,
            ..delivery("ping", "", false)
        },
    ] {
        Journal::encode(&d, &mut records);
    }
    journal.append(&mut records, || ()).unwrap();
    drop(journal);
    let store = Store::open(&url(dir.path(), "t.db")).await.unwrap();
    assert_eq!(store.delivery_count().await.unwrap(), 3);
    let states = store.jobs_by_state().await.unwrap();
    assert_eq!(
        states,
        vec![("queued".into(), 1), ("superseded".into(), 1)],
        "the journal's order is kept: b supersedes a"
    );
    store.close().await;
    let store = Store::open(&url(dir.path(), "t.db")).await.unwrap();
    assert_eq!(store.delivery_count().await.unwrap(), 3);
    assert_eq!(store.jobs_by_state().await.unwrap(), states);
}

/// The journal of a running store holds what it answered since the
/// last time the database was made durable: a fresh database given
/// only that journal gets exactly those deliveries.
#[tokio::test]
async fn a_full_journal_starts_again_once_the_database_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_small_journal(dir.path(), 8 << 10).await;
    for i in 0..100 {
        store
            .record(delivery(&format!("d-{i:03}"), &format!("o/r#{i}"), true))
            .await
            .unwrap();
    }
    store.flush().await.unwrap();
    assert_eq!(store.delivery_count().await.unwrap(), 100);
    let journal = journal_path(&dir.path().join("t.db"));
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), 8 << 10);
    std::fs::copy(&journal, journal_path(&dir.path().join("u.db"))).unwrap();
    let fresh = Store::open(&url(dir.path(), "u.db")).await.unwrap();
    let held = fresh.delivery_count().await.unwrap();
    assert!(0 < held && held < 100, "{held} deliveries in the journal");
    // The latest ones, with no gap: both sides, the older first.
    for i in 0..100 {
        let id = format!("d-{i:03}");
        assert_eq!(fresh.has_delivery(&id).await.unwrap(), i >= 100 - held);
    }
    // The store itself lost nothing at the restarts.
    store.close().await;
    let store = with_small_journal(dir.path(), 8 << 10).await;
    assert_eq!(store.delivery_count().await.unwrap(), 100);
    assert_eq!(
        store.jobs_by_state().await.unwrap(),
        vec![("queued".into(), 100)]
    );
}

/// A delivery larger than a side of the journal is made durable in
/// the database before its answer, and the journal goes on.
#[tokio::test]
async fn a_delivery_larger_than_a_side_of_the_journal_is_synced_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_small_journal(dir.path(), 8 << 10).await;
    store
        .record(delivery("small", "o/r#1", true))
        .await
        .unwrap();
    let mut large = delivery("large", "o/r#2", true);
    large.job.as_mut().unwrap().payload = vec![b' '; 6 << 10];
    assert_eq!(store.record(large).await.unwrap(), Recorded::New);
    store
        .record(delivery("after", "o/r#3", true))
        .await
        .unwrap();
    // What a kill leaves: the journal, and a database without a sync.
    let journal = journal_path(&dir.path().join("t.db"));
    let (_, held) = Journal::open(&journal, 8 << 10, |_| Ok(())).unwrap();
    assert_eq!(held, 2, "the small ones are in the journal");
    let inspected = Store::inspect(&url(dir.path(), "t.db")).await.unwrap();
    assert!(inspected.has_delivery("large").await.unwrap());
    store.close().await;
}

#[tokio::test]
async fn a_failed_attempt_waits_its_delay() {
    let (_dir, store) = store().await;
    store.record(delivery("a", "o/r#1", true)).await.unwrap();
    store.flush().await.unwrap();
    let job = store.claim().await.unwrap().unwrap();
    store
        .retry_or_fail(&job, "502", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(store.claim().await.unwrap().is_none());
    assert!(store.next_ready_at().await.unwrap().unwrap() > now_ms() + 50_000);
}
