//! The one executor: carries out the effects the flows decide, through the
//! GitHub port, with the rules for retrying and for doing a thing once in
//! one place.
//!
//! - A create that failed in flight (5xx, timeout, transport) may have
//!   landed: it is resent only after looking that it did not (comments,
//!   check runs, issues by their marker).
//! - What already exists is what a create wanted (a branch, an issue with
//!   the same marker); what is already gone is what a delete wanted.
//! - A refused [`Effect::Try`] ends the plan and its words are said instead.
//! - A comment the token may not write (a fork's read-only token) is a
//!   warning: the report still reaches the job summary and the log.

use crate::config::ProjectRef;
use crate::engine::Effect;
use crate::github::{
    ANNOTATIONS_PER_REQUEST, CheckRun, Conclusion, GitHub, GitHubError, IssueUpdate, Status,
    StatusState,
};
use crate::lifecycle::ask;
use crate::lifecycle::links::RepoName;
use crate::lifecycle::stage::{STAGE_FIELD, Stage};

/// What carrying out a plan gave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Executed {
    /// What the user should know that did not stop the run.
    pub warnings: Vec<String>,
    /// A refused [`Effect::Try`]'s words; the effects after it were not tried.
    pub refused: Option<String>,
    /// The issues and pull requests opened, in order.
    pub opened: Vec<u64>,
    /// The Asks whose section was rewritten.
    pub asks_updated: Vec<u64>,
}

/// Times a create is tried, each after checking that the last did not land.
const CREATE_ATTEMPTS: u32 = 3;

/// How often the Ask's body is read again when a person edited it between
/// the read and the write.
const SECTION_ATTEMPTS: u32 = 5;

/// Carries out `effects` in order.
pub async fn execute(
    github: &impl GitHub,
    repo: &RepoName,
    effects: &[Effect],
) -> Result<Executed, GitHubError> {
    let mut executed = Executed::default();
    for effect in effects {
        match effect {
            Effect::Try { effect, otherwise } => {
                match one(github, repo, effect, &mut executed).await {
                    Err(GitHubError::NotAllowed { message, .. }) => {
                        tracing::warn!("the token may not do this ({message}); said instead");
                        executed.refused = Some(otherwise.clone());
                        return Ok(executed);
                    }
                    other => other?,
                }
            }
            effect => one(github, repo, effect, &mut executed).await?,
        }
    }
    Ok(executed)
}

async fn one(
    github: &impl GitHub,
    repo: &RepoName,
    effect: &Effect,
    executed: &mut Executed,
) -> Result<(), GitHubError> {
    match effect {
        Effect::UpsertComment { .. } | Effect::Check(_) | Effect::SetStatus { .. } => {
            report(github, repo, effect, executed).await
        }
        Effect::EnsureLabel(_)
        | Effect::AddLabels { .. }
        | Effect::RemoveLabel { .. }
        | Effect::EditIssue { .. }
        | Effect::UpdateAskSection { .. }
        | Effect::CreateIssue { .. } => issues(github, repo, effect, executed).await,
        Effect::CreateBranch { .. }
        | Effect::DeleteBranch { .. }
        | Effect::Retarget { .. }
        | Effect::ClosePull { .. }
        | Effect::CreateFile { .. }
        | Effect::CreatePull { .. }
        | Effect::Protect { .. } => code(github, repo, effect, executed).await,
        Effect::PublishRelease(plan) => super::publish::publish(github, repo, plan).await,
        Effect::PutRuleset { id, ruleset } => github.put_ruleset(repo, *id, ruleset).await,
        Effect::CreateIssueType {
            name,
            description,
            color,
        } => {
            let made = github
                .create_org_issue_type(&repo.owner, name, description, color)
                .await;
            match made {
                Err(e @ (GitHubError::NotAllowed { .. } | GitHubError::Rejected { .. })) => {
                    executed.warnings.push(format!(
                        "could not create the issue type `{name}` ({e}): add it in the organisation's settings"
                    ));
                    Ok(())
                }
                other => other,
            }
        }
        Effect::PlaceOnBoard {
            project,
            issue,
            stage,
        } => match place_on_board(github, repo, project, *issue, *stage).await {
            Ok(note) => {
                executed.warnings.extend(note);
                Ok(())
            }
            // A personal account (no organisation projects), a token
            // without the permission: the labels still say the stage.
            Err(e @ (GitHubError::NotAllowed { .. } | GitHubError::NotFound(_))) => {
                executed.warnings.push(format!(
                    "the project board is not available here ({e}); the labels say each issue's stage"
                ));
                Ok(())
            }
            Err(e) => Err(e),
        },
        Effect::AddSubIssue { .. } | Effect::RemoveSubIssue { .. } => {
            sub_issue(github, repo, effect, executed).await
        }
        Effect::Try { effect, .. } => Box::pin(one(github, repo, effect, executed)).await,
    }
}

