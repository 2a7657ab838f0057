//! GitHub Actions and the check runs that follow them: dispatching the
//! compute workflow, reading its run, and a check run that starts now and
//! concludes when the run has.

use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{OctocrabGitHub, repo_path, segment};
use crate::github::retry::{self, Idempotence};
use crate::github::{CheckRunData, DispatchedRun, GitHubError, StartedCheck, WorkflowRunData};
use crate::lifecycle::links::RepoName;

impl OctocrabGitHub {
    pub(super) async fn begin_check_run(
        &self,
        repo: &RepoName,
        run: &StartedCheck,
    ) -> Result<u64, GitHubError> {
        let body = json!({
            "name": run.name,
            "head_sha": run.head_sha,
            "status": "in_progress",
            "details_url": run.details_url,
            "external_id": run.external_id,
            "output": { "title": run.title, "summary": run.summary },
        });
        self.post_check_run(repo, &body, "start check run").await
    }

    pub(super) async fn list_check_runs(
        &self,
        repo: &RepoName,
        sha: &str,
        name: &str,
    ) -> Result<Vec<CheckRunData>, GitHubError> {
        #[derive(Deserialize)]
        struct Runs {
            #[serde(default)]
            check_runs: Vec<CheckRunData>,
        }
        let path = format!(
            "{}/commits/{}/check-runs?check_name={}&per_page=100",
            repo_path(repo),
            segment(sha),
            segment(name)
        );
        let runs: Runs = self
            .json(Method::GET, &path, None, "list check runs")
            .await?;
        Ok(runs.check_runs)
    }

    pub(super) async fn dispatch(
        &self,
        repo: &RepoName,
        workflow: &str,
        reference: &str,
        inputs: &Value,
    ) -> Result<Option<DispatchedRun>, GitHubError> {
        let what = "dispatch the compute workflow";
        let path = format!(
            "{}/actions/workflows/{}/dispatches",
            repo_path(repo),
            segment(workflow)
        );
        let body = json!({ "ref": reference, "inputs": inputs, "return_run_details": true });
        // Never sent twice: a second dispatch is a second run.
        let reply = self
            .send(Method::POST, &path, Some(&body), Idempotence::Creates, what)
            .await?;
        if !reply.ok() {
            return Err(retry::error_of(&reply, what));
        }
        // 204: a GitHub that does not return the run.
        Ok(serde_json::from_str(&reply.body).ok())
    }

    pub(super) async fn get_workflow_run(
        &self,
        repo: &RepoName,
        id: u64,
    ) -> Result<WorkflowRunData, GitHubError> {
        let path = format!("{}/actions/runs/{id}", repo_path(repo));
        self.json(Method::GET, &path, None, "read the workflow run")
            .await
    }
}
