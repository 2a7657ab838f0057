//! Releases on merge, through the Action and the fake GitHub: a model
//! branch merged into `main` is trained at the merge commit and published
//! as a GitHub Release with its assets, versioned by DSLP's rules from the
//! previous release's record (kept in its notes); `suggest` says the
//! commands; a token that may not create releases says how to allow it.

use std::path::Path;

use serde_json::Value;

use crate::action_e2e::{TOKEN, run_action};
use crate::fake_github::FakeGitHub;
use crate::support::{fixture, git};

/// The demo project on `main`, with releases switched to `mode` and the
/// model without `support_tickets` (so a later merge can add it).
pub(crate) fn project(mode: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::copy(
        fixture("demo/data/churn.csv"),
        dir.path().join("data/churn.csv"),
    )
    .unwrap();
    let config = std::fs::read_to_string(fixture("demo/.github/dslp.yml"))
        .unwrap()
        .replace(
            "exclude: [customer_id]",
            "exclude: [customer_id, support_tickets]",
        )
        + &format!("\nautomations:\n  release: {mode}\n");
    std::fs::write(dir.path().join(".github/dslp.yml"), config).unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "churn project"]);
    dir
}

/// `model/7-churn-N` changes the config as `change` says and is merged
/// into `main` (a merge commit); answers the merge commit.
pub(crate) fn merge_model_branch(dir: &Path, n: u32, change: &dyn Fn(String) -> String) -> String {
    let branch = format!("model/7-churn-{n}");
    git(dir, &["checkout", "-q", "-b", &branch]);
    let path = dir.join(".github/dslp.yml");
    let config = change(std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, config).unwrap();
    git(
        dir,
        &["commit", "-q", "--allow-empty", "-am", "model change"],
    );
    git(dir, &["checkout", "-q", "main"]);
    git(
        dir,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge model branch",
            &branch,
        ],
    );
    git(dir, &["rev-parse", "HEAD"])
}

/// GitHub's example `pull_request.closed` payload: pull request #20 from
/// `model/7-churn-N`, merged as `merge_sha`.
pub(crate) fn merged_event(dir: &Path, n: u32, merge_sha: &str) -> std::path::PathBuf {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("github/webhooks/pull_request.closed.json")).unwrap(),
    )
    .unwrap();
    event["repository"]["full_name"] = "acme/churn".into();
    let pr = &mut event["pull_request"];
    pr["number"] = 20.into();
    pr["body"] = "The churn model for #7.".into();
    pr["merged"] = true.into();
    pr["merge_commit_sha"] = merge_sha.into();
    pr["head"]["ref"] = format!("model/7-churn-{n}").into();
    pr["head"]["repo"]["full_name"] = "acme/churn".into();
    pr["base"]["ref"] = "main".into();
    // Inside the work tree, not beside it: the temporary directory is
    // shared by tests running at once.
    let path = dir.join(format!(".git/event-{n}.json"));
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

/// The fake with the demo's issues and pull request #20 (the merged one).
pub(crate) async fn fake() -> FakeGitHub {
    let github = FakeGitHub::start().await;
    github.with_demo_issues();
    github.add_pull_request(20, "Churn model", &[".github/dslp.yml"]);
    github
}

