//! The engine: from an event and what we know of the repository to a plan
//! of effects. Pure: the shell gathers the facts and carries the plan out.

use crate::data::CheckResult;
use crate::evidence::Evidence;
use crate::github::{Annotation, AnnotationLevel, CheckRun, Conclusion};
use crate::lifecycle::issue::Lookup;
use crate::lifecycle::{BranchReport, Issue, IssueDirectory, PullRequest, Rulebook, Severity};
use crate::report::comment::{self, ISSUE_MARKER, PR_MARKER};

pub mod trust;

/// The name of dslp-bot's check run.
pub const CHECK_NAME: &str = "dslp";

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Create the comment with this marker, or edit it in place.
    UpsertComment {
        issue: u64,
        marker: &'static str,
        body: String,
    },
    Check(CheckRun),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub effects: Vec<Effect>,
    /// The whole report, for the job summary.
    pub summary: String,
    /// GO, NO-GO or NEUTRAL.
    pub verdict: String,
}

/// The rules a pull request answers to: its branch's and, since the branch
/// names its issue, that issue's own (an Experiment without its Ask, say).
pub fn pull_request_rules(
    pr: &PullRequest,
    rulebook: &Rulebook,
    directory: &IssueDirectory,
) -> BranchReport {
    let mut report = rulebook.check_pull_request(pr, directory);
    if let Some(number) = report.head.number
        && let Lookup::Found(issue) = directory.lookup_number(number)
        && !issue.is_pull_request
    {
        let linked = rulebook.check_issue(issue, directory);
        report
            .findings
            .extend(linked.findings.into_iter().map(|mut finding| {
                finding.message = format!("issue #{number}: {}", finding.message);
                finding
            }));
    }
    report
}

/// The report and check run of a pull request; `notice` says why evidence
/// that was due was not gathered.
pub fn pull_request(
    number: u64,
    head_sha: &str,
    branch: &BranchReport,
    rulebook: &Rulebook,
    evidence: Option<&Evidence>,
    config_path: &str,
    notice: Option<&str>,
) -> Plan {
    let rendered = comment::pr_comment(branch, rulebook, evidence);
    let (verdict, reasons) = comment::pr_verdict(branch, rulebook, evidence);
    let conclusion = match verdict.as_str() {
        "GO" => Conclusion::Success,
        "NO-GO" => Conclusion::Failure,
        _ => Conclusion::Neutral,
    };
    let title = match reasons.first() {
        Some(first) if verdict == "NO-GO" => format!("NO-GO: {first}"),
        _ => verdict.clone(),
    };
    let check = CheckRun {
        name: CHECK_NAME.into(),
        head_sha: head_sha.into(),
        conclusion,
        title: title.chars().take(200).collect(),
        summary: reasons.iter().map(|r| format!("- {r}\n")).collect(),
        text: rendered.full.clone(),
        annotations: annotations(branch, evidence, config_path),
    };
    // Why the evidence was not gathered, above the report.
    let (body, summary) = match notice {
        Some(notice) => (
            rendered
                .body
                .replacen(PR_MARKER, &format!("{PR_MARKER}\n> {notice}\n\n"), 1),
            format!("> {notice}\n\n{}", rendered.full),
        ),
        None => (rendered.body, rendered.full),
    };
    Plan {
        effects: vec![
            Effect::UpsertComment {
                issue: number,
                marker: PR_MARKER,
                body,
            },
            Effect::Check(check),
        ],
        summary,
        verdict,
    }
}

/// Annotations for failed data checks, at the dataset file's line where a
/// row is known; branch findings have no line, so they stay in the report.
fn annotations(
    _branch: &BranchReport,
    evidence: Option<&Evidence>,
    _config_path: &str,
) -> Vec<Annotation> {
    let Some(evidence) = evidence else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dataset in &evidence.datasets {
        for check in dataset.checks.iter().filter(|c| !c.passed) {
            out.push(annotation(&dataset.path, check));
        }
    }
    out
}

fn annotation(path: &str, check: &CheckResult) -> Annotation {
    // Data row N is line N + 1 of a CSV with a header (no multi-line fields).
    let line = check.examples.first().map(|e| e.row + 1).unwrap_or(1);
    let column = check
        .column
        .as_deref()
        .map(|c| format!("{c}: "))
        .unwrap_or_default();
    Annotation {
        path: path.to_string(),
        start_line: line,
        end_line: line,
        annotation_level: if check.severity == Severity::Error {
            AnnotationLevel::Failure
        } else {
            AnnotationLevel::Warning
        },
        message: format!("expected {}; {}", check.expected, check.observed),
        title: format!("{column}{}", check.check),
    }
}

/// The sticky comment of an issue: findings, or an all-clear edit of an
/// earlier comment (`had_comment`), or nothing.
pub fn issue(
    issue: &Issue,
    rulebook: &Rulebook,
    directory: &IssueDirectory,
    had_comment: bool,
) -> Plan {
    let report = rulebook.check_issue(issue, directory);
    let number = issue.number.unwrap_or_default();
    let verdict = if report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error)
    {
        "NO-GO"
    } else {
        "GO"
    }
    .to_string();
    let body = match comment::issue_comment(&report) {
        Some(body) => Some(body),
        None if had_comment => Some(format!(
            "{ISSUE_MARKER}\n### ✅ DSLP checks for this issue\n\nEverything DSLP asks of this issue is in place.\n"
        )),
        None => None,
    };
    let summary = body.clone().unwrap_or_else(|| "No DSLP findings.".into());
    Plan {
        effects: body
            .into_iter()
            .map(|body| Effect::UpsertComment {
                issue: number,
                marker: ISSUE_MARKER,
                body,
            })
            .collect(),
        summary,
        verdict,
    }
}
