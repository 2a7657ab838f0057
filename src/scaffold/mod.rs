//! What `dslp init` installs into a repository: the issue forms, the
//! chooser config, a commented `.github/dslp.yml` and the workflow.
//!
//! Installing is idempotent and never overwrites a file the user changed
//! unless forced.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config;
use crate::lifecycle::kinds::TEMPLATES;

/// The issue forms and the chooser config, embedded from `issue-templates/`.
pub const ISSUE_TEMPLATE_FILES: [(&str, &str); 7] = [
    ("ask.yml", include_str!("../../issue-templates/ask.yml")),
    (
        "data-acquisition.yml",
        include_str!("../../issue-templates/data-acquisition.yml"),
    ),
    (
        "dataset-creation.yml",
        include_str!("../../issue-templates/dataset-creation.yml"),
    ),
    (
        "explore.yml",
        include_str!("../../issue-templates/explore.yml"),
    ),
    (
        "experiment.yml",
        include_str!("../../issue-templates/experiment.yml"),
    ),
    ("model.yml", include_str!("../../issue-templates/model.yml")),
    (
        "config.yml",
        include_str!("../../issue-templates/config.yml"),
    ),
];

pub const WORKFLOW: &str = include_str!("workflow.yml");
pub const WORKFLOW_PATH: &str = ".github/workflows/dslp.yml";
pub const ISSUE_TEMPLATE_DIR: &str = ".github/ISSUE_TEMPLATE";
/// The workflow the App dispatches for `compute: actions`.
pub const COMPUTE_WORKFLOW: &str = include_str!("compute.yml");
pub const COMPUTE_WORKFLOW_PATH: &str = ".github/workflows/dslp-compute.yml";
/// The example config's line for `compute:`, which `--compute actions` sets.
const COMPUTE_DEFAULT_LINE: &str = "# compute: app\n";

/// One file `dslp init` writes, relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldFile {
    pub path: PathBuf,
    pub contents: String,
}

/// The files for a repository whose collaboration branch is `main_branch`
/// (when known, the config names it instead of the `main`/`master` default).
/// With `release`, merged model branches are released: the config says
/// `release: act` and the workflow's token may write contents.
/// With `compute` `Actions`, the config says `compute: actions` and the
/// compute workflow the App dispatches is written too.
pub fn files(
    main_branch: Option<&str>,
    release: bool,
    compute: config::Compute,
) -> Vec<ScaffoldFile> {
    let mut files: Vec<ScaffoldFile> = ISSUE_TEMPLATE_FILES
        .iter()
        .map(|(name, contents)| ScaffoldFile {
            path: Path::new(ISSUE_TEMPLATE_DIR).join(name),
            contents: contents.to_string(),
        })
        .collect();
    let mut config = config_text(main_branch);
    if release {
        config = config.replace("automations: {}\n", "automations:\n  release: act\n");
    }
    if compute == config::Compute::Actions {
        config = config.replace(COMPUTE_DEFAULT_LINE, "compute: actions\n");
        files.push(ScaffoldFile {
            path: PathBuf::from(COMPUTE_WORKFLOW_PATH),
            contents: COMPUTE_WORKFLOW.to_string(),
        });
    }
    files.push(ScaffoldFile {
        path: PathBuf::from(config::CONFIG_PATH),
        contents: config,
    });
    files.push(ScaffoldFile {
        path: PathBuf::from(WORKFLOW_PATH),
        contents: match release {
            true => WORKFLOW.replace("contents: read   #", "contents: write  #"),
            false => WORKFLOW.to_string(),
        },
    });
    files
}

const DEFAULT_MAIN_LINE: &str = "  main: [main, master]";

fn config_text(main_branch: Option<&str>) -> String {
    match main_branch {
        Some(branch) if branch != "main" && branch != "master" && is_plain_branch_name(branch) => {
            config::EXAMPLE.replace(DEFAULT_MAIN_LINE, &format!("  main: [{branch}]"))
        }
        _ => config::EXAMPLE.to_string(),
    }
}

/// A name that needs no YAML quoting.
fn is_plain_branch_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    /// Already there with the same contents.
    Unchanged,
    /// There with other contents, and left alone.
    Kept,
    /// There with other contents, and replaced because of `--force`.
    Overwritten,
}

