//! Repository calls whose bodies are long: a file at a revision, branch
//! protection, a pull request's edit. The port delegates to them.

use base64::Engine as _;
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{OctocrabGitHub, repo_path, segment, segments};
use crate::github::{GitHubError, Permission};
use crate::lifecycle::IssueState;
use crate::lifecycle::links::RepoName;

impl OctocrabGitHub {
    pub(super) async fn file_at_path(
        &self,
        repo: &RepoName,
        path: &str,
        reference: &str,
    ) -> Result<Option<Vec<u8>>, GitHubError> {
        #[derive(Deserialize)]
        struct Content {
            #[serde(default)]
            content: String,
        }
        // No `ref` means the default branch.
        let mut url = format!("{}/contents/{}", repo_path(repo), segments(path));
        if !reference.is_empty() {
            url.push_str(&format!("?ref={}", segment(reference)));
        }
        match self
            .json::<Content>(Method::GET, &url, None, "get file")
            .await
        {
            Ok(content) => {
                let clean: String = content.content.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(clean)
                    .map(Some)
                    .map_err(|e| GitHubError::Transport(format!("get file: {e}")))
            }
            Err(GitHubError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn protect_branch(
        &self,
        repo: &RepoName,
        branch: &str,
        checks: &[&str],
    ) -> Result<(), GitHubError> {
        // Only the required check: reviews, admins and push restrictions
        // stay as they are (unset on an unprotected branch).
        let body = json!({
            "required_status_checks": {"strict": false, "contexts": checks},
            "enforce_admins": null,
            "required_pull_request_reviews": null,
            "restrictions": null,
        });
        self.no_content(
            Method::PUT,
            &format!(
                "{}/branches/{}/protection",
                repo_path(repo),
                segment(branch)
            ),
            Some(&body),
            "protect a branch",
        )
        .await
    }

    pub(super) async fn patch_pull(
        &self,
        repo: &RepoName,
        number: u64,
        base: Option<&str>,
        state: Option<IssueState>,
    ) -> Result<(), GitHubError> {
        let mut body = serde_json::Map::new();
        if let Some(base) = base {
            body.insert("base".into(), base.into());
        }
        if let Some(state) = state {
            body.insert(
                "state".into(),
                serde_json::to_value(state).unwrap_or_default(),
            );
        }
        self.no_content(
            Method::PATCH,
            &format!("{}/pulls/{number}", repo_path(repo)),
            Some(&Value::Object(body)),
            "update a pull request",
        )
        .await
    }

    pub(super) async fn permission_of(
        &self,
        repo: &RepoName,
        user: &str,
    ) -> Result<Permission, GitHubError> {
        #[derive(Deserialize)]
        struct Answer {
            permission: String,
        }
        match self
            .json::<Answer>(
                Method::GET,
                &format!(
                    "{}/collaborators/{}/permission",
                    repo_path(repo),
                    segment(user)
                ),
                None,
                "get a collaborator's permission",
            )
            .await
        {
            Ok(p) => Ok(Permission::from_github(&p.permission)),
            // Not a collaborator at all.
            Err(GitHubError::NotFound(_)) => Ok(Permission::None),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn commits_behind(
        &self,
        repo: &RepoName,
        base: &str,
        head: &str,
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Comparison {
            behind_by: u64,
        }
        let comparison: Comparison = self
            .json(
                Method::GET,
                &format!(
                    "{}/compare/{}...{}",
                    repo_path(repo),
                    segment(base),
                    segment(head)
                ),
                None,
                "compare two branches",
            )
            .await?;
        Ok(comparison.behind_by)
    }

    pub(super) async fn head_of_branch(
        &self,
        repo: &RepoName,
        branch: &str,
    ) -> Result<String, GitHubError> {
        #[derive(Deserialize)]
        struct Branch {
            commit: Commit,
        }
        #[derive(Deserialize)]
        struct Commit {
            sha: String,
        }
        let branch: Branch = self
            .json(
                Method::GET,
                &format!("{}/branches/{}", repo_path(repo), segment(branch)),
                None,
                "get branch",
            )
            .await?;
        Ok(branch.commit.sha)
    }
}