/// The report: comments, the check run, statuses.
async fn report(
    github: &impl GitHub,
    repo: &RepoName,
    effect: &Effect,
    executed: &mut Executed,
) -> Result<(), GitHubError> {
    match effect {
        Effect::UpsertComment {
            issue,
            marker,
            body,
        } => match upsert_comment(github, repo, *issue, marker, body).await {
            Ok(_) => Ok(()),
            Err(GitHubError::NotAllowed { message, .. }) => {
                executed.warnings.push(format!(
                    "the token may not comment on #{issue} ({message}); the report is in the job summary"
                ));
                Ok(())
            }
            Err(e) => Err(e),
        },
        Effect::Check(run) => {
            let published = publish_check(github, repo, run).await?;
            tracing::info!("published the check as {published:?}");
            Ok(())
        }
        Effect::SetStatus { sha, status } => github.create_status(repo, sha, status).await,
        _ => unreachable!("not a report effect"),
    }
}

/// Labels and issues.
async fn issues(
    github: &impl GitHub,
    repo: &RepoName,
    effect: &Effect,
    executed: &mut Executed,
) -> Result<(), GitHubError> {
    match effect {
        Effect::EnsureLabel(label) => github.ensure_label(repo, label).await,
        Effect::AddLabels { issue, labels } => github.add_labels(repo, *issue, labels).await,
        Effect::RemoveLabel { issue, label } => {
            already(github.remove_label(repo, *issue, label).await)
        }
        Effect::EditIssue { issue, update } => github.update_issue(repo, *issue, update).await,
        Effect::UpdateAskSection { ask, section } => {
            if update_ask_section(github, repo, *ask, section).await? {
                executed.asks_updated.push(*ask);
            }
            Ok(())
        }
        Effect::CreateIssue {
            title,
            body,
            labels,
            marker,
        } => {
            let number = create_issue_once(github, repo, title, body, labels, marker).await?;
            executed.opened.push(number);
            Ok(())
        }
        _ => unreachable!("not an issue effect"),
    }
}

/// Branches, files and pull requests.
async fn code(
    github: &impl GitHub,
    repo: &RepoName,
    effect: &Effect,
    executed: &mut Executed,
) -> Result<(), GitHubError> {
    match effect {
        Effect::CreateBranch { name, sha } => match github.create_branch(repo, name, sha).await {
            // 422 "Reference already exists": made by an earlier run.
            Err(GitHubError::Rejected { status: 422, .. }) => Ok(()),
            other => other,
        },
        Effect::DeleteBranch { name } => match github.delete_branch(repo, name).await {
            Err(GitHubError::Rejected { status: 422, .. }) => Ok(()),
            other => already(other),
        },
        Effect::Retarget { pull, base } => github.update_pull(repo, *pull, Some(base), None).await,
        Effect::ClosePull { pull } => {
            github
                .update_pull(
                    repo,
                    *pull,
                    None,
                    Some(crate::lifecycle::IssueState::Closed),
                )
                .await
        }
        Effect::CreateFile {
            branch,
            path,
            contents,
            message,
        } => {
            github
                .create_file(repo, branch, path, contents, message)
                .await
        }
        Effect::CreatePull {
            title,
            head,
            base,
            body,
        } => {
            let number = github.create_pull(repo, title, head, base, body).await?;
            executed.opened.push(number);
            Ok(())
        }
        Effect::Protect { branch, checks } => {
            let checks: Vec<&str> = checks.iter().map(String::as_str).collect();
            github.protect(repo, branch, &checks).await
        }
        _ => unreachable!("not a code effect"),
    }
}

