//! The one retry layer for GitHub calls: backoff honouring `Retry-After`
//! and the rate-limit headers, a timeout on every call, and no blind retry
//! of requests that create something.

use std::future::Future;
use std::time::Duration;

use http::HeaderMap;

use super::GitHubError;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    /// The longest we wait between attempts; a rate limit that asks for
    /// more is reported instead of waited out.
    pub max_delay: Duration,
    /// Each attempt's time limit.
    pub call_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            call_timeout: Duration::from_secs(30),
        }
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Whether the request was processed at all: only then can a retried create
/// make a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotence {
    /// GET, PATCH, PUT, DELETE: safe to send again.
    Safe,
    /// POST that creates: sent again only when GitHub said it did not act.
    Creates,
}

pub(crate) fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The first wait after a secondary rate limit that names none: GitHub
/// asks for at least a minute, then longer each time.
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// How long GitHub asks us to wait, for a rate-limited answer; `earlier`
/// is how many secondary limits without `Retry-After` this call met before.
/// Follows GitHub's guidance: `Retry-After` when given; the reset time only
/// when the primary limit is spent (`x-ratelimit-remaining: 0`); otherwise
/// at least a minute, doubling each time.
fn rate_limit_wait(reply: &Reply, earlier: u32) -> Option<Duration> {
    let remaining = header_number(&reply.headers, "x-ratelimit-remaining");
    let limited = reply.status == 429
        || (reply.status == 403
            && (reply.headers.contains_key("retry-after")
                || remaining == Some(0)
                || reply.body.to_ascii_lowercase().contains("rate limit")));
    if !limited {
        return None;
    }
    if let Some(seconds) = header_number(&reply.headers, "retry-after") {
        return Some(Duration::from_secs(seconds));
    }
    if remaining == Some(0)
        && let Some(reset) = header_number(&reply.headers, "x-ratelimit-reset")
    {
        let now = crate::timestamp::now();
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    Some(SECONDARY_WAIT.saturating_mul(1 << earlier.min(10)))
}

/// GitHub calls by status, and the rate limit GitHub last reported: the
/// process's own figures for `/metrics` (one process serves one App).
pub mod observed {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicI64, Ordering};

    pub(super) static CALLS: Mutex<BTreeMap<u16, u64>> = Mutex::new(BTreeMap::new());
    pub(super) static RATE_LIMIT_REMAINING: AtomicI64 = AtomicI64::new(-1);

    /// (status, count), by status.
    pub fn calls() -> Vec<(u16, u64)> {
        CALLS
            .lock()
            .map(|c| c.iter().map(|(s, n)| (*s, *n)).collect())
            .unwrap_or_default()
    }

    /// `x-ratelimit-remaining` of the last answer that had one; -1 before any.
    pub fn rate_limit_remaining() -> i64 {
        RATE_LIMIT_REMAINING.load(Ordering::Relaxed)
    }
}

