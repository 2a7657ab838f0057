//! The GitHub port over octocrab: one REST call per method, through the
//! client's one retry layer.

use base64::Engine as _;
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Numbered, OctocrabGitHub, check_output, repo_path, segment, segments};
use crate::github::retry::{self, Idempotence};
use crate::github::{
    Annotation, CheckRun, CheckRunData, Comment, DispatchedRun, GitHub, GitHubError, IssueData,
    IssueUpdate, NewRelease, Permission, PullData, ReleaseData, RulesetData, SelectField,
    StartedCheck, Status, WorkflowRunData,
};
use crate::lifecycle::IssueState;
use crate::lifecycle::labels::LabelSpec;
use crate::lifecycle::links::RepoName;

impl GitHub for OctocrabGitHub {
    async fn comments(&self, repo: &RepoName, issue: u64) -> Result<Vec<Comment>, GitHubError> {
        self.pages(
            &format!("{}/issues/{issue}/comments", repo_path(repo)),
            "list comments",
            5_000,
        )
        .await
    }

    async fn create_comment(
        &self,
        repo: &RepoName,
        issue: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let path = format!("{}/issues/{issue}/comments", repo_path(repo));
        self.json(
            Method::POST,
            &path,
            Some(&json!({ "body": body })),
            "create comment",
        )
        .await
    }

    async fn update_comment(
        &self,
        repo: &RepoName,
        id: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        let path = format!("{}/issues/comments/{id}", repo_path(repo));
        self.no_content(
            Method::PATCH,
            &path,
            Some(&json!({ "body": body })),
            "update comment",
        )
        .await
    }

    async fn find_check_run(
        &self,
        repo: &RepoName,
        sha: &str,
        name: &str,
    ) -> Result<Option<u64>, GitHubError> {
        self.check_run_id(repo, sha, name).await
    }

    async fn create_check_run(
        &self,
        repo: &RepoName,
        run: &CheckRun,
        annotations: &[Annotation],
    ) -> Result<u64, GitHubError> {
        self.new_check_run(repo, run, annotations).await
    }

    async fn start_check_run(
        &self,
        repo: &RepoName,
        run: &StartedCheck,
    ) -> Result<u64, GitHubError> {
        self.begin_check_run(repo, run).await
    }

    async fn check_runs(
        &self,
        repo: &RepoName,
        sha: &str,
        name: &str,
    ) -> Result<Vec<CheckRunData>, GitHubError> {
        self.list_check_runs(repo, sha, name).await
    }

    async fn dispatch_workflow(
        &self,
        repo: &RepoName,
        workflow: &str,
        reference: &str,
        inputs: &Value,
    ) -> Result<Option<DispatchedRun>, GitHubError> {
        self.dispatch(repo, workflow, reference, inputs).await
    }

    async fn workflow_run(&self, repo: &RepoName, id: u64) -> Result<WorkflowRunData, GitHubError> {
        self.get_workflow_run(repo, id).await
    }

    async fn org_issue_types(&self, org: &str) -> Result<Option<Vec<String>>, GitHubError> {
        self.issue_types_of_org(org).await
    }

    async fn create_org_issue_type(
        &self,
        org: &str,
        name: &str,
        description: &str,
        color: &str,
    ) -> Result<(), GitHubError> {
        self.new_issue_type(org, name, description, color).await
    }

    async fn project_number(&self, org: &str, title: &str) -> Result<Option<u64>, GitHubError> {
        self.project_by_title(org, title).await
    }

    async fn project_field(
        &self,
        org: &str,
        project: u64,
        name: &str,
    ) -> Result<Option<SelectField>, GitHubError> {
        self.select_field(org, project, name).await
    }

    async fn add_project_field(
        &self,
        org: &str,
        project: u64,
        name: &str,
        options: &[(&str, &str)],
    ) -> Result<SelectField, GitHubError> {
        self.new_select_field(org, project, name, options).await
    }

    async fn add_project_item(
        &self,
        org: &str,
        project: u64,
        repo: &RepoName,
        number: u64,
    ) -> Result<u64, GitHubError> {
        self.new_project_item(org, project, repo, number).await
    }

    async fn set_project_field(
        &self,
        org: &str,
        project: u64,
        item: u64,
        field: u64,
        option: &str,
    ) -> Result<(), GitHubError> {
        self.set_item_option(org, project, item, field, option)
            .await
    }

    async fn update_check_run(
        &self,
        repo: &RepoName,
        id: u64,
        run: &CheckRun,
        annotations: &[Annotation],
    ) -> Result<(), GitHubError> {
        let body = json!({
            "status": "completed",
            "conclusion": run.conclusion,
            "output": check_output(run, annotations),
        });
        self.no_content(
            Method::PATCH,
            &format!("{}/check-runs/{id}", repo_path(repo)),
            Some(&body),
            "update check run",
        )
        .await
    }

    async fn create_status(
        &self,
        repo: &RepoName,
        sha: &str,
        status: &Status,
    ) -> Result<(), GitHubError> {
        let body = serde_json::to_value(status).unwrap_or_default();
        self.no_content(
            Method::POST,
            &format!("{}/statuses/{}", repo_path(repo), segment(sha)),
            Some(&body),
            "create status",
        )
        .await
    }

