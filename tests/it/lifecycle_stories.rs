//! Lifecycle automations as stories: the real `dslp serve`, signed example
//! deliveries, and the fake GitHub. An Ask's experiments are evaluated, one
//! fails and one succeeds; the Ask keeps its leaderboard; the Model issue,
//! its branch and the retargeted pull request follow; a fork waits for
//! `ok-to-test`; a non-collaborator is refused politely; and a person
//! editing the Ask meanwhile loses nothing.

use std::path::Path;

use serde_json::{Value, json};

use crate::app_e2e::{
    Server, app_host, eventually, example, futures_lite_block, pull_request_payload,
    serve_repository,
};
use crate::fake_github::FakeGitHub;
use crate::support::git;

/// Adds `experiment/8-random-forest` as pull request 14, next to PR 12.
fn second_experiment(github: &FakeGitHub, root: &Path, base: &str) -> String {
    let work = root.join("work");
    git(&work, &["checkout", "-q", "main"]);
    git(
        &work,
        &["checkout", "-q", "-b", "experiment/8-random-forest"],
    );
    let config = std::fs::read_to_string(work.join(".github/dslp.yml"))
        .unwrap()
        .replace("params: { c: 1.0 }", "params: { c: 0.01 }");
    std::fs::write(work.join(".github/dslp.yml"), config).unwrap();
    git(&work, &["commit", "-q", "-am", "strong regularisation"]);
    let head = git(&work, &["rev-parse", "HEAD"]);
    let bare = root.join("git/acme/churn.git");
    git(
        &work,
        &[
            "push",
            "-q",
            bare.to_str().unwrap(),
            "experiment/8-random-forest",
        ],
    );
    git(&bare, &["update-ref", "refs/pull/14/head", &head]);
    let mut world = github.world.lock().unwrap();
    world
        .branches
        .insert("experiment/8-random-forest".into(), head.clone());
    world.issues.insert(14, json!({"number": 14, "title": "Random forest", "body": "For #8.", "state": "open", "labels": [], "pull_request": {"url": "x"}}));
    world.pull_files.insert(14, vec![".github/dslp.yml".into()]);
    world.pulls.insert(14, json!({
        "number": 14, "body": "For #8.", "state": "open", "merged": false, "mergeable": true, "labels": [],
        "head": {"ref": "experiment/8-random-forest", "sha": head, "repo": {"full_name": "acme/churn"}},
        "base": {"ref": "main", "sha": base, "repo": {"full_name": "acme/churn", "clone_url": format!("{}/git/acme/churn.git", github.url)}},
    }));
    head
}

fn comment(issue: u64, is_pull: bool, author: &str, body: &str) -> Value {
    let mut payload = example("issue_comment.created");
    payload["repository"]["full_name"] = "acme/churn".into();
    payload["issue"]["number"] = issue.into();
    payload["issue"]["labels"] = json!([]);
    payload["issue"]["pull_request"] = if is_pull {
        json!({"url": "x"})
    } else {
        Value::Null
    };
    payload["comment"]["body"] = body.into();
    payload["comment"]["user"]["login"] = author.into();
    payload
}

