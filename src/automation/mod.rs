//! Lifecycle automations: the tedious steps of DSLP done by the bot. The
//! Ask kept current with its linked issues and leaderboard, the success and
//! failure flows of an experiment, the explore flow, the set-up of a
//! repository.
//!
//! Each flow decides from facts and answers [`Effect`]s, which the
//! handler's one executor carries out; a flow that needs a fact it learns
//! on the way (the Model issue's number) is run again once the first step
//! is done, and finds what it did. So a webhook delivered twice, or a
//! command followed by the `labeled` event it causes, does each thing once.
//! Each flow can be set to act, to only suggest, or to be off
//! (`automations:` in `.github/dslp.yml`).

pub mod ask_section;
pub mod closed;
pub mod failure;
pub mod issue_types;
pub mod monitoring;
pub mod release;
pub mod rulesets;
pub mod set_up;
pub mod status;
pub mod sub_issues;
pub mod success;

use std::collections::BTreeMap;

use crate::config::RepoConfig;
use crate::engine::Effect;
use crate::github::{GitHub, GitHubError, IssueData};
use crate::lifecycle::ask::{self, Evaluation, PullState};
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{BranchKind, Issue, IssueDirectory, IssueKind, IssueState, Rulebook};

pub use set_up::SetUp;

/// The marker of the bot's comment about a flow, edited in place.
pub const FLOW_MARKER: &str = "<!-- dslp:flow -->";

/// What the repository's issues say, read once per job.
pub struct Repository {
    pub name: RepoName,
    pub issues: Vec<IssueData>,
    pub directory: IssueDirectory,
}

impl Repository {
    pub async fn read(github: &impl GitHub, name: &RepoName) -> Result<Repository, GitHubError> {
        let issues = github.issues(name).await?;
        let directory =
            IssueDirectory::complete(Some(name.clone()), issues.iter().map(IssueData::to_issue));
        Ok(Repository {
            name: name.clone(),
            issues,
            directory,
        })
    }

    pub fn pull_states(&self) -> BTreeMap<u64, PullState> {
        self.issues
            .iter()
            .filter(|i| i.pull_request.as_ref().is_some_and(|p| !p.is_null()))
            .map(|i| {
                let state = if i.merged() {
                    PullState::Merged
                } else if IssueState::from_github(&i.state) == IssueState::Closed {
                    PullState::Closed
                } else {
                    PullState::Open
                };
                (i.number, state)
            })
            .collect()
    }
}

/// What the flows read: the repository's issues, its rules and config,
/// and the runs ledger's evaluations.
#[derive(Clone, Copy)]
pub struct Lifecycle<'a> {
    pub repository: &'a Repository,
    pub rulebook: &'a Rulebook,
    pub config: &'a RepoConfig,
    pub evaluations: &'a [Evaluation],
}

/// What a flow decided: its effects, what to say, and whether it is done
/// or is to be run again once the effects are carried out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub effects: Vec<Effect>,
    /// For the flow's comment; empty: nothing to say.
    pub said: String,
    pub done: bool,
}

impl Step {
    /// Nothing to do.
    pub fn none() -> Step {
        Step {
            done: true,
            ..Step::default()
        }
    }

    /// Only words.
    pub fn say(said: impl Into<String>) -> Step {
        Step {
            said: said.into(),
            done: true,
            ..Step::default()
        }
    }
}

/// The Asks to refresh after something happened to `issue`.
pub fn asks_touched(issue: &Issue, directory: &IssueDirectory) -> Vec<u64> {
    match issue.labelled_kind() {
        Some(IssueKind::Ask) => issue.number.into_iter().collect(),
        _ => ask::asks_of(issue, directory),
    }
}

/// `text` in the one flow comment of `issue`, edited in place.
pub fn say(issue: u64, text: &str) -> Option<Effect> {
    (!text.is_empty()).then(|| Effect::UpsertComment {
        issue,
        marker: FLOW_MARKER,
        body: format!("{FLOW_MARKER}\n{text}\n"),
    })
}

/// Whether `user` may act through commands and approvals: write access or
/// more.
pub async fn may_act(
    github: &impl GitHub,
    repo: &RepoName,
    user: &str,
) -> Result<bool, GitHubError> {
    Ok(github.permission(repo, user).await?.writes())
}

fn has_label(issue: &Issue, label: &str) -> bool {
    issue.labels.iter().any(|l| l == label)
}

/// A branch-name slug of a title: lower case, dashes, at most 40 characters.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The experiment's open pull requests, from the ledger and the one at hand.
fn experiment_pulls(lifecycle: &Lifecycle<'_>, experiment: u64, at_hand: Option<u64>) -> Vec<u64> {
    let mut pulls: Vec<u64> = lifecycle
        .evaluations
        .iter()
        .filter(|e| {
            let branch = lifecycle.rulebook.conventions.classify(&e.head_ref);
            branch.kind == Some(BranchKind::Experiment) && branch.number == Some(experiment)
        })
        .map(|e| e.pull)
        .chain(at_hand)
        .collect();
    pulls.sort_unstable();
    pulls.dedup();
    let states = lifecycle.repository.pull_states();
    pulls.retain(|p| states.get(p).is_none_or(|s| *s == PullState::Open));
    pulls
}

/// A list of issue numbers as people write it: `#5, #8`.
fn numbers(list: &[u64]) -> String {
    list.iter()
        .map(|n| format!("#{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Facts for the flows' table tests: a repository of issues, the default
/// rules and a config.
#[cfg(test)]
pub(crate) mod facts_for_tests {
    use super::*;
    use crate::github::LabelData;

    pub fn issue(number: u64, title: &str, labels: &[&str], body: &str, state: &str) -> IssueData {
        IssueData {
            issue_type: None,
            id: 100_000 + number,
            number,
            title: title.into(),
            body: Some(body.into()),
            state: state.into(),
            labels: labels
                .iter()
                .map(|l| LabelData {
                    name: l.to_string(),
                })
                .collect(),
            pull_request: None,
        }
    }

    pub fn pull(number: u64, state: &str) -> IssueData {
        IssueData {
            pull_request: Some(serde_json::json!({"url": "x"})),
            ..issue(number, "a pull request", &[], "", state)
        }
    }

    pub fn repository(issues: Vec<IssueData>) -> Repository {
        let name = RepoName::parse("acme/churn").unwrap();
        let directory =
            IssueDirectory::complete(Some(name.clone()), issues.iter().map(IssueData::to_issue));
        Repository {
            name,
            issues,
            directory,
        }
    }

    pub fn config(yaml: &str) -> RepoConfig {
        RepoConfig::parse(&format!("version: 1\n{yaml}"), "dslp.yml").unwrap()
    }
}