    async fn statuses(&self, repo: &RepoName, sha: &str) -> Result<Vec<Status>, GitHubError> {
        self.json(
            Method::GET,
            &format!(
                "{}/commits/{}/statuses?per_page=100",
                repo_path(repo),
                segment(sha)
            ),
            None,
            "list a commit's statuses",
        )
        .await
    }

    async fn ensure_label(&self, repo: &RepoName, label: &LabelSpec) -> Result<(), GitHubError> {
        self.label_as_specified(repo, label).await
    }

    async fn add_labels(
        &self,
        repo: &RepoName,
        issue: u64,
        labels: &[String],
    ) -> Result<(), GitHubError> {
        let path = format!("{}/issues/{issue}/labels", repo_path(repo));
        // Adding labels is idempotent on GitHub's side, so a resend is harmless.
        let reply = self
            .send(
                Method::POST,
                &path,
                Some(&json!({ "labels": labels })),
                Idempotence::Safe,
                "add labels",
            )
            .await?;
        if reply.ok() {
            Ok(())
        } else {
            Err(retry::error_of(&reply, "add labels"))
        }
    }

    async fn remove_label(
        &self,
        repo: &RepoName,
        issue: u64,
        label: &str,
    ) -> Result<(), GitHubError> {
        let path = format!(
            "{}/issues/{issue}/labels/{}",
            repo_path(repo),
            segment(label)
        );
        match self
            .no_content(Method::DELETE, &path, None, "remove label")
            .await
        {
            Err(GitHubError::NotFound(_)) => Ok(()),
            other => other,
        }
    }

    async fn file_at(
        &self,
        repo: &RepoName,
        path: &str,
        reference: &str,
    ) -> Result<Option<Vec<u8>>, GitHubError> {
        self.file_at_path(repo, path, reference).await
    }

    async fn issue(&self, repo: &RepoName, number: u64) -> Result<IssueData, GitHubError> {
        self.json(
            Method::GET,
            &format!("{}/issues/{number}", repo_path(repo)),
            None,
            "get issue",
        )
        .await
    }

    async fn update_issue(
        &self,
        repo: &RepoName,
        number: u64,
        update: &IssueUpdate,
    ) -> Result<(), GitHubError> {
        let body = serde_json::to_value(update).unwrap_or_default();
        self.no_content(
            Method::PATCH,
            &format!("{}/issues/{number}", repo_path(repo)),
            Some(&body),
            "update issue",
        )
        .await
    }

    async fn branch_head(&self, repo: &RepoName, branch: &str) -> Result<String, GitHubError> {
        self.head_of_branch(repo, branch).await
    }

    async fn permission(&self, repo: &RepoName, user: &str) -> Result<Permission, GitHubError> {
        self.permission_of(repo, user).await
    }

    async fn create_issue(
        &self,
        repo: &RepoName,
        title: &str,
        body: &str,
        labels: &[String],
        issue_type: Option<&str>,
    ) -> Result<u64, GitHubError> {
        let mut issue = json!({"title": title, "body": body, "labels": labels});
        if let Some(issue_type) = issue_type {
            issue["type"] = issue_type.into();
        }
        let created: Numbered = self
            .json(
                Method::POST,
                &format!("{}/issues", repo_path(repo)),
                Some(&issue),
                "create an issue",
            )
            .await?;
        Ok(created.number)
    }

    async fn issue_types(&self, repo: &RepoName) -> Result<Vec<String>, GitHubError> {
        #[derive(Deserialize)]
        struct Type {
            name: String,
        }
        let path = format!("{}/issue-types", repo_path(repo));
        let types: Vec<Type> = self
            .json(Method::GET, &path, None, "list issue types")
            .await?;
        Ok(types.into_iter().map(|t| t.name).collect())
    }

    async fn create_branch(
        &self,
        repo: &RepoName,
        branch: &str,
        sha: &str,
    ) -> Result<(), GitHubError> {
        self.no_content(
            Method::POST,
            &format!("{}/git/refs", repo_path(repo)),
            Some(&json!({"ref": format!("refs/heads/{branch}"), "sha": sha})),
            "create a branch",
        )
        .await
    }

    async fn delete_branch(&self, repo: &RepoName, branch: &str) -> Result<(), GitHubError> {
        self.no_content(
            Method::DELETE,
            &format!("{}/git/refs/heads/{}", repo_path(repo), segments(branch)),
            None,
            "delete a branch",
        )
        .await
    }

    async fn behind_by(&self, repo: &RepoName, base: &str, head: &str) -> Result<u64, GitHubError> {
        self.commits_behind(repo, base, head).await
    }

    async fn default_branch(&self, repo: &RepoName) -> Result<String, GitHubError> {
        #[derive(Deserialize)]
        struct Repository {
            default_branch: String,
        }
        let repository: Repository = self
            .json(Method::GET, &repo_path(repo), None, "get a repository")
            .await?;
        Ok(repository.default_branch)
    }

