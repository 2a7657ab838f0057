//! Success (DSLP §4.4, R44): a succeeded Experiment gets its Model issue,
//! pre-filled with its Ask and Experiment, a `model/M-slug` branch from the
//! collaboration branch, and its open pull requests retargeted to it.
//!
//! Two steps, because the branch is named for the Model issue: the first
//! opens the issue; run again, the flow finds it and does the rest.

use super::{Lifecycle, Repository, Step, experiment_pulls, has_label, numbers, slug};
use crate::config::Mode;
use crate::engine::Effect;
use crate::github::{GitHub, GitHubError};
use crate::lifecycle::ask;
use crate::lifecycle::body::IssueBody;
use crate::lifecycle::kinds::{ASK_REFERENCE, BASED_ON_EXPERIMENT};
use crate::lifecycle::labels::{MODEL, SUCCEEDED};
use crate::lifecycle::links::find_refs;
use crate::lifecycle::{Issue, IssueKind};

/// What the flow is decided from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub mode: Mode,
    pub experiment: Issue,
    /// The first Ask it refers to.
    pub ask: Option<u64>,
    /// Model issues based on it, lowest first (more than one: a race).
    pub models: Vec<u64>,
    /// The collaboration branches, in the config's order.
    pub candidates: Vec<String>,
    /// The first of them that exists, with its head commit.
    pub collaboration: Option<(String, String)>,
    /// Its open pull requests.
    pub pulls: Vec<Pull>,
}

/// An open pull request of the experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pull {
    pub number: u64,
    pub head: String,
    pub base: String,
    /// Commits of the collaboration branch it lacks (R43).
    pub behind: u64,
}

impl Facts {
    /// Reads the facts afresh: the issues (a Model issue opened by the
    /// first step, or by a flow run meanwhile), the branches, the pulls.
    pub async fn gather(
        github: &impl GitHub,
        lifecycle: &Lifecycle<'_>,
        experiment: &Issue,
        at_hand: Option<u64>,
    ) -> Result<Facts, GitHubError> {
        let name = &lifecycle.repository.name;
        let number = experiment.number.unwrap_or_default();
        let fresh = Repository::read(github, name).await?;
        let lifecycle = Lifecycle {
            repository: &fresh,
            ..*lifecycle
        };
        let candidates: Vec<String> = lifecycle
            .rulebook
            .conventions
            .branches
            .integration_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let collaboration = first_existing(github, name, &candidates).await?;
        let mut pulls = Vec::new();
        for pull in experiment_pulls(&lifecycle, number, at_hand) {
            let data = github.pull(name, pull).await?;
            let behind = match &collaboration {
                Some((branch, _)) => github.behind_by(name, branch, &data.head.name).await?,
                None => 0,
            };
            pulls.push(Pull {
                number: pull,
                head: data.head.name,
                base: data.base.name,
                behind,
            });
        }
        Ok(Facts {
            mode: lifecycle.config.automations.success,
            experiment: experiment.clone(),
            ask: ask::asks_of(experiment, &fresh.directory).first().copied(),
            models: models_of(&fresh, number),
            candidates,
            collaboration,
            pulls,
        })
    }
}

