//! Plans for when there is no report to give: a config that cannot be
//! read, a job that gave up, a branch's name rules.

use crate::config::{CONFIG_PATH, ConfigError};
use crate::github::{Annotation, AnnotationLevel, CheckRun, Conclusion, Status, StatusState};
use crate::lifecycle::{BranchReport, Severity, Verdict};
use crate::report::comment::{ISSUE_MARKER, PR_MARKER};

use super::{CHECK_NAME, Effect, Plan};

/// The commit status context of the branch-name rules.
pub const BRANCH_STATUS: &str = "dslp/branch";

/// A config that cannot be read fails the check, with an annotation at the
/// line and column, and says so in the pull request.
pub fn bad_config(number: u64, head_sha: &str, error: &ConfigError) -> Plan {
    let title = format!("{CONFIG_PATH} is invalid");
    let message = format!(
        "{}:{}:{}: {}",
        CONFIG_PATH, error.line, error.column, error.message
    );
    let body = format!(
        "{PR_MARKER}\n## ❌ dslp: **NO-GO**\n\n`{CONFIG_PATH}` cannot be used, so nothing was checked:\n\n```\n{message}\n```\n\n`dslp lint config` checks it locally.\n",
    );
    let run = CheckRun {
        name: CHECK_NAME.into(),
        head_sha: head_sha.to_string(),
        conclusion: Conclusion::Failure,
        title: title.clone(),
        summary: message,
        text: body.clone(),
        annotations: vec![Annotation {
            path: CONFIG_PATH.into(),
            start_line: error.line,
            end_line: error.line,
            annotation_level: AnnotationLevel::Failure,
            message: error.message.clone(),
            title,
        }],
    };
    Plan {
        effects: vec![
            Effect::UpsertComment {
                issue: number,
                marker: PR_MARKER,
                body: body.clone(),
            },
            Effect::Check(run),
        ],
        summary: body,
        verdict: Verdict::NoGo,
    }
}

/// A pull request's job that gave up fails its check run, saying why.
pub fn gave_up_on_pull(head_sha: &str, error: &str) -> Plan {
    let summary = format!(
        "dslp-bot gave up after several attempts: {error}\n\nComment `/dslp rerun` on the pull request, or re-run this check, to try again."
    );
    let run = CheckRun {
        name: CHECK_NAME.into(),
        head_sha: head_sha.to_string(),
        conclusion: Conclusion::Failure,
        title: "dslp-bot could not finish".into(),
        summary: summary.clone(),
        text: String::new(),
        annotations: Vec::new(),
    };
    Plan {
        effects: vec![Effect::Check(run)],
        summary,
        verdict: Verdict::NoGo,
    }
}

/// An issue's job that gave up says so in the issue's sticky comment.
pub fn gave_up_on_issue(number: u64, error: &str) -> Plan {
    let body = format!(
        "{ISSUE_MARKER}\n### ⚠️ dslp-bot could not check this issue\n\nIt gave up after several attempts: {error}\n\nComment `/dslp rerun` to try again.\n"
    );
    Plan {
        effects: vec![Effect::UpsertComment {
            issue: number,
            marker: ISSUE_MARKER,
            body: body.clone(),
        }],
        summary: body,
        verdict: Verdict::NoGo,
    }
}

/// A branch's name rules, as the `dslp/branch` status of its commit.
pub fn branch_status(report: &BranchReport, sha: &str) -> Plan {
    let errors = report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error);
    let description = report
        .findings
        .first()
        .map(|f| format!("{}: {}", f.rule, f.message))
        .unwrap_or_else(|| "the branch follows DSLP's conventions".into());
    let status = Status {
        state: match errors {
            true => StatusState::Failure,
            false => StatusState::Success,
        },
        context: BRANCH_STATUS.into(),
        description: description.chars().take(140).collect(),
    };
    Plan {
        effects: vec![Effect::SetStatus {
            sha: sha.to_string(),
            status,
        }],
        summary: description,
        verdict: if errors { Verdict::NoGo } else { Verdict::Go },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{IssueDirectory, Rulebook};

    #[test]
    fn a_branch_name_becomes_its_commits_status() {
        let rulebook = Rulebook::default();
        let directory = IssueDirectory::default();
        let plan = branch_status(&rulebook.check_branch("main", &directory), "abc");
        assert_eq!(plan.verdict, Verdict::Go);
        match &plan.effects[..] {
            [Effect::SetStatus { sha, status }] => {
                assert_eq!((sha.as_str(), status.state), ("abc", StatusState::Success));
                assert_eq!(status.context, BRANCH_STATUS);
            }
            other => panic!("{other:?}"),
        }
        let plan = branch_status(&rulebook.check_branch("my-branch", &directory), "abc");
        match &plan.effects[..] {
            [Effect::SetStatus { status, .. }] => {
                assert!(status.description.starts_with("R30"), "{status:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_job_that_gave_up_says_so_where_people_look() {
        let plan = gave_up_on_pull("abc", "502");
        assert!(
            matches!(&plan.effects[..], [Effect::Check(run)] if run.conclusion == Conclusion::Failure && run.summary.contains("502"))
        );
        let plan = gave_up_on_issue(6, "502");
        assert!(
            matches!(&plan.effects[..], [Effect::UpsertComment { issue: 6, marker, .. }] if *marker == ISSUE_MARKER)
        );
    }
}
