//! What dslp-bot ships to GitHub passes GitHub's schemas (vendored in
//! `fixtures/schemas/`, validated from Rust): the Action's `action.yml`,
//! this repository's workflows and the workflow `dslp init` writes. The
//! issue forms are checked in `forms.rs` and `init.rs`.

use std::path::PathBuf;

use crate::support::{check_schema, repo_root};

#[test]
fn the_action_and_the_workflows_pass_githubs_schemas() {
    check_schema("github-actions", &[repo_root().join("action/action.yml")]);
    let mut workflows: Vec<PathBuf> = std::fs::read_dir(repo_root().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    workflows.push(repo_root().join("src/scaffold/workflow.yml"));
    assert!(workflows.len() >= 2, "{workflows:?}");
    check_schema("github-workflows", &workflows);
}

/// The check can fail: a form with an unknown element type, a workflow
/// without `jobs`, each named with where it breaks.
#[test]
fn the_schemas_reject_what_github_would() {
    let dir = tempfile::tempdir().unwrap();
    let form = dir.path().join("form.yml");
    std::fs::write(
        &form,
        "name: Ask\ndescription: x\nbody:\n  - type: textbox\n    attributes: { label: Q }\n",
    )
    .unwrap();
    let workflow = dir.path().join("workflow.yml");
    std::fs::write(&workflow, "name: ci\non: push\n").unwrap();
    for (schema, file, words) in [
        ("github-issue-forms", &form, "/body/0"),
        ("github-workflows", &workflow, "jobs"),
    ] {
        let failure = std::panic::catch_unwind(|| check_schema(schema, &[file.clone()]))
            .expect_err("the schema rejects it");
        let message = failure
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains(words), "{schema}: {message}");
    }
}
