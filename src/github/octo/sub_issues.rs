//! Sub-issues over octocrab: an issue's parent, linked and unlinked by
//! the child's id.

use http::Method;
use serde_json::json;

use super::{Numbered, OctocrabGitHub, repo_path};
use crate::github::GitHubError;
use crate::lifecycle::links::RepoName;

impl OctocrabGitHub {
    pub(super) async fn parent_of(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> Result<Option<u64>, GitHubError> {
        let path = format!("{}/issues/{number}/parent", repo_path(repo));
        match self
            .json::<Numbered>(Method::GET, &path, None, "get an issue's parent")
            .await
        {
            Ok(parent) => Ok(Some(parent.number)),
            Err(GitHubError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The numbers of an issue's sub-issues (none where GitHub has no
    /// sub-issues).
    pub(super) async fn children_of(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> Result<Vec<u64>, GitHubError> {
        let path = format!(
            "{}/issues/{number}/sub_issues?per_page=100",
            repo_path(repo)
        );
        match self
            .json::<Vec<Numbered>>(Method::GET, &path, None, "list an issue's sub-issues")
            .await
        {
            Ok(children) => Ok(children.into_iter().map(|c| c.number).collect()),
            Err(GitHubError::NotFound(_)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Adds (taking it from another parent) or removes a sub-issue.
    pub(super) async fn link_sub_issue(
        &self,
        repo: &RepoName,
        parent: u64,
        sub_issue_id: u64,
        add: bool,
    ) -> Result<(), GitHubError> {
        let (method, path, body, what) = match add {
            true => (
                Method::POST,
                format!("{}/issues/{parent}/sub_issues", repo_path(repo)),
                json!({ "sub_issue_id": sub_issue_id, "replace_parent": true }),
                "add a sub-issue",
            ),
            false => (
                Method::DELETE,
                format!("{}/issues/{parent}/sub_issue", repo_path(repo)),
                json!({ "sub_issue_id": sub_issue_id }),
                "remove a sub-issue",
            ),
        };
        self.no_content(method, &path, Some(&body), what).await
    }
}
