//! The GitHub port over octocrab: raw requests, so that the one retry layer
//! sees status codes and headers.

use base64::Engine as _;
use http::Method;
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::{Value, json};

use super::retry::{self, Idempotence, Reply, RetryPolicy};
use super::{
    Annotation, CHECK_TEXT_LIMIT, CheckRun, Comment, GitHub, GitHubError, IssueData, IssueUpdate,
    Permission, PullData, Status,
};
use crate::lifecycle::IssueState;
use crate::lifecycle::labels::LabelSpec;
use crate::lifecycle::links::RepoName;

pub struct OctocrabGitHub {
    client: Octocrab,
    policy: RetryPolicy,
}

/// Installs the ring TLS provider once; reqwest-style clients panic without one.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl OctocrabGitHub {
    /// A client for `api_url` (GitHub, GitHub Enterprise Server, or a test
    /// server) with a token.
    pub fn new(
        api_url: &str,
        token: &str,
        policy: RetryPolicy,
    ) -> Result<OctocrabGitHub, GitHubError> {
        install_tls_provider();
        let client = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| {
                GitHubError::Transport(format!("invalid GitHub API URL `{api_url}`: {e}"))
            })?
            .personal_token(token.to_string())
            .set_connect_timeout(Some(policy.call_timeout))
            .set_read_timeout(Some(policy.call_timeout))
            .build()
            .map_err(|e| GitHubError::Transport(e.to_string()))?;
        Ok(OctocrabGitHub { client, policy })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotence: Idempotence,
        what: &str,
    ) -> Result<Reply, GitHubError> {
        let client = &self.client;
        retry::call(&self.policy, idempotence, what, || async {
            let response = match method {
                Method::GET => client._get(path).await,
                Method::POST => client._post(path, body).await,
                Method::PATCH => client._patch(path, body).await,
                Method::DELETE => client._delete(path, body).await,
                _ => client._put(path, body).await,
            }
            .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = client
                .body_to_string(response)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Reply {
                status,
                headers,
                body: text,
            })
        })
        .await
    }

    /// Sends and parses a successful answer; any other is an error.
    async fn json<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<T, GitHubError> {
        let idempotence = if method == Method::POST {
            Idempotence::Creates
        } else {
            Idempotence::Safe
        };
        let reply = self.send(method, path, body, idempotence, what).await?;
        if !reply.ok() {
            return Err(retry::error_of(&reply, what));
        }
        serde_json::from_str(&reply.body)
            .map_err(|e| GitHubError::Transport(format!("{what}: unexpected answer: {e}")))
    }

    async fn no_content(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<(), GitHubError> {
        let idempotence = if method == Method::POST {
            Idempotence::Creates
        } else {
            Idempotence::Safe
        };
        let reply = self.send(method, path, body, idempotence, what).await?;
        if reply.ok() {
            Ok(())
        } else {
            Err(retry::error_of(&reply, what))
        }
    }
}

/// An installation access token and when it expires (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationToken {
    pub token: String,
    pub expires_at: u64,
}

/// One attempt to deliver a webhook, as the App's deliveries API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HookDelivery {
    pub id: u64,
    /// `X-GitHub-Delivery`; redeliveries repeat it.
    pub guid: String,
    #[serde(default)]
    pub status_code: u16,
    #[serde(default)]
    pub delivered_at: String,
    #[serde(default)]
    pub event: String,
}

/// The App's own endpoints, called with the App's JWT.
impl OctocrabGitHub {
    pub async fn installation_token(
        &self,
        installation: u64,
    ) -> Result<InstallationToken, GitHubError> {
        #[derive(Deserialize)]
        struct Token {
            token: String,
            #[serde(default)]
            expires_at: String,
        }
        let token: Token = self
            .json(
                Method::POST,
                &format!("/app/installations/{installation}/access_tokens"),
                None,
                "create an installation token",
            )
            .await?;
        // GitHub's tokens last an hour; trust that if the date is unreadable.
        let expires_at = crate::timestamp::unix_seconds(&token.expires_at)
            .unwrap_or_else(|| crate::timestamp::now() + 3600);
        Ok(InstallationToken {
            token: token.token,
            expires_at,
        })
    }

    /// The App's recent deliveries, newest first, up to `limit`.
    pub async fn hook_deliveries(&self, limit: usize) -> Result<Vec<HookDelivery>, GitHubError> {
        let mut deliveries: Vec<HookDelivery> = Vec::new();
        let mut path = "/app/hook/deliveries?per_page=100".to_string();
        loop {
            let reply = self
                .send(
                    Method::GET,
                    &path,
                    None,
                    Idempotence::Safe,
                    "list deliveries",
                )
                .await?;
            if !reply.ok() {
                return Err(retry::error_of(&reply, "list deliveries"));
            }
            let page: Vec<HookDelivery> = serde_json::from_str(&reply.body).map_err(|e| {
                GitHubError::Transport(format!("list deliveries: unexpected answer: {e}"))
            })?;
            let empty = page.is_empty();
            deliveries.extend(page);
            let next = reply
                .headers
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(next_link);
            match next {
                Some(next) if !empty && deliveries.len() < limit => path = next,
                _ => break,
            }
        }
        deliveries.truncate(limit);
        Ok(deliveries)
    }