/// The releases' tags, oldest first, and each one's asset names.
pub(crate) fn releases(github: &FakeGitHub) -> Vec<(String, bool, Vec<String>)> {
    let world = github.world.lock().unwrap();
    world
        .releases
        .iter()
        .map(|r| {
            let assets = r["assets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_string())
                .collect();
            (
                r["tag_name"].as_str().unwrap().to_string(),
                r["draft"].as_bool().unwrap(),
                assets,
            )
        })
        .collect()
}

pub(crate) fn release_comment(github: &FakeGitHub, issue: u64) -> String {
    github
        .comments_on(issue)
        .into_iter()
        .find(|c| c.body.contains("<!-- dslp:release -->"))
        .map(|c| c.body)
        .unwrap_or_default()
}

#[tokio::test]
async fn merged_model_branches_become_semver_releases_with_their_assets() {
    let dir = project("act");
    let work = dir.path();
    let github = fake().await;
    let steps: [(&str, Box<dyn Fn(String) -> String>); 4] = [
        ("churn_lr-v1.0.0", Box::new(|c| c)),
        (
            "churn_lr-v1.0.1",
            Box::new(|c: String| c.replace("params: { c: 1.0 }", "params: { c: 0.5 }")),
        ),
        (
            "churn_lr-v1.1.0",
            Box::new(|c: String| {
                c.replace(
                    "exclude: [customer_id, support_tickets]",
                    "exclude: [customer_id]",
                )
            }),
        ),
        (
            "churn_lr-v2.0.0",
            Box::new(|c: String| {
                c.replace(
                    "    target: churned\n    exclude",
                    "    target: paperless\n    exclude",
                )
            }),
        ),
    ];
    for (n, (tag, change)) in steps.iter().enumerate() {
        let merge = merge_model_branch(work, n as u32, change.as_ref());
        let event = merged_event(work, n as u32, &merge);
        let run = run_action(&github, work, &event, "pull_request").await;
        assert!(run.code <= 1, "the action failed: {}", run.stderr);
        let all = releases(&github);
        assert_eq!(
            all.len(),
            n + 1,
            "one release per merge: {all:?}\n{}",
            run.stderr
        );
        let (last_tag, draft, assets) = all.last().unwrap();
        assert_eq!(last_tag, tag, "{}", release_comment(&github, 20));
        assert!(!draft, "published once its assets are up");
        assert_eq!(assets.len(), 8, "{assets:?}");
        for suffix in [
            "model.json",
            "card.md",
            "input.schema.json",
            "reference.json",
            "release.json",
        ] {
            assert!(assets.contains(&format!("churn_lr.{suffix}")), "{assets:?}");
        }
        let world = github.world.lock().unwrap();
        let release = world.releases.last().unwrap();
        assert_eq!(release["target_commitish"], merge.as_str());
        drop(world);
        let said = release_comment(&github, 20);
        assert!(
            said.contains(&format!("**[{tag}](../releases/tag/{tag})**")),
            "{said}"
        );
        assert_eq!(
            said,
            release_comment(&github, 7),
            "the Model issue is told too"
        );
    }
    let world = github.world.lock().unwrap();
    let notes = |i: usize| world.releases[i]["body"].as_str().unwrap().to_string();
    assert!(notes(1).contains("parameters changed"), "{}", notes(1));
    assert!(
        notes(2).contains("feature `support_tickets` added"),
        "{}",
        notes(2)
    );
    assert!(
        notes(3).contains("target `churned` → `paperless`"),
        "{}",
        notes(3)
    );
    assert!(notes(1).contains("| churn_lr-v1.0.1 | churn_lr-v1.0.0 | Δ |"));
    drop(world);
    github.assert_no_violations();
}

#[tokio::test]
async fn a_redelivered_merge_releases_once_and_the_asset_predicts() {
    let dir = project("act");
    let work = dir.path();
    let github = fake().await;
    let merge = merge_model_branch(work, 0, &|c| c);
    let event = merged_event(work, 0, &merge);
    run_action(&github, work, &event, "pull_request").await;
    let again = run_action(&github, work, &event, "pull_request").await;
    assert!(again.code <= 1, "{}", again.stderr);
    assert_eq!(
        releases(&github).len(),
        1,
        "a second delivery publishes nothing new"
    );
    let said = release_comment(&github, 20);
    assert!(
        said.contains("nothing it is made from changed since **churn_lr-v1.0.0**"),
        "{said}"
    );
    // The released model is what `dslp predict` takes.
    let model = {
        let world = github.world.lock().unwrap();
        let id = world.releases[0]["id"].as_u64().unwrap();
        world.release_assets[&(id, "churn_lr.model.json".to_string())].clone()
    };
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("churn_lr.model.json"), model).unwrap();
    let predicted = std::process::Command::new(env!("CARGO_BIN_EXE_dslp"))
        .args(["predict", "--model"])
        .arg(scratch.path().join("churn_lr.model.json"))
        .arg("--input")
        .arg(work.join("data/churn.csv"))
        .arg("--output")
        .arg(scratch.path().join("predictions.csv"))
        .output()
        .unwrap();
    assert!(
        predicted.status.success(),
        "{}",
        String::from_utf8_lossy(&predicted.stderr)
    );
    let rows = std::fs::read_to_string(scratch.path().join("predictions.csv")).unwrap();
    let input = std::fs::read_to_string(work.join("data/churn.csv")).unwrap();
    assert_eq!(rows.lines().count(), input.lines().count());
    // The same model named by its release tag, read from the release.
    // Run off the runtime the fake answers on.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dslp"));
    command
        .args(["predict", "--model", "churn_lr-v1.0.0", "--input"])
        .arg(work.join("data/churn.csv"))
        .current_dir(scratch.path())
        .env("GITHUB_API_URL", &github.url)
        .env("GITHUB_REPOSITORY", "acme/churn")
        .env("GITHUB_TOKEN", TOKEN);
    let tagged = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        tagged.status.success(),
        "{}",
        String::from_utf8_lossy(&tagged.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&tagged.stdout), rows);
    let untokened = std::process::Command::new(env!("CARGO_BIN_EXE_dslp"))
        .args(["predict", "--model", "churn_lr-v1.0.0", "--input"])
        .arg(work.join("data/churn.csv"))
        .current_dir(scratch.path())
        .env("GITHUB_REPOSITORY", "acme/churn")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&untokened.stderr);
    assert!(
        !untokened.status.success() && said.contains("set GITHUB_TOKEN"),
        "{said}"
    );
    github.assert_no_violations();
}

