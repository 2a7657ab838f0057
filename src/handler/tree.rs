//! A pull request's files: its commits fetched (the App) and where its
//! data beyond the working tree comes from.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};

use crate::data::source::{LfsRemote, Sources};
use crate::event::PullRequestEvent;
use crate::github::fetch::{Fetch, PullHead};
use crate::revision::Revisions;

use super::context::{Limits, RunContext};
use super::facts::off_executor;

/// Fetches the pull request's two commits, off the executor, under the
/// time limit.
pub(super) async fn checkout(
    fetch: &Arc<dyn Fetch>,
    event: &PullRequestEvent,
    limits: Limits,
) -> Result<PathBuf> {
    let clone_url = event.clone_url.clone().ok_or_else(|| {
        anyhow!(
            "the payload names no clone URL for {}; cannot fetch its commits",
            event.repo
        )
    })?;
    let fetch = fetch.clone();
    let pull = PullHead {
        repo: event.repo.clone(),
        number: event.number,
        base_ref: event.base_ref.clone(),
        head_sha: event.head_sha.clone(),
    };
    off_executor(limits, "fetching the pull request's commits", move || {
        fetch.checkout(&pull, &clone_url)
    })
    .await?
}

/// Where the pull request's data comes from: the job's cache and token,
/// its repository's LFS server, and for a fork, the size limit and the
/// base's `.dvc/config` (a fork must not point dslp-bot at a remote of its
/// choosing).
pub(super) fn sources_for(
    ctx: RunContext<'_>,
    root: &Path,
    event: &PullRequestEvent,
    fork_bytes: Option<u64>,
) -> Sources {
    let mut sources = ctx.sources.clone();
    if let Some(url) = &event.clone_url {
        let token = sources.lfs.take().and_then(|l| l.token);
        sources.lfs = Some(LfsRemote {
            url: url.clone(),
            token,
        });
    }
    if let Some(bytes) = fork_bytes {
        sources.max_bytes = Some(bytes);
        sources.dvc_config = Revisions::discover(root)
            .and_then(|r| r.read(&event.base_sha, ".dvc/config"))
            .ok()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .or(Some(String::new()));
    }
    sources
}
