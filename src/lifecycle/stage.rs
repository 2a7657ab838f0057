//! Where an issue stands in the lifecycle, as a project board's `Stage`
//! shows it (Ask → Data → Explore → Experiment → Model → Released →
//! Monitoring): from what the lifecycle already knows, the issue's kind, a
//! Model issue closed once its model shipped, an issue the monitoring opened.

use super::issue::{Issue, IssueState};
use super::kinds::IssueKind;

/// The board's single-select field.
pub const STAGE_FIELD: &str = "Stage";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Ask,
    Data,
    Explore,
    Experiment,
    Model,
    Released,
    Monitoring,
}

impl Stage {
    /// In the lifecycle's order: the field's options, created in it.
    pub const ALL: [Stage; 7] = [
        Stage::Ask,
        Stage::Data,
        Stage::Explore,
        Stage::Experiment,
        Stage::Model,
        Stage::Released,
        Stage::Monitoring,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Ask => "Ask",
            Stage::Data => "Data",
            Stage::Explore => "Explore",
            Stage::Experiment => "Experiment",
            Stage::Model => "Model",
            Stage::Released => "Released",
            Stage::Monitoring => "Monitoring",
        }
    }

    /// The option's colour on the board.
    pub fn color(self) -> &'static str {
        match self {
            Stage::Ask => "PURPLE",
            Stage::Data => "BLUE",
            Stage::Explore => "YELLOW",
            Stage::Experiment => "ORANGE",
            Stage::Model => "PINK",
            Stage::Released => "GREEN",
            Stage::Monitoring => "RED",
        }
    }
}

/// Where an issue stands; `None` for what is not a DSLP issue.
pub fn stage_of(issue: &Issue) -> Option<Stage> {
    if issue.is_pull_request {
        return None;
    }
    // The monitoring's own issues (a Data or retrain Model issue) while open.
    if issue.body.contains("<!-- dslp:monitor ") && issue.state == IssueState::Open {
        return Some(Stage::Monitoring);
    }
    Some(match issue.labelled_kind()? {
        IssueKind::Ask => Stage::Ask,
        IssueKind::Data => Stage::Data,
        IssueKind::Explore => Stage::Explore,
        IssueKind::Experiment => Stage::Experiment,
        // A Model issue closes when its pull request merges: shipped.
        IssueKind::Model if issue.state == IssueState::Closed => Stage::Released,
        IssueKind::Model => Stage::Model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(label: &str, state: IssueState, body: &str) -> Issue {
        Issue {
            number: Some(7),
            title: "t".into(),
            body: body.into(),
            labels: vec![label.into()],
            state,
            is_pull_request: false,
        }
    }

    #[test]
    fn each_kind_has_its_stage_and_a_shipped_model_is_released() {
        let open = |label| stage_of(&issue(label, IssueState::Open, ""));
        assert_eq!(
            ["Ask", "Data", "Explore", "Experiment", "Model"].map(open),
            [
                Stage::Ask,
                Stage::Data,
                Stage::Explore,
                Stage::Experiment,
                Stage::Model
            ]
            .map(Some)
        );
        assert_eq!(
            stage_of(&issue("Model", IssueState::Closed, "")),
            Some(Stage::Released)
        );
        let retrain = issue(
            "Model",
            IssueState::Open,
            "<!-- dslp:monitor churn performance -->",
        );
        assert_eq!(stage_of(&retrain), Some(Stage::Monitoring));
        assert_eq!(stage_of(&issue("bug", IssueState::Open, "")), None);
        let mut pull = issue("Experiment", IssueState::Open, "");
        pull.is_pull_request = true;
        assert_eq!(stage_of(&pull), None);
    }
}
