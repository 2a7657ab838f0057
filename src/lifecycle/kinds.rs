//! DSLP issue kinds and the shape of their templates (DSLP.md §2).

use serde::{Deserialize, Serialize};

use super::body::BodyShape;
use super::labels;

/// The five DSLP issue types. Data has two templates but one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IssueKind {
    Ask,
    Data,
    Explore,
    Experiment,
    Model,
}

impl IssueKind {
    pub const ALL: [IssueKind; 5] = [
        IssueKind::Ask,
        IssueKind::Data,
        IssueKind::Explore,
        IssueKind::Experiment,
        IssueKind::Model,
    ];

    /// The type label that marks an issue of this kind.
    pub fn label(self) -> &'static str {
        match self {
            IssueKind::Ask => labels::ASK,
            IssueKind::Data => labels::DATA,
            IssueKind::Explore => labels::EXPLORE,
            IssueKind::Experiment => labels::EXPERIMENT,
            IssueKind::Model => labels::MODEL,
        }
    }

    pub fn from_label(label: &str) -> Option<IssueKind> {
        IssueKind::ALL
            .into_iter()
            .find(|kind| kind.label() == label)
    }

    /// Every type label on an issue, in label order.
    pub fn all_from_labels(labels: &[String]) -> Vec<IssueKind> {
        let mut kinds: Vec<IssueKind> = labels
            .iter()
            .filter_map(|l| IssueKind::from_label(l))
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The templates an issue of this kind may follow.
    pub fn templates(self) -> &'static [Template] {
        match self {
            IssueKind::Ask => std::slice::from_ref(&ASK),
            IssueKind::Data => &DATA_TEMPLATES,
            IssueKind::Explore => std::slice::from_ref(&EXPLORE),
            IssueKind::Experiment => std::slice::from_ref(&EXPERIMENT),
            IssueKind::Model => std::slice::from_ref(&MODEL),
        }
    }
}

impl std::fmt::Display for IssueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One DSLP issue template, in the two shapes found in the wild.
#[derive(Debug, PartialEq, Eq)]
pub struct Template {
    pub kind: IssueKind,
    /// Human name, as the template chooser shows it.
    pub name: &'static str,
    /// File stem of our issue form in `issue-templates/`.
    pub form_file: &'static str,
    /// DSLP's legacy markdown headings, in order.
    pub legacy_headings: &'static [&'static str],
    /// The field labels of our issue form, in order. They reuse DSLP's
    /// headings, so reports and people speak the same words.
    pub form_labels: &'static [&'static str],
    /// Sections DSLP expects filled in (our reading of its "should").
    pub required: &'static [&'static str],
    /// Headings that tell this template apart when an issue has no label.
    pub signature: &'static [&'static str],
}

impl Template {
    /// The headings a body of this shape should carry.
    pub fn expected_headings(&self, shape: BodyShape) -> &'static [&'static str] {
        match shape {
            BodyShape::Form => self.form_labels,
            BodyShape::Legacy => self.legacy_headings,
        }
    }
}

/// Field names of the link lines that DSLP writes as `***Name:*** value`.
pub const ASK_REFERENCE: &str = "Ask Reference";
pub const BASED_ON_EXPERIMENT: &str = "Based on Experiment";
pub const EXPERIMENT_HISTORY: &str = "Experiment History";
pub const RELATED_PR: &str = "Related PR";

pub const ASK: Template = Template {
    kind: IssueKind::Ask,
    name: "Ask",
    form_file: "ask",
    legacy_headings: &[
        "Problem Statement",
        "Desired Outcome",
        "Current State",
        "Success Criteria",
        "Impact",
        "Metrics",
        "Constraints",
        "Solution Architecture",
        "Data Requirements",
        "Datasets",
        "Understanding and Exploration",
        "Approaches and Experiments",
        "See Also",
        "Background Info",
        "Related Projects",
    ],
    form_labels: &[
        "Problem Statement",
        "Desired Outcome",
        "Current State",
        "Success Criteria",
        "Impact",
        "Metrics",
        "Constraints",
        "Solution Architecture",
        "Datasets",
        "Understanding and Exploration",
        "Approaches and Experiments",
        "Background Info",
        "Related Projects",
    ],
    required: &["Problem Statement", "Success Criteria", "Metrics"],
    signature: &[
        "Problem Statement",
        "Success Criteria",
        "Solution Architecture",
        "Approaches and Experiments",
        "Understanding and Exploration",
    ],
};

pub const DATA_ACQUISITION: Template = Template {
    kind: IssueKind::Data,
    name: "Data Acquisition",
    form_file: "data-acquisition",
    legacy_headings: &[
        "Dataset Description",
        "Source system",
        "Reference",
        "Known Issues",
    ],
    form_labels: &[
        "Dataset Description",
        "Source system",
        "Reference",
        "Known Issues",
    ],
    required: &["Dataset Description"],
    signature: &["Dataset Description", "Source system", "Known Issues"],
};

pub const DATASET_CREATION: Template = Template {
    kind: IssueKind::Data,
    name: "Dataset Creation",
    form_file: "dataset-creation",
    legacy_headings: &[
        "Dataset Name",
        "Dataset Description",
        "Parent Sources",
        "Reference",
        "Known Issues",
    ],
    form_labels: &[
        "Dataset Name",
        "Dataset Description",
        "Parent Sources",
        "Reference",
        "Known Issues",
    ],
    required: &["Dataset Description", "Parent Sources"],
    signature: &["Dataset Name", "Dataset Description", "Parent Sources"],
};

const DATA_TEMPLATES: [Template; 2] = [DATA_ACQUISITION, DATASET_CREATION];

pub const EXPLORE: Template = Template {
    kind: IssueKind::Explore,
    name: "Explore",
    form_file: "explore",
    legacy_headings: &[
        "Overview",
        "Goals",
        "What was discovered during this exploration?",
        "Insight 1",
        "Insight 2",
        "Next Steps",
    ],
    form_labels: &[
        "Overview",
        "Goals",
        "Timebox",
        "What was discovered during this exploration?",
        "Next Steps",
    ],
    required: &[],
    signature: &[
        "Overview",
        "Goals",
        "What was discovered during this exploration?",
    ],
};

pub const EXPERIMENT: Template = Template {
    kind: IssueKind::Experiment,
    name: "Experiment",
    form_file: "experiment",
    legacy_headings: &["Description", "Metrics", "Assumptions", "Results"],
    form_labels: &[
        "Description",
        ASK_REFERENCE,
        "Metrics",
        "Assumptions",
        "Results",
        EXPERIMENT_HISTORY,
        RELATED_PR,
    ],
    required: &["Metrics"],
    signature: &["Assumptions", "Results", "Metrics"],
};

pub const MODEL: Template = Template {
    kind: IssueKind::Model,
    name: "Model",
    form_file: "model",
    legacy_headings: &["Description", "Steps"],
    form_labels: &["Description", ASK_REFERENCE, BASED_ON_EXPERIMENT, "Steps"],
    required: &[],
    signature: &["Steps", BASED_ON_EXPERIMENT],
};

/// Every template, in the order of the template chooser.
pub const TEMPLATES: [&Template; 6] = [
    &ASK,
    &DATA_ACQUISITION,
    &DATASET_CREATION,
    &EXPLORE,
    &EXPERIMENT,
    &MODEL,
];
