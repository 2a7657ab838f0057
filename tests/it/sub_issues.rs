//! Sub-issues through the Action and the fake GitHub: an Experiment that
//! refers to its Ask becomes the Ask's sub-issue; edited away, the link
//! goes; a parent a person chose (not an Ask) is left alone; where GitHub
//! has no sub-issues, a warning and nothing else.

use std::path::Path;

use axum::http::Method;
use serde_json::Value;

use crate::action_e2e::run_action;
use crate::fake_github::{FakeGitHub, Fault};
use crate::support::{fixture, git};

async fn fake() -> FakeGitHub {
    let github = FakeGitHub::start().await;
    github.with_demo_issues();
    github
}

/// `issues.edited` for Experiment #6 with `body`, which the fake holds too.
fn edited(github: &FakeGitHub, dir: &Path, body: &str) -> std::path::PathBuf {
    let issue = {
        let mut world = github.world.lock().unwrap();
        let issue = world.issues.get_mut(&6).unwrap();
        issue["body"] = body.into();
        issue.clone()
    };
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("github/webhooks/issues.edited.json")).unwrap(),
    )
    .unwrap();
    event["repository"]["full_name"] = "acme/churn".into();
    event["issue"]["number"] = 6.into();
    event["issue"]["title"] = issue["title"].clone();
    event["issue"]["body"] = body.into();
    event["issue"]["labels"] = issue["labels"].clone();
    let path = dir.join("edited.json");
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

/// Experiment #6 edited to `body`, and the Action run on it.
async fn edit(github: &FakeGitHub, dir: &Path, body: &str) -> crate::action_e2e::ActionRun {
    run_action(github, dir, &edited(github, dir, body), "issues").await
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::copy(
        fixture("demo/.github/dslp.yml"),
        dir.path().join(".github/dslp.yml"),
    )
    .unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "config"]);
    dir
}

#[tokio::test]
async fn an_experiment_is_its_asks_sub_issue_until_the_reference_is_edited_away() {
    let dir = workspace();
    let github = fake().await;
    let body = github.world.lock().unwrap().issues[&6]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(body.contains("### Ask Reference\n\n#1"));
    edit(&github, dir.path(), &body).await;
    assert_eq!(github.world.lock().unwrap().parents.get(&6), Some(&1));
    // Again: nothing changes, nothing is sent.
    edit(&github, dir.path(), &body).await;
    let posts = github
        .world
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.starts_with("POST") && r.contains("/sub_issues"))
        .count();
    assert_eq!(posts, 1, "linked once");
    // The reference edited away: unlinked.
    let without = body.replace(
        "### Ask Reference\n\n#1",
        "### Ask Reference\n\n_No response_",
    );
    edit(&github, dir.path(), &without).await;
    assert_eq!(github.world.lock().unwrap().parents.get(&6), None);
    // A person put it under Explore #4: not the bot's to change.
    github.world.lock().unwrap().parents.insert(6, 4);
    edit(&github, dir.path(), &body).await;
    assert_eq!(github.world.lock().unwrap().parents.get(&6), Some(&4));
    github.assert_no_violations();
}

#[tokio::test]
async fn without_sub_issues_on_the_server_the_issue_is_still_checked() {
    let dir = workspace();
    let github = fake().await;
    // An older GitHub Enterprise Server: no such route.
    github.inject(Method::GET, "/parent", Fault::Status(404));
    github.inject(Method::POST, "/sub_issues", Fault::Status(404));
    let body = github.world.lock().unwrap().issues[&6]["body"]
        .as_str()
        .unwrap()
        .to_string();
    let run = edit(&github, dir.path(), &body).await;
    assert!(run.code <= 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("sub-issues are not available here"),
        "{}",
        run.stderr
    );
    assert_eq!(github.world.lock().unwrap().parents.get(&6), None);
}

/// An issue a person put under the Ask on GitHub, without referring to it,
/// is among the Ask's linked issues: the tree is one more source of links.
#[tokio::test]
async fn the_asks_section_lists_its_sub_issues_too() {
    let dir = workspace();
    let github = fake().await;
    let body = {
        let mut world = github.world.lock().unwrap();
        let mut stray = world.issues[&4].clone();
        stray["number"] = 20.into();
        stray["id"] = 20_020.into();
        stray["title"] = "Holiday effects".into();
        stray["body"] = "## Overview\nNo Ask named here.\n".into();
        world.issues.insert(20, stray);
        world.parents.insert(20, 1);
        world.issues[&6]["body"].as_str().unwrap().to_string()
    };
    edit(&github, dir.path(), &body).await;
    let ask = github.world.lock().unwrap().issues[&1]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ask.contains("- #20 Holiday effects"), "{ask}");
    github.assert_no_violations();
}