/// Sub-issue links. Where GitHub has none (an older Enterprise Server, a
/// token without the permission), a warning: the Ask section still lists
/// the issue.
async fn sub_issue(
    github: &impl GitHub,
    repo: &RepoName,
    effect: &Effect,
    executed: &mut Executed,
) -> Result<(), GitHubError> {
    let done = match effect {
        Effect::AddSubIssue {
            parent,
            sub_issue_id,
        } => github.add_sub_issue(repo, *parent, *sub_issue_id).await,
        Effect::RemoveSubIssue {
            parent,
            sub_issue_id,
        } => already(github.remove_sub_issue(repo, *parent, *sub_issue_id).await),
        _ => unreachable!("not a sub-issue effect"),
    };
    match done {
        Err(
            e @ (GitHubError::NotAllowed { .. }
            | GitHubError::NotFound(_)
            | GitHubError::Rejected { .. }),
        ) => {
            executed.warnings.push(format!(
                "sub-issues are not available here ({e}); the Ask section lists the issue"
            ));
            Ok(())
        }
        other => other,
    }
}

/// The issue on the organisation's project at `stage`: the project found
/// by number or title, its `Stage` field made when missing, the issue
/// added (GitHub answers the item it already is) and its stage set.
/// Answers what the user should know.
async fn place_on_board(
    github: &impl GitHub,
    repo: &RepoName,
    project: &ProjectRef,
    issue: u64,
    stage: Stage,
) -> Result<Option<String>, GitHubError> {
    let org = repo.owner.as_str();
    let number = match project {
        ProjectRef::Number(number) => *number,
        ProjectRef::Title(title) => match github.project_number(org, title).await? {
            Some(number) => number,
            None => {
                return Ok(Some(format!(
                    "{org} has no project titled `{title}` (automations.project)"
                )));
            }
        },
    };
    let field = match github.project_field(org, number, STAGE_FIELD).await? {
        Some(field) => field,
        None => {
            let options = Stage::ALL.map(|s| (s.name(), s.color()));
            github
                .add_project_field(org, number, STAGE_FIELD, &options)
                .await?
        }
    };
    let Some((option, _)) = field.options.iter().find(|(_, name)| name == stage.name()) else {
        return Ok(Some(format!(
            "the project's `{STAGE_FIELD}` field has no `{}` option: add it on the board",
            stage.name()
        )));
    };
    let item = github.add_project_item(org, number, repo, issue).await?;
    github
        .set_project_field(org, number, item, field.id, option)
        .await?;
    Ok(None)
}

/// A thing already gone is what removing it wanted.
fn already(result: Result<(), GitHubError>) -> Result<(), GitHubError> {
    match result {
        Err(GitHubError::NotFound(_)) => Ok(()),
        other => other,
    }
}

/// A failure after which a create may or may not have happened on GitHub.
fn may_have_landed(error: &GitHubError) -> bool {
    matches!(
        error,
        GitHubError::Server { .. } | GitHubError::Timeout | GitHubError::Transport(_)
    )
}

/// Creates the comment carrying `marker`, or edits it in place: never two.
/// A create that failed in flight is retried only after checking that it
/// did not land.
pub async fn upsert_comment(
    github: &impl GitHub,
    repo: &RepoName,
    issue: u64,
    marker: &str,
    body: &str,
) -> Result<u64, GitHubError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let existing = github
            .comments(repo, issue)
            .await?
            .into_iter()
            .find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)));
        if let Some(existing) = existing {
            if existing.body.as_deref() != Some(body) {
                github.update_comment(repo, existing.id, body).await?;
            }
            return Ok(existing.id);
        }
        match github.create_comment(repo, issue, body).await {
            Ok(created) => return Ok(created.id),
            // It may have landed: look again before resending.
            Err(e) if may_have_landed(&e) && attempt < CREATE_ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    }
}

/// How a check reached GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    CheckRun(u64),
    /// The token may not use the Checks API; a commit status was set instead.
    Status,
}