#[tokio::test]
async fn suggest_says_the_commands_and_a_read_only_token_says_how_to_allow_it() {
    let dir = project("suggest");
    let github = fake().await;
    let merge = merge_model_branch(dir.path(), 0, &|c| c);
    let event = merged_event(dir.path(), 0, &merge);
    run_action(&github, dir.path(), &event, "pull_request").await;
    assert!(releases(&github).is_empty());
    let said = release_comment(&github, 20);
    assert!(said.contains("dslp release --model churn_lr"), "{said}");
    assert!(said.contains("automations.release: act"), "{said}");

    let dir = project("act");
    let github = fake().await;
    github.world.lock().unwrap().contents_read_only = true;
    let merge = merge_model_branch(dir.path(), 0, &|c| c);
    let event = merged_event(dir.path(), 0, &merge);
    let run = run_action(&github, dir.path(), &event, "pull_request").await;
    assert!(run.code <= 1, "{}", run.stderr);
    assert!(releases(&github).is_empty());
    let said = release_comment(&github, 20);
    assert!(
        said.contains("may not create releases") && said.contains("contents: write"),
        "{said}"
    );

    // A checkout that is not the merge commit is not released from.
    let dir = project("act");
    let github = fake().await;
    merge_model_branch(dir.path(), 0, &|c| c);
    let event = merged_event(dir.path(), 0, "0123456789012345678901234567890123456789");
    run_action(&github, dir.path(), &event, "pull_request").await;
    assert!(releases(&github).is_empty());
    assert!(release_comment(&github, 20).contains("merge_commit_sha"));
}

/// The demo project (releases on, `work` as `extend` leaves it) served as
/// `acme/churn` by the fake with model branch 0 merged into `main` as pull
/// request #20, and the demo's issues; answers the merged pull request's
/// `closed` payload.
pub(crate) fn served_after_a_model_merge(
    github: &FakeGitHub,
    dir: &Path,
    extend: &dyn Fn(&Path),
) -> Value {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let project = project("act");
    for file in [".github/dslp.yml", "data/churn.csv"] {
        std::fs::create_dir_all(work.join(file).parent().unwrap()).unwrap();
        std::fs::copy(project.path().join(file), work.join(file)).unwrap();
    }
    extend(&work);
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "churn project"]);
    let merge = merge_model_branch(&work, 0, &|c| c);
    let head = git(&work, &["rev-parse", "model/7-churn-0"]);
    let bare = dir.join("git/acme/churn.git");
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(
        dir,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git(&bare, &["update-ref", "refs/pull/20/head", &head]);
    {
        let mut world = github.world.lock().unwrap();
        world.git_root = Some(dir.join("git"));
        world.branches.insert("main".into(), merge.clone());
        let config = std::fs::read(work.join(".github/dslp.yml")).unwrap();
        world
            .files
            .insert((".github/dslp.yml".into(), "main".into()), config);
    }
    // `app_host` holds the demo's issues already.
    github.add_pull_request(20, "Churn model", &[".github/dslp.yml"]);
    let mut payload = crate::app_e2e::example("pull_request.closed");
    payload["repository"]["full_name"] = "acme/churn".into();
    payload["repository"]["clone_url"] = format!("{}/git/acme/churn.git", github.url).into();
    let pr = &mut payload["pull_request"];
    pr["number"] = 20.into();
    pr["merged"] = true.into();
    pr["merge_commit_sha"] = merge.as_str().into();
    pr["head"]["ref"] = "model/7-churn-0".into();
    pr["head"]["sha"] = head.as_str().into();
    pr["head"]["repo"]["full_name"] = "acme/churn".into();
    pr["base"]["ref"] = "main".into();
    payload
}

