//! GitHub-native set-up, through the fake GitHub: an issue goes on the
//! organisation's project with its `Stage` (the field made once, the
//! project found by number or title; a personal account gets a warning);
//! installation creates the organisation's missing issue types once; a
//! repository's config switches its rulesets on, and a policy change pushed
//! to the default branch reaches them.

use std::path::Path;

use serde_json::Value;

use crate::action_e2e::{ActionRun, run_action};
use crate::fake_github::FakeGitHub;
use crate::fake_github::fake_projects::Project;
use crate::support::{fixture, git};

/// A workspace whose config puts issues on `project`.
fn workspace(project: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    let config = std::fs::read_to_string(fixture("demo/.github/dslp.yml")).unwrap();
    std::fs::write(
        dir.path().join(".github/dslp.yml"),
        format!("{config}\nautomations:\n  project: {project}\n"),
    )
    .unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "config"]);
    dir
}

/// `issues.edited` for issue `number` as the fake holds it, run through the Action.
async fn edited(github: &FakeGitHub, dir: &Path, number: u64) -> ActionRun {
    let issue = github.world.lock().unwrap().issues[&number].clone();
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("github/webhooks/issues.edited.json")).unwrap(),
    )
    .unwrap();
    event["repository"]["full_name"] = "acme/churn".into();
    for key in ["number", "title", "body", "labels", "state"] {
        event["issue"][key] = issue[key].clone();
    }
    let path = dir.join(format!("edited-{number}.json"));
    std::fs::write(&path, event.to_string()).unwrap();
    run_action(github, dir, &path, "issues").await
}

async fn organisation(title: &str) -> FakeGitHub {
    let github = FakeGitHub::start().await;
    github.with_demo_issues();
    github.world.lock().unwrap().projects.insert(
        3,
        Project {
            title: title.into(),
            ..Project::default()
        },
    );
    github
}

#[tokio::test]
async fn issues_go_on_the_board_at_their_stage_and_the_field_is_made_once() {
    let github = organisation("DSLP").await;
    let dir = workspace("3");
    let run = edited(&github, dir.path(), 6).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    edited(&github, dir.path(), 1).await;
    edited(&github, dir.path(), 6).await;
    let world = github.world.lock().unwrap();
    let project = &world.projects[&3];
    assert_eq!(project.fields.len(), 1, "the Stage field, made once");
    let options: Vec<&str> = project.fields[0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"]["raw"].as_str().unwrap())
        .collect();
    assert_eq!(
        options,
        [
            "Ask",
            "Data",
            "Explore",
            "Experiment",
            "Model",
            "Released",
            "Monitoring"
        ]
    );
    assert_eq!(
        project.items.len(),
        2,
        "one item per issue: {:?}",
        project.items
    );
    assert_eq!(project.stage_of(6).as_deref(), Some("Experiment"));
    assert_eq!(project.stage_of(1).as_deref(), Some("Ask"));
    drop(world);
    github.assert_no_violations();
}

#[tokio::test]
async fn a_project_is_found_by_its_title() {
    let github = organisation("Churn lifecycle").await;
    let dir = workspace("\"Churn lifecycle\"");
    edited(&github, dir.path(), 6).await;
    let stage = github.world.lock().unwrap().projects[&3].stage_of(6);
    assert_eq!(stage.as_deref(), Some("Experiment"));
    github.assert_no_violations();
}

#[tokio::test]
async fn a_personal_account_without_projects_gets_a_warning_and_the_labels() {
    let github = FakeGitHub::start().await;
    github.with_demo_issues();
    let dir = workspace("3");
    let run = edited(&github, dir.path(), 6).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the project board is not available here"),
        "{}",
        run.stderr
    );
    github.assert_no_violations();
}

