//! What the commands share: exit codes, the repository options, and
//! reading inputs and the config.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{self, RepoConfig};
use crate::lifecycle::Rulebook;
use crate::lifecycle::links::RepoName;

/// Exit codes, as the README documents them.
pub mod exit {
    /// No findings at error level.
    pub const CLEAN: i32 = 0;
    /// At least one finding at error level.
    pub const FINDINGS: i32 = 1;
    /// Wrong usage, unreadable input, or an invalid config.
    pub const USAGE: i32 = 2;
}

/// Options shared by the commands that apply the repository's rules.
#[derive(Debug, clap::Args)]
pub struct RepoArgs {
    /// The repository config; by default .github/dslp.yml in the current directory, if present.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// A JSON export of the repository's issues, so links can be checked
    /// (`gh issue list --state all --limit 1000 --json number,title,body,labels,state`).
    #[arg(long, value_name = "FILE")]
    pub issues: Option<PathBuf>,
    /// The repository as owner/name, to tell its own links from other repositories'.
    #[arg(long, value_name = "OWNER/NAME", value_parser = parse_repo)]
    pub repo: Option<RepoName>,
}

pub fn parse_repo(text: &str) -> Result<RepoName, String> {
    RepoName::parse(text).ok_or_else(|| format!("`{text}` is not owner/name"))
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads and validates a config; `shown` is how messages name it.
pub fn read_config(path: &Path) -> Result<(String, RepoConfig)> {
    let text = read_input(path)
        .map_err(|e| anyhow::anyhow!("{e:#}; `dslp init` writes a commented .github/dslp.yml"))?;
    let shown = path.display().to_string();
    let config = RepoConfig::parse(&text, &shown)?;
    config.rulebook(&shown)?;
    Ok((shown, config))
}

/// The rulebook from `--config`, or from .github/dslp.yml when present.
pub fn load_rulebook(explicit: Option<&Path>) -> Result<Rulebook> {
    let default = Path::new(config::CONFIG_PATH);
    let path = match explicit {
        Some(path) => path,
        None if default.exists() => default,
        None => return Ok(Rulebook::default()),
    };
    let (shown, config) = read_config(path)?;
    Ok(config.rulebook(&shown)?)
}

/// The repository root (as given, else the git work tree around the
/// current directory, else the current directory) and its config (as
/// given, else the root's .github/dslp.yml).
pub fn load_repository(
    root: Option<&Path>,
    config: Option<&Path>,
) -> Result<(PathBuf, String, RepoConfig)> {
    let root = match root {
        Some(root) if !root.is_dir() => anyhow::bail!("{} is not a directory", root.display()),
        Some(root) => root.to_path_buf(),
        None => {
            let here = std::env::current_dir().context("reading the current directory")?;
            git2::Repository::discover(&here)
                .ok()
                .and_then(|repo| repo.workdir().map(Path::to_path_buf))
                .unwrap_or(here)
        }
    };
    let path = config
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join(config::CONFIG_PATH));
    let (shown, config) = read_config(&path)?;
    Ok((root, shown, config))
}

/// The checked-out branch, or why there is none, in a user's words.
pub fn current_branch(root: &Path) -> Result<String> {
    let repo = git2::Repository::discover(root).map_err(|_| {
        anyhow::anyhow!(
            "{} is not in a git repository; run `git init`, or pass --branch NAME to say whose policy applies",
            root.display()
        )
    })?;
    let head = match repo.head() {
        Ok(head) => head,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            anyhow::bail!("the repository has no commits yet; commit first, or pass --branch NAME")
        }
        Err(e) => anyhow::bail!(
            "cannot read the checked-out branch ({}); pass --branch NAME",
            e.message()
        ),
    };
    match head.is_branch() {
        true => Ok(head.shorthand().unwrap_or_default().to_string()),
        false => anyhow::bail!(
            "HEAD is detached (no branch is checked out); pass --branch NAME, as CI does with its pull request's branch"
        ),
    }
}

/// `rev` names a commit of the repository at `root`; else an error that
/// names the branches there are (and the likely one).
pub fn known_revision(root: &Path, rev: &str) -> Result<()> {
    let repo = git2::Repository::discover(root).map_err(|_| {
        anyhow::anyhow!(
            "--base {rev}: {} is not in a git repository, so there is no base to compare with",
            root.display()
        )
    })?;
    // A shallow clone may lack the base: the evidence says how to fetch it
    // beside the checks that still run.
    let found = repo.revparse_single(rev).and_then(|o| o.peel_to_commit());
    if found.is_ok() || repo.is_shallow() {
        return Ok(());
    }
    let mut branches: Vec<String> = repo
        .branches(None)
        .map(|all| {
            all.filter_map(|b| b.ok())
                .filter_map(|(b, _)| b.name().ok().flatten().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    branches.sort();
    let names: Vec<&str> = branches.iter().map(String::as_str).collect();
    let hint = config::did_you_mean(rev, &names)
        .map(|b| format!(" Did you mean `{b}`?"))
        .unwrap_or_default();
    let listed = match names.is_empty() {
        true => "there are no branches yet".to_string(),
        false => format!("the branches are {}", names.join(", ")),
    };
    anyhow::bail!("--base {rev}: no such branch or commit here;{hint} {listed}")
}
