//! The Ask kept current (dslp#6): each Ask's bot-managed section, its
//! linked issues by kind and its experiment leaderboard, rewritten in its
//! body between the section's markers.

use super::{Lifecycle, Step};
use crate::engine::Effect;
use crate::lifecycle::IssueKind;
use crate::lifecycle::ask;
use crate::lifecycle::issue::Lookup;

/// The sections of `asks`, from what the job knows of the repository and
/// the ledger. The executor writes each into the Ask's body as it is then,
/// and writes nothing when the text is already there.
/// `sub_issues` holds each Ask's sub-issues in GitHub's tree, where known.
pub fn refresh(
    lifecycle: &Lifecycle<'_>,
    asks: &[u64],
    sub_issues: &std::collections::BTreeMap<u64, Vec<u64>>,
) -> Step {
    if !lifecycle.config.automations.ask_section {
        return Step::none();
    }
    let directory = &lifecycle.repository.directory;
    let pulls = lifecycle.repository.pull_states();
    let effects = asks
        .iter()
        .filter_map(|&number| match directory.lookup_number(number) {
            Lookup::Found(ask) if ask.labelled_kind() == Some(IssueKind::Ask) => {
                let board = ask::leaderboard(
                    ask,
                    directory,
                    &lifecycle.rulebook.conventions,
                    lifecycle.evaluations,
                    &pulls,
                );
                Some(Effect::UpdateAskSection {
                    ask: number,
                    section: ask::render(
                        ask,
                        directory,
                        &board,
                        sub_issues.get(&number).map_or(&[], Vec::as_slice),
                    ),
                })
            }
            _ => None,
        })
        .collect();
    Step {
        effects,
        said: String::new(),
        done: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::facts_for_tests::{config, issue, repository};
    use crate::lifecycle::Rulebook;

    #[test]
    fn each_ask_touched_gets_its_section_and_nothing_else_does() {
        let repo = repository(vec![
            issue(
                1,
                "Churn",
                &["Ask"],
                "## Problem Statement\n\nChurn.\n",
                "open",
            ),
            issue(
                6,
                "Boosting",
                &["Experiment"],
                "### Ask Reference\n\n#1\n",
                "open",
            ),
            // Refers to no Ask, but someone put it under #1 on GitHub.
            issue(7, "Seasonality", &["Explore"], "No reference.\n", "open"),
        ]);
        let rulebook = Rulebook::default();
        let on = config("");
        let lifecycle = Lifecycle {
            repository: &repo,
            rulebook: &rulebook,
            config: &on,
            evaluations: &[],
        };
        let tree = std::collections::BTreeMap::from([(1, vec![7])]);
        let step = refresh(&lifecycle, &[1, 6, 99], &tree);
        assert_eq!(
            step.effects.len(),
            1,
            "the Ask only: #6 is no Ask, #99 unknown"
        );
        match &step.effects[0] {
            Effect::UpdateAskSection { ask, section } => {
                assert_eq!(*ask, 1);
                assert!(section.contains("- #6 Boosting · open"), "{section}");
                assert!(
                    section.contains("- #7 Seasonality · open"),
                    "a sub-issue: {section}"
                );
            }
            other => panic!("{other:?}"),
        }
        let off = config("automations: { ask_section: false }\n");
        let lifecycle = Lifecycle {
            config: &off,
            ..lifecycle
        };
        assert!(refresh(&lifecycle, &[1], &tree).effects.is_empty());
    }
}
