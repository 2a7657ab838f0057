//! Our own events: what dslp-bot needs from a webhook or an Action's event
//! file, in small structs lenient to missing fields (GitHub's example
//! payloads lack fields that live ones carry).

use serde::Deserialize;

use crate::lifecycle::links::RepoName;
use crate::lifecycle::{Issue, IssueState};

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    PullRequest(PullRequestEvent),
    Issue {
        action: String,
        repo: RepoName,
        issue: Issue,
    },
    IssueComment {
        action: String,
        repo: RepoName,
        issue: Issue,
        comment: String,
        author: String,
    },
    Push {
        repo: RepoName,
        branch: Option<String>,
        after: String,
        created: bool,
        deleted: bool,
    },
    /// An event or action dslp-bot does not act on.
    Ignored {
        event: String,
        action: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PullRequestEvent {
    pub action: String,
    pub repo: RepoName,
    pub number: u64,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    pub body: String,
    pub labels: Vec<String>,
    pub merged: bool,
    pub state: IssueState,
    /// The head lives in another repository (a fork).
    pub from_fork: bool,
}

/// A payload that cannot be read, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the `{event}` event: {message}")]
pub struct EventError {
    pub event: String,
    pub message: String,
}

#[derive(Deserialize)]
struct RepoJson {
    full_name: String,
}

#[derive(Deserialize)]
struct LabelJson {
    name: String,
}

#[derive(Deserialize)]
struct RefJson {
    #[serde(rename = "ref")]
    name: String,
    #[serde(default)]
    sha: String,
    #[serde(default)]
    repo: Option<RepoJson>,
}

#[derive(Deserialize)]
struct PullJson {
    number: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    labels: Vec<LabelJson>,
    head: RefJson,
    base: RefJson,
}

#[derive(Deserialize)]
struct IssueJson {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    labels: Vec<LabelJson>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct UserJson {
    #[serde(default)]
    login: String,
}

#[derive(Deserialize)]
struct CommentJson {
    #[serde(default)]
    body: String,
    #[serde(default)]
    user: Option<UserJson>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    repository: Option<RepoJson>,
    #[serde(default)]
    pull_request: Option<PullJson>,
    #[serde(default)]
    issue: Option<IssueJson>,
    #[serde(default)]
    comment: Option<CommentJson>,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    created: Option<bool>,
    #[serde(default)]
    deleted: Option<bool>,
}

impl IssueJson {
    fn into_issue(self) -> Issue {
        Issue {
            number: Some(self.number),
            title: self.title,
            body: self.body.unwrap_or_default(),
            labels: self.labels.into_iter().map(|l| l.name).collect(),
            state: state(&self.state),
            is_pull_request: self.pull_request.is_some_and(|v| !v.is_null()),
        }
    }
}

fn state(text: &str) -> IssueState {
    if text.eq_ignore_ascii_case("closed") {
        IssueState::Closed
    } else {
        IssueState::Open
    }
}

/// Reads a payload of GitHub event `name`.
pub fn parse(name: &str, payload: &[u8]) -> Result<Event, EventError> {
    let fail = |message: String| EventError {
        event: name.to_string(),
        message,
    };
    let payload: Payload = serde_json::from_slice(payload)
        .map_err(|e| fail(format!("not the JSON GitHub sends: {e}")))?;
    let action = payload.action.clone();
    let ignored = || {
        Ok(Event::Ignored {
            event: name.to_string(),
            action: action.clone(),
        })
    };
    let repo = || {
        payload
            .repository
            .as_ref()
            .and_then(|r| RepoName::parse(&r.full_name))
            .ok_or_else(|| fail("the payload names no repository".into()))
    };
    match name {
        "pull_request" => {
            let action = action.clone().unwrap_or_default();
            if !matches!(
                action.as_str(),
                "opened" | "synchronize" | "reopened" | "edited" | "closed"
            ) {
                return ignored();
            }
            let repo = repo()?;
            let pr = payload
                .pull_request
                .ok_or_else(|| fail("no `pull_request` object".into()))?;
            let head_repo = pr
                .head
                .repo
                .as_ref()
                .and_then(|r| RepoName::parse(&r.full_name));
            Ok(Event::PullRequest(PullRequestEvent {
                action,
                from_fork: head_repo.is_some_and(|h| !h.same_as(&repo)),
                repo,
                number: pr.number,
                head_ref: pr.head.name,
                head_sha: pr.head.sha,
                base_ref: pr.base.name,
                base_sha: pr.base.sha,
                body: pr.body.unwrap_or_default(),
                labels: pr.labels.into_iter().map(|l| l.name).collect(),
                merged: pr.merged.unwrap_or(false),
                state: state(&pr.state),
            }))
        }
        "issues" => {
            let action = action.clone().unwrap_or_default();
            if !matches!(
                action.as_str(),
                "opened" | "edited" | "labeled" | "unlabeled" | "closed" | "reopened"
            ) {
                return ignored();
            }
            let repo = repo()?;
            let issue = payload
                .issue
                .ok_or_else(|| fail("no `issue` object".into()))?;
            Ok(Event::Issue {
                action,
                repo,
                issue: issue.into_issue(),
            })
        }
        "issue_comment" => {
            let repo = repo()?;
            let issue = payload
                .issue
                .ok_or_else(|| fail("no `issue` object".into()))?;
            let comment = payload
                .comment
                .ok_or_else(|| fail("no `comment` object".into()))?;
            Ok(Event::IssueComment {
                action: action.clone().unwrap_or_default(),
                repo,
                issue: issue.into_issue(),
                author: comment.user.map(|u| u.login).unwrap_or_default(),
                comment: comment.body,
            })
        }
        "push" => {
            let repo = repo()?;
            let branch = payload
                .reference
                .as_deref()
                .and_then(|r| r.strip_prefix("refs/heads/"))
                .map(str::to_string);
            Ok(Event::Push {
                repo,
                branch,
                after: payload.after.unwrap_or_default(),
                created: payload.created.unwrap_or(false),
                deleted: payload.deleted.unwrap_or(false),
            })
        }
        _ => ignored(),
    }
}
