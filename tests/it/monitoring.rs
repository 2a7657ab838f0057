//! Scheduled monitoring through the Action and the fake GitHub: the newest
//! release's model is downloaded, scored on the fresh data the config
//! names, and drift opens one Data issue, a drop one retrain (Model) issue;
//! a second run updates them; recovered data is said and, when asked,
//! closes them.

use std::path::Path;

use serde_json::json;

use crate::action_e2e::run_action;
use crate::fake_github::FakeGitHub;
use crate::releases::{merge_model_branch, merged_event, project};
use crate::support::{fixture, git};

const MONITOR: &str = "monitor:
  churn_lr:
    data: data/scoring.csv
    labels: { column: churned }
    drift: { psi: { warn: 0.1, fail: 0.25 } }
    performance: { roc_auc: { min_absolute_change: -0.03 } }
    close_when_recovered: true
";

/// The demo's test rows as fresh data; `change` edits each row's fields.
fn scoring(dir: &Path, change: &dyn Fn(&mut Vec<String>)) {
    let text = std::fs::read_to_string(fixture("demo/data/churn.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines.filter(|l| l.ends_with(",test")) {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        change(&mut fields);
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    std::fs::write(dir.join("data/scoring.csv"), out).unwrap();
}

fn schedule_event(dir: &Path) -> std::path::PathBuf {
    // Inside the work tree (untracked): the temporary directory is shared.
    let path = dir.join(".git/schedule.json");
    std::fs::write(&path, json!({"schedule": "0 6 * * 1"}).to_string()).unwrap();
    path
}

/// Issues monitoring opened: (number, state, labels, body).
fn monitor_issues(github: &FakeGitHub) -> Vec<(u64, String, Vec<String>, String)> {
    let world = github.world.lock().unwrap();
    world
        .issues
        .values()
        .filter(|i| {
            i["body"]
                .as_str()
                .is_some_and(|b| b.contains("<!-- dslp:monitor "))
        })
        .map(|i| {
            let labels = i["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["name"].as_str().unwrap_or_default().to_string())
                .collect();
            (
                i["number"].as_u64().unwrap(),
                i["state"].as_str().unwrap().to_string(),
                labels,
                i["body"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn drift_and_a_drop_open_one_issue_each_a_rerun_updates_them_recovery_closes_them() {
    let dir = project("act");
    let work = dir.path();
    let config = std::fs::read_to_string(work.join(".github/dslp.yml")).unwrap() + MONITOR;
    std::fs::write(work.join(".github/dslp.yml"), config).unwrap();
    scoring(work, &|_| {});
    git(work, &["add", "."]);
    git(work, &["commit", "-q", "-m", "monitor churn_lr"]);
    let github = crate::releases::fake().await;
    // Before any release: said, nothing opened.
    let early = run_action(&github, work, &schedule_event(work), "schedule").await;
    assert!(
        early.stderr.contains("no release of `churn_lr` yet"),
        "{}",
        early.stderr
    );
    assert!(monitor_issues(&github).is_empty());
    let merge = merge_model_branch(work, 0, &|c| c);
    run_action(
        &github,
        work,
        &merged_event(work, 0, &merge),
        "pull_request",
    )
    .await;
    assert_eq!(github.world.lock().unwrap().releases.len(), 1);

    // Charges tripled, outcomes flipped: input drift and a drop.
    scoring(work, &|f| {
        let charges: f64 = f[3].parse().unwrap_or(0.0);
        f[3] = format!("{:.2}", charges * 3.0);
        f[7] = if f[7] == "1" { "0".into() } else { "1".into() };
    });
    let run = run_action(&github, work, &schedule_event(work), "schedule").await;
    assert_eq!(run.code, 1, "a failed limit fails the run: {}", run.stderr);
    assert!(
        run.summary.contains("### churn_lr (churn_lr-v1.0.0)"),
        "{}",
        run.summary
    );
    let opened = monitor_issues(&github);
    assert_eq!(opened.len(), 2, "{opened:?}");
    let data = opened
        .iter()
        .find(|i| i.2 == ["Data"])
        .expect("a Data issue");
    assert!(
        data.3.contains("| monthly_charges |") && data.3.contains("xychart-beta"),
        "{}",
        data.3
    );
    assert!(data.3.contains("churn_lr-v1.0.0"));
    let retrain = opened
        .iter()
        .find(|i| i.2 == ["Model"])
        .expect("a retrain issue");
    assert!(retrain.3.contains("| roc_auc |"), "{}", retrain.3);
    assert!(
        retrain.3.contains("(Model issue #7)") && retrain.3.contains("### Ask Reference\n\n#1"),
        "{}",
        retrain.3
    );

    // The same again: the same two issues, updated.
    scoring(work, &|f| {
        let charges: f64 = f[3].parse().unwrap_or(0.0);
        f[3] = format!("{:.2}", charges * 4.0);
        f[7] = if f[7] == "1" { "0".into() } else { "1".into() };
    });
    run_action(&github, work, &schedule_event(work), "schedule").await;
    let again = monitor_issues(&github);
    assert_eq!(
        again.len(),
        2,
        "never a second issue for one model and cause"
    );
    assert_ne!(again, opened, "the evidence was updated");

    // Back to the world it was trained on: told, and closed as configured.
    scoring(work, &|_| {});
    let fine = run_action(&github, work, &schedule_event(work), "schedule").await;
    assert_eq!(fine.code, 0, "{}", fine.stderr);
    for (number, state, _, _) in monitor_issues(&github) {
        assert_eq!(state, "closed");
        let told = github.comments_on(number);
        assert!(
            told.iter().any(|c| c.body.contains("Back within limits")),
            "{told:?}"
        );
    }
    github.assert_no_violations();
}

/// The App: a push to the default branch that declares `monitor:` keeps a
/// schedule in the store; when due, one worker claims it, fetches the
/// default branch, and the same flow opens the issues. The schedule
/// survives a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_keeps_a_schedule_from_the_default_branch_and_monitors_on_it() {
    use crate::app_e2e::{Server, app_host, eventually, example};
    use crate::releases::served_after_a_model_merge;
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let merged = served_after_a_model_merge(&github, dir.path(), &|work| {
        let config = std::fs::read_to_string(work.join(".github/dslp.yml")).unwrap() + MONITOR;
        std::fs::write(work.join(".github/dslp.yml"), config).unwrap();
        scoring(work, &|f| {
            let charges: f64 = f[3].parse().unwrap_or(0.0);
            f[3] = format!("{:.2}", charges * 3.0);
        });
    });
    let tick = [("DSLP_SCHEDULE_TICK_MS", "100")];
    let server = Server::start(&github, dir.path(), &tick).await;
    server.deliver("pull_request", "merged-1", &merged).await;
    eventually("the release", &server, || {
        Some(crate::releases::releases(&github)).filter(|r| !r.is_empty())
    })
    .await;
    // Nothing is scheduled before the default branch says so.
    assert!(monitor_issues(&github).is_empty());
    let mut push = example("push");
    push["repository"]["full_name"] = "acme/churn".into();
    push["repository"]["clone_url"] = format!("{}/git/acme/churn.git", github.url).into();
    push["ref"] = "refs/heads/main".into();
    push["after"] = merged["pull_request"]["merge_commit_sha"].clone();
    push["deleted"] = false.into();
    assert_eq!(server.deliver("push", "push-main", &push).await.0, 202);
    let opened = eventually("the Data issue", &server, || {
        Some(monitor_issues(&github)).filter(|i| !i.is_empty())
    })
    .await;
    assert_eq!(opened.len(), 1, "drift only: {opened:?}");
    assert_eq!(opened[0].2, ["Data"]);
    assert!(
        opened[0].3.contains("| monthly_charges |"),
        "{}",
        opened[0].3
    );
    // Claimed once: the next run is a week away, kept across a restart.
    let mut server = server;
    server.stop();
    let server = Server::start(&github, dir.path(), &tick).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let store = server.store().await;
    let due = store.claim_due_schedules(now + 1_000).await.unwrap();
    assert!(due.is_empty(), "{due:?}");
    assert_eq!(
        monitor_issues(&github).len(),
        1,
        "no second run after the restart"
    );
    let week_later = store
        .claim_due_schedules(now + 8 * 86_400_000)
        .await
        .unwrap();
    assert_eq!(week_later.len(), 1);
    assert_eq!(week_later[0].repository, "acme/churn");
    github.assert_no_violations();
}
