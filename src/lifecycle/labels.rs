//! The 11 DSLP labels as data (DSLP.md §3).
//!
//! DSLP's own `labels.yaml` is malformed (unquoted `#` colours become comments,
//! and the status entries are nested under `Communicate`), so the table is
//! written out here instead of parsed.

use serde::Serialize;

/// What a label says about an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelGroup {
    /// The DSLP type (or a stage such as `Deploy`).
    Type,
    /// Where the work stands: succeeded, failed, on hold, blocked.
    Status,
}

/// A label a DSLP repository carries, exactly as GitHub's REST API wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LabelSpec {
    pub name: &'static str,
    /// Hex colour without the leading `#`.
    pub color: &'static str,
    pub description: &'static str,
    pub group: LabelGroup,
}

pub const ASK: &str = "Ask";
pub const DATA: &str = "Data";
pub const EXPLORE: &str = "Explore";
pub const EXPERIMENT: &str = "Experiment";
pub const MODEL: &str = "Model";
pub const DEPLOY: &str = "Deploy";
pub const COMMUNICATE: &str = "Communicate";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const ON_HOLD: &str = "on hold";
pub const BLOCKED_NEED_ACCESS: &str = "blocked - need access";
/// Not DSLP's: dslp-bot's mark that a maintainer let a fork's pull request
/// be evaluated (its head commit; a new push needs a new approval).
pub const OK_TO_TEST: &str = "ok-to-test";

/// The DSLP label set. Descriptions are DSLP's own words, typos included
/// ("revist"), because teams match on them when they sync labels.
pub const DSLP_LABELS: [LabelSpec; 11] = [
    LabelSpec {
        name: ASK,
        color: "c9ecff",
        description: "Define and scope problem and solution",
        group: LabelGroup::Type,
    },
    LabelSpec {
        name: EXPLORE,
        color: "f0f29b",
        description: "Explore and document data to increase understanding",
        group: LabelGroup::Type,
    },
    LabelSpec {
        name: EXPERIMENT,
        color: "8569c6",
        description: "Build features and train models",
        group: LabelGroup::Type,
    },
    LabelSpec {
        name: DATA,
        color: "1c587c",
        description: "Get and transform data",
        group: LabelGroup::Type,
    },
    LabelSpec {
        name: MODEL,
        color: "0b4e82",
        description: "Prepare model for deployment",
        group: LabelGroup::Type,
    },
    LabelSpec {
        name: DEPLOY,
        color: "f79499",
        description: "Register, package, and deploy model",
        group: LabelGroup::Type,
    },
    LabelSpec {
        name: COMMUNICATE,
        color: "f9f345",
        description: "Write reports, create dashboards, summarize findings, etc.",
        group: LabelGroup::Type,
    },
    LabelSpec {
        name: SUCCEEDED,
        color: "67d157",
        description: "This was successful",
        group: LabelGroup::Status,
    },
    LabelSpec {
        name: FAILED,
        color: "c2021c",
        description: "This didn't go as hoped",
        group: LabelGroup::Status,
    },
    LabelSpec {
        name: ON_HOLD,
        color: "ffd04f",
        description: "Still seems promising, but let's revist later",
        group: LabelGroup::Status,
    },
    LabelSpec {
        name: BLOCKED_NEED_ACCESS,
        color: "ed9a53",
        description: "Blocked due to lack of access to data, resources, environment, etc.",
        group: LabelGroup::Status,
    },
];

/// The label spec for `name`, matched case-sensitively as DSLP prescribes.
pub fn find(name: &str) -> Option<&'static LabelSpec> {
    DSLP_LABELS.iter().find(|label| label.name == name)
}

/// True when `labels` holds `name` exactly.
pub fn has(labels: &[String], name: &str) -> bool {
    labels.iter().any(|label| label == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleven_labels_with_unique_names_and_hex_colours() {
        let mut names: Vec<_> = DSLP_LABELS.iter().map(|l| l.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 11);
        for label in DSLP_LABELS {
            assert_eq!(label.color.len(), 6, "{}", label.name);
            assert!(
                label.color.chars().all(|c| c.is_ascii_hexdigit()),
                "{}",
                label.name
            );
            assert!(!label.description.is_empty());
        }
    }

    #[test]
    fn lookup_is_case_sensitive() {
        assert_eq!(find("on hold").map(|l| l.color), Some("ffd04f"));
        assert!(find("On Hold").is_none());
        assert!(find("ask").is_none());
    }
}
