//! A model named by its release tag (`churn_lr-v1.2.0`): its
//! `NAME.model.json` asset downloaded from the repository's GitHub release,
//! with `GITHUB_TOKEN` (or `GH_TOKEN`), for `dslp predict` and `dslp monitor`.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use crate::github::GitHub;
use crate::github::octo::OctocrabGitHub;
use crate::github::retry::RetryPolicy;
use crate::lifecycle::links::RepoName;
use crate::model::release::Version;

/// The model a release tag names (`churn_lr` of `churn_lr-v1.2.0`).
pub(super) fn model_of_tag(tag: &str) -> Option<&str> {
    let (model, version) = tag.rsplit_once("-v")?;
    (!model.is_empty() && Version::parse(version).is_some()).then_some(model)
}

/// The repository: `GITHUB_REPOSITORY`, else the `origin` remote's GitHub URL.
fn repository() -> Result<RepoName> {
    if let Ok(name) = std::env::var("GITHUB_REPOSITORY") {
        return RepoName::parse(&name)
            .ok_or_else(|| anyhow!("GITHUB_REPOSITORY `{name}` is not owner/name"));
    }
    let origin = crate::revision::Revisions::discover(Path::new("."))
        .ok()
        .and_then(|r| r.remote_url("origin"))
        .ok_or_else(|| anyhow!("no GITHUB_REPOSITORY and no `origin` remote: say which repository's release to read with GITHUB_REPOSITORY=owner/name"))?;
    let path = origin
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .take(2)
        .collect::<Vec<_>>();
    match path.as_slice() {
        [name, owner] => RepoName::parse(&format!("{owner}/{name}"))
            .ok_or_else(|| anyhow!("`origin` ({origin}) does not name a GitHub repository")),
        _ => bail!("`origin` ({origin}) does not name a GitHub repository"),
    }
}

/// The artifact's bytes from release `tag`.
pub(super) fn download(tag: &str, model: &str) -> Result<Vec<u8>> {
    let repo = repository()?;
    let token = std::env::var("GITHUB_TOKEN")
        .or_else(|_| std::env::var("GH_TOKEN"))
        .map_err(|_| anyhow!("`{tag}` is a release tag: set GITHUB_TOKEN (or GH_TOKEN) to read {repo}'s releases, or pass the downloaded {model}.model.json"))?;
    let api = std::env::var("GITHUB_API_URL").unwrap_or_else(|_| "https://api.github.com".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        // octocrab's client starts a task: inside the runtime.
        let github = OctocrabGitHub::new(&api, &token, RetryPolicy::default())?;
        let releases = github.releases(&repo).await?;
        let release = releases
            .iter()
            .find(|r| r.tag_name == tag)
            .ok_or_else(|| anyhow!("{repo} has no release `{tag}`"))?;
        let name = format!("{model}.model.json");
        let asset = release
            .assets
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| anyhow!("release `{tag}` of {repo} has no `{name}` asset"))?;
        Ok(github.download_asset(&repo, asset.id).await?)
    })
}

#[cfg(test)]
mod tests {
    use super::model_of_tag;

    #[test]
    fn a_release_tag_names_its_model() {
        assert_eq!(model_of_tag("churn_lr-v1.2.0"), Some("churn_lr"));
        assert_eq!(model_of_tag("my-model-v2.0.10"), Some("my-model"));
        assert_eq!(model_of_tag("churn-data-v1.0.0"), Some("churn-data"));
        assert_eq!(model_of_tag("release/churn_lr.model.json"), None);
        assert_eq!(model_of_tag("-v1.0.0"), None);
    }
}
