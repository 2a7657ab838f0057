//! `/dslp` commands: who may give them, and what each does.

use anyhow::Result;

use crate::automation::{self, Lifecycle, Repository, status};
use crate::chatops::{self, Command, Request as ChatRequest};
use crate::github::{GitHub, GitHubError};
use crate::lifecycle::labels::{FAILED, SUCCEEDED};
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{BranchKind, Issue, IssueKind, Rulebook};

use super::context::{IssueTrigger, Outcome, RunContext};
use super::execute::execute;
use super::facts::{rerun_event, rulebook_of};
use super::flows::{self, reply};
use super::issue::check_issue;
use super::pull_request::{approve, pull_request};

pub(super) async fn command(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    issue: &Issue,
    author: &str,
    requests: &[ChatRequest],
) -> Result<Outcome> {
    let number = issue.number.unwrap_or_default();
    let mut last = Outcome::neutral("");
    for request in requests {
        if let ChatRequest::Known(command, _) = request
            && command.acts()
            && !automation::may_act(github, repo, author).await?
        {
            let text = format!(
                "@{author}, thanks: `/dslp {}` changes things, so it is kept for people with write access to this repository. A maintainer can run it.",
                chatops::COMMANDS
                    .iter()
                    .find(|c| c.command == *command)
                    .map_or("", |c| c.word)
            );
            reply(github, repo, number, &text).await?;
            last = Outcome::neutral(text);
            continue;
        }
        last = match request {
            ChatRequest::Known(Command::Help, _) => {
                reply(github, repo, number, &chatops::help()).await?;
                Outcome::neutral(chatops::help())
            }
            ChatRequest::Known(Command::Rerun, _) if issue.is_pull_request => {
                let pull = github.pull(repo, number).await?;
                pull_request(github, ctx, &rerun_event(repo, &pull)).await?
            }
            ChatRequest::Known(Command::Rerun, _) => {
                check_issue(github, ctx, repo, issue, IssueTrigger::Rerun).await?
            }
            ChatRequest::Known(Command::OkToTest, _) => {
                ok_to_test(github, ctx, repo, issue, author).await?
            }
            ChatRequest::Known(
                command @ (Command::Succeed | Command::Fail | Command::Promote),
                argument,
            ) => experiment_command(github, ctx, repo, issue, *command, argument).await?,
            ChatRequest::Unknown { word, suggestion } => {
                let text = chatops::unknown(word, *suggestion);
                reply(github, repo, number, &text).await?;
                Outcome::neutral(text)
            }
        };
    }
    Ok(last)
}

/// `/dslp ok-to-test`: a maintainer approves a fork's head commit.
async fn ok_to_test(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    issue: &Issue,
    author: &str,
) -> Result<Outcome> {
    let number = issue.number.unwrap_or_default();
    if !issue.is_pull_request {
        let text = "`/dslp ok-to-test` is for pull requests from forks.".to_string();
        reply(github, repo, number, &text).await?;
        return Ok(Outcome::neutral(text));
    }
    let pull = github.pull(repo, number).await?;
    approve(github, repo, &pull, author).await?;
    let short: String = pull.head.sha.chars().take(7).collect();
    reply(
        github,
        repo,
        number,
        &format!(
            "@{author} approved `{short}`: evaluating this pull request. A later push needs a new `/dslp ok-to-test`."
        ),
    )
    .await?;
    pull_request(github, ctx, &rerun_event(repo, &pull)).await
}

/// The experiment a command names: the issue itself, or, on a pull
/// request, the issue its `experiment/N-*` branch names. `Err` says why
/// there is none.
async fn experiment_of(
    github: &impl GitHub,
    rulebook: &Rulebook,
    repo: &RepoName,
    issue: &Issue,
) -> Result<Result<(Issue, Option<u64>), String>> {
    let number = issue.number.unwrap_or_default();
    let (experiment, at_hand) = if issue.is_pull_request {
        let pull = github.pull(repo, number).await?;
        let branch = rulebook.conventions.classify(&pull.head.name);
        match (branch.kind, branch.number) {
            (Some(BranchKind::Experiment), Some(n)) => (n, Some(number)),
            _ => {
                return Ok(Err(format!(
                    "`{}` is not an experiment branch (`experiment/N-slug`), so there is no experiment to mark.",
                    pull.head.name
                )));
            }
        }
    } else {
        (number, None)
    };
    let experiment_issue = match github.issue(repo, experiment).await {
        Ok(data) => data.to_issue(),
        Err(GitHubError::NotFound(_)) => {
            return Ok(Err(format!("There is no issue #{experiment}.")));
        }
        Err(e) => return Err(e.into()),
    };
    if experiment_issue.labelled_kind() != Some(IssueKind::Experiment) {
        return Ok(Err(format!("#{experiment} is not an Experiment issue.")));
    }
    Ok(Ok((experiment_issue, at_hand)))
}

/// `succeed`, `fail` and `promote`, on an Experiment issue or its pull request.
async fn experiment_command(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    issue: &Issue,
    command: Command,
    argument: &str,
) -> Result<Outcome> {
    let number = issue.number.unwrap_or_default();
    let (config, rulebook) = rulebook_of(github, ctx.tree, repo).await?;
    let (experiment, at_hand) = match experiment_of(github, &rulebook, repo, issue).await? {
        Ok(found) => found,
        Err(text) => {
            reply(github, repo, number, &text).await?;
            return Ok(Outcome::neutral(text));
        }
    };
    let repository = Repository::read(github, repo).await?;
    let lifecycle = Lifecycle {
        repository: &repository,
        rulebook: &rulebook,
        config: &config,
        evaluations: ctx.evaluations,
    };
    let (label, tldr) = match command {
        Command::Succeed => (Some(SUCCEEDED), None),
        Command::Fail => (
            Some(FAILED),
            Some(argument).filter(|a| !a.trim().is_empty()),
        ),
        _ => (None, None),
    };
    let experiment = match label {
        Some(label) => {
            let (effects, after) = status::set(&experiment, label, tldr);
            execute(github, repo, &effects).await?;
            after
        }
        None => experiment,
    };
    let text = match command {
        Command::Fail => flows::fail(github, &lifecycle, &experiment, at_hand).await?,
        _ => flows::succeed(github, &lifecycle, &experiment, at_hand).await?,
    };
    let experiment_number = experiment.number.unwrap_or_default();
    flows::say(github, repo, experiment_number, &text).await?;
    if at_hand.is_some() {
        reply(github, repo, number, &text).await?;
    }
    // The flow may have opened a Model issue: the Ask lists it.
    let repository = Repository::read(github, repo).await?;
    let asks = automation::asks_touched(&experiment, &repository.directory);
    let lifecycle = Lifecycle {
        repository: &repository,
        ..lifecycle
    };
    flows::refresh_asks(github, &lifecycle, &asks).await?;
    Ok(Outcome::neutral(text))
}
