//! `dslp init` on fresh temporary git repositories.

use std::path::Path;

use crate::support::{check_schema, dslp_in};

fn git_repo(branch: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut options = git2::RepositoryInitOptions::new();
    options.initial_head(branch);
    git2::Repository::init_opts(dir.path(), &options).expect("git init");
    dir
}

const FORMS: [&str; 6] = [
    "ask.yml",
    "data-acquisition.yml",
    "dataset-creation.yml",
    "explore.yml",
    "experiment.yml",
    "model.yml",
];

#[test]
fn init_writes_files_githubs_schemas_accept() {
    let repo = git_repo("main");
    let run = dslp_in(repo.path(), &["init"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches("created ").count(), 9, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("gh label create 'blocked - need access' --color ed9a53"),
        "{}",
        run.stdout
    );

    let templates = repo.path().join(".github/ISSUE_TEMPLATE");
    let forms: Vec<_> = FORMS.iter().map(|f| templates.join(f)).collect();
    check_schema("github-issue-forms", &forms);
    check_schema("github-issue-config", &[templates.join("config.yml")]);
    check_schema(
        "github-workflows",
        &[repo.path().join(".github/workflows/dslp.yml")],
    );

    let lint = dslp_in(repo.path(), &["lint", "config"]);
    assert_eq!(lint.code, 0, "{}", lint.stderr);
    assert!(lint.stdout.contains(".github/dslp.yml: valid"));
}

#[test]
fn init_is_idempotent_and_keeps_user_changes_unless_forced() {
    let repo = git_repo("main");
    assert_eq!(dslp_in(repo.path(), &["init"]).code, 0);
    let again = dslp_in(repo.path(), &["init", "--format", "json"]).json();
    let outcomes: Vec<&str> = again["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["outcome"].as_str().unwrap())
        .collect();
    assert!(outcomes.iter().all(|o| *o == "unchanged"), "{outcomes:?}");

    let config = repo.path().join(".github/dslp.yml");
    let mine = "version: 1\nrules:\n  R16: off\n";
    std::fs::write(&config, mine).unwrap();
    let kept = dslp_in(repo.path(), &["init"]);
    assert!(
        kept.stdout.contains("kept        .github/dslp.yml"),
        "{}",
        kept.stdout
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), mine);

    let forced = dslp_in(repo.path(), &["init", "--force"]);
    assert!(
        forced.stdout.contains("overwritten .github/dslp.yml"),
        "{}",
        forced.stdout
    );
    assert_ne!(std::fs::read_to_string(&config).unwrap(), mine);
}

#[test]
fn init_names_the_repositorys_own_main_branch() {
    let repo = git_repo("trunk");
    let run = dslp_in(repo.path(), &["init"]);
    assert_eq!(run.code, 0);
    let config = std::fs::read_to_string(repo.path().join(".github/dslp.yml")).unwrap();
    assert!(config.contains("  main: [trunk]"), "{config}");
    let branch = dslp_in(repo.path(), &["lint", "branch", "trunk"]);
    assert!(
        branch.stdout.contains("collaboration branch"),
        "{}",
        branch.stdout
    );
}

#[test]
fn init_outside_git_says_so_and_a_missing_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = dslp_in(dir.path(), &["init"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("is not a git repository"),
        "{}",
        run.stdout
    );
    assert!(Path::new(&dir.path().join(".github/workflows/dslp.yml")).exists());
    let missing = dslp_in(dir.path(), &["init", "no/such/dir"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("is not a directory"),
        "{}",
        missing.stderr
    );
}
