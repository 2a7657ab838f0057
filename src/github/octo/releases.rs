//! Releases over octocrab: listed, created as drafts, their assets
//! uploaded to the host the release names, then published.

use http::Method;
use serde_json::json;

use super::{OctocrabGitHub, repo_path};
use crate::github::retry::{self, Idempotence};
use crate::github::{GitHubError, NewRelease, ReleaseData};
use crate::lifecycle::links::RepoName;

impl OctocrabGitHub {
    pub(super) async fn list_releases(
        &self,
        repo: &RepoName,
    ) -> Result<Vec<ReleaseData>, GitHubError> {
        self.pages(
            &format!("{}/releases", repo_path(repo)),
            "list releases",
            1_000,
        )
        .await
    }

    pub(super) async fn new_release(
        &self,
        repo: &RepoName,
        release: &NewRelease,
    ) -> Result<ReleaseData, GitHubError> {
        let body = serde_json::to_value(release).unwrap_or_default();
        self.json(
            Method::POST,
            &format!("{}/releases", repo_path(repo)),
            Some(&body),
            "create a release",
        )
        .await
    }

    pub(super) async fn upload_release_asset(
        &self,
        release: &ReleaseData,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), GitHubError> {
        let url = upload_url(&release.upload_url, name)?;
        self.upload(&url, content_type, bytes, "upload a release asset")
            .await
    }

    /// GitHub answers with a redirect to its storage, which the client
    /// follows without the token (another host).
    pub(super) async fn release_asset(
        &self,
        repo: &RepoName,
        id: u64,
    ) -> Result<Vec<u8>, GitHubError> {
        let path = format!("{}/releases/assets/{id}", repo_path(repo));
        let what = "download a release asset";
        let reply = self
            .exchange(Idempotence::Safe, what, || {
                http::Request::builder()
                    .method(Method::GET)
                    .uri(path.as_str())
                    .header(http::header::ACCEPT, "application/octet-stream")
                    .body(octocrab::OctoBody::empty())
                    .map_err(|e| e.to_string())
            })
            .await?;
        match reply.ok() {
            true => Ok(reply.body.into_bytes()),
            false => Err(retry::error_of(&reply, what)),
        }
    }

    pub(super) async fn publish_draft(&self, repo: &RepoName, id: u64) -> Result<(), GitHubError> {
        self.no_content(
            Method::PATCH,
            &format!("{}/releases/{id}", repo_path(repo)),
            Some(&json!({ "draft": false })),
            "publish a release",
        )
        .await
    }
}

/// The release's upload URL for one asset: GitHub's template
/// (`…/assets{?name,label}`) with the name filled in.
fn upload_url(template: &str, name: &str) -> Result<String, GitHubError> {
    let base = template.split('{').next().unwrap_or_default();
    if !base.starts_with("http") {
        return Err(GitHubError::Transport(format!(
            "the release has no upload URL (`{template}`)"
        )));
    }
    let name: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    Ok(format!("{base}?name={name}"))
}

#[cfg(test)]
mod upload_tests {
    use super::upload_url;

    #[test]
    fn the_upload_url_template_takes_the_assets_name() {
        assert_eq!(
            upload_url(
                "https://uploads.github.com/repos/acme/churn/releases/1/assets{?name,label}",
                "churn.model.json"
            )
            .unwrap(),
            "https://uploads.github.com/repos/acme/churn/releases/1/assets?name=churn.model.json"
        );
        assert_eq!(
            upload_url(
                "https://ghe.example/api/uploads/repos/a/b/releases/7/assets{?name,label}",
                "a b.md"
            )
            .unwrap(),
            "https://ghe.example/api/uploads/repos/a/b/releases/7/assets?name=a%20b.md"
        );
        assert!(upload_url("", "x").is_err());
    }
}