fn ask_body(github: &FakeGitHub) -> String {
    github.world.lock().unwrap().issues[&1]["body"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn labels_of(github: &FakeGitHub, issue: u64) -> Vec<String> {
    github.world.lock().unwrap().issues[&issue]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn state_of(github: &FakeGitHub, issue: u64) -> String {
    github.world.lock().unwrap().issues[&issue]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_with_a_failed_and_a_succeeded_experiment_ends_with_leaderboard_model_branch_and_retargeted_pr()
 {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head_6) = serve_repository(&github, dir.path());
    let head_8 = second_experiment(&github, dir.path(), &base);
    github
        .world
        .lock()
        .unwrap()
        .permissions
        .insert("maria".into(), "write".into());
    // The organisation has issue types: the issues the bot opens get theirs.
    github.world.lock().unwrap().issue_types =
        ["Bug", "Ask", "Data", "Explore", "Experiment", "Model"]
            .map(String::from)
            .to_vec();
    let server = Server::start(&github, dir.path(), &[]).await;

    // Both experiments' pull requests are evaluated.
    let pr_12 = pull_request_payload(&github, "opened", &base, &head_6);
    assert_eq!(
        server.deliver("pull_request", "s-pr12", &pr_12).await.0,
        202
    );
    let mut pr_14 = pull_request_payload(&github, "opened", &base, &head_8);
    pr_14["pull_request"]["number"] = 14.into();
    pr_14["pull_request"]["head"]["ref"] = "experiment/8-random-forest".into();
    pr_14["pull_request"]["body"] = "For #8.".into();
    assert_eq!(
        server.deliver("pull_request", "s-pr14", &pr_14).await.0,
        202
    );
    let store = server.store().await;
    eventually("two runs in the ledger", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| r.len() == 2)
    })
    .await;
    let board = eventually("the leaderboard with both experiments", &server, || {
        let body = ask_body(&github);
        (body.contains("| #6 Gradient boosting") && body.contains("| #8 Random forest"))
            .then_some(body)
    })
    .await;
    assert!(
        board.contains("Ranked by `roc_auc` (higher is better)"),
        "{board}"
    );
    assert!(
        board.contains("### Problem Statement"),
        "the Ask's own text stays"
    );

    // A non-collaborator may not decide an experiment's fate.
    assert_eq!(
        server
            .deliver(
                "issue_comment",
                "s-mallory",
                &comment(6, false, "mallory", "/dslp succeed")
            )
            .await
            .0,
        202
    );
    let refusal = eventually("the polite refusal", &server, || {
        github
            .comments_on(6)
            .into_iter()
            .find(|c| c.body.contains("kept for people with write access"))
    })
    .await;
    assert!(
        refusal.body.contains("@mallory, thanks"),
        "{}",
        refusal.body
    );
    assert!(!labels_of(&github, 6).contains(&"succeeded".to_string()));

    // #8 fails, with its TLDR, from its pull request.
    let fail = comment(
        14,
        true,
        "maria",
        "/dslp fail \"trees need more data than we have\"",
    );
    assert_eq!(
        server.deliver("issue_comment", "s-fail", &fail).await.0,
        202
    );
    eventually(
        "#8 closed with its TLDR and PR 14 closed unmerged",
        &server,
        || {
            let world = github.world.lock().unwrap();
            (world.issues[&8]["state"] == "closed"
                && world.issues[&14]["state"] == "closed"
                && world.issues[&8]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("TLDR: trees need more data than we have"))
            .then_some(())
        },
    )
    .await;
    assert!(labels_of(&github, 8).contains(&"failed".to_string()));

    // #6 succeeds: the Model issue, its branch, the pull request retargeted.
    let succeed = comment(6, false, "maria", "Great results.\n/dslp succeed");
    assert_eq!(
        server
            .deliver("issue_comment", "s-succeed", &succeed)
            .await
            .0,
        202
    );
    let (model, model_body) = eventually("the Model issue", &server, || {
        let world = github.world.lock().unwrap();
        world
            .issues
            .iter()
            .find(|(n, i)| **n > 14 && i["labels"][0]["name"] == "Model")
            .map(|(n, i)| (*n, i["body"].as_str().unwrap_or_default().to_string()))
    })
    .await;
    assert!(
        model_body.contains("### Ask Reference\n\n#1"),
        "{model_body}"
    );
    assert_eq!(
        github.world.lock().unwrap().issues[&model]["type"]["name"],
        "Model",
        "the Model issue has the organisation's Model type"
    );
    assert!(
        model_body.contains("### Based on Experiment\n\n#6"),
        "{model_body}"
    );
    let branch = format!("model/{model}-gradient-boosting");
    let retargeted = eventually("PR 12 retargeted", &server, || {
        let world = github.world.lock().unwrap();
        (world.pulls[&12]["base"]["ref"] == branch.as_str())
            .then(|| world.branches.get(&branch).cloned())
    })
    .await;
    assert_eq!(
        retargeted.as_deref(),
        Some(base.as_str()),
        "the model branch starts at main"
    );
    assert!(labels_of(&github, 6).contains(&"succeeded".to_string()));

    // The Ask ends with the right leaderboard and its linked issues.
    let final_board = eventually("the final leaderboard", &server, || {
        let body = ask_body(&github);
        (body.contains("`failed` | #14 closed") && body.contains("`succeeded` | #12 open"))
            .then_some(body)
    })
    .await;
    assert!(
        final_board.contains(&format!("- #{model} Model: Gradient boosting · open")),
        "{final_board}"
    );
    let rank_6 = final_board.find("| #6 Gradient boosting").unwrap();
    let rank_8 = final_board.find("| #8 Random forest").unwrap();
    // c=0.5 beats c=0.01 on ROC-AUC for this data: #6 ranks first.
    assert!(rank_6 < rank_8, "{final_board}");
    // The experiment's own flow comment says what happened.
    assert!(
        github
            .comments_on(6)
            .iter()
            .any(|c| c.body.contains(&format!("Model issue #{model} is open"))),
    );
    assert_eq!(state_of(&github, 6), "open");
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_editing_the_ask_meanwhile_loses_nothing() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&github, dir.path(), &[]).await;
    // Right after the bot reads the Ask, a person adds a line to it.
    github.world.lock().unwrap().edit_after_read = Some((
        1,
        "\n\nAdded by a person: the CRM team owns the output table.".into(),
    ));
    let mut opened = example("issues.opened");
    opened["repository"]["full_name"] = "acme/churn".into();
    let experiment = github.world.lock().unwrap().issues[&8].clone();
    opened["issue"] = experiment;
    assert_eq!(server.deliver("issues", "e-1", &opened).await.0, 202);
    let body = eventually("the Ask's section", &server, || {
        let body = ask_body(&github);
        body.contains("dslp:ask-section:end").then_some(body)
    })
    .await;
    assert!(
        body.contains("Added by a person: the CRM team owns the output table."),
        "{body}"
    );
    assert!(body.contains("- #8 Random forest · open"), "{body}");
    assert_eq!(body.matches("dslp:ask-section:start").count(), 1);
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_pull_request_is_not_evaluated_before_ok_to_test() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    {
        let mut world = github.world.lock().unwrap();
        world.permissions.insert("maria".into(), "maintain".into());
        world.pulls.get_mut(&12).unwrap()["head"]["repo"]["full_name"] = "stranger/churn".into();
        // A fork answers to the base branch's config, read through the API.
        let config = std::fs::read(crate::support::fixture("demo/.github/dslp.yml")).unwrap();
        world
            .files
            .insert((".github/dslp.yml".into(), "main".into()), config);
    }
    let server = Server::start(&github, dir.path(), &[]).await;
    let mut payload = pull_request_payload(&github, "opened", &base, &head);
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/churn".into();
    assert_eq!(server.deliver("pull_request", "f-1", &payload).await.0, 202);
    let waiting = eventually("the comment saying it waits", &server, || {
        github.comments_on(12).into_iter().next()
    })
    .await;
    assert!(
        waiting.body.contains("/dslp ok-to-test"),
        "{}",
        waiting.body
    );
    assert!(!waiting.body.contains("roc_auc"), "{}", waiting.body);
    let store = server.store().await;
    assert!(
        futures_lite_block(store.runs("acme/churn"))
            .unwrap()
            .is_empty()
    );
    assert!(
        !github
            .world
            .lock()
            .unwrap()
            .requests
            .iter()
            .any(|r| r.contains("git-upload-pack")),
        "nothing of the fork was fetched"
    );

    // A stranger cannot approve; a maintainer can.
    let stranger = comment(12, true, "stranger", "/dslp ok-to-test");
    assert_eq!(
        server.deliver("issue_comment", "f-2", &stranger).await.0,
        202
    );
    eventually("the refusal", &server, || {
        github
            .comments_on(12)
            .into_iter()
            .find(|c| c.body.contains("@stranger, thanks"))
    })
    .await;
    assert!(
        futures_lite_block(store.runs("acme/churn"))
            .unwrap()
            .is_empty()
    );
    let maintainer = comment(12, true, "maria", "/dslp ok-to-test");
    assert_eq!(
        server.deliver("issue_comment", "f-3", &maintainer).await.0,
        202
    );
    let runs = eventually("the evaluation", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| !r.is_empty())
    })
    .await;
    assert_eq!(runs[0].pull_request, 12);
    let report = eventually("the report with metrics", &server, || {
        github
            .comments_on(12)
            .into_iter()
            .find(|c| c.body.contains("roc_auc"))
    })
    .await;
    assert!(
        !report.body.contains("comes from a fork"),
        "{}",
        report.body
    );
    assert!(labels_of(&github, 12).contains(&"ok-to-test".to_string()));
    github.assert_no_violations();
}