/// The App: the merge commit is fetched with the installation token,
/// trained in its evaluation process, and released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_releases_a_merged_model_branch_from_the_fetched_merge_commit() {
    use crate::app_e2e::{Server, app_host, eventually};
    let github = app_host().await;
    let dir = tempfile::tempdir().unwrap();
    let payload = served_after_a_model_merge(&github, dir.path(), &|_| {});
    let merge = payload["pull_request"]["merge_commit_sha"]
        .as_str()
        .unwrap()
        .to_string();
    let server = Server::start(&github, dir.path(), &[]).await;
    assert_eq!(
        server.deliver("pull_request", "merged-1", &payload).await.0,
        202
    );
    let said = eventually("the release comment", &server, || {
        Some(release_comment(&github, 20)).filter(|s| !s.is_empty())
    })
    .await;
    assert!(said.contains("churn_lr-v1.0.0"), "{said}\n{}", server.log());
    let all = releases(&github);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(!all[0].1 && all[0].2.len() == 8, "{all:?}");
    assert_eq!(
        github.world.lock().unwrap().releases[0]["target_commitish"],
        merge.as_str()
    );
    github.assert_no_violations();
}

/// `data/2-refresh-N` edits `data/churn.csv` as `edit` says and is merged
/// into `main`; answers the merge commit.
fn merge_data_branch(dir: &Path, n: u32, edit: &dyn Fn(&str) -> String) -> String {
    let branch = format!("data/2-refresh-{n}");
    git(dir, &["checkout", "-q", "-b", &branch]);
    let path = dir.join("data/churn.csv");
    let edited = edit(&std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, edited).unwrap();
    git(dir, &["commit", "-q", "-am", "refreshed data"]);
    git(dir, &["checkout", "-q", "main"]);
    git(
        dir,
        &["merge", "-q", "--no-ff", "-m", "Merge data branch", &branch],
    );
    git(dir, &["rev-parse", "HEAD"])
}

/// `count` new customers, copied from the last rows with fresh ids.
fn more_rows(text: &str, count: usize, first_id: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = text.to_string();
    for (i, line) in lines[lines.len() - count..].iter().enumerate() {
        let (_, rest) = line.split_once(',').unwrap();
        out.push_str(&format!("C{:05},{rest}\n", first_id + i));
    }
    out
}

#[tokio::test]
async fn merged_data_branches_become_dataset_versions_with_a_data_card() {
    let dir = project("act");
    let work = dir.path();
    let github = fake().await;
    let edits: [(&str, Box<dyn Fn(&str) -> String>); 3] = [
        ("churn-data-v1.0.0", Box::new(|t| more_rows(t, 20, 90_000))),
        (
            "churn-data-v1.0.1",
            Box::new(|t: &str| t.replacen(",71.40,", ",71.45,", 1)),
        ),
        ("churn-data-v1.1.0", Box::new(|t| more_rows(t, 30, 91_000))),
    ];
    for (n, (tag, edit)) in edits.iter().enumerate() {
        let merge = merge_data_branch(work, n as u32, edit.as_ref());
        let mut event: Value = serde_json::from_str(
            &std::fs::read_to_string(merged_event(work, n as u32, &merge)).unwrap(),
        )
        .unwrap();
        event["pull_request"]["head"]["ref"] = format!("data/2-refresh-{n}").into();
        let path = work.join(format!(".git/data-event-{n}.json"));
        std::fs::write(&path, event.to_string()).unwrap();
        let run = run_action(&github, work, &path, "pull_request").await;
        assert!(run.code <= 1, "{}", run.stderr);
        let all = releases(&github);
        assert_eq!(
            all.len(),
            n + 1,
            "{all:?}\n{}",
            release_comment(&github, 20)
        );
        let (last, draft, assets) = all.last().unwrap();
        assert_eq!(last, tag, "{}", release_comment(&github, 20));
        assert!(!draft);
        assert_eq!(
            assets,
            &[
                "churn.data-card.md",
                "churn.schema.json",
                "churn.profile.json",
                "churn.data-release.json"
            ]
        );
        assert_eq!(
            release_comment(&github, 2),
            release_comment(&github, 20),
            "the Data issue is told"
        );
    }
    let world = github.world.lock().unwrap();
    let notes = |i: usize| world.releases[i]["body"].as_str().unwrap().to_string();
    assert!(
        notes(0).contains("kept in git") && notes(0).contains("- sha256: `"),
        "{}",
        notes(0)
    );
    assert!(
        notes(0).contains("| monthly_charges | f64 | 45 |"),
        "{}",
        notes(0)
    );
    assert!(notes(1).contains("patch: values changed"), "{}", notes(1));
    assert!(notes(2).contains("minor: 30 rows added"), "{}", notes(2));
    drop(world);
    github.assert_no_violations();
}
