//! Our own events: what dslp-bot needs from a webhook or an Action's event
//! file, in small structs lenient to missing fields (GitHub's example
//! payloads lack fields that live ones carry).

use serde::{Deserialize, Serialize};

use crate::lifecycle::labels::OK_TO_TEST;
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{Issue, IssueState};

mod payload;
use payload::Payload;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    PullRequest(PullRequestEvent),
    Issue {
        action: IssueAction,
        repo: RepoName,
        issue: Issue,
    },
    IssueComment {
        action: CommentAction,
        repo: RepoName,
        issue: Issue,
        comment: String,
        author: String,
    },
    Push {
        repo: RepoName,
        branch: Option<String>,
        /// The branch's new commit; empty for a `create` event, which names none.
        after: String,
        created: bool,
        deleted: bool,
        /// Where the repository is cloned from (`repository.clone_url`).
        #[serde(default)]
        clone_url: Option<String>,
    },
    /// Someone asked GitHub to re-run the `dslp` check (check suite or run).
    Rerequested {
        repo: RepoName,
        head_sha: String,
        pulls: Vec<u64>,
    },
    /// The compute workflow, dispatched by the App under `compute:
    /// actions` for a merged pull request: release what it merged, here.
    ReleaseDispatched {
        repo: RepoName,
        pull: u64,
        /// The merge commit the release is trained from.
        merge_sha: String,
    },
    /// The App was installed on these repositories.
    Installed {
        repos: Vec<RepoName>,
    },
    /// A scheduled run: the workflow's `schedule:` (or a manual
    /// `workflow_dispatch`), which runs monitoring. Its payload may not
    /// name the repository; the Action knows it.
    Scheduled {
        repo: Option<RepoName>,
        /// Where the App fetches the default branch from.
        #[serde(default)]
        clone_url: Option<String>,
    },
    /// Not GitHub's: the App follows a pull request's evaluation it
    /// dispatched to the repository's Actions runners (queued by the App
    /// itself, again until the run ends or its deadline passes).
    Watch(RunWatch),
    /// An event or action dslp-bot does not act on.
    Ignored {
        event: String,
        action: Option<String>,
    },
}

/// A dispatched evaluation the App follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunWatch {
    pub repo: RepoName,
    pub pull: u64,
    pub head_ref: String,
    pub head_sha: String,
    pub base_sha: String,
    /// The workflow run and the App's check run that follows it.
    pub run_id: u64,
    pub run_url: String,
    pub check_run: u64,
    /// Unix milliseconds past which a run that has not ended fails the check.
    pub deadline_ms: i64,
}

/// What happened to a pull request (GitHub's `action`), for those we act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullAction {
    Opened,
    Synchronize,
    Reopened,
    Edited,
    Closed,
    /// Someone added the `ok-to-test` label (other labels are ignored).
    LabeledOkToTest,
    /// Not GitHub's: the pull request checked again on request (`/dslp
    /// rerun`, `/dslp ok-to-test`, a re-run of its check).
    Rerun,
}

impl PullAction {
    fn from_github(action: &str) -> Option<PullAction> {
        Some(match action {
            "opened" => PullAction::Opened,
            "synchronize" => PullAction::Synchronize,
            "reopened" => PullAction::Reopened,
            "edited" => PullAction::Edited,
            "closed" => PullAction::Closed,
            _ => return None,
        })
    }
}

/// What happened to an issue, for those we act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IssueAction {
    Opened,
    Edited,
    Labeled,
    Unlabeled,
    Closed,
    Reopened,
}

impl IssueAction {
    fn from_github(action: &str) -> Option<IssueAction> {
        Some(match action {
            "opened" => IssueAction::Opened,
            "edited" => IssueAction::Edited,
            "labeled" => IssueAction::Labeled,
            "unlabeled" => IssueAction::Unlabeled,
            "closed" => IssueAction::Closed,
            "reopened" => IssueAction::Reopened,
            _ => return None,
        })
    }
}

/// What happened to a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommentAction {
    Created,
    Edited,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequestEvent {
    pub action: PullAction,
    pub repo: RepoName,
    pub number: u64,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    pub body: String,
    pub labels: Vec<String>,
    pub merged: bool,
    /// The commit the merge made on the base branch (for a merged pull
    /// request: what a release is trained from).
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    pub state: IssueState,
    /// The repository the head branch lives in; `None` when GitHub no
    /// longer knows it (a deleted fork).
    pub head_repo: Option<RepoName>,
    /// Who opened the pull request.
    pub author: String,
    /// Who caused this event (for `LabeledOkToTest`, who labelled it).
    pub sender: String,
    /// Where the base repository is cloned from (`repository.clone_url`).
    pub clone_url: Option<String>,
}

