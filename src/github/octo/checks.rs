//! Check runs over octocrab: the `dslp` run of a commit found, or created.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::{OctocrabGitHub, check_output, repo_path};
use crate::github::{Annotation, CheckRun, GitHubError};
use crate::lifecycle::links::RepoName;

impl OctocrabGitHub {
    /// The first check run called `name` on `sha` (GitHub lists the newest first).
    pub(super) async fn check_run_id(
        &self,
        repo: &RepoName,
        sha: &str,
        name: &str,
    ) -> Result<Option<u64>, GitHubError> {
        let runs = self.list_check_runs(repo, sha, name).await?;
        Ok(runs.first().map(|r| r.id))
    }

    pub(super) async fn new_check_run(
        &self,
        repo: &RepoName,
        run: &CheckRun,
        annotations: &[Annotation],
    ) -> Result<u64, GitHubError> {
        let body = json!({
            "name": run.name,
            "head_sha": run.head_sha,
            "status": "completed",
            "conclusion": run.conclusion,
            "output": check_output(run, annotations),
        });
        self.post_check_run(repo, &body, "create check run").await
    }

    /// Creates a check run from `body`: its id.
    pub(super) async fn post_check_run(
        &self,
        repo: &RepoName,
        body: &serde_json::Value,
        what: &str,
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let path = format!("{}/check-runs", repo_path(repo));
        let created: Created = self.json(Method::POST, &path, Some(body), what).await?;
        Ok(created.id)
    }
}
