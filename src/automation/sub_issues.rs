//! An Ask's tree in GitHub's own UI: a Data, Explore, Experiment or Model
//! issue that refers to an Ask becomes its sub-issue (GitHub then shows
//! the Ask's progress bar and tree); once the reference is edited away,
//! the link goes. A parent someone chose that is not an Ask is left alone.

use crate::engine::Effect;
use crate::lifecycle::{Issue, IssueKind};

/// What the flow decides from.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub issue: &'a Issue,
    /// GitHub's id of the issue.
    pub id: u64,
    /// The Asks it refers to, in order.
    pub asks: &'a [u64],
    /// Its parent now, and whether that parent is an Ask.
    pub parent: Option<(u64, bool)>,
}

pub fn decide(facts: &Facts<'_>) -> Vec<Effect> {
    let child = matches!(
        facts.issue.labelled_kind(),
        Some(IssueKind::Data | IssueKind::Explore | IssueKind::Experiment | IssueKind::Model)
    );
    if !child || facts.issue.is_pull_request || facts.id == 0 {
        return Vec::new();
    }
    let sub_issue_id = facts.id;
    match (facts.asks.first(), facts.parent) {
        // Already under an Ask it refers to.
        (Some(_), Some((parent, _))) if facts.asks.contains(&parent) => Vec::new(),
        // Someone put it under an issue that is not an Ask: theirs.
        (_, Some((_, false))) => Vec::new(),
        (Some(&ask), _) => vec![Effect::AddSubIssue {
            parent: ask,
            sub_issue_id,
        }],
        (None, Some((parent, true))) => vec![Effect::RemoveSubIssue {
            parent,
            sub_issue_id,
        }],
        (None, None) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::IssueState;

    fn experiment() -> Issue {
        Issue {
            number: Some(6),
            title: "Gradient boosting".into(),
            body: String::new(),
            labels: vec!["Experiment".into()],
            state: IssueState::Open,
            is_pull_request: false,
        }
    }

    fn decided(asks: &[u64], parent: Option<(u64, bool)>) -> Vec<Effect> {
        let issue = experiment();
        decide(&Facts {
            issue: &issue,
            id: 606,
            asks,
            parent,
        })
    }

    #[test]
    fn an_issue_that_refers_to_an_ask_is_its_sub_issue_until_the_reference_goes() {
        let add = |parent| {
            vec![Effect::AddSubIssue {
                parent,
                sub_issue_id: 606,
            }]
        };
        assert_eq!(decided(&[1], None), add(1));
        assert_eq!(decided(&[1], Some((1, true))), Vec::new());
        assert_eq!(
            decided(&[2, 1], Some((1, true))),
            Vec::new(),
            "any Ask it names"
        );
        assert_eq!(
            decided(&[1], Some((9, true))),
            add(1),
            "moved to the Ask it names now"
        );
        assert_eq!(
            decided(&[], Some((1, true))),
            vec![Effect::RemoveSubIssue {
                parent: 1,
                sub_issue_id: 606,
            }]
        );
        assert_eq!(
            decided(&[1], Some((40, false))),
            Vec::new(),
            "a person's parent"
        );
        assert_eq!(decided(&[], None), Vec::new());
        let mut ask = experiment();
        ask.labels = vec!["Ask".into()];
        let facts = Facts {
            issue: &ask,
            id: 1,
            asks: &[3],
            parent: None,
        };
        assert!(decide(&facts).is_empty(), "an Ask is nobody's sub-issue");
    }
}
