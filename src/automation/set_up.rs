//! Set-up on installation (dslp#2, #5): the 11 DSLP labels, the required
//! `dslp` check on the default branch (applied when permitted and not yet
//! protected, else suggested), and one pull request with the issue forms
//! and config that are missing. The workflow is left out: with the App
//! installed, the Action would check everything twice.

use crate::config::Mode;
use crate::engine::Effect;
use crate::github::{GitHub, GitHubError};
use crate::lifecycle::labels::DSLP_LABELS;
use crate::lifecycle::links::RepoName;

/// What the App sets up in a repository it is installed on, besides labels.
#[derive(Debug, Clone, Copy)]
pub struct SetUp {
    /// Open one pull request adding the issue forms and `.github/dslp.yml`.
    pub pull_request: bool,
    /// Require the `dslp` check on the collaboration branch.
    pub protection: Mode,
    /// Keep the App's rulesets (DSLP branch names, the required check).
    pub rulesets: Mode,
    /// The App's id, to bypass its own rulesets.
    pub app_id: Option<u64>,
    /// Create the organisation's missing DSLP issue types.
    pub issue_types: Mode,
}

impl SetUp {
    pub const NOTHING: SetUp = SetUp {
        pull_request: false,
        protection: Mode::Off,
        rulesets: Mode::Off,
        app_id: None,
        issue_types: Mode::Off,
    };
}

/// The branch the set-up pull request comes from.
pub const SET_UP_BRANCH: &str = "dslp/set-up";

/// What set-up is decided from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub repo: RepoName,
    pub default_branch: String,
    /// Its head commit.
    pub head: String,
    /// Whether it has protection rules (asked only to act on them).
    pub protected: Option<bool>,
    /// The scaffold's files it lacks, with their contents.
    pub missing: Vec<(String, String)>,
    /// Whether `dslp/set-up` exists (an earlier installation's pull request).
    pub branch_exists: bool,
}

