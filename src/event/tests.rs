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
