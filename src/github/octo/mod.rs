//! The GitHub port over octocrab: raw requests, so that the one retry layer
//! sees status codes and headers.

use http::Method;
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::{Value, json};

use super::retry::{self, Idempotence, Reply, RetryPolicy};
use super::{Annotation, CHECK_TEXT_LIMIT, CheckRun, GitHubError};
use crate::lifecycle::links::RepoName;

mod actions;
mod checks;
mod labels;
mod port;
mod projects;
mod releases;
mod repos;
mod sub_issues;

pub struct OctocrabGitHub {
    client: Octocrab,
    policy: RetryPolicy,
    /// What this client's last answers said of its rate limit.
    rate_limit: RateLimit,
}

/// `x-ratelimit-remaining` and `x-ratelimit-reset` of the last answer that
/// had them (-1 before any): the token's own budget, which replicas of the
/// App share through their store.
#[derive(Debug)]
struct RateLimit {
    remaining: std::sync::atomic::AtomicI64,
    reset: std::sync::atomic::AtomicI64,
}

impl RateLimit {
    fn observe(&self, headers: &http::HeaderMap) {
        let number = |name| retry::header_number(headers, name).map(|n| n as i64);
        if let (Some(remaining), Some(reset)) =
            (number("x-ratelimit-remaining"), number("x-ratelimit-reset"))
        {
            use std::sync::atomic::Ordering::Relaxed;
            self.reset.store(reset, Relaxed);
            self.remaining.store(remaining, Relaxed);
        }
    }
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
        Ok(OctocrabGitHub {
            client,
            policy,
            rate_limit: RateLimit {
                remaining: (-1).into(),
                reset: (-1).into(),
            },
        })
    }

    /// The calls left and the reset (unix seconds) the last answer gave.
    pub fn rate_limit(&self) -> Option<(i64, i64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let remaining = self.rate_limit.remaining.load(Relaxed);
        (remaining >= 0).then(|| (remaining, self.rate_limit.reset.load(Relaxed)))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotence: Idempotence,
        what: &str,
    ) -> Result<Reply, GitHubError> {
        self.exchange(idempotence, what, || {
            let request = http::Request::builder().method(method.clone()).uri(path);
            self.client
                .build_request(request, body)
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// One request through the retry layer (`make` builds it afresh for
    /// each try); answers the reply, successful or not.
    pub(super) async fn exchange(
        &self,
        idempotence: Idempotence,
        what: &str,
        make: impl Fn() -> Result<http::Request<octocrab::OctoBody>, String>,
    ) -> Result<Reply, GitHubError> {
        let client = &self.client;
        retry::call(&self.policy, idempotence, what, || async {
            let response = client.execute(make()?).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            self.rate_limit.observe(&headers);
            let body = client
                .body_to_string(response)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Reply {
                status,
                headers,
                body,
            })
        })
        .await
    }

    /// Posts raw bytes to an absolute URL (a release's uploads host); the
    /// client sends its token only to its API and uploads hosts.
    async fn upload(
        &self,
        url: &str,
        content_type: &str,
        bytes: Vec<u8>,
        what: &str,
    ) -> Result<(), GitHubError> {
        let reply = self
            .exchange(Idempotence::Creates, what, || {
                http::Request::builder()
                    .method(Method::POST)
                    .uri(url)
                    .header(http::header::CONTENT_TYPE, content_type)
                    .header(http::header::CONTENT_LENGTH, bytes.len())
                    .body(bytes.clone().into())
                    .map_err(|e| e.to_string())
            })
            .await?;
        match reply.ok() {
            true => Ok(()),
            false => Err(retry::error_of(&reply, what)),
        }
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
        self.pages("/app/hook/deliveries", "list deliveries", limit)
            .await
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
    /// A list endpoint's items, 100 a page, following each answer's
    /// `Link: rel="next"` (GitHub's own paging, by number or by cursor),
    /// up to `limit` items.
    async fn pages<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        what: &str,
        limit: usize,
    ) -> Result<Vec<T>, GitHubError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{separator}per_page=100"));
        let mut all = Vec::new();
        while let Some(path) = next.take() {
            let reply = self
                .send(Method::GET, &path, None, Idempotence::Safe, what)
                .await?;
            if !reply.ok() {
                return Err(retry::error_of(&reply, what));
            }
            let page: Vec<T> = serde_json::from_str(&reply.body)
                .map_err(|e| GitHubError::Transport(format!("{what}: unexpected answer: {e}")))?;
            let empty = page.is_empty();
            all.extend(page);
            next = reply
                .headers
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(next_link)
                .filter(|_| !empty && all.len() < limit);
        }
        all.truncate(limit);
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