#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    pub path: PathBuf,
    pub outcome: Outcome,
}

/// Writes the scaffold under `root`.
pub fn install(root: &Path, files: &[ScaffoldFile], force: bool) -> io::Result<Vec<Installed>> {
    let mut done = Vec::with_capacity(files.len());
    for file in files {
        let target = root.join(&file.path);
        let outcome = match fs::read(&target) {
            Ok(existing) if existing == file.contents.as_bytes() => Outcome::Unchanged,
            Ok(_) if !force => Outcome::Kept,
            Ok(_) => {
                write(&target, &file.contents)?;
                Outcome::Overwritten
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                write(&target, &file.contents)?;
                Outcome::Created
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading {}: {e}", target.display()),
                ));
            }
        };
        done.push(Installed {
            path: file.path.clone(),
            outcome,
        });
    }
    Ok(done)
}

fn write(target: &Path, contents: &str) -> io::Result<()> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", parent.display())))?;
    }
    fs::write(target, contents)
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", target.display())))
}

/// The issue-form file name of each template, for cross-checks.
pub fn form_file_names() -> Vec<String> {
    TEMPLATES
        .iter()
        .map(|t| format!("{}.yml", t.form_file))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_an_embedded_form() {
        for name in form_file_names() {
            assert!(
                ISSUE_TEMPLATE_FILES.iter().any(|(file, _)| *file == name),
                "{name}"
            );
        }
    }

    #[test]
    fn config_names_a_custom_main_branch() {
        assert!(config_text(Some("trunk")).contains("  main: [trunk]"));
        assert_eq!(config_text(Some("main")), config::EXAMPLE);
        assert_eq!(config_text(Some("weird: name")), config::EXAMPLE);
        let parsed = config::RepoConfig::parse(&config_text(Some("trunk")), "x").unwrap();
        assert_eq!(parsed.branches.main, vec!["trunk".to_string()]);
    }

    #[test]
    fn releases_switch_on_the_config_and_the_tokens_contents_write_together() {
        let file = |files: &[ScaffoldFile], path: &str| {
            files
                .iter()
                .find(|f| f.path == Path::new(path))
                .unwrap()
                .contents
                .clone()
        };
        let off = files(None, false, config::Compute::App);
        let on = files(None, true, config::Compute::App);
        assert!(file(&off, WORKFLOW_PATH).contains("  contents: read "));
        assert!(!file(&off, WORKFLOW_PATH).contains("contents: write"));
        assert!(file(&on, WORKFLOW_PATH).contains("  contents: write "));
        let released = config::RepoConfig::parse(&file(&on, config::CONFIG_PATH), "x").unwrap();
        assert_eq!(released.automations.release, config::Mode::Act);
        let default = config::RepoConfig::parse(&file(&off, config::CONFIG_PATH), "x").unwrap();
        assert_eq!(default.automations.release, config::Mode::Suggest);
        // The merged pull request's checkout is its merge commit.
        assert!(file(&off, WORKFLOW_PATH).contains("github.event.pull_request.merge_commit_sha"));
    }

    #[test]
    fn compute_on_actions_writes_the_workflow_the_app_dispatches() {
        let app = files(None, false, config::Compute::App);
        let actions = files(None, false, config::Compute::Actions);
        let paths = |files: &[ScaffoldFile]| {
            files
                .iter()
                .any(|f| f.path == Path::new(COMPUTE_WORKFLOW_PATH))
        };
        assert!(!paths(&app) && paths(&actions));
        let config_of = |files: &[ScaffoldFile]| {
            let text = &files
                .iter()
                .find(|f| f.path == Path::new(config::CONFIG_PATH))
                .unwrap()
                .contents;
            config::RepoConfig::parse(text, "x").unwrap().compute
        };
        assert_eq!(
            (config_of(&app), config_of(&actions)),
            (config::Compute::App, config::Compute::Actions)
        );
        // Its file name is the one the App dispatches.
        assert!(COMPUTE_WORKFLOW_PATH.ends_with(config::COMPUTE_WORKFLOW));
        assert!(
            COMPUTE_WORKFLOW.contains("workflow_dispatch")
                && COMPUTE_WORKFLOW.contains("inputs.head_sha")
        );
    }
}
