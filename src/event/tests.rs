//! Reading GitHub's payloads into events.

use super::*;

fn example(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/github/webhooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The queue keeps the event read at intake; a job an older dslp-bot
/// queued kept GitHub's payload cut down, and still reads.
#[test]
fn a_stored_event_reads_back_and_so_does_an_older_jobs_payload() {
    for (name, file) in [
        ("pull_request", "pull_request.synchronize"),
        ("issues", "issues.opened"),
        ("issue_comment", "issue_comment.created"),
        ("check_suite", "check_suite.rerequested"),
        ("push", "push"),
    ] {
        let parsed = parse_delivery(name, &example(file)).unwrap();
        assert_eq!(
            Event::from_stored(name, &parsed.stored).unwrap(),
            parsed.event
        );
        let payload: Payload = serde_json::from_slice(&example(file)).unwrap();
        let older = serde_json::to_vec(&payload).unwrap();
        assert_eq!(
            Event::from_stored(name, &older).unwrap(),
            parsed.event,
            "{name}"
        );
    }
}

#[test]
fn actions_are_read_into_types_and_unknown_ones_ignored() {
    let mut payload: serde_json::Value =
        serde_json::from_slice(&example("pull_request.opened")).unwrap();
    payload["action"] = "assigned".into();
    let event = parse("pull_request", payload.to_string().as_bytes()).unwrap();
    assert!(matches!(event, Event::Ignored { .. }), "{event:?}");
    payload["action"] = "reopened".into();
    match parse("pull_request", payload.to_string().as_bytes()).unwrap() {
        Event::PullRequest(pr) => assert_eq!(pr.action, PullAction::Reopened),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_compute_dispatch_is_an_evaluation_or_with_release_true_a_release() {
    let dispatch = |inputs: serde_json::Value| {
        let payload = serde_json::json!({
            "inputs": inputs,
            "ref": "refs/heads/main",
            "repository": {"full_name": "acme/churn"},
        });
        parse("workflow_dispatch", payload.to_string().as_bytes()).unwrap()
    };
    let sha = "a".repeat(40);
    match dispatch(serde_json::json!({"pull_request": "12", "head_sha": sha})) {
        Event::Rerequested {
            pulls, head_sha, ..
        } => assert_eq!((pulls, head_sha), (vec![12], sha.clone())),
        other => panic!("{other:?}"),
    }
    match dispatch(serde_json::json!({"pull_request": "20", "head_sha": sha, "release": "true"})) {
        Event::ReleaseDispatched {
            pull, merge_sha, ..
        } => assert_eq!((pull, merge_sha), (20, sha.clone())),
        other => panic!("{other:?}"),
    }
    let release_false =
        serde_json::json!({"pull_request": "20", "head_sha": sha, "release": "false"});
    assert!(matches!(dispatch(release_false), Event::Rerequested { .. }));
    // Without a pull request it is a scheduled run (monitoring).
    assert!(matches!(
        dispatch(serde_json::json!({})),
        Event::Scheduled { .. }
    ));
}