fn closed_pull(
    github: &FakeGitHub,
    number: u64,
    head_ref: &str,
    base_ref: &str,
    merged: bool,
) -> Value {
    let mut payload = pull_request_payload(
        github,
        "closed",
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
    );
    let pr = &mut payload["pull_request"];
    pr["number"] = number.into();
    pr["state"] = "closed".into();
    pr["merged"] = merged.into();
    pr["head"]["ref"] = head_ref.into();
    pr["base"]["ref"] = base_ref.into();
    pr["body"] = "".into();
    payload
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explore_and_merged_experiment_flows_close_what_dslp_says_to_close() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut world = github.world.lock().unwrap();
        // Explore #4 is open with its findings written; #6 is an open experiment.
        world.issues.get_mut(&4).unwrap()["state"] = "open".into();
        for (number, title) in [
            (20, "Explore seasonality"),
            (21, "Seasonality, merged"),
            (22, "Boosting into its model"),
        ] {
            world.issues.insert(number, json!({"number": number, "title": title, "body": "", "state": "closed", "labels": [], "pull_request": {"url": "x"}}));
            world
                .pull_files
                .insert(number, vec!["notebooks/eda.ipynb".into()]);
        }
        world.branches.insert(
            "experiment/6-boosting".into(),
            "2222222222222222222222222222222222222222".into(),
        );
    }
    let server = Server::start(&github, dir.path(), &[]).await;

    // An explore pull request closed unmerged: its Explore issue closes.
    let unmerged = closed_pull(&github, 20, "explore/4-seasonality", "main", false);
    assert_eq!(
        server.deliver("pull_request", "x-1", &unmerged).await.0,
        202
    );
    eventually("Explore #4 closed", &server, || {
        (state_of(&github, 4) == "closed").then_some(())
    })
    .await;

    // One merged anyway: an alert on the pull request.
    let merged = closed_pull(&github, 21, "explore/4-seasonality", "main", true);
    assert_eq!(server.deliver("pull_request", "x-2", &merged).await.0, 202);
    let alert = eventually("the alert", &server, || {
        github
            .comments_on(21)
            .into_iter()
            .find(|c| c.body.contains("never merged"))
    })
    .await;
    assert!(alert.body.contains("R40"), "{}", alert.body);

    // An experiment merged into its model branch: the issue closes, the branch goes.
    let into_model = closed_pull(&github, 22, "experiment/6-boosting", "model/7-churn", true);
    assert_eq!(
        server.deliver("pull_request", "x-3", &into_model).await.0,
        202
    );
    eventually(
        "Experiment #6 closed and its branch deleted",
        &server,
        || {
            let world = github.world.lock().unwrap();
            (world.issues[&6]["state"] == "closed"
                && !world.branches.contains_key("experiment/6-boosting"))
            .then_some(())
        },
    )
    .await;
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installation_sets_up_labels_one_pull_request_and_the_required_check() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut world = github.world.lock().unwrap();
        world.may_administer = true;
        world.branches.insert(
            "main".into(),
            "3333333333333333333333333333333333333333".into(),
        );
        // One issue form is there already, and stays as it is.
        world.files.insert(
            (".github/ISSUE_TEMPLATE/ask.yml".into(), "main".into()),
            b"name: Ask\n".to_vec(),
        );
    }
    let server = Server::start(
        &github,
        dir.path(),
        &[("DSLP_SETUP_PR", "true"), ("DSLP_PROTECT", "act")],
    )
    .await;
    let mut installed = example("installation.created");
    installed["repositories"] = json!([{"full_name": "acme/churn"}]);
    assert_eq!(
        server.deliver("installation", "i-1", &installed).await.0,
        202
    );
    let (number, title, head, base, body) = eventually("the set-up pull request", &server, || {
        github.world.lock().unwrap().opened_pulls.first().cloned()
    })
    .await;
    assert_eq!((head.as_str(), base.as_str()), ("dslp/set-up", "main"));
    assert!(title.contains("Set up DSLP"), "{title}");
    assert!(
        body.contains("`.github/dslp.yml`") && !body.contains("ask.yml"),
        "{body}"
    );
    assert!(
        !body.contains("workflows"),
        "no workflow next to the App: {body}"
    );
    {
        let world = github.world.lock().unwrap();
        assert_eq!(world.labels.len(), 11);
        let added: Vec<&String> = world
            .files
            .keys()
            .filter(|(_, branch)| branch == "dslp/set-up")
            .map(|(path, _)| path)
            .collect();
        assert_eq!(
            added.len(),
            7,
            "the other forms, the chooser and the config: {added:?}"
        );
        assert_eq!(
            world.protections["main"]["required_status_checks"]["contexts"],
            json!(["dslp"])
        );
        assert!(number > 0);
    }
    // Installed again (repositories re-added): no second pull request, and
    // protection someone changed meanwhile is left alone.
    github.world.lock().unwrap().protections.insert(
        "main".into(),
        json!({"required_pull_request_reviews": {"required_approving_review_count": 2}}),
    );
    let mut added = example("installation_repositories.added");
    added["repositories_added"] = json!([{"full_name": "acme/churn"}]);
    assert_eq!(
        server
            .deliver("installation_repositories", "i-2", &added)
            .await
            .0,
        202
    );
    let store = server.store().await;
    eventually("both jobs done", &server, || {
        futures_lite_block(store.jobs_by_state())
            .ok()
            .filter(|s| s == &vec![("done".to_string(), 2)])
    })
    .await;
    let world = github.world.lock().unwrap();
    assert_eq!(world.opened_pulls.len(), 1);
    assert!(
        world.protections["main"]
            .get("required_status_checks")
            .is_none()
    );
    drop(world);
    assert!(
        server
            .log()
            .contains("already exists; no second set-up pull request"),
        "{}",
        server.log()
    );
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_fork_stays_within_the_limits_its_base_config_lowers() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    {
        let mut world = github.world.lock().unwrap();
        world.permissions.insert("maria".into(), "write".into());
        world.pulls.get_mut(&12).unwrap()["head"]["repo"]["full_name"] = "stranger/churn".into();
        // The base branch's config lowers the rows a fork may bring to 100;
        // the demo dataset has 2,000.
        let mut config =
            std::fs::read_to_string(crate::support::fixture("demo/.github/dslp.yml")).unwrap();
        config.push_str("\nautomations:\n  fork_limits: { rows: 100 }\n");
        world.files.insert(
            (".github/dslp.yml".into(), "main".into()),
            config.into_bytes(),
        );
    }
    approve_head(&github, &head);
    let server = Server::start(&github, dir.path(), &[]).await;
    let mut payload = pull_request_payload(&github, "opened", &base, &head);
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/churn".into();
    payload["pull_request"]["labels"] = json!([{"name": "ok-to-test"}]);
    assert_eq!(server.deliver("pull_request", "l-1", &payload).await.0, 202);
    let report = eventually("the report", &server, || {
        github.comments_on(12).into_iter().next()
    })
    .await;
    assert!(
        report.body.contains("Not evaluated: `data/churn.csv` has 2000 rows, over the limit of 100 for pull requests from forks"),
        "{}",
        report.body
    );
    let store = server.store().await;
    assert!(
        futures_lite_block(store.runs("acme/churn"))
            .unwrap()
            .is_empty()
    );
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_behind_main_is_told_to_merge_it_first_and_promote_finishes_later() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    {
        let mut world = github.world.lock().unwrap();
        world.permissions.insert("maria".into(), "admin".into());
        world.behind.insert("experiment/6-boosting".into(), 3);
    }
    let server = Server::start(&github, dir.path(), &[]).await;
    // The ledger knows PR 12 once it is evaluated.
    let payload = pull_request_payload(&github, "opened", &base, &head);
    assert_eq!(server.deliver("pull_request", "b-1", &payload).await.0, 202);
    let store = server.store().await;
    eventually("the evaluation", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| !r.is_empty())
    })
    .await;
    let succeed = comment(12, true, "maria", "/dslp succeed");
    assert_eq!(
        server.deliver("issue_comment", "b-2", &succeed).await.0,
        202
    );
    let steps = eventually("the merge-first steps", &server, || {
        github
            .comments_on(12)
            .into_iter()
            .find(|c| c.body.contains("needs `main` merged in first"))
    })
    .await;
    assert!(
        steps.body.contains("git merge origin/main"),
        "{}",
        steps.body
    );
    assert_eq!(
        github.world.lock().unwrap().pulls[&12]["base"]["ref"],
        "main"
    );

    // main merged in: `/dslp promote` retargets, with the same Model issue.
    github.world.lock().unwrap().behind.clear();
    let promote = comment(12, true, "maria", "/dslp promote");
    assert_eq!(
        server.deliver("issue_comment", "b-3", &promote).await.0,
        202
    );
    let base_ref = eventually("PR 12 retargeted", &server, || {
        let world = github.world.lock().unwrap();
        let base = world.pulls[&12]["base"]["ref"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        base.starts_with("model/").then_some(base)
    })
    .await;
    let models: Vec<u64> = github
        .world
        .lock()
        .unwrap()
        .issues
        .iter()
        .filter(|(_, i)| {
            i["labels"][0]["name"] == "Model" && i["title"] == "Model: Gradient boosting"
        })
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(models.len(), 1, "one Model issue for both commands");
    assert_eq!(base_ref, format!("model/{}-gradient-boosting", models[0]));
    github.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_may_not_create_branches_gets_told_what_permission_is_missing() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut world = github.world.lock().unwrap();
        world.permissions.insert("maria".into(), "write".into());
        world.contents_read_only = true;
        world.branches.insert(
            "main".into(),
            "3333333333333333333333333333333333333333".into(),
        );
    }
    let server = Server::start(&github, dir.path(), &[]).await;
    let succeed = comment(6, false, "maria", "/dslp succeed");
    assert_eq!(
        server.deliver("issue_comment", "p-1", &succeed).await.0,
        202
    );
    let said = eventually("the explanation", &server, || {
        github
            .comments_on(6)
            .into_iter()
            .find(|c| c.body.contains("may not run the success flow"))
    })
    .await;
    assert!(said.body.contains("contents: write"), "{}", said.body);
    let store = server.store().await;
    eventually("the job done, not failed", &server, || {
        futures_lite_block(store.jobs_by_state())
            .ok()
            .filter(|s| s == &vec![("done".to_string(), 1)])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suite_rerequested_for_two_pull_requests_ledgers_both() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    second_experiment(&github, dir.path(), &base);
    let server = Server::start(&github, dir.path(), &[]).await;
    let mut suite = example("check_suite.rerequested");
    suite["repository"]["full_name"] = "acme/churn".into();
    suite["check_suite"]["head_sha"] = head.clone().into();
    suite["check_suite"]["pull_requests"] = json!([{"number": 12}, {"number": 14}]);
    assert_eq!(server.deliver("check_suite", "r-1", &suite).await.0, 202);
    let store = server.store().await;
    let runs = eventually("two runs in the ledger", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| r.len() == 2)
    })
    .await;
    let pulls: Vec<u64> = runs.iter().map(|r| r.pull_request).collect();
    assert_eq!(pulls, vec![12, 14]);
    assert!(
        runs.iter()
            .all(|r| r.repository == "acme/churn" && !r.verdict.is_empty())
    );
    github.assert_no_violations();
}

