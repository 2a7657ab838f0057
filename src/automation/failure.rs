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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::facts_for_tests::{config, issue, pull, repository};
    use crate::lifecycle::Rulebook;
    use crate::lifecycle::ask::Evaluation;

    fn decided(labels: &[&str], body: &str, yaml: &str) -> Step {
        let repo = repository(vec![
            issue(8, "Random forest", labels, body, "open"),
            pull(14, "open"),
            pull(15, "closed"),
        ]);
        let config = config(yaml);
        let rulebook = Rulebook::default();
        let evaluation = |pull: u64| Evaluation {
            head_ref: "experiment/8-random-forest".into(),
            pull,
            verdict: crate::lifecycle::Verdict::NoGo,
            metrics: Default::default(),
            params: Default::default(),
            data_hash: Default::default(),
        };
        let evaluations = [evaluation(14), evaluation(15)];
        let lifecycle = Lifecycle {
            repository: &repo,
            rulebook: &rulebook,
            config: &config,
            evaluations: &evaluations,
        };
        let experiment = repo.directory.lookup_number(8);
        match experiment {
            crate::lifecycle::issue::Lookup::Found(e) => decide(&lifecycle, e, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn facts_to_effects() {
        let tldr = "### Results\n\nTLDR: no lift\n";
        // Not failed: nothing.
        assert_eq!(decided(&["Experiment"], tldr, ""), Step::none());
        // Failed without a TLDR: asked for one, nothing closed.
        let step = decided(
            &["Experiment", "failed"],
            "### Results\n\n_No response_\n",
            "",
        );
        assert!(step.effects.is_empty() && step.said.contains("write down what was learned"));
        // With it: its open pull request closed (the closed one left), the issue closed.
        let step = decided(&["Experiment", "failed"], tldr, "");
        assert_eq!(step.effects, vec![Effect::ClosePull { pull: 14 }, close(8)]);
        assert!(
            step.said.contains("Closed without merging: #14."),
            "{}",
            step.said
        );
        // Suggested: the steps in words.
        let step = decided(
            &["Experiment", "failed"],
            tldr,
            "automations: { failure: suggest }\n",
        );
        assert!(step.effects.is_empty() && step.said.contains("`gh pr close 14`"));
    }
}