/// Installed on an organisation with two of DSLP's five issue types: the
/// App creates the other three, and a second installation creates none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installation_creates_the_missing_issue_types_once() {
    use crate::app_e2e::{Server, app_host, eventually, example};
    let github = app_host().await;
    {
        let mut world = github.world.lock().unwrap();
        world.org_issue_types = Some(vec!["Bug".into(), "Ask".into(), "model".into()]);
        // The rest of the set-up reads the default branch.
        world.branches.insert("main".into(), "3".repeat(40));
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&github, dir.path(), &[("DSLP_ISSUE_TYPES", "act")]).await;
    let mut installed = example("installation.created");
    installed["repositories"] =
        serde_json::json!([{"full_name": "acme/churn"}, {"full_name": "acme/forecast"}]);
    server.deliver("installation", "types-1", &installed).await;
    let types = |github: &FakeGitHub| {
        github
            .world
            .lock()
            .unwrap()
            .org_issue_types
            .clone()
            .unwrap()
    };
    eventually("the issue types", &server, || {
        Some(types(&github)).filter(|t| t.len() == 6)
    })
    .await;
    assert_eq!(
        types(&github),
        ["Bug", "Ask", "model", "Data", "Explore", "Experiment"]
    );
    server.deliver("installation", "types-2", &installed).await;
    eventually("the second installation's job", &server, || {
        let requests = github.world.lock().unwrap().requests.clone();
        (requests
            .iter()
            .filter(|r| r.starts_with("GET /orgs/acme/issue-types"))
            .count()
            >= 2)
            .then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(types(&github).len(), 6, "none twice");
    assert!(!server.log().contains("job failed"), "{}", server.log());
    github.assert_no_violations();
}

/// The repository's own config switches its rulesets on (the server's
/// default is off); a push to the default branch that changes a branch
/// policy brings the App's ruleset up to date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repositorys_config_keeps_its_rulesets_and_a_policy_change_reaches_them() {
    use crate::app_e2e::{Server, app_host, eventually, example};
    let github = app_host().await;
    let config =
        |policy: &str| format!("version: 1\n{policy}automations:\n  rulesets: act\n").into_bytes();
    {
        let mut world = github.world.lock().unwrap();
        world.may_administer = true;
        world.branches.insert("main".into(), "3".repeat(40));
        for reference in ["", "main"] {
            world
                .files
                .insert((".github/dslp.yml".into(), reference.into()), config(""));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&github, dir.path(), &[]).await;
    let mut installed = example("installation.created");
    installed["repositories"] = serde_json::json!([{"full_name": "acme/churn"}]);
    server.deliver("installation", "rules-1", &installed).await;
    let pattern = |github: &FakeGitHub| -> Option<String> {
        let world = github.world.lock().unwrap();
        let names = world
            .rulesets
            .iter()
            .find(|r| r["name"] == "dslp: branch names")?;
        names["rules"][0]["parameters"]["pattern"]
            .as_str()
            .map(String::from)
    };
    let before = eventually("the rulesets", &server, || pattern(&github)).await;
    assert!(before.contains("experiment/"), "{before}");
    let renamed =
        "policies:\n  experiment:\n    pattern: '^trial/(?P<number>[0-9]+)-(?P<slug>.+)$'\n";
    {
        let mut world = github.world.lock().unwrap();
        for reference in ["", "main"] {
            world.files.insert(
                (".github/dslp.yml".into(), reference.into()),
                config(renamed),
            );
        }
    }
    let mut push = example("push");
    push["repository"]["full_name"] = "acme/churn".into();
    push["ref"] = "refs/heads/main".into();
    push["after"] = "4".repeat(40).into();
    push["created"] = false.into();
    push["deleted"] = false.into();
    assert_eq!(server.deliver("push", "rules-push", &push).await.0, 202);
    let after = eventually("the ruleset brought up to date", &server, || {
        pattern(&github).filter(|p| p.contains("trial/"))
    })
    .await;
    assert!(!after.contains("experiment/"), "{after}");
    assert_eq!(
        github.world.lock().unwrap().rulesets.len(),
        2,
        "updated, not added"
    );
    github.assert_no_violations();
}