/// What `/dslp ok-to-test` leaves on a commit: a maintainer's approval.
fn approve_head(github: &FakeGitHub, head: &str) {
    github.world.lock().unwrap().statuses.push((
        head.to_string(),
        json!({"state": "success", "context": "dslp/ok-to-test", "description": "approved"}),
    ));
}

/// Pull request 12 as coming from a fork: `stranger/churn`, or, with
/// `None`, a fork since deleted (GitHub then sends `head.repo: null`).
fn from_fork(github: &FakeGitHub, payload: &mut Value, fork: Option<&str>) {
    let repo = fork.map_or(Value::Null, |f| json!({"full_name": f}));
    payload["pull_request"]["head"]["repo"] = repo.clone();
    payload["pull_request"]["user"] = json!({"login": "stranger"});
    let mut world = github.world.lock().unwrap();
    world.pulls.get_mut(&12).unwrap()["head"]["repo"] = repo;
    world.pulls.get_mut(&12).unwrap()["user"] = json!({"login": "stranger"});
    world.permissions.insert("maria".into(), "maintain".into());
    world.permissions.insert("stranger".into(), "read".into());
    // A fork answers to the base branch's config, read through the API.
    let config = std::fs::read(crate::support::fixture("demo/.github/dslp.yml")).unwrap();
    world
        .files
        .insert((".github/dslp.yml".into(), "main".into()), config);
}