impl PullRequestEvent {
    /// Whether the head lives anywhere but the base repository. Decided by
    /// allowing, not by denying: only a head repository that is known and
    /// is the base repository is the same repository; a deleted fork's
    /// pull request (`head.repo: null`) is a fork.
    pub fn from_fork(&self) -> bool {
        !self
            .head_repo
            .as_ref()
            .is_some_and(|h| h.same_as(&self.repo))
    }
}

/// A payload that cannot be read, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the `{event}` event: {message}")]
pub struct EventError {
    pub event: String,
    pub message: String,
}

/// Reads a payload of GitHub event `name`.
pub fn parse(name: &str, payload: &[u8]) -> Result<Event, EventError> {
    Ok(parse_delivery(name, payload)?.event)
}

/// A delivery as the queue keeps it: the event, read once at intake, and
/// the installation it came through.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedDelivery {
    pub event: Event,
    pub installation: Option<u64>,
    /// The event as the queue stores it ([`Event::from_stored`] reads it).
    pub stored: Vec<u8>,
}

pub fn parse_delivery(name: &str, payload: &[u8]) -> Result<ParsedDelivery, EventError> {
    let payload: Payload = serde_json::from_slice(payload).map_err(|e| EventError {
        event: name.to_string(),
        message: format!("not the JSON GitHub sends: {e}"),
    })?;
    let installation = payload.installation.as_ref().map(|i| i.id);
    let event = decide(name, payload)?;
    Ok(ParsedDelivery {
        stored: event.to_stored(),
        event,
        installation,
    })
}

impl Event {
    /// The event as the queue keeps it: a few hundred bytes of JSON, where
    /// GitHub sent tens of kilobytes.
    pub fn to_stored(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// An event the queue kept. A job queued by an older dslp-bot kept
    /// GitHub's payload cut down, which is read as a payload of `name`.
    pub fn from_stored(name: &str, bytes: &[u8]) -> Result<Event, EventError> {
        serde_json::from_slice(bytes).or_else(|_| parse(name, bytes))
    }
}

fn decide(name: &str, payload: Payload) -> Result<Event, EventError> {
    let read = Read { name };
    match name {
        "pull_request" => read.pull_request(payload),
        "issues" => read.issue(payload),
        "issue_comment" => read.comment(payload),
        "push" => read.push(payload),
        // `create` names the branch (without `refs/heads/`) but no commit.
        "create" if payload.ref_type.as_deref() == Some("branch") => Ok(Event::Push {
            repo: read.repo(&payload)?,
            branch: payload.reference.clone(),
            after: String::new(),
            created: true,
            deleted: false,
            clone_url: None,
        }),
        "check_suite" | "check_run" if payload.action.as_deref() == Some("rerequested") => {
            read.rerequested(payload)
        }
        "installation" | "installation_repositories"
            if matches!(payload.action.as_deref(), Some("created" | "added")) =>
        {
            let listed = match name {
                "installation" => payload.repositories,
                _ => payload.repositories_added,
            };
            Ok(Event::Installed {
                repos: listed
                    .iter()
                    .filter_map(|r| RepoName::parse(&r.full_name))
                    .collect(),
            })
        }
        // The App dispatched a pull request's evaluation to the runners.
        "workflow_dispatch" if dispatched_pull(&payload).is_some() => {
            let (pull, head_sha) = dispatched_pull(&payload).unwrap_or_default();
            let release = payload
                .inputs
                .as_ref()
                .and_then(|i| i.release.as_deref())
                .is_some_and(|r| r.trim() == "true");
            let repo = read.repo(&payload)?;
            Ok(match release {
                true => Event::ReleaseDispatched {
                    repo,
                    pull,
                    merge_sha: head_sha,
                },
                false => Event::Rerequested {
                    repo,
                    head_sha,
                    pulls: vec![pull],
                },
            })
        }
        "schedule" | "workflow_dispatch" => Ok(Event::Scheduled {
            repo: payload
                .repository
                .as_ref()
                .and_then(|r| RepoName::parse(&r.full_name)),
            clone_url: None,
        }),
        _ => Ok(read.ignored(&payload)),
    }
}

/// The pull request and head a dispatch of the compute workflow names.
fn dispatched_pull(payload: &Payload) -> Option<(u64, String)> {
    let inputs = payload.inputs.as_ref()?;
    let pull = inputs.pull_request.as_deref()?.trim().parse().ok()?;
    Some((pull, inputs.head_sha.clone().unwrap_or_default()))
}

/// Reads the payload of one event, whose name its errors carry.
struct Read<'a> {
    name: &'a str,
}

