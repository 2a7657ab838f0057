//! Failure (R45): a failed Experiment needs a TLDR (its Results, R21);
//! once it has one, its pull requests close unmerged and the issue closes.
//! It stays on its Ask's leaderboard, so no approach is tried twice.

use super::status::tldr;
use super::{Lifecycle, Step, experiment_pulls, has_label, numbers};
use crate::config::Mode;
use crate::engine::Effect;
use crate::github::IssueUpdate;
use crate::lifecycle::labels::FAILED;
use crate::lifecycle::{Issue, IssueKind, IssueState};

/// What the failure flow does for `experiment`; `at_hand` is the pull
/// request a command was given on.
pub fn decide(lifecycle: &Lifecycle<'_>, experiment: &Issue, at_hand: Option<u64>) -> Step {
    let mode = lifecycle.config.automations.failure;
    let number = experiment.number.unwrap_or_default();
    if mode == Mode::Off
        || experiment.labelled_kind() != Some(IssueKind::Experiment)
        || !has_label(experiment, FAILED)
    {
        return Step::none();
    }
    if tldr(experiment).is_none() {
        return Step::say(format!(
            "Experiment #{number} failed. Before it closes, write down what was learned so no one tries it again by accident: fill in its Results section, or comment `/dslp fail \"what we learned\"`."
        ));
    }
    let pulls = experiment_pulls(lifecycle, number, at_hand);
    let open = experiment.state == IssueState::Open;
    if mode == Mode::Suggest {
        let mut steps: Vec<String> = pulls
            .iter()
            .map(|p| format!("- Close #{p} without merging: `gh pr close {p}`."))
            .collect();
        if open {
            steps.push(format!("- Close the issue: `gh issue close {number}`."));
        }
        return Step::say(format!(
            "Experiment #{number} failed and has its TLDR. DSLP's next steps:\n\n{}",
            steps.join("\n")
        ));
    }
    let mut effects: Vec<Effect> = pulls
        .iter()
        .map(|&pull| Effect::ClosePull { pull })
        .collect();
    if open {
        effects.push(close(number));
    }
    let closed = match pulls.is_empty() {
        true => "It had no open pull request.".to_string(),
        false => format!("Closed without merging: {}.", numbers(&pulls)),
    };
    Step {
        effects,
        said: format!(
            "Experiment #{number} failed; its TLDR is recorded. {closed} The issue is closed; it stays on its Ask's leaderboard."
        ),
        done: true,
    }
}

/// Closes an issue.
pub(super) fn close(issue: u64) -> Effect {
    Effect::EditIssue {
        issue,
        update: IssueUpdate {
            state: Some(IssueState::Closed),
            ..IssueUpdate::default()
        },
    }
}