fn fetched(github: &FakeGitHub) -> usize {
    github
        .world
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.contains("git-upload-pack"))
        .count()
}

/// GitHub sends `head.repo: null` once a fork is deleted. Such a pull
/// request is a fork: whatever reaches it (opened, synchronize, edited,
/// reopened, `/dslp rerun`, a re-run of its check), nothing is fetched
/// without a maintainer's approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_from_a_deleted_fork_is_a_fork() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    let server = Server::start(&github, dir.path(), &[]).await;
    let store = server.store().await;
    for (i, action) in ["opened", "synchronize", "edited", "reopened"]
        .iter()
        .enumerate()
    {
        // GitHub's examples have no `edited`; it is `opened`'s shape.
        let example = if *action == "edited" {
            "opened"
        } else {
            action
        };
        let mut payload = pull_request_payload(&github, example, &base, &head);
        payload["action"] = (*action).into();
        from_fork(&github, &mut payload, None);
        let id = format!("deleted-{action}");
        assert_eq!(server.deliver("pull_request", &id, &payload).await.0, 202);
        let before = i as i64;
        eventually(&format!("{action} to be handled"), &server, || {
            futures_lite_block(store.jobs_by_state())
                .ok()
                .filter(|s| s == &vec![("done".to_string(), before + 1)])
        })
        .await;
    }
    let rerun = comment(12, true, "maria", "/dslp rerun");
    assert_eq!(
        server
            .deliver("issue_comment", "deleted-rerun", &rerun)
            .await
            .0,
        202
    );
    let mut suite = example("check_suite.rerequested");
    suite["repository"]["full_name"] = "acme/churn".into();
    suite["check_suite"]["head_sha"] = head.clone().into();
    suite["check_suite"]["pull_requests"] = json!([{"number": 12}]);
    assert_eq!(
        server
            .deliver("check_suite", "deleted-suite", &suite)
            .await
            .0,
        202
    );
    eventually("every job to be handled", &server, || {
        futures_lite_block(store.jobs_by_state())
            .ok()
            .filter(|s| s == &vec![("done".to_string(), 6)])
    })
    .await;
    let report = github
        .comments_on(12)
        .into_iter()
        .find(|c| c.body.contains("dslp:pr-report"))
        .expect("the report");
    assert!(report.body.contains("comes from a fork"), "{}", report.body);
    assert!(!report.body.contains("roc_auc"), "{}", report.body);
    assert_eq!(
        fetched(&github),
        0,
        "nothing of the deleted fork was fetched"
    );
    assert!(
        futures_lite_block(store.runs("acme/churn"))
            .unwrap()
            .is_empty()
    );
    github.assert_no_violations();
}

