//! Lifecycle automations: the tedious steps of DSLP done by the bot. The
//! Ask kept current with its linked issues and leaderboard, the success and
//! failure flows of an experiment, the explore flow. Each step is
//! idempotent, so a webhook delivered twice, or a command followed by the
//! `labeled` event it causes, does it once; and each can be set to act or
//! only to suggest (`automations:` in `.github/dslp.yml`).

use std::collections::BTreeMap;

use anyhow::Result;

use crate::config::{Mode, RepoConfig};
use crate::github::{self, GitHub, GitHubError, IssueData, IssueUpdate};
use crate::lifecycle::ask::{self, Evaluation, PullState};
use crate::lifecycle::body::{IssueBody, is_blank};
use crate::lifecycle::issue_rules::experiment_tldr;
use crate::lifecycle::kinds::{ASK_REFERENCE, BASED_ON_EXPERIMENT};
use crate::lifecycle::labels::{FAILED, MODEL, ON_HOLD, SUCCEEDED};
use crate::lifecycle::links::{RepoName, find_refs};
use crate::lifecycle::{BranchKind, Issue, IssueDirectory, IssueKind, IssueState, Rulebook};

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

    fn pull_states(&self) -> BTreeMap<u64, PullState> {
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

/// Rewrites each Ask's bot-managed section. Safe against a person editing
/// the body meanwhile: the body is read again just before writing, and if
/// it changed the section is put into the new text instead. (GitHub offers
/// no conditional update, so an edit landing in the milliseconds between
/// that second read and the write is the one case this cannot see.)
pub async fn refresh_asks(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    asks: &[u64],
) -> Result<Vec<u64>> {
    let Lifecycle {
        repository,
        rulebook,
        config,
        evaluations,
    } = *lifecycle;
    let mut updated = Vec::new();
    if !config.automations.ask_section {
        return Ok(updated);
    }
    let pulls = repository.pull_states();
    for &number in asks {
        for _attempt in 0..5 {
            let current = github.issue(&repository.name, number).await?.to_issue();
            if current.labelled_kind() != Some(IssueKind::Ask) {
                break;
            }
            let board = ask::leaderboard(
                &current,
                &repository.directory,
                &rulebook.conventions,
                evaluations,
                &pulls,
            );
            let section = ask::render(&current, &repository.directory, &board);
            let body = ask::splice(&current.body, &section);
            if body == current.body {
                break;
            }
            let again = github.issue(&repository.name, number).await?;
            if again.body.as_deref().unwrap_or_default() != current.body {
                continue; // someone edited it: build on their text
            }
            let update = IssueUpdate {
                body: Some(body),
                ..IssueUpdate::default()
            };
            github
                .update_issue(&repository.name, number, &update)
                .await?;
            updated.push(number);
            break;
        }
    }
    Ok(updated)
}

/// The Asks to refresh after something happened to `issue`.
pub fn asks_touched(issue: &Issue, directory: &IssueDirectory) -> Vec<u64> {
    match issue.labelled_kind() {
        Some(IssueKind::Ask) => issue.number.into_iter().collect(),
        _ => ask::asks_of(issue, directory),
    }
}

fn has_label(issue: &Issue, label: &str) -> bool {
    issue.labels.iter().any(|l| l == label)
}

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

/// The lock of one experiment's flows in this process.
fn flow_lock(repo: &RepoName, experiment: u64) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::LazyLock<
        std::sync::Mutex<BTreeMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut locks = LOCKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks
        .entry(format!("{repo}#{experiment}"))
        .or_default()
        .clone()
}

