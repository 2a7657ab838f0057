//! A pull request that closed. Explore (R22, R40, R41): explore work is
//! never merged; closed unmerged, its Explore issue closes once the
//! findings are written; merged anyway, an alert. R46: an experiment
//! merged into its model branch closes its issue and its branch is deleted.

use super::failure::close;
use super::{Lifecycle, Step};
use crate::config::Mode;
use crate::engine::Effect;
use crate::lifecycle::body::{IssueBody, is_blank};
use crate::lifecycle::{BranchKind, Issue, IssueState};

/// A pull request that closed, as these flows see it.
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

pub fn decide(lifecycle: &Lifecycle<'_>, closed: &ClosedPull<'_>) -> Step {
    let open_issue = closed.issue.filter(|i| i.state == IssueState::Open);
    match (closed.kind, closed.merged) {
        (Some(BranchKind::Explore), false) => match open_issue {
            Some(issue) => explored(lifecycle.config.automations.explore, issue),
            None => Step::none(),
        },
        (Some(BranchKind::Explore), true) => Step::say(
            "⚠️ Explore work is never merged in DSLP (R40): this pull request was merged anyway. Move what should last into a Data, Experiment or Model branch, and consider reverting the merge.",
        ),
        (Some(BranchKind::Experiment), true) if closed.base_kind == Some(BranchKind::Model) => {
            let mut effects = Vec::new();
            let mut said = Vec::new();
            if let Some(issue) = open_issue {
                let number = issue.number.unwrap_or_default();
                effects.push(close(number));
                said.push(format!("Experiment #{number} is closed"));
            }
            effects.push(Effect::DeleteBranch {
                name: closed.head_ref.to_string(),
            });
            said.push(format!("`{}` is deleted", closed.head_ref));
            Step {
                effects,
                said: format!("Merged into its model branch: {}.", said.join(" and ")),
                done: true,
            }
        }
        _ => Step::none(),
    }
}

/// An exploration's pull request closed unmerged, as DSLP wants.
fn explored(mode: Mode, issue: &Issue) -> Step {
    if mode == Mode::Off {
        return Step::none();
    }
    let number = issue.number.unwrap_or_default();
    let findings = IssueBody::parse(&issue.body)
        .section_with_children("What was discovered during this exploration?")
        .is_some_and(|text| !is_blank(&text));
    if !findings {
        return Step::say(format!(
            "The exploration's pull request closed, as DSLP wants. Write what was found in #{number} (its discovery section) and it will be closed."
        ));
    }
    if mode == Mode::Suggest {
        return Step::say(format!(
            "The exploration is done and #{number} records its findings: close it with `gh issue close {number}`."
        ));
    }
    Step {
        effects: vec![close(number)],
        said: format!("The exploration is done and #{number} records its findings: closed."),
        done: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::facts_for_tests::{config, issue, repository};
    use crate::lifecycle::Rulebook;

    fn decided(kind: BranchKind, base: Option<BranchKind>, merged: bool, findings: &str) -> Step {
        let repo = repository(vec![issue(
            4,
            "Seasonality",
            &["Explore"],
            findings,
            "open",
        )]);
        let (config, rulebook) = (config(""), Rulebook::default());
        let lifecycle = Lifecycle {
            repository: &repo,
            rulebook: &rulebook,
            config: &config,
            evaluations: &[],
        };
        let linked = repo.issues[0].to_issue();
        decide(
            &lifecycle,
            &ClosedPull {
                kind: Some(kind),
                issue: Some(&linked),
                head_ref: "explore/4-seasonality",
                base_kind: base,
                merged,
            },
        )
    }

    #[test]
    fn facts_to_effects() {
        let written = "## What was discovered during this exploration?\n\nWeekly cycles.\n";
        let step = decided(BranchKind::Explore, None, false, written);
        assert_eq!(step.effects, vec![close(4)]);
        let step = decided(
            BranchKind::Explore,
            None,
            false,
            "## What was discovered during this exploration?\n\n",
        );
        assert!(step.effects.is_empty() && step.said.contains("Write what was found in #4"));
        let step = decided(BranchKind::Explore, None, true, written);
        assert!(step.effects.is_empty() && step.said.contains("never merged"));
        let step = decided(
            BranchKind::Experiment,
            Some(BranchKind::Model),
            true,
            written,
        );
        assert_eq!(
            step.effects,
            vec![
                close(4),
                Effect::DeleteBranch {
                    name: "explore/4-seasonality".into()
                }
            ]
        );
        assert_eq!(decided(BranchKind::Data, None, true, written), Step::none());
    }
}