/// An approval covers the commit it was given for: a later push from the
/// fork takes the `ok-to-test` label off and waits for a new approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_covers_one_commit_of_a_fork() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    let mut opened = pull_request_payload(&github, "opened", &base, &head);
    from_fork(&github, &mut opened, Some("stranger/churn"));
    let server = Server::start(&github, dir.path(), &[]).await;
    let store = server.store().await;
    assert_eq!(server.deliver("pull_request", "a-1", &opened).await.0, 202);
    let approval = comment(12, true, "maria", "/dslp ok-to-test");
    assert_eq!(
        server.deliver("issue_comment", "a-2", &approval).await.0,
        202
    );
    eventually("the approved evaluation", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| r.len() == 1)
    })
    .await;
    assert!(labels_of(&github, 12).contains(&"ok-to-test".to_string()));

    // The fork pushes again.
    let work = dir.path().join("work");
    std::fs::write(work.join("NOTES.md"), "more\n").unwrap();
    git(&work, &["add", "NOTES.md"]);
    git(&work, &["commit", "-q", "-m", "another push"]);
    let newer = git(&work, &["rev-parse", "HEAD"]);
    let bare = dir.path().join("git/acme/churn.git");
    git(
        &work,
        &[
            "push",
            "-q",
            bare.to_str().unwrap(),
            "experiment/6-boosting",
        ],
    );
    git(&bare, &["update-ref", "refs/pull/12/head", &newer]);
    github.world.lock().unwrap().pulls.get_mut(&12).unwrap()["head"]["sha"] = newer.clone().into();
    let mut pushed = pull_request_payload(&github, "synchronize", &base, &newer);
    from_fork(&github, &mut pushed, Some("stranger/churn"));
    pushed["pull_request"]["labels"] = json!([{"name": "ok-to-test"}]);
    let fetches = fetched(&github);
    assert_eq!(server.deliver("pull_request", "a-3", &pushed).await.0, 202);
    let waiting = eventually("the report to wait again", &server, || {
        github
            .comments_on(12)
            .into_iter()
            .find(|c| c.body.contains("was pushed after a maintainer's approval"))
    })
    .await;
    assert!(
        waiting.body.contains("/dslp ok-to-test"),
        "{}",
        waiting.body
    );
    assert!(!labels_of(&github, 12).contains(&"ok-to-test".to_string()));
    assert_eq!(fetched(&github), fetches, "the new push was not fetched");
    assert_eq!(
        futures_lite_block(store.runs("acme/churn")).unwrap().len(),
        1
    );

    // A new approval covers the new commit.
    let again = comment(12, true, "maria", "/dslp ok-to-test");
    assert_eq!(server.deliver("issue_comment", "a-4", &again).await.0, 202);
    let runs = eventually("the second evaluation", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| r.len() == 2)
    })
    .await;
    assert_eq!(runs[1].head_commit, newer);
    github.assert_no_violations();
}