/// `main`, else `master`: the first of `candidates` the repository has.
async fn first_existing(
    github: &impl GitHub,
    repo: &crate::lifecycle::links::RepoName,
    candidates: &[String],
) -> Result<Option<(String, String)>, GitHubError> {
    for name in candidates {
        match github.branch_head(repo, name).await {
            Ok(sha) => return Ok(Some((name.clone(), sha))),
            Err(GitHubError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The Model issues whose `Based on Experiment` names `experiment`.
fn models_of(repository: &Repository, experiment: u64) -> Vec<u64> {
    let mut models: Vec<u64> = repository
        .directory
        .of_kind(IssueKind::Model)
        .filter(|m| {
            IssueBody::parse(&m.body)
                .field(BASED_ON_EXPERIMENT)
                .and_then(|v| find_refs(&v).into_iter().next())
                .and_then(|r| r.number_in(Some(&repository.name)))
                == Some(experiment)
        })
        .filter_map(|m| m.number)
        .collect();
    models.sort_unstable();
    models
}

/// The hidden mark of the Model issue the flow opens for `experiment`: the
/// executor opens none if an issue carries it already.
pub fn model_marker(experiment: u64) -> String {
    format!("<!-- dslp:model-of #{experiment} -->")
}

/// What the token-refused step says instead.
pub const NEEDS_WRITE: &str = "dslp-bot may not run the success flow with its token. For the Action, give the workflow `contents: write` and `issues: write`; for the App, *Contents: Read and write*. Then comment `/dslp promote` to finish.";

pub fn decide(facts: &Facts) -> Step {
    let experiment = &facts.experiment;
    let number = experiment.number.unwrap_or_default();
    if facts.mode == Mode::Off || experiment.labelled_kind() != Some(IssueKind::Experiment) {
        return Step::none();
    }
    if !has_label(experiment, SUCCEEDED) {
        return Step::say(format!(
            "#{number} is not labelled `{SUCCEEDED}`; `/dslp succeed` labels it and promotes it."
        ));
    }
    if facts.mode == Mode::Suggest {
        return Step::say(suggestion(facts));
    }
    let Some(&model) = facts.models.first() else {
        return Step {
            effects: vec![open_model(facts).or_say(NEEDS_WRITE)],
            said: String::new(),
            done: false,
        };
    };
    let Some((collaboration, sha)) = &facts.collaboration else {
        return Step::say(format!(
            "Experiment #{number} succeeded, but none of the collaboration branches ({}) exists, so its model branch has nowhere to start.",
            facts.candidates.join(", ")
        ));
    };
    let branch = format!("model/{model}-{}", slug(&experiment.title));
    let mut effects = vec![
        Effect::CreateBranch {
            name: branch.clone(),
            sha: sha.clone(),
        }
        .or_say(NEEDS_WRITE),
    ];
    let (ready, behind): (Vec<&Pull>, Vec<&Pull>) = facts.pulls.iter().partition(|p| p.behind == 0);
    effects.extend(ready.iter().filter(|p| p.base != branch).map(|p| {
        Effect::Retarget {
            pull: p.number,
            base: branch.clone(),
        }
        .or_say(NEEDS_WRITE)
    }));
    let retargeted: Vec<u64> = ready.iter().map(|p| p.number).collect();
    let behind: Vec<String> = behind
        .iter()
        .map(|p| format!(
            "#{} needs `{collaboration}` merged in first (R43): `git switch {} && git pull && git merge origin/{collaboration} && git push`, then comment `/dslp promote` and it is retargeted to `{branch}`.",
            p.number, p.head
        ))
        .collect();
    let pulls = match (retargeted.is_empty(), behind.is_empty()) {
        (true, false) => behind.join("\n"),
        (true, true) => "No open pull request of this experiment was found to retarget.".into(),
        (false, _) => {
            format!(
                "Pull request{} {} now target{} `{branch}`.",
                if retargeted.len() == 1 { "" } else { "s" },
                numbers(&retargeted),
                if retargeted.len() == 1 { "s" } else { "" }
            ) + &behind.iter().map(|b| format!("\n{b}")).collect::<String>()
        }
    };
    Step {
        effects,
        said: format!(
            "Experiment #{number} succeeded: Model issue #{model} is open, and its branch `{branch}` starts from `{collaboration}`. {pulls}"
        ),
        done: true,
    }
}

/// The Model issue, with its Ask Reference and Based on Experiment.
fn open_model(facts: &Facts) -> Effect {
    let experiment = &facts.experiment;
    let number = experiment.number.unwrap_or_default();
    let ask = facts
        .ask
        .map_or("_No response_".to_string(), |a| format!("#{a}"));
    Effect::CreateIssue {
        title: format!("Model: {}", experiment.title.trim()),
        body: format!(
            "{}\n### Description\n\nTake experiment #{number} ({}) to production.\n\n### {ASK_REFERENCE}\n\n{ask}\n\n### {BASED_ON_EXPERIMENT}\n\n#{number}\n\n### Steps\n\n- [ ] Parametrise the model's inputs and parameters\n- [ ] Define the API schema consumers will call\n- [ ] Profile the model's latency and memory\n- [ ] Write the model card\n",
            model_marker(number),
            experiment.title.trim()
        ),
        labels: vec![MODEL.to_string()],
        marker: model_marker(number),
    }
}

/// The steps, for a repository that wants them suggested.
fn suggestion(facts: &Facts) -> String {
    let experiment = &facts.experiment;
    let number = experiment.number.unwrap_or_default();
    let ask = facts
        .ask
        .map_or("_No response_".to_string(), |a| format!("#{a}"));
    let collaboration = facts.collaboration.as_ref().map_or_else(
        || facts.candidates.first().cloned().unwrap_or_default(),
        |c| c.0.clone(),
    );
    let slug = slug(&experiment.title);
    let mut steps = String::new();
    if facts.models.is_empty() {
        steps.push_str(&format!(
            "1. Open the Model issue: `gh issue create --label {MODEL} --title \"Model: {}\" --body-file model.md`, with `{ASK_REFERENCE}: {ask}` and `{BASED_ON_EXPERIMENT}: #{number}`.\n",
            experiment.title.trim()
        ));
    }
    steps.push_str(&format!(
        "{}. Create its branch from `{collaboration}`: `git fetch origin && git push origin origin/{collaboration}:refs/heads/model/M-{slug}` (M: the Model issue's number).\n",
        if facts.models.is_empty() { 2 } else { 1 },
    ));
    for pull in &facts.pulls {
        steps.push_str(&format!(
            "- Retarget #{} to the model branch: `gh pr edit {} --base model/M-{slug}`.\n",
            pull.number, pull.number
        ));
    }
    format!("Experiment #{number} succeeded. To take it to production (DSLP §4.4):\n\n{steps}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(labels: &[&str], models: &[u64], pulls: &[(u64, &str, u64)]) -> Facts {
        Facts {
            mode: Mode::Act,
            experiment: Issue {
                number: Some(6),
                title: "Gradient boosting".into(),
                labels: labels.iter().map(|l| l.to_string()).collect(),
                ..Issue::default()
            },
            ask: Some(1),
            models: models.to_vec(),
            candidates: vec!["main".into(), "master".into()],
            collaboration: Some(("main".into(), "abc".into())),
            pulls: pulls
                .iter()
                .map(|(number, base, behind)| Pull {
                    number: *number,
                    head: "experiment/6-gradient-boosting".into(),
                    base: base.to_string(),
                    behind: *behind,
                })
                .collect(),
        }
    }

    fn unwrapped(effect: &Effect) -> &Effect {
        match effect {
            Effect::Try { effect, .. } => effect,
            other => other,
        }
    }

    #[test]
    fn facts_to_effects() {
        // Not succeeded: words only.
        let step = decide(&facts(&["Experiment"], &[], &[]));
        assert!(step.effects.is_empty() && step.said.contains("not labelled"));
        // No Model issue yet: open one, and run again.
        let step = decide(&facts(
            &["Experiment", "succeeded"],
            &[],
            &[(12, "main", 0)],
        ));
        assert!(!step.done);
        match unwrapped(&step.effects[0]) {
            Effect::CreateIssue {
                title,
                body,
                marker,
                labels,
            } => {
                assert_eq!(title, "Model: Gradient boosting");
                assert!(body.contains("### Ask Reference\n\n#1") && body.contains(marker));
                assert_eq!(labels, &vec!["Model".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        // Model #15 exists: the branch, the retarget, done.
        let step = decide(&facts(
            &["Experiment", "succeeded"],
            &[15],
            &[(12, "main", 0)],
        ));
        assert!(step.done);
        let effects: Vec<&Effect> = step.effects.iter().map(unwrapped).collect();
        assert_eq!(
            effects,
            vec![
                &Effect::CreateBranch {
                    name: "model/15-gradient-boosting".into(),
                    sha: "abc".into()
                },
                &Effect::Retarget {
                    pull: 12,
                    base: "model/15-gradient-boosting".into()
                }
            ]
        );
        assert!(
            step.said.contains("Pull request #12 now targets"),
            "{}",
            step.said
        );
        // Behind main (R43): told how, not retargeted.
        let step = decide(&facts(
            &["Experiment", "succeeded"],
            &[15],
            &[(12, "main", 3)],
        ));
        assert_eq!(step.effects.len(), 1);
        assert!(
            step.said.contains("needs `main` merged in first (R43)"),
            "{}",
            step.said
        );
        // Already retargeted: the branch is made again harmlessly, nothing else.
        let step = decide(&facts(
            &["Experiment", "succeeded"],
            &[15],
            &[(12, "model/15-gradient-boosting", 0)],
        ));
        assert_eq!(step.effects.len(), 1);
    }

    #[test]
    fn suggest_and_off() {
        let mut suggested = facts(&["Experiment", "succeeded"], &[], &[(12, "main", 0)]);
        suggested.mode = Mode::Suggest;
        let step = decide(&suggested);
        assert!(step.effects.is_empty());
        assert!(
            step.said.contains("gh issue create --label Model"),
            "{}",
            step.said
        );
        assert!(
            step.said
                .contains("gh pr edit 12 --base model/M-gradient-boosting")
        );
        suggested.mode = Mode::Off;
        assert_eq!(decide(&suggested), Step::none());
    }
}
