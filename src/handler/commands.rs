//! `/dslp` commands: who may give them, and what each does.

use super::*;

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
                if !issue.is_pull_request {
                    let text = "`/dslp ok-to-test` is for pull requests from forks.".to_string();
                    reply(github, repo, number, &text).await?;
                    Outcome::neutral(text)
                } else {
                    let pull = github.pull(repo, number).await?;
                    approve(github, repo, &pull, author).await?;
                    let short: String = pull.head.sha.chars().take(7).collect();
                    reply(
                        github,
                        repo,
                        number,
                        &format!("@{author} approved `{short}`: evaluating this pull request. A later push needs a new `/dslp ok-to-test`."),
                    )
                    .await?;
                    pull_request(github, ctx, &rerun_event(repo, &pull)).await?
                }
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
    let repository = Repository::read(github, repo).await?;
    // On a pull request, the experiment is the issue its branch names.
    let (experiment_number, at_hand) = if issue.is_pull_request {
        let pull = github.pull(repo, number).await?;
        let branch = rulebook.conventions.classify(&pull.head.name);
        match (branch.kind, branch.number) {
            (Some(BranchKind::Experiment), Some(n)) => (n, Some(number)),
            _ => {
                let text = format!(
                    "`{}` is not an experiment branch (`experiment/N-slug`), so there is no experiment to mark.",
                    pull.head.name
                );
                reply(github, repo, number, &text).await?;
                return Ok(Outcome::neutral(text));
            }
        }
    } else {
        (number, None)
    };
    let mut experiment = match github.issue(repo, experiment_number).await {
        Ok(data) => data.to_issue(),
        Err(GitHubError::NotFound(_)) => {
            let text = format!("There is no issue #{experiment_number}.");
            reply(github, repo, number, &text).await?;
            return Ok(Outcome::neutral(text));
        }
        Err(e) => return Err(e.into()),
    };
    if experiment.labelled_kind() != Some(IssueKind::Experiment) {
        let text = format!("#{experiment_number} is not an Experiment issue.");
        reply(github, repo, number, &text).await?;
        return Ok(Outcome::neutral(text));
    }
    let lifecycle = Lifecycle {
        repository: &repository,
        rulebook: &rulebook,
        config: &config,
        evaluations: ctx.evaluations,
    };
    let text = match command {
        Command::Succeed | Command::Promote => {
            if command == Command::Succeed {
                automation::set_status(github, repo, &mut experiment, SUCCEEDED, None).await?;
            }
            allowed(
                automation::promote(github, &lifecycle, &experiment, at_hand).await,
                "run the success flow",
            )?
        }
        _ => {
            let tldr = Some(argument).filter(|a| !a.trim().is_empty());
            automation::set_status(github, repo, &mut experiment, FAILED, tldr).await?;
            allowed(
                automation::fail(github, &lifecycle, &experiment, at_hand).await,
                "run the failure flow",
            )?
        }
    };
    automation::say(github, repo, experiment_number, &text).await?;
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
    automation::refresh_asks(github, &lifecycle, &asks).await?;
    Ok(Outcome::neutral(text))
}

pub(super) async fn reply(
    github: &impl GitHub,
    repo: &RepoName,
    issue: u64,
    text: &str,
) -> Result<()> {
    let body = format!("{COMMAND_MARKER}\n{text}");
    github::upsert_comment(github, repo, issue, COMMAND_MARKER, &body).await?;
    Ok(())
}
