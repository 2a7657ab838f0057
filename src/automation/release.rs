//! A model branch merged into the collaboration branch: DSLP's next step
//! is a versioned release of each model it changed. The version is decided
//! by DSLP's rules from the previous release's record (`report::release`);
//! here, what to publish and what to say.

use super::Step;
use super::closed::ClosedPull;
use crate::engine::{Effect, ReleasePlan};
use crate::lifecycle::BranchKind;
use crate::report::release::Prepared;

/// The marker of the comment that says what was released.
pub const RELEASE_MARKER: &str = "<!-- dslp:release -->";

/// What became of one model at the merge commit.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelRelease {
    New(Box<Prepared>),
    /// Nothing it is made from changed since this release.
    Unchanged {
        model: String,
        tag: String,
    },
    /// It could not be trained or released: why.
    Failed {
        model: String,
        why: String,
    },
}

/// Whether the pull request that closed asks for a release: a model branch
/// merged into a collaboration branch (`automations.release` then says
/// whether to act, suggest, or neither).
pub fn due(closed: &ClosedPull<'_>) -> bool {
    closed.merged
        && closed.kind == Some(BranchKind::Model)
        && closed.base_kind == Some(BranchKind::Collaboration)
}

/// `suggest`: the commands that make the release by hand.
pub fn suggested(models: &[String], base: &str) -> String {
    let mut out = format!(
        "The model branch is merged into `{base}`. DSLP's next step is a versioned release of each model it changed; from a checkout of `{base}`:\n\n```sh\n"
    );
    for model in models {
        out.push_str(&format!(
            "dslp release --model {model} --output release/{model}   # add --previous <the last {model}.release.json>\ngh release create \"$(jq -r .tag release/{model}/{model}.release.json)\" --notes-file release/{model}/{model}.notes.md release/{model}/*\n"
        ));
    }
    out.push_str(
        "```\n\nWith `automations.release: act` in `.github/dslp.yml` (and `contents: write` for the workflow's token), dslp-bot publishes these releases on merge itself.",
    );
    out
}

/// The releases to publish at `target` and what to say of them.
pub fn decide(target: &str, releases: &[ModelRelease]) -> Step {
    let mut effects = Vec::new();
    let mut lines = Vec::new();
    for release in releases {
        match release {
            ModelRelease::New(prepared) => {
                let record = &prepared.record;
                effects.push(Effect::PublishRelease(Box::new(ReleasePlan {
                    tag: record.tag.clone(),
                    target: target.to_string(),
                    name: format!("{} {}", record.model, record.version),
                    notes: prepared.notes.clone(),
                    assets: prepared.assets.clone(),
                })));
                let why = match record.decision.bump {
                    Some(bump) => format!(
                        "{}: {}",
                        format!("{bump:?}").to_lowercase(),
                        record.decision.reasons.join("; ")
                    ),
                    None => "first release".into(),
                };
                // Relative to the pull request's or issue's page: the
                // repository's releases, on any GitHub host.
                lines.push(format!(
                    "- 📦 **[{0}](../releases/tag/{0})** ({why})",
                    record.tag
                ));
            }
            ModelRelease::Unchanged { model, tag } => lines.push(format!(
                "- `{model}`: nothing it is made from changed since **{tag}**; no new release"
            )),
            ModelRelease::Failed { model, why } => {
                lines.push(format!("- ⚠️ `{model}` was not released: {why}"))
            }
        }
    }
    if lines.is_empty() {
        return Step::none();
    }
    let short: String = target.chars().take(7).collect();
    Step {
        effects,
        said: format!(
            "{RELEASE_MARKER}\n### Releases at `{short}`\n\n{}\n\nEach release carries the model, its card, input and output schemas, the reference profile `dslp monitor` compares with, the stamp and the release record. Use one with `dslp predict --model <model>.model.json --input new.csv`.",
            lines.join("\n")
        ),
        done: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(kind: BranchKind, base: BranchKind, merged: bool) -> ClosedPull<'static> {
        ClosedPull {
            kind: Some(kind),
            issue: None,
            head_ref: "model/7-churn",
            base_kind: Some(base),
            merged,
        }
    }

    #[test]
    fn only_a_merged_model_branch_into_the_collaboration_branch_is_released() {
        assert!(due(&closed(
            BranchKind::Model,
            BranchKind::Collaboration,
            true
        )));
        assert!(!due(&closed(
            BranchKind::Model,
            BranchKind::Collaboration,
            false
        )));
        assert!(!due(&closed(
            BranchKind::Experiment,
            BranchKind::Model,
            true
        )));
        assert!(!due(&closed(BranchKind::Model, BranchKind::Feature, true)));
    }

    #[test]
    fn an_unchanged_model_is_said_and_a_failed_one_explained_nothing_published() {
        let step = decide(
            "0123456789abcdef",
            &[
                ModelRelease::Unchanged {
                    model: "churn".into(),
                    tag: "churn-v1.0.0".into(),
                },
                ModelRelease::Failed {
                    model: "ltv".into(),
                    why: "column `spend` is missing".into(),
                },
            ],
        );
        assert!(step.effects.is_empty());
        assert!(
            step.said.contains("since **churn-v1.0.0**"),
            "{}",
            step.said
        );
        assert!(
            step.said
                .contains("`ltv` was not released: column `spend` is missing")
        );
        assert!(step.said.contains("`0123456`"));
        assert_eq!(decide("abc", &[]), Step::none());
    }

    #[test]
    fn the_suggestion_names_each_models_commands() {
        let text = suggested(&["churn".into(), "ltv".into()], "main");
        assert!(text.contains("dslp release --model churn --output release/churn"));
        assert!(text.contains("release/ltv/ltv.notes.md"));
        assert!(text.contains("automations.release: act"));
    }
}
