//! Labels over octocrab: one kept to its exact colour and description.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::{OctocrabGitHub, repo_path, segment};
use crate::github::GitHubError;
use crate::lifecycle::labels::LabelSpec;
use crate::lifecycle::links::RepoName;

impl OctocrabGitHub {
    /// Creates the label, or changes it to its colour and description.
    pub(super) async fn label_as_specified(
        &self,
        repo: &RepoName,
        label: &LabelSpec,
    ) -> Result<(), GitHubError> {
        #[derive(Deserialize)]
        struct Existing {
            #[serde(default)]
            color: String,
            #[serde(default)]
            description: Option<String>,
        }
        let path = format!("{}/labels/{}", repo_path(repo), segment(label.name));
        let body =
            json!({ "name": label.name, "color": label.color, "description": label.description });
        match self
            .json::<Existing>(Method::GET, &path, None, "get label")
            .await
        {
            Ok(existing)
                if existing.color.eq_ignore_ascii_case(label.color)
                    && existing.description.as_deref() == Some(label.description) =>
            {
                Ok(())
            }
            Ok(_) => {
                self.no_content(Method::PATCH, &path, Some(&body), "update label")
                    .await
            }
            Err(GitHubError::NotFound(_)) => {
                self.no_content(
                    Method::POST,
                    &format!("{}/labels", repo_path(repo)),
                    Some(&body),
                    "create label",
                )
                .await
            }
            Err(e) => Err(e),
        }
    }
}