    /// Asks GitHub to deliver a delivery again.
    pub async fn redeliver(&self, delivery: u64) -> Result<(), GitHubError> {
        self.no_content(
            Method::POST,
            &format!("/app/hook/deliveries/{delivery}/attempts"),
            None,
            "redeliver",
        )
        .await
    }
}

/// The path and query of a `Link` header's `rel="next"`.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        if !rel.contains("rel=\"next\"") {
            return None;
        }
        let url = url.trim().trim_start_matches('<').trim_end_matches('>');
        let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
        let path = &after_scheme[after_scheme.find('/')?..];
        Some(path.to_string())
    })
}

impl OctocrabGitHub {
    /// Every page of a list endpoint, 100 items a page.
    async fn all_pages<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        what: &str,
        max_pages: usize,
    ) -> Result<Vec<T>, GitHubError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        for page in 1..=max_pages {
            let url = format!("{path}{separator}per_page=100&page={page}");
            let batch: Vec<T> = self.json(Method::GET, &url, None, what).await?;
            let done = batch.len() < 100;
            all.extend(batch);
            if done {
                break;
            }
        }
        Ok(all)
    }
}

/// Percent-encodes one path segment (label names have spaces, paths slashes).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Percent-encodes each segment of a slash-separated path (a file path,
/// a branch name), keeping the slashes.
fn segments(path: &str) -> String {
    path.split('/').map(segment).collect::<Vec<_>>().join("/")
}

/// What GitHub answers for a created issue or pull request.
#[derive(Deserialize)]
struct Numbered {
    number: u64,
}

fn repo_path(repo: &RepoName) -> String {
    format!("/repos/{}/{}", segment(&repo.owner), segment(&repo.name))
}

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let note = "\n\n… (cut at GitHub's limit)";
    let keep: String = text.chars().take(limit - note.chars().count()).collect();
    keep + note
}

fn check_output(run: &CheckRun, annotations: &[Annotation]) -> Value {
    json!({
        "title": truncate(&run.title, 1000),
        "summary": truncate(&run.summary, CHECK_TEXT_LIMIT),
        "text": truncate(&run.text, CHECK_TEXT_LIMIT),
        "annotations": annotations,
    })
}

impl GitHub for OctocrabGitHub {
    async fn comments(&self, repo: &RepoName, issue: u64) -> Result<Vec<Comment>, GitHubError> {
        self.all_pages(
            &format!("{}/issues/{issue}/comments", repo_path(repo)),
            "list comments",
            50,
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
        #[derive(Deserialize)]
        struct Runs {
            #[serde(default)]
            check_runs: Vec<Run>,
        }
        #[derive(Deserialize)]
        struct Run {
            id: u64,
        }
        let path = format!(
            "{}/commits/{}/check-runs?check_name={}",
            repo_path(repo),
            segment(sha),
            segment(name)
        );
        let runs: Runs = self
            .json(Method::GET, &path, None, "list check runs")
            .await?;
        Ok(runs.check_runs.first().map(|r| r.id))
    }

    async fn create_check_run(
        &self,
        repo: &RepoName,
        run: &CheckRun,
        annotations: &[Annotation],
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let body = json!({
            "name": run.name,
            "head_sha": run.head_sha,
            "status": "completed",
            "conclusion": run.conclusion,
            "output": check_output(run, annotations),
        });
        let created: Created = self
            .json(
                Method::POST,
                &format!("{}/check-runs", repo_path(repo)),
                Some(&body),
                "create check run",
            )
            .await?;
        Ok(created.id)
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

    async fn permission(&self, repo: &RepoName, user: &str) -> Result<Permission, GitHubError> {
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

    async fn create_issue(
        &self,
        repo: &RepoName,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> Result<u64, GitHubError> {
        let created: Numbered = self
            .json(
                Method::POST,
                &format!("{}/issues", repo_path(repo)),
                Some(&json!({"title": title, "body": body, "labels": labels})),
                "create an issue",
            )
            .await?;
        Ok(created.number)
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

    async fn update_pull(
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
        self.all_pages(
            &format!("{}/issues?state=all", repo_path(repo)),
            "list issues",
            100,
        )
        .await
    }

    async fn pull_files(&self, repo: &RepoName, number: u64) -> Result<Vec<String>, GitHubError> {
        #[derive(Deserialize)]
        struct File {
            filename: String,
        }
        let files: Vec<File> = self
            .all_pages(
                &format!("{}/pulls/{number}/files", repo_path(repo)),
                "list pull request files",
                30,
            )
            .await?;
        Ok(files.into_iter().map(|f| f.filename).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_read() {
        let link = "<https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_1>; rel=\"next\", <https://x/y>; rel=\"prev\"";
        assert_eq!(
            next_link(link).as_deref(),
            Some("/app/hook/deliveries?per_page=100&cursor=v1_1")
        );
        assert_eq!(next_link("<https://x/y>; rel=\"prev\""), None);
    }
}