/// The `ok-to-test` label approves only from someone with write access:
/// anyone else's is taken off again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ok_to_test_label_approves_only_from_a_maintainer() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = serve_repository(&github, dir.path());
    let mut labelled = pull_request_payload(&github, "labeled", &base, &head);
    from_fork(&github, &mut labelled, Some("stranger/churn"));
    labelled["label"]["name"] = "ok-to-test".into();
    labelled["sender"] = json!({"login": "stranger"});
    labelled["pull_request"]["labels"] = json!([{"name": "ok-to-test"}]);
    github.world.lock().unwrap().issues.get_mut(&12).unwrap()["labels"] =
        json!([{"name": "ok-to-test"}]);
    let server = Server::start(&github, dir.path(), &[]).await;
    let store = server.store().await;
    assert_eq!(
        server.deliver("pull_request", "lb-1", &labelled).await.0,
        202
    );
    eventually("the refusal", &server, || {
        github
            .comments_on(12)
            .into_iter()
            .find(|c| c.body.contains("@stranger, thanks"))
    })
    .await;
    assert!(!labels_of(&github, 12).contains(&"ok-to-test".to_string()));
    assert_eq!(fetched(&github), 0);
    labelled["sender"] = json!({"login": "maria"});
    assert_eq!(
        server.deliver("pull_request", "lb-2", &labelled).await.0,
        202
    );
    eventually("the approved evaluation", &server, || {
        futures_lite_block(store.runs("acme/churn"))
            .ok()
            .filter(|r| r.len() == 1)
    })
    .await;
    // Another label changes nothing: it is not even queued.
    labelled["label"]["name"] = "question".into();
    assert_eq!(
        server.deliver("pull_request", "lb-3", &labelled).await.0,
        200
    );
    github.assert_no_violations();
}

