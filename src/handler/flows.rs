//! The lifecycle flows carried out: each decides from facts, the executor
//! does what it decided, and a flow that learns a fact on the way (the
//! Model issue's number) is run again until it is done.

use anyhow::Result;

use crate::automation::closed::ClosedPull;
use crate::automation::{self, Lifecycle, ask_section, closed, failure, success};
use crate::engine::Effect;
use crate::github::GitHub;
use crate::lifecycle::Issue;
use crate::lifecycle::links::RepoName;

use super::execute::execute;

/// The marker of dslp-bot's answer to `/dslp` commands, edited in place.
pub const COMMAND_MARKER: &str = "<!-- dslp:command-reply -->";

/// The most rounds a flow is run before it is left to the next event.
const ROUNDS: usize = 3;

/// Success (R44); answers what to say of it.
pub(super) async fn succeed(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    experiment: &Issue,
    at_hand: Option<u64>,
) -> Result<String> {
    let repo = &lifecycle.repository.name;
    for _ in 0..ROUNDS {
        let facts = success::Facts::gather(github, lifecycle, experiment, at_hand).await?;
        let step = success::decide(&facts);
        let executed = execute(github, repo, &step.effects).await?;
        if let Some(refused) = executed.refused {
            return Ok(refused);
        }
        if step.done {
            return Ok(step.said);
        }
    }
    Ok(String::new())
}

/// Failure (R45); answers what to say of it.
pub(super) async fn fail(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    experiment: &Issue,
    at_hand: Option<u64>,
) -> Result<String> {
    let step = failure::decide(lifecycle, experiment, at_hand);
    let executed = execute(github, &lifecycle.repository.name, &step.effects).await?;
    Ok(executed.refused.unwrap_or(step.said))
}

/// Explore and R46, for a pull request that closed; answers what to say.
pub(super) async fn pull_closed(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    pull: &ClosedPull<'_>,
) -> Result<String> {
    let step = closed::decide(lifecycle, pull);
    let executed = execute(github, &lifecycle.repository.name, &step.effects).await?;
    Ok(executed.refused.unwrap_or(step.said))
}

/// Keeps the Asks' sections current; answers those rewritten.
pub(super) async fn refresh_asks(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    asks: &[u64],
) -> Result<Vec<u64>> {
    // GitHub's sub-issue tree is one more source of each Ask's links.
    let mut sub_issues = std::collections::BTreeMap::new();
    if lifecycle.config.automations.ask_section {
        for &ask in asks {
            let repo = &lifecycle.repository.name;
            if let Ok(children) = github.sub_issues(repo, ask).await {
                sub_issues.insert(ask, children);
            }
        }
    }
    let step = ask_section::refresh(lifecycle, asks, &sub_issues);
    let executed = execute(github, &lifecycle.repository.name, &step.effects).await?;
    Ok(executed.asks_updated)
}

/// Says `text` in `issue`'s flow comment (nothing when it is empty).
pub(super) async fn say(
    github: &impl GitHub,
    repo: &RepoName,
    issue: u64,
    text: &str,
) -> Result<()> {
    let effects: Vec<_> = automation::say(issue, text).into_iter().collect();
    execute(github, repo, &effects).await?;
    Ok(())
}

/// The answer to a command, in the one command reply of `issue`.
pub(super) async fn reply(
    github: &impl GitHub,
    repo: &RepoName,
    issue: u64,
    text: &str,
) -> Result<()> {
    let reply = Effect::UpsertComment {
        issue,
        marker: COMMAND_MARKER,
        body: format!("{COMMAND_MARKER}\n{text}"),
    };
    execute(github, repo, &[reply]).await?;
    Ok(())
}