/// Success (DSLP §4.4, R44): a succeeded Experiment gets its Model issue,
/// pre-filled with its Ask and Experiment, a `model/M-slug` branch from the
/// collaboration branch, and its open pull request retargeted to it.
pub async fn promote(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    experiment: &Issue,
    at_hand: Option<u64>,
) -> Result<String> {
    let Lifecycle {
        repository,
        rulebook,
        config,
        ..
    } = *lifecycle;
    let mode = config.automations.success;
    let number = experiment.number.unwrap_or_default();
    if mode == Mode::Off || experiment.labelled_kind() != Some(IssueKind::Experiment) {
        return Ok(String::new());
    }
    if !has_label(experiment, SUCCEEDED) {
        return Ok(format!(
            "#{number} is not labelled `{SUCCEEDED}`; `/dslp succeed` labels it and promotes it."
        ));
    }
    let asks = ask::asks_of(experiment, &repository.directory);
    let ask_text = asks
        .first()
        .map(|a| format!("#{a}"))
        .unwrap_or_else(|| "_No response_".into());
    let candidates: Vec<String> = rulebook
        .conventions
        .branches
        .integration_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let collaboration = candidates.first().cloned().unwrap_or_else(|| "main".into());
    // A command and the `labeled` event it causes may promote the same
    // experiment at once: one at a time, each reading the issues afresh.
    let _one_at_a_time = flow_lock(&repository.name, number).lock_owned().await;
    let fresh = Repository::read(github, &repository.name).await?;
    let repository = &fresh;
    let pulls = experiment_pulls(
        &Lifecycle {
            repository,
            ..*lifecycle
        },
        number,
        at_hand,
    );
    // An existing Model issue based on this experiment is reused.
    let existing = repository.directory.of_kind(IssueKind::Model).find(|m| {
        IssueBody::parse(&m.body)
            .field(BASED_ON_EXPERIMENT)
            .and_then(|v| find_refs(&v).into_iter().next())
            .and_then(|r| r.number_in(Some(&repository.name)))
            == Some(number)
    });
    let title = format!("Model: {}", experiment.title.trim());
    let body = format!(
        "### Description\n\nTake experiment #{number} ({}) to production.\n\n### {ASK_REFERENCE}\n\n{ask_text}\n\n### {BASED_ON_EXPERIMENT}\n\n#{number}\n\n### Steps\n\n- [ ] Parametrise the model's inputs and parameters\n- [ ] Define the API schema consumers will call\n- [ ] Profile the model's latency and memory\n- [ ] Write the model card\n",
        experiment.title.trim()
    );
    if mode == Mode::Suggest {
        let mut steps = String::new();
        if existing.is_none() {
            steps.push_str(&format!(
                "1. Open the Model issue: `gh issue create --label {MODEL} --title \"{title}\" --body-file model.md`, with `{ASK_REFERENCE}: {ask_text}` and `{BASED_ON_EXPERIMENT}: #{number}`.\n"
            ));
        }
        steps.push_str(&format!(
            "{}. Create its branch from `{collaboration}`: `git fetch origin && git push origin origin/{collaboration}:refs/heads/model/M-{}` (M: the Model issue's number).\n",
            if existing.is_none() { 2 } else { 1 },
            slug(&experiment.title)
        ));
        for pull in &pulls {
            steps.push_str(&format!(
                "- Retarget #{pull} to the model branch: `gh pr edit {pull} --base model/M-{}`.\n",
                slug(&experiment.title)
            ));
        }
        return Ok(format!(
            "Experiment #{number} succeeded. To take it to production (DSLP §4.4):\n\n{steps}"
        ));
    }
    let model = match existing {
        Some(model) => model.number.unwrap_or_default(),
        None => {
            github
                .create_issue(&repository.name, &title, &body, &[MODEL.to_string()])
                .await?
        }
    };
    let branch = format!("model/{model}-{}", slug(&experiment.title));
    // `main`, else `master`: whichever the repository has.
    let mut found = None;
    for name in &candidates {
        match github.branch_head(&repository.name, name).await {
            Ok(sha) => {
                found = Some((name.clone(), sha));
                break;
            }
            Err(GitHubError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let Some((collaboration, base_sha)) = found else {
        anyhow::bail!(
            "none of the collaboration branches ({}) exists, so the model branch has nowhere to start",
            candidates.join(", ")
        );
    };
    match github
        .create_branch(&repository.name, &branch, &base_sha)
        .await
    {
        Ok(()) => {}
        // 422 "Reference already exists": made by an earlier run.
        Err(GitHubError::Rejected { status: 422, .. }) => {}
        Err(e) => return Err(e.into()),
    }
    // R43: the experiment must contain the collaboration branch's head
    // before it can merge into the model branch; if it does not, say how.
    let mut behind = Vec::new();
    let mut retargeted_pulls = Vec::new();
    for pull in &pulls {
        let head = github.pull(&repository.name, *pull).await?.head.name;
        if github
            .behind_by(&repository.name, &collaboration, &head)
            .await?
            > 0
        {
            behind.push(format!(
                "#{pull} needs `{collaboration}` merged in first (R43): `git switch {head} && git pull && git merge origin/{collaboration} && git push`, then comment `/dslp promote` and it is retargeted to `{branch}`."
            ));
            continue;
        }
        github
            .update_pull(&repository.name, *pull, Some(&branch), None)
            .await?;
        retargeted_pulls.push(*pull);
    }
    let pulls = retargeted_pulls;
    let retargeted = if !behind.is_empty() && pulls.is_empty() {
        behind.join("\n")
    } else if pulls.is_empty() {
        "No open pull request of this experiment was found to retarget.".to_string()
    } else {
        format!(
            "Pull request{} {} now target{} `{branch}`.",
            if pulls.len() == 1 { "" } else { "s" },
            pulls
                .iter()
                .map(|p| format!("#{p}"))
                .collect::<Vec<_>>()
                .join(", "),
            if pulls.len() == 1 { "s" } else { "" }
        ) + &behind.iter().map(|b| format!("\n{b}")).collect::<String>()
    };
    Ok(format!(
        "Experiment #{number} succeeded: Model issue #{model} is open, and its branch `{branch}` starts from `{collaboration}`. {retargeted}"
    ))
}

/// The TLDR of an experiment: its Results section (DSLP R21).
pub fn tldr(issue: &Issue) -> Option<String> {
    experiment_tldr(&IssueBody::parse(&issue.body))
}

/// The body with `text` as its Results TLDR: in place of an empty Results
/// section, or as a new one at the end.
pub fn with_results(body: &str, text: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    fn heading(line: &str) -> Option<(usize, &str)> {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|c| *c == '#').count();
        (hashes > 0 && t[hashes..].starts_with(' ')).then(|| (hashes, t[hashes..].trim()))
    }
    if let Some(start) = lines
        .iter()
        .position(|l| heading(l).is_some_and(|(_, title)| title.eq_ignore_ascii_case("Results")))
    {
        let level = heading(lines[start]).map_or(3, |(h, _)| h);
        let end = lines[start + 1..]
            .iter()
            .position(|l| heading(l).is_some_and(|(h, _)| h <= level))
            .map_or(lines.len(), |i| start + 1 + i);
        let mut out: Vec<String> = lines[..=start].iter().map(|l| l.to_string()).collect();
        out.push(String::new());
        out.push(format!("TLDR: {}", text.trim()));
        out.push(String::new());
        out.extend(lines[end..].iter().map(|l| l.to_string()));
        return out.join("\n");
    }
    format!(
        "{}\n\n### Results\n\nTLDR: {}\n",
        body.trim_end(),
        text.trim()
    )
}

/// Failure (R45): a failed Experiment needs a TLDR (its Results, R21); once it has one, its
/// pull requests close unmerged and the issue closes.
pub async fn fail(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    experiment: &Issue,
    at_hand: Option<u64>,
) -> Result<String> {
    let repository = lifecycle.repository;
    let mode = lifecycle.config.automations.failure;
    let number = experiment.number.unwrap_or_default();
    if mode == Mode::Off
        || experiment.labelled_kind() != Some(IssueKind::Experiment)
        || !has_label(experiment, FAILED)
    {
        return Ok(String::new());
    }
    if tldr(experiment).is_none() {
        return Ok(format!(
            "Experiment #{number} failed. Before it closes, write down what was learned so no one tries it again by accident: fill in its Results section, or comment `/dslp fail \"what we learned\"`."
        ));
    }
    let pulls = experiment_pulls(lifecycle, number, at_hand);
    if mode == Mode::Suggest {
        let mut steps: Vec<String> = pulls
            .iter()
            .map(|p| format!("- Close #{p} without merging: `gh pr close {p}`."))
            .collect();
        if experiment.state == IssueState::Open {
            steps.push(format!("- Close the issue: `gh issue close {number}`."));
        }
        return Ok(format!(
            "Experiment #{number} failed and has its TLDR. DSLP's next steps:\n\n{}",
            steps.join("\n")
        ));
    }
    for pull in &pulls {
        github
            .update_pull(&repository.name, *pull, None, Some("closed"))
            .await?;
    }
    if experiment.state == IssueState::Open {
        close_issue(github, &repository.name, number).await?;
    }
    Ok(format!(
        "Experiment #{number} failed; its TLDR is recorded. {} The issue is closed; it stays on its Ask's leaderboard.",
        if pulls.is_empty() {
            "It had no open pull request.".to_string()
        } else {
            format!(
                "Closed without merging: {}.",
                pulls
                    .iter()
                    .map(|p| format!("#{p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ))
}

/// Sets the experiment's status label (removing the other statuses) and
/// records a TLDR in its body when given one.
pub async fn set_status(
    github: &impl GitHub,
    repo: &RepoName,
    issue: &mut Issue,
    status: &str,
    tldr_text: Option<&str>,
) -> Result<()> {
    for other in [SUCCEEDED, FAILED, ON_HOLD] {
        if other != status && has_label(issue, other) {
            github
                .remove_label(repo, issue.number.unwrap_or_default(), other)
                .await?;
            issue.labels.retain(|l| l != other);
        }
    }
    if !has_label(issue, status) {
        github
            .add_labels(
                repo,
                issue.number.unwrap_or_default(),
                &[status.to_string()],
            )
            .await?;
        issue.labels.push(status.to_string());
    }
    if let Some(text) = tldr_text.filter(|t| !t.trim().is_empty())
        && tldr(issue).is_none()
    {
        let body = with_results(&issue.body, text);
        github
            .update_issue(
                repo,
                issue.number.unwrap_or_default(),
                &IssueUpdate {
                    body: Some(body.clone()),
                    ..IssueUpdate::default()
                },
            )
            .await?;
        issue.body = body;
    }
    Ok(())
}

/// A pull request that closed, as the explore and R46 flows see it.
#[derive(Debug, Clone, Copy)]
pub struct ClosedPull<'a> {
    /// The head branch's kind.
    pub kind: Option<BranchKind>,
    /// The issue the head branch names.
    pub issue: Option<&'a Issue>,
    pub head_ref: &'a str,
    pub base_kind: Option<BranchKind>,
    pub merged: bool,
}

/// Explore (R22, R40, R41) and R46: explore work is never merged. Closed unmerged,
/// its Explore issue closes once the findings are written; merged anyway,
/// an alert. An experiment merged into its model branch closes its issue
/// and its branch is deleted.
pub async fn pull_closed(
    github: &impl GitHub,
    lifecycle: &Lifecycle<'_>,
    closed: &ClosedPull<'_>,
) -> Result<Option<String>> {
    let (repository, config) = (lifecycle.repository, lifecycle.config);
    let ClosedPull {
        kind,
        issue,
        head_ref,
        base_kind,
        merged,
    } = *closed;
    match (kind, merged) {
        (Some(BranchKind::Explore), false) => {
            let mode = config.automations.explore;
            let Some(issue) = issue.filter(|i| i.state == IssueState::Open) else {
                return Ok(None);
            };
            if mode == Mode::Off {
                return Ok(None);
            }
            let number = issue.number.unwrap_or_default();
            let findings = IssueBody::parse(&issue.body)
                    .section_with_children("What was discovered during this exploration?")
                    .is_some_and(|text| !is_blank(&text));
            if !findings {
                return Ok(Some(format!(
                    "The exploration's pull request closed, as DSLP wants. Write what was found in #{number} (its discovery section) and it will be closed."
                )));
            }
            if mode == Mode::Suggest {
                return Ok(Some(format!(
                    "The exploration is done and #{number} records its findings: close it with `gh issue close {number}`."
                )));
            }
            close_issue(github, &repository.name, number).await?;
            Ok(Some(format!(
                "The exploration is done and #{number} records its findings: closed."
            )))
        }
        (Some(BranchKind::Explore), true) => Ok(Some(
            "⚠️ Explore work is never merged in DSLP (R40): this pull request was merged anyway. Move what should last into a Data, Experiment or Model branch, and consider reverting the merge.".to_string(),
        )),
        (Some(BranchKind::Experiment), true) if base_kind == Some(BranchKind::Model) => {
            let mut said = Vec::new();
            if let Some(issue) = issue.filter(|i| i.state == IssueState::Open) {
                let number = issue.number.unwrap_or_default();
                close_issue(github, &repository.name, number).await?;
                said.push(format!("Experiment #{number} is closed"));
            }
            match github.delete_branch(&repository.name, head_ref).await {
                Ok(()) | Err(GitHubError::NotFound(_)) | Err(GitHubError::Rejected { status: 422, .. }) => {
                    said.push(format!("`{head_ref}` is deleted"));
                }
                Err(e) => return Err(e.into()),
            }
            Ok(Some(format!(
                "Merged into its model branch: {}.",
                said.join(" and ")
            )))
        }
        _ => Ok(None),
    }
}

async fn close_issue(github: &impl GitHub, repo: &RepoName, number: u64) -> Result<()> {
    let close = IssueUpdate {
        state: Some("closed".into()),
        ..IssueUpdate::default()
    };
    github.update_issue(repo, number, &close).await?;
    Ok(())
}

/// Says `text` on `issue` in the one flow comment, edited in place.
pub async fn say(github: &impl GitHub, repo: &RepoName, issue: u64, text: &str) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let body = format!("{FLOW_MARKER}\n{text}\n");
    github::upsert_comment(github, repo, issue, FLOW_MARKER, &body).await?;
    Ok(())
}

/// Whether `user` may act through commands: write access or more.
pub async fn may_act(github: &impl GitHub, repo: &RepoName, user: &str) -> Result<bool> {
    let permission = github.permission(repo, user).await?;
    Ok(matches!(
        permission.as_str(),
        "admin" | "maintain" | "write"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tldr_fills_an_empty_results_section_or_adds_one() {
        let form = "### Description\n\nBoosting.\n\n### Results\n\n_No response_\n\n### Experiment History\n\n_No response_\n";
        let filled = with_results(form, "trees overfit");
        assert!(
            filled.contains("### Results\n\nTLDR: trees overfit\n\n### Experiment History"),
            "{filled}"
        );
        assert_eq!(
            experiment_tldr(&IssueBody::parse(&filled)).as_deref(),
            Some("TLDR: trees overfit")
        );
        let bare = with_results("Just words.", "no signal");
        assert_eq!(bare, "Just words.\n\n### Results\n\nTLDR: no signal\n");
    }
}

/// What the App sets up in a repository it is installed on, besides labels.
#[derive(Debug, Clone, Copy)]
pub struct SetUp {
    /// Open one pull request adding the issue forms and `.github/dslp.yml`.
    pub pull_request: bool,
    /// Require the `dslp` check on the collaboration branch.
    pub protection: Mode,
}

impl SetUp {
    pub const NOTHING: SetUp = SetUp {
        pull_request: false,
        protection: Mode::Off,
    };
}

/// The branch the set-up pull request comes from.
pub const SET_UP_BRANCH: &str = "dslp/set-up";

/// Set-up on installation (dslp#2, #5): the required `dslp` check on the
/// default branch, applied when permitted and not yet protected, else
/// suggested; and one pull request with the files that are missing. The
/// workflow is left out: with the App installed, the Action would check
/// everything twice. Answers what was done, for the log.
pub async fn set_up(github: &impl GitHub, repo: &RepoName, set_up: SetUp) -> Result<String> {
    if !set_up.pull_request && set_up.protection == Mode::Off {
        return Ok(String::new());
    }
    let default = github.default_branch(repo).await?;
    let suggestion = format!(
        "Require the `dslp` check on `{default}`: *Settings → Branches → Add branch protection rule → Require status checks to pass → `dslp`*, or `gh api -X PUT repos/{repo}/branches/{default}/protection --input protection.json` with `{{\"required_status_checks\": {{\"strict\": false, \"contexts\": [\"dslp\"]}}, \"enforce_admins\": null, \"required_pull_request_reviews\": null, \"restrictions\": null}}`."
    );
    let mut done = Vec::new();
    let mut suggest = None;
    match set_up.protection {
        Mode::Off => {}
        Mode::Suggest => suggest = Some(suggestion.clone()),
        Mode::Act => match github.is_protected(repo, &default).await {
            // Existing rules are someone's choice: never overwritten.
            Ok(true) => done.push(format!(
                "`{default}` already has protection rules; left as they are"
            )),
            Ok(false) => match github.protect(repo, &default, &["dslp"]).await {
                Ok(()) => done.push(format!("`{default}` now requires the `dslp` check")),
                Err(GitHubError::NotAllowed { .. }) => suggest = Some(suggestion.clone()),
                Err(e) => return Err(e.into()),
            },
            Err(GitHubError::NotAllowed { .. }) => suggest = Some(suggestion.clone()),
            Err(e) => return Err(e.into()),
        },
    }
    if set_up.pull_request {
        let mut missing = Vec::new();
        for file in crate::scaffold::files(Some(&default)) {
            let path = file.path.to_string_lossy().replace('\\', "/");
            if path == crate::scaffold::WORKFLOW_PATH {
                continue;
            }
            if github.file_at(repo, &path, &default).await?.is_none() {
                missing.push((path, file.contents));
            }
        }
        if missing.is_empty() {
            done.push("the issue forms and the config are already there".into());
        } else {
            let sha = github.branch_head(repo, &default).await?;
            match github.create_branch(repo, SET_UP_BRANCH, &sha).await {
                Ok(()) => {
                    for (path, contents) in &missing {
                        github
                            .create_file(
                                repo,
                                SET_UP_BRANCH,
                                path,
                                contents,
                                &format!("dslp-bot: add {path}"),
                            )
                            .await?;
                    }
                    let list: Vec<String> =
                        missing.iter().map(|(p, _)| format!("- `{p}`")).collect();
                    let body = format!(
                        "dslp-bot was installed on this repository. This pull request adds what DSLP needs that is not here yet:\n\n{}\n\nThe issue forms give each DSLP issue type its sections; `.github/dslp.yml` is commented, and every key is optional. No workflow is added: the App runs the checks.{}",
                        list.join("\n"),
                        suggest
                            .as_deref()
                            .map(|s| format!("\n\n**One more step:** {s}"))
                            .unwrap_or_default()
                    );
                    let number = github
                        .create_pull(
                            repo,
                            "Set up DSLP: issue forms and .github/dslp.yml",
                            SET_UP_BRANCH,
                            &default,
                            &body,
                        )
                        .await?;
                    done.push(format!("set-up pull request #{number} opened"));
                    suggest = None;
                }
                // The branch exists: an earlier installation made the pull request.
                Err(GitHubError::Rejected { status: 422, .. }) => done.push(format!(
                    "`{SET_UP_BRANCH}` already exists; no second set-up pull request"
                )),
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(s) = suggest {
        done.push(format!("suggested: {s}"));
    }
    Ok(format!("{repo}: {}", done.join("; ")))
}
