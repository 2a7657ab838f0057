//! A model branch merged into the collaboration branch: DSLP's next step
//! is a versioned release of each model it changed. The version is decided
//! by DSLP's rules from the previous release's record (`report::release`);
//! here, what to publish and what to say.

use super::Step;
use super::closed::ClosedPull;
use crate::engine::{Effect, ReleasePlan};
use crate::lifecycle::BranchKind;
use crate::report::data_release::PreparedData;
use crate::report::release::{Asset, Prepared};

/// The marker of the comment that says what was released.
pub const RELEASE_MARKER: &str = "<!-- dslp:release -->";

/// What a merged branch releases: a model branch its models, a data
/// branch its datasets' versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseKind {
    Model,
    Data,
}

/// A release ready to publish, of a model or of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Publishable {
    pub tag: String,
    pub title: String,
    pub notes: String,
    pub assets: Vec<Asset>,
    /// The version's rule and change, in a few words.
    pub why: String,
}

impl From<Prepared> for Publishable {
    fn from(prepared: Prepared) -> Publishable {
        let record = prepared.record;
        Publishable {
            title: format!("{} {}", record.model, record.version),
            why: record.decision.summary("first release"),
            tag: record.tag,
            notes: prepared.notes,
            assets: prepared.assets,
        }
    }
}

impl From<PreparedData> for Publishable {
    fn from(prepared: PreparedData) -> Publishable {
        let record = prepared.record;
        Publishable {
            title: format!("{} data {}", record.dataset, record.version),
            why: record.decision.summary("first release"),
            tag: record.tag,
            notes: prepared.notes,
            assets: prepared.assets,
        }
    }
}

/// What became of one model or dataset at the merge commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Released {
    New(Box<Publishable>),
    /// Nothing it is made from changed since this release.
    Unchanged {
        name: String,
        tag: String,
    },
    /// It could not be trained, read or released: why.
    Failed {
        name: String,
        why: String,
    },
}

/// Whether the pull request that closed asks for a release, and of what: a
/// model or data branch merged into a collaboration branch
/// (`automations.release` then says whether to act, suggest, or neither).
pub fn due(closed: &ClosedPull<'_>) -> Option<ReleaseKind> {
    if !closed.merged || closed.base_kind != Some(BranchKind::Collaboration) {
        return None;
    }
    match closed.kind {
        Some(BranchKind::Model) => Some(ReleaseKind::Model),
        Some(BranchKind::Data) => Some(ReleaseKind::Data),
        _ => None,
    }
}

/// `suggest`: how to make the releases by hand.
pub fn suggested(kind: ReleaseKind, names: &[String], base: &str) -> String {
    let mut out = match kind {
        ReleaseKind::Model => format!(
            "The model branch is merged into `{base}`. DSLP's next step is a versioned release of each model it changed; from a checkout of `{base}`:\n\n```sh\n"
        ),
        ReleaseKind::Data => format!(
            "The data branch is merged into `{base}`. DSLP registers a dataset version after each Data merge; from a checkout of `{base}`, with the next version by DSLP's rules (major: a column removed or retyped; minor: new columns or rows; patch: changed values):\n\n```sh\n"
        ),
    };
    for name in names {
        out.push_str(&match kind {
            ReleaseKind::Model => format!(
                "dslp release --model {name} --output release/{name}   # add --previous <the last {name}.release.json>\ngh release create \"$(jq -r .tag release/{name}/{name}.release.json)\" --notes-file release/{name}/{name}.notes.md release/{name}/*\n"
            ),
            ReleaseKind::Data => format!(
                "dslp data test --dataset {name} --format markdown > {name}.data-card.md\ngh release create {name}-data-vX.Y.Z --notes-file {name}.data-card.md\n"
            ),
        });
    }
    out.push_str(
        "```\n\nWith `automations.release: act` in `.github/dslp.yml` (and `contents: write` for the workflow's token), dslp-bot publishes these releases on merge itself.",
    );
    out
}

/// The releases to publish at `target` and what to say of them.
pub fn decide(target: &str, releases: &[Released]) -> Step {
    let mut effects = Vec::new();
    let mut lines = Vec::new();
    for release in releases {
        match release {
            Released::New(release) => {
                effects.push(Effect::PublishRelease(Box::new(ReleasePlan {
                    tag: release.tag.clone(),
                    target: target.to_string(),
                    name: release.title.clone(),
                    notes: release.notes.clone(),
                    assets: release.assets.clone(),
                })));
                // Relative to the pull request's or issue's page: the
                // repository's releases, on any GitHub host.
                lines.push(format!(
                    "- 📦 **[{0}](../releases/tag/{0})** ({1})",
                    release.tag, release.why
                ));
            }
            Released::Unchanged { name, tag } => lines.push(format!(
                "- `{name}`: nothing it is made from changed since **{tag}**; no new release"
            )),
            Released::Failed { name, why } => {
                lines.push(format!("- ⚠️ `{name}` was not released: {why}"))
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
    fn only_a_merged_model_or_data_branch_into_the_collaboration_branch_is_released() {
        let due_of = |kind, base, merged| due(&closed(kind, base, merged));
        let collab = BranchKind::Collaboration;
        assert_eq!(
            due_of(BranchKind::Model, collab, true),
            Some(ReleaseKind::Model)
        );
        assert_eq!(
            due_of(BranchKind::Data, collab, true),
            Some(ReleaseKind::Data)
        );
        assert_eq!(due_of(BranchKind::Model, collab, false), None);
        assert_eq!(
            due_of(BranchKind::Experiment, BranchKind::Model, true),
            None
        );
        assert_eq!(due_of(BranchKind::Model, BranchKind::Feature, true), None);
    }

    #[test]
    fn an_unchanged_model_is_said_and_a_failed_one_explained_nothing_published() {
        let step = decide(
            "0123456789abcdef",
            &[
                Released::Unchanged {
                    name: "churn".into(),
                    tag: "churn-v1.0.0".into(),
                },
                Released::Failed {
                    name: "ltv".into(),
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
        let text = suggested(ReleaseKind::Model, &["churn".into(), "ltv".into()], "main");
        assert!(text.contains("dslp release --model churn --output release/churn"));
        assert!(text.contains("release/ltv/ltv.notes.md"));
        assert!(text.contains("automations.release: act"));
    }
}