    async fn create_file(
        &self,
        repo: &RepoName,
        branch: &str,
        path: &str,
        contents: &str,
        message: &str,
    ) -> Result<(), GitHubError> {
        let body = json!({
            "message": message,
            "content": base64::engine::general_purpose::STANDARD.encode(contents),
            "branch": branch,
        });
        self.no_content(
            Method::PUT,
            &format!("{}/contents/{}", repo_path(repo), segments(path)),
            Some(&body),
            "create a file",
        )
        .await
    }

    async fn create_pull(
        &self,
        repo: &RepoName,
        title: &str,
        head: &str,
        base: &str,
        body: &str,
    ) -> Result<u64, GitHubError> {
        let created: Numbered = self
            .json(
                Method::POST,
                &format!("{}/pulls", repo_path(repo)),
                Some(&json!({"title": title, "head": head, "base": base, "body": body})),
                "create a pull request",
            )
            .await?;
        Ok(created.number)
    }

    async fn is_protected(&self, repo: &RepoName, branch: &str) -> Result<bool, GitHubError> {
        let path = format!(
            "{}/branches/{}/protection",
            repo_path(repo),
            segment(branch)
        );
        match self
            .json::<Value>(Method::GET, &path, None, "get branch protection")
            .await
        {
            Ok(_) => Ok(true),
            // "Branch not protected".
            Err(GitHubError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn protect(
        &self,
        repo: &RepoName,
        branch: &str,
        checks: &[&str],
    ) -> Result<(), GitHubError> {
        self.protect_branch(repo, branch, checks).await
    }

    async fn update_pull(
        &self,
        repo: &RepoName,
        number: u64,
        base: Option<&str>,
        state: Option<IssueState>,
    ) -> Result<(), GitHubError> {
        self.patch_pull(repo, number, base, state).await
    }

    async fn releases(&self, repo: &RepoName) -> Result<Vec<ReleaseData>, GitHubError> {
        self.list_releases(repo).await
    }

    async fn create_release(
        &self,
        repo: &RepoName,
        release: &NewRelease,
    ) -> Result<ReleaseData, GitHubError> {
        self.new_release(repo, release).await
    }

    async fn upload_asset(
        &self,
        release: &ReleaseData,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), GitHubError> {
        self.upload_release_asset(release, name, content_type, bytes)
            .await
    }

    async fn download_asset(&self, repo: &RepoName, id: u64) -> Result<Vec<u8>, GitHubError> {
        self.release_asset(repo, id).await
    }

    async fn publish_release(&self, repo: &RepoName, id: u64) -> Result<(), GitHubError> {
        self.publish_draft(repo, id).await
    }

    async fn rulesets(&self, repo: &RepoName) -> Result<Vec<RulesetData>, GitHubError> {
        let path = format!("{}/rulesets?includes_parents=false", repo_path(repo));
        self.pages(&path, "list rulesets", 1_000).await
    }

    async fn put_ruleset(
        &self,
        repo: &RepoName,
        id: Option<u64>,
        ruleset: &Value,
    ) -> Result<(), GitHubError> {
        let (method, path) = match id {
            Some(id) => (Method::PUT, format!("{}/rulesets/{id}", repo_path(repo))),
            None => (Method::POST, format!("{}/rulesets", repo_path(repo))),
        };
        self.no_content(method, &path, Some(ruleset), "keep a ruleset")
            .await
    }

    async fn parent(&self, repo: &RepoName, number: u64) -> Result<Option<u64>, GitHubError> {
        self.parent_of(repo, number).await
    }

    async fn sub_issues(&self, repo: &RepoName, number: u64) -> Result<Vec<u64>, GitHubError> {
        self.children_of(repo, number).await
    }

    async fn add_sub_issue(
        &self,
        repo: &RepoName,
        parent: u64,
        sub_issue_id: u64,
    ) -> Result<(), GitHubError> {
        self.link_sub_issue(repo, parent, sub_issue_id, true).await
    }

    async fn remove_sub_issue(
        &self,
        repo: &RepoName,
        parent: u64,
        sub_issue_id: u64,
    ) -> Result<(), GitHubError> {
        self.link_sub_issue(repo, parent, sub_issue_id, false).await
    }

    async fn pull(&self, repo: &RepoName, number: u64) -> Result<PullData, GitHubError> {
        self.json(
            Method::GET,
            &format!("{}/pulls/{number}", repo_path(repo)),
            None,
            "get pull request",
        )
        .await
    }

    async fn issues(&self, repo: &RepoName) -> Result<Vec<IssueData>, GitHubError> {
        self.pages(
            &format!("{}/issues?state=all", repo_path(repo)),
            "list issues",
            10_000,
        )
        .await
    }

    async fn pull_files(&self, repo: &RepoName, number: u64) -> Result<Vec<String>, GitHubError> {
        #[derive(Deserialize)]
        struct File {
            filename: String,
        }
        let files: Vec<File> = self
            .pages(
                &format!("{}/pulls/{number}/files", repo_path(repo)),
                "list pull request files",
                3_000,
            )
            .await?;
        Ok(files.into_iter().map(|f| f.filename).collect())
    }
}