fn observe(reply: &Reply) {
    if let Ok(mut calls) = observed::CALLS.lock() {
        *calls.entry(reply.status).or_default() += 1;
    }
    if let Some(remaining) = header_number(&reply.headers, "x-ratelimit-remaining") {
        observed::RATE_LIMIT_REMAINING
            .store(remaining as i64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Sends with retries. `send` performs one attempt; its Err is a transport
/// failure (no answer).
pub async fn call<F, Fut>(
    policy: &RetryPolicy,
    idempotence: Idempotence,
    what: &str,
    mut send: F,
) -> Result<Reply, GitHubError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Reply, String>>,
{
    let mut tries = Tries {
        policy,
        idempotence,
        what,
        attempt: 0,
        secondary: 0,
    };
    loop {
        tries.attempt += 1;
        let answer = match tokio::time::timeout(policy.call_timeout, send()).await {
            Ok(answer) => answer.map_err(Failure::Transport),
            Err(_) => Err(Failure::Timeout),
        };
        match tries.next(answer) {
            Next::Done(result) => return result,
            Next::Wait(wait) => tokio::time::sleep(wait).await,
        }
    }
}

/// Why an attempt got no answer.
enum Failure {
    Timeout,
    Transport(String),
}

/// After an attempt: done with this result, or wait and try again.
enum Next {
    Done(Result<Reply, GitHubError>),
    Wait(Duration),
}

/// One call's attempts so far.
struct Tries<'a> {
    policy: &'a RetryPolicy,
    idempotence: Idempotence,
    what: &'a str,
    attempt: u32,
    /// Secondary rate limits without `Retry-After` met so far.
    secondary: u32,
}

impl Tries<'_> {
    fn last(&self) -> bool {
        self.attempt >= self.policy.attempts
    }

    fn backoff(&self) -> Duration {
        self.policy
            .base_delay
            .saturating_mul(1 << (self.attempt - 1).min(10))
            .min(self.policy.max_delay)
    }

    /// What to do after an attempt's answer (or its failure to come).
    fn next(&mut self, answer: Result<Reply, Failure>) -> Next {
        let (what, attempt) = (self.what, self.attempt);
        // Without an answer, a create may have landed: the caller checks
        // before resending.
        let give_up = self.last() || self.idempotence == Idempotence::Creates;
        let reply = match answer {
            Err(Failure::Timeout) => {
                tracing::warn!(call = what, attempt, "GitHub did not answer in time");
                return self.again_unless(give_up, GitHubError::Timeout);
            }
            Err(Failure::Transport(transport)) => {
                tracing::warn!(call = what, attempt, error = %transport, "GitHub call failed");
                return self.again_unless(give_up, GitHubError::Transport(transport));
            }
            Ok(reply) => reply,
        };
        observe(&reply);
        if reply.ok() {
            return Next::Done(Ok(reply));
        }
        // Rate limits: GitHub did not act, so even a create may be resent.
        if let Some(wait) = rate_limit_wait(&reply, self.secondary) {
            if !reply.headers.contains_key("retry-after")
                && header_number(&reply.headers, "x-ratelimit-remaining") != Some(0)
            {
                self.secondary += 1;
            }
            tracing::warn!(
                call = what,
                attempt,
                wait_s = wait.as_secs(),
                "rate limited by GitHub"
            );
            if self.last() || wait > self.policy.max_delay {
                // Never sooner than GitHub asks: the job waits it out.
                return Next::Done(Err(GitHubError::RateLimited {
                    retry_after: wait,
                    message: format!("{what}: retry after {} s", wait.as_secs()),
                }));
            }
            return Next::Wait(wait);
        }
        if reply.status >= 500 {
            tracing::warn!(
                call = what,
                attempt,
                status = reply.status,
                "GitHub server error"
            );
            let error = GitHubError::Server {
                status: reply.status,
                message: first_line(&reply.body),
            };
            return self.again_unless(give_up, error);
        }
        Next::Done(Ok(reply))
    }

    fn again_unless(&self, give_up: bool, error: GitHubError) -> Next {
        match give_up {
            true => Next::Done(Err(error)),
            false => Next::Wait(self.backoff()),
        }
    }
}

/// Maps a final non-success reply to the error callers branch on.
pub fn error_of(reply: &Reply, what: &str) -> GitHubError {
    let message = format!("{what}: {}", first_line(&reply.body));
    match reply.status {
        401 | 403 => GitHubError::NotAllowed {
            status: reply.status,
            message,
        },
        404 => GitHubError::NotFound(message),
        status if status >= 500 => GitHubError::Server { status, message },
        status => GitHubError::Rejected { status, message },
    }
}

fn first_line(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.to_string());
    message
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Reply {
            status,
            headers: map,
            body: body.into(),
        }
    }

    /// GitHub's guidance for a secondary limit without `Retry-After`: at
    /// least a minute, then longer; the reset time only once the primary
    /// limit is spent (it was read as an hour with 4,999 calls left).
    #[test]
    fn a_secondary_limit_without_retry_after_waits_a_minute_then_longer() {
        let far = (crate::timestamp::now() + 3600).to_string();
        let secondary = reply(
            403,
            &[
                ("x-ratelimit-remaining", "4999"),
                ("x-ratelimit-reset", &far),
            ],
            "You have exceeded a secondary rate limit",
        );
        assert_eq!(
            rate_limit_wait(&secondary, 0),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            rate_limit_wait(&secondary, 1),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            rate_limit_wait(&secondary, 2),
            Some(Duration::from_secs(240))
        );
        let spent = reply(
            403,
            &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &far)],
            "API rate limit exceeded",
        );
        let wait = rate_limit_wait(&spent, 0).unwrap();
        assert!(wait > Duration::from_secs(3500), "{wait:?}");
    }

    /// The call waits the minute before it sends again, and hands the next
    /// wait, longer than it may sleep itself, to its caller.
    #[tokio::test(start_paused = true)]
    async fn a_secondary_limit_is_never_resent_sooner_than_a_minute() {
        let policy = RetryPolicy::default();
        let limited = || {
            reply(
                403,
                &[("x-ratelimit-remaining", "4999")],
                "secondary rate limit",
            )
        };
        let sent = std::sync::Mutex::new(Vec::new());
        let started = tokio::time::Instant::now();
        let result = call(&policy, Idempotence::Creates, "post", || {
            sent.lock().unwrap().push(started.elapsed());
            let answer = limited();
            async move { Ok(answer) }
        })
        .await;
        let sent = sent.into_inner().unwrap();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent[1] - sent[0] >= Duration::from_secs(60), "{sent:?}");
        match result {
            Err(GitHubError::RateLimited { retry_after, .. }) => {
                assert_eq!(retry_after, Duration::from_secs(120))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rate_limits_are_recognised_and_their_wait_read() {
        assert_eq!(
            rate_limit_wait(&reply(429, &[("retry-after", "3")], ""), 0),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            rate_limit_wait(&reply(403, &[("retry-after", "7")], ""), 0),
            Some(Duration::from_secs(7))
        );
        assert!(
            rate_limit_wait(
                &reply(
                    403,
                    &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
                    ""
                ),
                0
            )
            .is_some()
        );
        assert_eq!(
            rate_limit_wait(
                &reply(403, &[], "Resource not accessible by integration"),
                0
            ),
            None
        );
        assert_eq!(rate_limit_wait(&reply(502, &[], ""), 0), None);
    }

    #[tokio::test(start_paused = true)]
    async fn server_errors_are_retried_for_safe_calls_only() {
        let policy = RetryPolicy::default();
        let mut answers = vec![reply(200, &[], "ok"), reply(502, &[], "bad gateway")];
        let result = call(&policy, Idempotence::Safe, "get", || {
            let next = answers.pop().unwrap();
            async move { Ok(next) }
        })
        .await;
        assert_eq!(result.unwrap().body, "ok");
        let mut answers = vec![reply(200, &[], "ok"), reply(502, &[], "bad gateway")];
        let result = call(&policy, Idempotence::Creates, "post", || {
            let next = answers.pop().unwrap();
            async move { Ok(next) }
        })
        .await;
        assert!(matches!(
            result,
            Err(GitHubError::Server { status: 502, .. })
        ));
    }
}
