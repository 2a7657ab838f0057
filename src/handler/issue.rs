//! An issue: its rules in its sticky comment, the experiment's flows that
//! follow its status label, and the Asks it belongs to. A branch: its name
//! rules as a commit status. An installation: the set-up.

use anyhow::Result;

use crate::automation::{self, Lifecycle, Repository, issue_types, rulesets, set_up, sub_issues};
use crate::engine::Effect;
use crate::engine::{self, notices};
use crate::event::IssueAction;
use crate::github::{GitHub, GitHubError};
use crate::lifecycle::ask;
use crate::lifecycle::issue::Lookup;
use crate::lifecycle::labels::{FAILED, SUCCEEDED};
use crate::lifecycle::links::RepoName;
use crate::lifecycle::{BranchKind, Issue, IssueKind, IssueState};
use crate::report::comment::ISSUE_MARKER;

use super::context::{IssueTrigger, Outcome, RunContext, ScheduleChange, Tree};
use super::execute::execute;
use super::facts::rulebook_of;
use super::flows;

pub(super) async fn check_issue(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    issue: &Issue,
    trigger: IssueTrigger,
) -> Result<Outcome> {
    if issue.is_pull_request {
        return Ok(Outcome::neutral(
            "A pull request's conversation: nothing to check.",
        ));
    }
    let (config, rulebook) = rulebook_of(github, ctx.tree, repo).await?;
    let repository = Repository::read(github, repo).await?;
    let number = issue.number.unwrap_or_default();
    let had_comment = github
        .comments(repo, number)
        .await?
        .iter()
        .any(|c| c.body.as_deref().is_some_and(|b| b.contains(ISSUE_MARKER)));
    let plan = engine::issue(issue, &rulebook, &repository.directory, had_comment);
    let mut warnings = execute(github, repo, &plan.effects).await?.warnings;
    let lifecycle = Lifecycle {
        repository: &repository,
        rulebook: &rulebook,
        config: &config,
        evaluations: ctx.evaluations,
    };
    // The experiment's flows follow its status label.
    let follows_status = matches!(
        trigger,
        IssueTrigger::Comment
            | IssueTrigger::Event(IssueAction::Labeled | IssueAction::Opened | IssueAction::Edited)
    );
    if follows_status {
        let flow = if issue.labels.iter().any(|l| l == SUCCEEDED) {
            flows::succeed(github, &lifecycle, issue, None).await?
        } else if issue.labels.iter().any(|l| l == FAILED) && issue.state == IssueState::Open {
            flows::fail(github, &lifecycle, issue, None).await?
        } else {
            String::new()
        };
        flows::say(github, repo, number, &flow).await?;
    }
    if config.automations.sub_issues {
        warnings.extend(sub_issues(github, repo, issue, &repository).await?);
    }
    let stage = crate::lifecycle::stage::stage_of(issue);
    if let (Some(project), Some(stage)) = (&config.automations.project, stage) {
        let place = Effect::PlaceOnBoard {
            project: project.clone(),
            issue: number,
            stage,
        };
        warnings.extend(execute(github, repo, &[place]).await?.warnings);
    }
    let asks = automation::asks_touched(issue, &repository.directory);
    let updated = flows::refresh_asks(github, &lifecycle, &asks).await?;
    if !updated.is_empty() {
        warnings.push(format!(
            "kept Ask{} {} current",
            if updated.len() == 1 { "" } else { "s" },
            updated
                .iter()
                .map(|n| format!("#{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Outcome::of(plan, warnings))
}

/// The issue under the Ask it refers to (or out of one it no longer
/// does); answers what the user should know.
async fn sub_issues(
    github: &impl GitHub,
    repo: &RepoName,
    issue: &Issue,
    repository: &Repository,
) -> Result<Vec<String>> {
    let number = issue.number.unwrap_or_default();
    let id = repository
        .issues
        .iter()
        .find(|i| i.number == number)
        .map_or(0, |i| i.id);
    let asks = ask::asks_of(issue, &repository.directory);
    let parent = match github.parent(repo, number).await {
        Ok(parent) => parent,
        Err(e) => return Ok(vec![format!("sub-issues are not available here ({e})")]),
    };
    let is_ask = |n: u64| match repository.directory.lookup_number(n) {
        Lookup::Found(found) => found.labelled_kind() == Some(IssueKind::Ask),
        _ => false,
    };
    let facts = sub_issues::Facts {
        issue,
        id,
        asks: &asks,
        parent: parent.map(|p| (p, is_ask(p))),
    };
    Ok(execute(github, repo, &sub_issues::decide(&facts))
        .await?
        .warnings)
}

pub(super) async fn branch_status(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
    branch: &str,
    after: &str,
    clone_url: Option<&str>,
) -> Result<Outcome> {
    let (config, rulebook) = rulebook_of(github, ctx.tree, repo).await?;
    let directory = Repository::read(github, repo).await?.directory;
    let report = rulebook.check_branch(branch, &directory);
    // A `create` event names no commit: ask for the branch's.
    let sha = match after.is_empty() {
        true => github.branch_head(repo, branch).await?,
        false => after.to_string(),
    };
    let plan = notices::branch_status(&report, &sha);
    execute(github, repo, &plan.effects).await?;
    let mut outcome = Outcome::of(plan, Vec::new());
    // The default branch's config says what the App monitors, how often
    // (the Action runs on the workflow's schedule: nothing to keep).
    if matches!(ctx.tree, Tree::Fetched(_))
        && report.head.kind == Some(BranchKind::Collaboration)
        && github.default_branch(repo).await? == branch
    {
        outcome.schedule = Some(ScheduleChange {
            repo: repo.clone(),
            every: config.monitor.values().map(|m| m.schedule.every()).min(),
            clone_url: clone_url.map(str::to_string),
        });
        // The rulesets follow the policies this push may have changed.
        if config.automations.rulesets.unwrap_or(ctx.set_up.rulesets) == crate::config::Mode::Act {
            outcome
                .warnings
                .extend(rulesets_set_up(github, ctx, repo).await?.0);
        }
    }
    Ok(outcome)
}

/// The App's rulesets on an installed repository: what was done, and
/// whether they are in place (then branch protection is not needed).
async fn rulesets_set_up(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repo: &RepoName,
) -> Result<(Vec<String>, bool)> {
    let (config, rulebook) = rulebook_of(github, ctx.tree, repo).await?;
    let mode = config.automations.rulesets.unwrap_or(ctx.set_up.rulesets);
    if mode == crate::config::Mode::Off {
        return Ok((Vec::new(), false));
    }
    let existing: Option<Vec<(u64, String)>> = match github.rulesets(repo).await {
        Ok(list) => Some(list.into_iter().map(|r| (r.id, r.name)).collect()),
        Err(GitHubError::NotFound(_) | GitHubError::NotAllowed { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let facts = rulesets::Facts {
        existing: existing.as_deref(),
        conventions: &rulebook.conventions,
        app_id: ctx.set_up.app_id,
    };
    let (effects, mut done, suggestion) = rulesets::plan(mode, &facts);
    let effects: Vec<Effect> = effects
        .into_iter()
        .map(|e| e.or_say("rulesets were refused (a plan without branch-name rules, or no Administration permission); the branch rules are still checked after the fact"))
        .collect();
    let executed = execute(github, repo, &effects).await?;
    if let Some(refused) = executed.refused {
        return Ok((vec![refused], false));
    }
    done.extend(suggestion.map(|s| format!("suggested: {s}")));
    Ok((done, !effects.is_empty()))
}

/// The App was installed on `repos`: labels, protection, the set-up pull
/// request, as the server's settings ask.
/// The DSLP issue types of each organisation the App was installed in,
/// once per organisation.
async fn issue_types_set_up(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repos: &[RepoName],
) -> Result<Vec<String>> {
    let mut said = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for repo in repos.iter().filter(|r| seen.insert(r.owner.clone())) {
        let existing = match github.org_issue_types(&repo.owner).await {
            Ok(existing) => existing,
            Err(e @ GitHubError::NotAllowed { .. }) => {
                said.push(format!("{}: the organisation's issue types cannot be read ({e}); labels carry the kind", repo.owner));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let (effects, words) = issue_types::decide(existing.as_deref(), ctx.set_up.issue_types);
        said.extend(execute(github, repo, &effects).await?.warnings);
        said.extend(words.map(|w| format!("{}: {w}", repo.owner)));
    }
    Ok(said)
}

pub(super) async fn installed(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    repos: &[RepoName],
) -> Result<Outcome> {
    let mut warnings = issue_types_set_up(github, ctx, repos).await?;
    for repo in repos {
        execute(github, repo, &set_up::labels()).await?;
        let mut wanted = ctx.set_up;
        let (mut done, ruled) = rulesets_set_up(github, ctx, repo).await?;
        if ruled {
            // The required check is a ruleset's: no branch protection too.
            wanted.protection = crate::config::Mode::Off;
        }
        if !wanted.pull_request && wanted.protection == crate::config::Mode::Off {
            warnings.extend((!done.is_empty()).then(|| format!("{repo}: {}", done.join("; "))));
            continue;
        }
        let facts = set_up::Facts::gather(github, repo, wanted).await?;
        let (effects, protection_done, mut suggestion) = set_up::protection(&facts, wanted);
        done.extend(protection_done);
        let protected = execute(github, repo, &effects).await?;
        if let Some(refused) = protected.refused {
            done.clear();
            suggestion = Some(refused);
        }
        let (effects, said) = set_up::pull_request(&facts, wanted, suggestion.as_deref());
        let executed = execute(github, repo, &effects).await?;
        done.extend(said);
        done.extend(executed.opened.last().map(|&number| set_up::opened(number)));
        warnings.push(format!("{repo}: {}", done.join("; ")));
    }
    let mut outcome = Outcome::neutral(format!(
        "The {} DSLP labels are in place on {} repositor{}.",
        crate::lifecycle::labels::DSLP_LABELS.len(),
        repos.len(),
        if repos.len() == 1 { "y" } else { "ies" }
    ));
    outcome.warnings = warnings;
    Ok(outcome)
}
