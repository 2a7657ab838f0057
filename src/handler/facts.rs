//! The facts a job gathers before deciding: the repository's config (from
//! its tree or through the API), a pull request as an event, and work
//! that must run off the async executor.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::automation::{Lifecycle, Repository};
use crate::config::{CONFIG_PATH, RepoConfig};
use crate::event::{PullAction, PullRequestEvent};
use crate::github::{GitHub, PullData};
use crate::lifecycle::ask::Evaluation;
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{IssueState, Rulebook};

use super::context::{Limits, Tree};

/// A pull request as an event, to run it again.
pub(super) fn rerun_event(repo: &RepoName, pull: &PullData) -> PullRequestEvent {
    PullRequestEvent {
        action: PullAction::Rerun,
        repo: repo.clone(),
        number: pull.number,
        head_ref: pull.head.name.clone(),
        head_sha: pull.head.sha.clone(),
        base_ref: pull.base.name.clone(),
        base_sha: pull.base.sha.clone(),
        body: pull.body.clone().unwrap_or_default(),
        labels: pull.labels.iter().map(|l| l.name.clone()).collect(),
        merged: pull.merged.unwrap_or(false),
        merge_commit_sha: None,
        state: IssueState::from_github(&pull.state),
        head_repo: pull
            .head
            .repo
            .as_ref()
            .and_then(|r| RepoName::parse(&r.full_name)),
        author: pull
            .user
            .as_ref()
            .map(|u| u.login.clone())
            .unwrap_or_default(),
        sender: String::new(),
        clone_url: pull.base.repo.as_ref().and_then(|r| r.clone_url.clone()),
    }
}

/// The config of the repository's default branch (or the Action's checkout).
pub(super) async fn config_of(
    github: &impl GitHub,
    tree: &Tree,
    repo: &RepoName,
) -> Result<RepoConfig> {
    match tree {
        Tree::Workspace(root) => load_config(root),
        Tree::Fetched(_) => config_at(github, repo, "").await,
    }
}

/// The config at a branch, through the API (`""`: the default branch).
pub(super) async fn config_at(
    github: &impl GitHub,
    repo: &RepoName,
    reference: &str,
) -> Result<RepoConfig> {
    let bytes = github.file_at(repo, CONFIG_PATH, reference).await?;
    config_or_defaults(bytes.as_deref().map(String::from_utf8_lossy).as_deref())
}

/// `.github/dslp.yml` under `root`, or the defaults when there is none.
pub fn load_config(root: &Path) -> Result<RepoConfig> {
    let path = root.join(CONFIG_PATH);
    match std::fs::read_to_string(&path) {
        Ok(text) => config_or_defaults(Some(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => config_or_defaults(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The config's text read, or the defaults when the repository has none.
fn config_or_defaults(text: Option<&str>) -> Result<RepoConfig> {
    Ok(RepoConfig::parse(
        text.unwrap_or("version: 1\n"),
        CONFIG_PATH,
    )?)
}

pub(super) async fn rulebook_of(
    github: &impl GitHub,
    tree: &Tree,
    repo: &RepoName,
) -> Result<(RepoConfig, Rulebook)> {
    let config = config_of(github, tree, repo).await?;
    let rulebook = config.rulebook(CONFIG_PATH)?;
    Ok((config, rulebook))
}

/// What a flow reads to see a repository's lifecycle: its config, the
/// rules made of it, and its issues.
pub(super) struct Seen {
    pub config: RepoConfig,
    pub rulebook: Rulebook,
    pub repository: Repository,
}

impl Seen {
    pub async fn read(github: &impl GitHub, tree: &Tree, repo: &RepoName) -> Result<Seen> {
        let (config, rulebook) = rulebook_of(github, tree, repo).await?;
        let repository = Repository::read(github, repo).await?;
        Ok(Seen {
            config,
            rulebook,
            repository,
        })
    }

    pub fn lifecycle<'a>(&'a self, evaluations: &'a [Evaluation]) -> Lifecycle<'a> {
        Lifecycle {
            repository: &self.repository,
            rulebook: &self.rulebook,
            config: &self.config,
            evaluations,
        }
    }
}

/// Runs CPU-bound work (git2, polars, linfa) on the blocking pool, so the
/// executor keeps answering, and gives up waiting after the time limit.
pub(super) async fn off_executor<T: Send + 'static>(
    limits: Limits,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    match tokio::time::timeout(limits.evidence_time, tokio::task::spawn_blocking(work)).await {
        Ok(joined) => joined.with_context(|| what.to_string()),
        Err(_) => Err(anyhow!(
            "{what} took longer than the limit of {} s",
            limits.evidence_time.as_secs()
        )),
    }
}
