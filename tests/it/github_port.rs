//! The octocrab implementation of the GitHub port against the fake GitHub.

use std::time::{Duration, Instant};

use axum::http::Method;
use dslp_bot::github::octo::OctocrabGitHub;
use dslp_bot::github::retry::RetryPolicy;
use dslp_bot::github::{
    self, Annotation, AnnotationLevel, CheckRun, Conclusion, GitHub, IssueUpdate,
};
use dslp_bot::handler::execute::{self, Published};
use dslp_bot::lifecycle::labels::DSLP_LABELS;
use dslp_bot::lifecycle::links::RepoName;

use crate::fake_github::{FakeGitHub, Fault};

fn client(github: &FakeGitHub) -> OctocrabGitHub {
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    OctocrabGitHub::new(&github.url, "test-token", policy).unwrap()
}

fn repo() -> RepoName {
    RepoName::parse("acme/churn").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_round_trips() {
    let fake = FakeGitHub::start().await;
    fake.add_pull_request(12, "Boosting", &["data/churn.csv", "model.py"]);
    fake.world.lock().unwrap().files.insert(
        ("data/churn.csv".into(), "main".into()),
        b"a,b\n1,2\n".to_vec(),
    );
    let gh = client(&fake);
    let repo = repo();

    assert_eq!(
        gh.pull_files(&repo, 12).await.unwrap(),
        vec!["data/churn.csv", "model.py"]
    );
    assert_eq!(gh.pull(&repo, 12).await.unwrap().number, 12);
    assert_eq!(
        gh.file_at(&repo, "data/churn.csv", "main")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"a,b\n1,2\n"[..])
    );
    assert_eq!(
        gh.file_at(&repo, "data/other.csv", "main").await.unwrap(),
        None
    );
    gh.update_issue(
        &repo,
        12,
        &IssueUpdate {
            body: Some("new body".into()),
            ..IssueUpdate::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        gh.issue(&repo, 12).await.unwrap().body.as_deref(),
        Some("new body")
    );
    gh.add_labels(&repo, 12, &["Explore".to_string(), "on hold".to_string()])
        .await
        .unwrap();
    gh.remove_label(&repo, 12, "on hold").await.unwrap();
    let labels: Vec<String> = gh
        .issue(&repo, 12)
        .await
        .unwrap()
        .labels
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(labels, vec!["Explore"]);

    for label in DSLP_LABELS {
        gh.ensure_label(&repo, &label).await.unwrap();
    }
    let before = fake.world.lock().unwrap().requests.len();
    for label in DSLP_LABELS {
        gh.ensure_label(&repo, &label).await.unwrap();
    }
    let requests = fake.world.lock().unwrap().requests[before..].to_vec();
    assert_eq!(
        requests.len(),
        11,
        "an up-to-date label is only read: {requests:?}"
    );
    assert_eq!(
        fake.world.lock().unwrap().labels["blocked - need access"]["color"],
        "ed9a53"
    );

    let first = execute::upsert_comment(&gh, &repo, 12, "<!-- m -->", "<!-- m -->\none")
        .await
        .unwrap();
    let second = execute::upsert_comment(&gh, &repo, 12, "<!-- m -->", "<!-- m -->\ntwo")
        .await
        .unwrap();
    assert_eq!(first, second);
    let comments = fake.comments_on(12);
    assert_eq!(
        (comments.len(), comments[0].edits, comments[0].body.as_str()),
        (1, 1, "<!-- m -->\ntwo")
    );
    fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_fifty_annotations_go_in_batches() {
    let fake = FakeGitHub::start().await;
    let gh = client(&fake);
    let annotations: Vec<Annotation> = (1..=120)
        .map(|i| Annotation {
            path: "data/churn.csv".into(),
            start_line: i,
            end_line: i,
            annotation_level: AnnotationLevel::Failure,
            message: format!("row {i} is out of range"),
            title: "tenure: range".into(),
        })
        .collect();
    let run = CheckRun {
        name: "dslp".into(),
        head_sha: "a".repeat(40),
        conclusion: Conclusion::Failure,
        title: "NO-GO".into(),
        summary: "- data checks failed".into(),
        text: "x".repeat(80_000),
        annotations,
    };
    let published = execute::publish_check(&gh, &repo(), &run).await.unwrap();
    assert!(matches!(published, Published::CheckRun(_)));
    let runs = fake.check_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].annotations, 120);
    assert!(
        runs[0].text.chars().count() <= 65_535,
        "the text was not cut to GitHub's limit"
    );
    let requests = fake.world.lock().unwrap().requests.clone();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("PATCH") && r.contains("/check-runs/"))
            .count(),
        2
    );
    fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_as_github_asks() {
    let fake = FakeGitHub::start().await;
    fake.add_pull_request(3, "x", &[]);
    fake.inject(
        Method::GET,
        "/issues/3",
        Fault::RateLimited { retry_after: 1 },
    );
    let gh = client(&fake);
    let started = Instant::now();
    assert_eq!(gh.issue(&repo(), 3).await.unwrap().number, 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    fake.inject(
        Method::GET,
        "/issues/3",
        Fault::RateLimited { retry_after: 3600 },
    );
    let limited = gh.issue(&repo(), 3).await.unwrap_err();
    assert!(
        matches!(limited, github::GitHubError::RateLimited { .. }),
        "{limited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_times_out_is_retried_when_safe() {
    let fake = FakeGitHub::start().await;
    fake.add_pull_request(4, "x", &[]);
    fake.inject(
        Method::GET,
        "/issues/4",
        Fault::Slow(Duration::from_secs(5)),
    );
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(5),
        call_timeout: Duration::from_millis(300),
        ..RetryPolicy::default()
    };
    let gh = OctocrabGitHub::new(&fake.url, "test-token", policy).unwrap();
    let started = Instant::now();
    assert_eq!(gh.issue(&repo(), 4).await.unwrap().number, 4);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the slow answer was waited for"
    );
    // A create that times out is not resent blindly: the caller checks first.
    fake.inject(
        Method::POST,
        "/issues/4/comments",
        Fault::Slow(Duration::from_secs(5)),
    );
    let id = execute::upsert_comment(&gh, &repo(), 4, "<!-- t -->", "<!-- t -->\nbody")
        .await
        .unwrap();
    assert!(id > 0);
    assert_eq!(fake.comments_on(4).len(), 1);
}

/// Lists follow GitHub's `Link: rel="next"` to the last page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_a_list_is_read() {
    let fake = FakeGitHub::start().await;
    for number in 1..=250 {
        fake.add_pull_request(number, "x", &[]);
    }
    let files: Vec<String> = (0..230).map(|i| format!("data/{i}.csv")).collect();
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    fake.add_pull_request(251, "many files", &names);
    let gh = client(&fake);
    assert_eq!(gh.issues(&repo()).await.unwrap().len(), 251);
    assert_eq!(gh.pull_files(&repo(), 251).await.unwrap(), files);
    let pages = fake
        .world
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.contains("/issues") && !r.contains("/issues/"))
        .count();
    assert_eq!(pages, 3, "100 a page");
    fake.assert_no_violations();
}