/// Rulesets at installation: the App's two rulesets (DSLP branch names, the
/// `dslp` check on the default branch) are created once and kept, another
/// one is left alone, and branch protection is not added on top; without
/// rulesets on the server, today's protection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installation_keeps_the_apps_rulesets_and_leaves_others_alone() {
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut world = github.world.lock().unwrap();
        world.may_administer = true;
        world.branches.insert("main".into(), "3".repeat(40));
        world
            .rulesets
            .push(json!({"id": 5, "name": "release freeze", "enforcement": "active"}));
    }
    let settings = [("DSLP_RULESETS", "act"), ("DSLP_PROTECT", "act")];
    let server = Server::start(&github, dir.path(), &settings).await;
    let mut installed = example("installation.created");
    installed["repositories"] = json!([{"full_name": "acme/churn"}]);
    server.deliver("installation", "i-1", &installed).await;
    let names = |github: &FakeGitHub| -> Vec<String> {
        github
            .world
            .lock()
            .unwrap()
            .rulesets
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    eventually("the rulesets", &server, || {
        Some(names(&github)).filter(|n| n.len() == 3)
    })
    .await;
    let mut added = example("installation_repositories.added");
    added["repositories_added"] = json!([{"full_name": "acme/churn"}]);
    server
        .deliver("installation_repositories", "i-2", &added)
        .await;
    eventually("the second set-up", &server, || {
        let puts = github
            .world
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.starts_with("PUT") && r.contains("/rulesets/"))
            .count();
        (puts == 2).then_some(())
    })
    .await;
    assert_eq!(
        names(&github),
        [
            "release freeze",
            "dslp: branch names",
            "dslp: required check"
        ]
    );
    let world = github.world.lock().unwrap();
    assert_eq!(
        world.rulesets[0],
        json!({"id": 5, "name": "release freeze", "enforcement": "active"})
    );
    let rules = &world.rulesets[1]["rules"][0];
    assert_eq!(rules["type"], "branch_name_pattern");
    assert!(
        rules["parameters"]["pattern"]
            .as_str()
            .unwrap()
            .contains("experiment/")
    );
    assert_eq!(
        world.rulesets[2]["rules"][0]["parameters"]["required_status_checks"][0]["context"],
        "dslp"
    );
    assert!(world.rulesets[1]["bypass_actors"][0]["actor_type"] == "Integration");
    assert!(
        world.protections.is_empty(),
        "no branch protection on top of the ruleset"
    );
    drop(world);
    github.assert_no_violations();

    // No rulesets here: the protection path.
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut world = github.world.lock().unwrap();
        world.may_administer = true;
        world.rulesets_unavailable = true;
        world.branches.insert("main".into(), "3".repeat(40));
    }
    let server = Server::start(&github, dir.path(), &settings).await;
    server.deliver("installation", "i-1", &installed).await;
    eventually("protection", &server, || {
        github
            .world
            .lock()
            .unwrap()
            .protections
            .get("main")
            .cloned()
    })
    .await;
}