/// Publishes the check run, annotations in batches of 50; falls back to a
/// commit status when the Checks API is not allowed.
pub async fn publish_check(
    github: &impl GitHub,
    repo: &RepoName,
    run: &CheckRun,
) -> Result<Published, GitHubError> {
    let mut batches = run.annotations.chunks(ANNOTATIONS_PER_REQUEST);
    let first = batches.next().unwrap_or(&[]);
    let mut attempt = 0;
    let id = loop {
        attempt += 1;
        match github.find_check_run(repo, &run.head_sha, &run.name).await {
            Ok(Some(existing)) => {
                github.update_check_run(repo, existing, run, first).await?;
                break existing;
            }
            Ok(None) => {}
            Err(GitHubError::NotAllowed { .. }) => {
                return fall_back_to_status(github, repo, run).await;
            }
            Err(e) => return Err(e),
        }
        match github.create_check_run(repo, run, first).await {
            Ok(created) => break created,
            Err(GitHubError::NotAllowed { .. }) => {
                return fall_back_to_status(github, repo, run).await;
            }
            // It may have landed: look again before resending.
            Err(e) if may_have_landed(&e) && attempt < CREATE_ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    };
    for batch in batches {
        github.update_check_run(repo, id, run, batch).await?;
    }
    Ok(Published::CheckRun(id))
}

async fn fall_back_to_status(
    github: &impl GitHub,
    repo: &RepoName,
    run: &CheckRun,
) -> Result<Published, GitHubError> {
    tracing::warn!(repo = %repo, "the token may not create check runs; setting a commit status instead");
    let state = match run.conclusion {
        Conclusion::Success | Conclusion::Neutral => StatusState::Success,
        Conclusion::Failure => StatusState::Failure,
    };
    let status = Status {
        state,
        context: run.name.clone(),
        description: run.title.chars().take(140).collect(),
    };
    github.create_status(repo, &run.head_sha, &status).await?;
    Ok(Published::Status)
}

/// Opens the issue unless one whose body holds `marker` exists; answers
/// its number. A create that failed in flight is looked for before it is
/// sent again.
async fn create_issue_once(
    github: &impl GitHub,
    repo: &RepoName,
    title: &str,
    body: &str,
    labels: &[String],
    marker: &str,
) -> Result<u64, GitHubError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let existing = github.issues(repo).await?.into_iter().find(|i| {
            i.pull_request.as_ref().is_none_or(|p| p.is_null())
                && i.body.as_deref().is_some_and(|b| b.contains(marker))
        });
        if let Some(existing) = existing {
            return Ok(existing.number);
        }
        let issue_type = issue_type_of(github, repo, labels).await;
        match github
            .create_issue(repo, title, body, labels, issue_type.as_deref())
            .await
        {
            Ok(number) => return Ok(number),
            Err(e) if may_have_landed(&e) && attempt < CREATE_ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The organisation's issue type for the DSLP kind among `labels`, where
/// it has one of that name (else none: the label alone says the kind).
async fn issue_type_of(github: &impl GitHub, repo: &RepoName, labels: &[String]) -> Option<String> {
    let kind = labels
        .iter()
        .find(|l| !crate::lifecycle::IssueKind::all_from_labels(&[l.to_string()]).is_empty())?;
    let types = github.issue_types(repo).await.ok()?;
    types.into_iter().find(|t| t.eq_ignore_ascii_case(kind))
}

/// Rewrites the Ask's section in its body as it is now. Safe against a
/// person editing the body meanwhile: the body is read again just before
/// writing, and if it changed the section goes into the new text instead.
/// (GitHub offers no conditional update, so an edit landing in the
/// milliseconds between that second read and the write is the one case
/// this cannot see.) Answers whether it wrote.
async fn update_ask_section(
    github: &impl GitHub,
    repo: &RepoName,
    number: u64,
    section: &str,
) -> Result<bool, GitHubError> {
    for _ in 0..SECTION_ATTEMPTS {
        let current = github.issue(repo, number).await?.body.unwrap_or_default();
        let body = ask::splice(&current, section);
        if body == current {
            return Ok(false);
        }
        let again = github.issue(repo, number).await?.body.unwrap_or_default();
        if again != current {
            continue; // someone edited it: build on their text
        }
        let update = IssueUpdate {
            body: Some(body),
            ..IssueUpdate::default()
        };
        github.update_issue(repo, number, &update).await?;
        return Ok(true);
    }
    Ok(false)
}
