//! What dslp-bot does for an event, the same for the Action and the App:
//! gather the facts through the GitHub port and the repository's tree, let
//! the engine and the flows decide, and have the one executor carry out
//! what they decided.

mod commands;
pub mod context;
mod dispatch;
pub mod execute;
mod facts;
mod flows;
mod issue;
mod monitor;
mod publish;
mod pull_request;
mod release;
pub mod sandbox;
mod tree;

use anyhow::Result;

use crate::chatops;
use crate::engine::notices;
use crate::event::{CommentAction, Event, PullAction};
use crate::github::{GitHub, GitHubError};
use crate::lifecycle::Issue;
use crate::lifecycle::links::RepoName;

pub use context::{
    Evaluated, FollowUp, Following, IssueTrigger, Ledgered, Limits, Outcome, RunContext, Tree,
};
pub use dispatch::COMPUTE_CHECK;
pub use facts::load_config;
pub use flows::COMMAND_MARKER;
pub use notices::BRANCH_STATUS;

use commands::command;
use execute::execute;
use facts::rerun_event;
use issue::{branch_status, check_issue, installed};
use pull_request::{labelled_ok_to_test, pull_request};

pub async fn handle(github: &impl GitHub, ctx: RunContext<'_>, event: &Event) -> Result<Outcome> {
    match event {
        Event::PullRequest(pr) if pr.action == PullAction::LabeledOkToTest => {
            labelled_ok_to_test(github, ctx, pr).await
        }
        Event::PullRequest(pr) => pull_request(github, ctx, pr).await,
        Event::Issue {
            action,
            repo,
            issue,
        } => check_issue(github, ctx, repo, issue, IssueTrigger::Event(*action)).await,
        Event::IssueComment {
            action,
            repo,
            issue,
            comment,
            author,
        } => {
            let requests = chatops::commands(comment);
            if *action == CommentAction::Created && !requests.is_empty() {
                command(github, ctx, repo, issue, author, &requests).await
            } else if issue.is_pull_request {
                Ok(Outcome::neutral(
                    "A comment on a pull request: nothing to check.",
                ))
            } else {
                check_issue(github, ctx, repo, issue, IssueTrigger::Comment).await
            }
        }
        Event::Push {
            repo,
            branch: Some(branch),
            after,
            deleted: false,
            clone_url,
            ..
        } => branch_status(github, ctx, repo, branch, after, clone_url.as_deref()).await,
        Event::Rerequested {
            repo,
            head_sha,
            pulls,
        } => {
            if pulls.is_empty() {
                return Ok(Outcome::neutral(format!(
                    "No pull request of {repo} has {head_sha} as its head; nothing to run again."
                )));
            }
            let mut last = Outcome::neutral("");
            let mut evaluated = Vec::new();
            for number in pulls {
                let pull = github.pull(repo, *number).await?;
                last = pull_request(github, ctx, &rerun_event(repo, &pull)).await?;
                evaluated.append(&mut last.evaluated);
            }
            last.evaluated = evaluated;
            Ok(last)
        }
        Event::Installed { repos } => installed(github, ctx, repos).await,
        Event::Watch(watch) => dispatch::watch(github, ctx, watch).await,
        Event::ReleaseDispatched {
            repo,
            pull,
            merge_sha,
        } => release::dispatched(github, ctx, repo, *pull, merge_sha).await,
        Event::Scheduled {
            repo: Some(repo),
            clone_url,
        } => monitor::scheduled(github, ctx, repo, clone_url.as_deref()).await,
        other => Ok(Outcome::neutral(format!(
            "Nothing to check for {}.",
            describe(other)
        ))),
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::Ignored {
            event,
            action: Some(action),
        } => format!("`{event}` ({action})"),
        Event::Ignored { event, .. } => format!("`{event}`"),
        Event::Push { deleted: true, .. } => "a deleted branch".into(),
        Event::Push { .. } => "a push that is not to a branch".into(),
        _ => "this event".into(),
    }
}

/// A pull request's job that could not finish says so on its check run,
/// rather than leaving it silent.
pub async fn report_failure(
    github: &impl GitHub,
    repo: &RepoName,
    head_sha: &str,
    error: &str,
) -> Result<(), GitHubError> {
    let plan = notices::gave_up_on_pull(head_sha, error);
    execute(github, repo, &plan.effects).await.map(|_| ())
}

/// A job on an issue that could not finish says so in the issue's sticky
/// comment; on a pull request's conversation, on its check run.
pub async fn report_issue_failure(
    github: &impl GitHub,
    repo: &RepoName,
    issue: &Issue,
    error: &str,
) -> Result<(), GitHubError> {
    let number = issue.number.unwrap_or_default();
    if issue.is_pull_request {
        let pull = github.pull(repo, number).await?;
        return report_failure(github, repo, &pull.head.sha, error).await;
    }
    let plan = notices::gave_up_on_issue(number, error);
    execute(github, repo, &plan.effects).await.map(|_| ())
}