impl Read<'_> {
    fn fail(&self, message: impl Into<String>) -> EventError {
        EventError {
            event: self.name.to_string(),
            message: message.into(),
        }
    }

    fn ignored(&self, payload: &Payload) -> Event {
        Event::Ignored {
            event: self.name.to_string(),
            action: payload.action.clone(),
        }
    }

    fn repo(&self, payload: &Payload) -> Result<RepoName, EventError> {
        payload
            .repository
            .as_ref()
            .and_then(|r| RepoName::parse(&r.full_name))
            .ok_or_else(|| self.fail("the payload names no repository"))
    }

    fn pull_request(&self, payload: Payload) -> Result<Event, EventError> {
        let ok_to_test = payload.label.as_ref().is_some_and(|l| l.name == OK_TO_TEST);
        let action = match payload.action.as_deref() {
            // Other labels change nothing dslp-bot evaluates.
            Some("labeled") if ok_to_test => PullAction::LabeledOkToTest,
            Some(action) => match PullAction::from_github(action) {
                Some(action) => action,
                None => return Ok(self.ignored(&payload)),
            },
            None => return Ok(self.ignored(&payload)),
        };
        let repo = self.repo(&payload)?;
        let clone_url = payload.repository.and_then(|r| r.clone_url);
        let sender = payload.sender.map(|u| u.login).unwrap_or_default();
        let pr = payload
            .pull_request
            .ok_or_else(|| self.fail("no `pull_request` object"))?;
        Ok(Event::PullRequest(PullRequestEvent {
            action,
            head_repo: pr
                .head
                .repo
                .as_ref()
                .and_then(|r| RepoName::parse(&r.full_name)),
            repo,
            number: pr.number,
            head_ref: pr.head.name,
            head_sha: pr.head.sha,
            base_ref: pr.base.name,
            base_sha: pr.base.sha,
            body: pr.body.unwrap_or_default(),
            labels: pr.labels.into_iter().map(|l| l.name).collect(),
            merged: pr.merged.unwrap_or(false),
            merge_commit_sha: pr.merge_commit_sha,
            state: IssueState::from_github(&pr.state),
            author: pr.user.map(|u| u.login).unwrap_or_default(),
            sender,
            clone_url,
        }))
    }

    fn issue(&self, payload: Payload) -> Result<Event, EventError> {
        let Some(action) = payload.action.as_deref().and_then(IssueAction::from_github) else {
            return Ok(self.ignored(&payload));
        };
        let repo = self.repo(&payload)?;
        let issue = payload
            .issue
            .ok_or_else(|| self.fail("no `issue` object"))?;
        Ok(Event::Issue {
            action,
            repo,
            issue: issue.into_issue(),
        })
    }

    fn comment(&self, payload: Payload) -> Result<Event, EventError> {
        let action = match payload.action.as_deref() {
            Some("created") => CommentAction::Created,
            Some("edited") => CommentAction::Edited,
            Some("deleted") => CommentAction::Deleted,
            _ => return Ok(self.ignored(&payload)),
        };
        let repo = self.repo(&payload)?;
        let issue = payload
            .issue
            .ok_or_else(|| self.fail("no `issue` object"))?;
        let comment = payload
            .comment
            .ok_or_else(|| self.fail("no `comment` object"))?;
        Ok(Event::IssueComment {
            action,
            repo,
            issue: issue.into_issue(),
            author: comment.user.map(|u| u.login).unwrap_or_default(),
            comment: comment.body,
        })
    }

    fn push(&self, payload: Payload) -> Result<Event, EventError> {
        let repo = self.repo(&payload)?;
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
            clone_url: payload.repository.and_then(|r| r.clone_url),
        })
    }

    fn rerequested(&self, payload: Payload) -> Result<Event, EventError> {
        let repo = self.repo(&payload)?;
        let check = match self.name {
            "check_suite" => payload.check_suite,
            _ => payload.check_run,
        }
        .ok_or_else(|| self.fail(format!("no `{}` object", self.name)))?;
        Ok(Event::Rerequested {
            repo,
            head_sha: check.head_sha,
            pulls: check.pull_requests.into_iter().map(|p| p.number).collect(),
        })
    }
}

#[cfg(test)]
mod tests;