impl Facts {
    pub async fn gather(
        github: &impl GitHub,
        repo: &RepoName,
        set_up: SetUp,
    ) -> Result<Facts, GitHubError> {
        let default_branch = github.default_branch(repo).await?;
        let protected = match set_up.protection {
            Mode::Act => match github.is_protected(repo, &default_branch).await {
                Ok(protected) => Some(protected),
                // Not allowed to look is not allowed to act: suggest.
                Err(GitHubError::NotAllowed { .. }) => None,
                Err(e) => return Err(e),
            },
            _ => None,
        };
        let mut missing = Vec::new();
        if set_up.pull_request {
            for file in
                crate::scaffold::files(Some(&default_branch), false, crate::config::Compute::App)
            {
                let path = file.path.to_string_lossy().replace('\\', "/");
                if path != crate::scaffold::WORKFLOW_PATH
                    && github
                        .file_at(repo, &path, &default_branch)
                        .await?
                        .is_none()
                {
                    missing.push((path, file.contents));
                }
            }
        }
        let branch_exists = match github.branch_head(repo, SET_UP_BRANCH).await {
            Ok(_) => true,
            Err(GitHubError::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        Ok(Facts {
            repo: repo.clone(),
            head: github.branch_head(repo, &default_branch).await?,
            default_branch,
            protected,
            missing,
            branch_exists,
        })
    }

    fn suggestion(&self) -> String {
        let (repo, branch) = (&self.repo, &self.default_branch);
        format!(
            "Require the `dslp` check on `{branch}`: *Settings → Branches → Add branch protection rule → Require status checks to pass → `dslp`*, or `gh api -X PUT repos/{repo}/branches/{branch}/protection --input protection.json` with `{{\"required_status_checks\": {{\"strict\": false, \"contexts\": [\"dslp\"]}}, \"enforce_admins\": null, \"required_pull_request_reviews\": null, \"restrictions\": null}}`."
        )
    }
}

/// The labels, always.
pub fn labels() -> Vec<Effect> {
    DSLP_LABELS
        .iter()
        .map(|l| Effect::EnsureLabel(*l))
        .collect()
}

/// The first step: protection. Answers its effects, what was done, and
/// the suggestion to make when the App may not (or is not to) protect.
pub fn protection(facts: &Facts, set_up: SetUp) -> (Vec<Effect>, Vec<String>, Option<String>) {
    let branch = &facts.default_branch;
    match (set_up.protection, facts.protected) {
        (Mode::Off, _) => (Vec::new(), Vec::new(), None),
        (Mode::Act, Some(true)) => (
            Vec::new(),
            // Existing rules are someone's choice: never overwritten.
            vec![format!(
                "`{branch}` already has protection rules; left as they are"
            )],
            None,
        ),
        (Mode::Act, Some(false)) => (
            vec![
                Effect::Protect {
                    branch: branch.clone(),
                    checks: vec![crate::engine::CHECK_NAME.to_string()],
                }
                .or_say(facts.suggestion()),
            ],
            vec![format!("`{branch}` now requires the `dslp` check")],
            None,
        ),
        _ => (Vec::new(), Vec::new(), Some(facts.suggestion())),
    }
}

/// The second step: the set-up pull request, carrying `suggestion` when
/// protection is left to a person. Answers its effects and what was done.
pub fn pull_request(
    facts: &Facts,
    set_up: SetUp,
    suggestion: Option<&str>,
) -> (Vec<Effect>, Vec<String>) {
    if !set_up.pull_request {
        return (
            Vec::new(),
            suggestion
                .map(|s| vec![format!("suggested: {s}")])
                .unwrap_or_default(),
        );
    }
    if facts.missing.is_empty() {
        let mut done = vec!["the issue forms and the config are already there".to_string()];
        done.extend(suggestion.map(|s| format!("suggested: {s}")));
        return (Vec::new(), done);
    }
    if facts.branch_exists {
        return (
            Vec::new(),
            vec![format!(
                "`{SET_UP_BRANCH}` already exists; no second set-up pull request"
            )],
        );
    }
    let mut effects = vec![Effect::CreateBranch {
        name: SET_UP_BRANCH.into(),
        sha: facts.head.clone(),
    }];
    effects.extend(
        facts
            .missing
            .iter()
            .map(|(path, contents)| Effect::CreateFile {
                branch: SET_UP_BRANCH.into(),
                path: path.clone(),
                contents: contents.clone(),
                message: format!("dslp-bot: add {path}"),
            }),
    );
    let list: Vec<String> = facts
        .missing
        .iter()
        .map(|(p, _)| format!("- `{p}`"))
        .collect();
    effects.push(Effect::CreatePull {
        title: "Set up DSLP: issue forms and .github/dslp.yml".into(),
        head: SET_UP_BRANCH.into(),
        base: facts.default_branch.clone(),
        body: format!(
            "dslp-bot was installed on this repository. This pull request adds what DSLP needs that is not here yet:\n\n{}\n\nThe issue forms give each DSLP issue type its sections; `.github/dslp.yml` is commented, and every key is optional. No workflow is added: the App runs the checks.{}",
            list.join("\n"),
            suggestion
                .map(|s| format!("\n\n**One more step:** {s}"))
                .unwrap_or_default()
        ),
    });
    (effects, Vec::new())
}

/// What set-up says of the pull request it opened.
pub fn opened(number: u64) -> String {
    format!("set-up pull request #{number} opened")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(protected: Option<bool>, missing: usize, branch_exists: bool) -> Facts {
        Facts {
            repo: RepoName::parse("acme/churn").unwrap(),
            default_branch: "main".into(),
            head: "abc".into(),
            protected,
            missing: (0..missing)
                .map(|i| (format!("f{i}.yml"), "x".to_string()))
                .collect(),
            branch_exists,
        }
    }

    const ACT: SetUp = SetUp {
        pull_request: true,
        protection: Mode::Act,
        rulesets: Mode::Off,
        app_id: None,
        issue_types: Mode::Off,
    };

    #[test]
    fn protection_is_applied_once_and_never_over_someone_elses() {
        let (effects, done, suggestion) = protection(&facts(Some(false), 0, false), ACT);
        assert!(
            matches!(&effects[0], Effect::Try { effect, .. } if matches!(**effect, Effect::Protect { .. }))
        );
        assert!(done[0].contains("now requires") && suggestion.is_none());
        let (effects, done, _) = protection(&facts(Some(true), 0, false), ACT);
        assert!(effects.is_empty() && done[0].contains("left as they are"));
        let suggest = SetUp {
            protection: Mode::Suggest,
            ..ACT
        };
        let (effects, _, suggestion) = protection(&facts(None, 0, false), suggest);
        assert!(effects.is_empty() && suggestion.unwrap().contains("gh api -X PUT"));
    }

    #[test]
    fn one_pull_request_with_what_is_missing() {
        let (effects, _) = pull_request(&facts(None, 2, false), ACT, Some("protect it"));
        assert_eq!(effects.len(), 4, "branch, two files, the pull request");
        match &effects[3] {
            Effect::CreatePull { body, .. } => {
                assert!(
                    body.contains("- `f1.yml`") && body.contains("**One more step:** protect it")
                )
            }
            other => panic!("{other:?}"),
        }
        let (effects, done) = pull_request(&facts(None, 2, true), ACT, None);
        assert!(effects.is_empty() && done[0].contains("no second set-up pull request"));
        let (effects, done) = pull_request(&facts(None, 0, false), ACT, None);
        assert!(effects.is_empty() && done[0].contains("already there"));
    }
}
