//! The engine: from an event and what we know of the repository to a plan
//! of effects. Pure: the shell gathers the facts and carries the plan out.

use crate::data::CheckResult;
use crate::evidence::Evidence;
use crate::github::{Annotation, AnnotationLevel, CheckRun, Conclusion};
use crate::lifecycle::ask::AskLeader;
use crate::lifecycle::issue::Lookup;
use crate::lifecycle::{
    BranchReport, Issue, IssueDirectory, PullRequest, Rulebook, Severity, Verdict,
};
use crate::report::comment::{self, ISSUE_MARKER, PR_MARKER};
use crate::report::history::{self, HistoryRow};
use crate::report::ledger::LedgerRecord;

pub mod effect;
pub mod notices;
pub mod trust;

pub use effect::{Effect, Plan, ReleasePlan};

/// The name of dslp-bot's check run.
pub const CHECK_NAME: &str = "dslp";

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

/// Where a pull request's evidence stands.
#[derive(Debug, Clone, Copy)]
pub enum EvidenceState<'a> {
    /// The branch kind gathers none, or the pull request is closed.
    NotDue,
    Gathered(&'a Evidence),
    /// A fork waiting for a maintainer's approval; says so.
    Waiting(&'a str),
    /// Due, and not gathered: a fork over its limits, or a limit hit while
    /// gathering; says which, and what raises it.
    Failed(&'a str),
}

impl<'a> EvidenceState<'a> {
    fn evidence(self) -> Option<&'a Evidence> {
        match self {
            EvidenceState::Gathered(evidence) => Some(evidence),
            _ => None,
        }
    }

    /// What to say above the report, if anything.
    fn notice(self) -> Option<&'a str> {
        match self {
            EvidenceState::Waiting(notice) | EvidenceState::Failed(notice) => Some(notice),
            _ => None,
        }
    }
}

/// The pull request's verdict: NO-GO when a branch rule blocks it (with
/// the evidence's own reasons when it fails too), else the evidence's;
/// NEUTRAL when nothing was there to judge.
pub fn pull_request_verdict(
    branch: &BranchReport,
    rulebook: &Rulebook,
    state: EvidenceState<'_>,
) -> (Verdict, Vec<String>) {
    let blocking: Vec<String> = branch
        .findings
        .iter()
        .filter(|f| rulebook.is_blocking(f, &branch.head))
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect();
    let (verdict, reasons) = match state {
        EvidenceState::Gathered(e) => (e.verdict, e.reasons.clone()),
        EvidenceState::Failed(why) => (Verdict::NoGo, vec![why.to_string()]),
        EvidenceState::Waiting(why) => (Verdict::Neutral, vec![why.to_string()]),
        EvidenceState::NotDue => (
            Verdict::Neutral,
            vec!["no evidence runs for this branch kind".into()],
        ),
    };
    if blocking.is_empty() {
        return (verdict, reasons);
    }
    let mut all = blocking;
    if verdict == Verdict::NoGo {
        all.extend(reasons);
    }
    (Verdict::NoGo, all)
}

/// The pull request's report, its verdict decided here.
pub fn pull_request_report(
    branch: &BranchReport,
    rulebook: &Rulebook,
    state: EvidenceState<'_>,
) -> comment::Rendered {
    let (verdict, reasons) = pull_request_verdict(branch, rulebook, state);
    comment::pr_comment(branch, rulebook, state.evidence(), verdict, &reasons)
}

/// The report and check run of a pull request.
pub fn pull_request(
    number: u64,
    head_sha: &str,
    branch: &BranchReport,
    rulebook: &Rulebook,
    state: EvidenceState<'_>,
    earlier: Vec<HistoryRow>,
    leader: Option<&AskLeader>,
) -> Plan {
    let evidence = state.evidence();
    let (verdict, reasons) = pull_request_verdict(branch, rulebook, state);
    let mut rendered = comment::pr_comment(branch, rulebook, evidence, verdict, &reasons);
    if let Some(line) = leader.map(|l| leader_line(l, branch.head.number, evidence)) {
        rendered.body.push_str(&line);
        rendered.full.push_str(&line);
    }
    // The pushes so far, this one last, folded at the end of the comment.
    let rows = history::with(earlier, HistoryRow::of(head_sha, verdict, evidence));
    let table = history::markdown(&rows);
    if rendered.body.chars().count() + table.chars().count() < comment::COMMENT_LIMIT {
        rendered.body.push_str(&format!("\n{table}"));
    }
    rendered.full.push_str(&format!("\n{table}"));
    let conclusion = match verdict {
        Verdict::Go => Conclusion::Success,
        Verdict::NoGo => Conclusion::Failure,
        Verdict::Neutral => Conclusion::Neutral,
    };
    let title = match reasons.first() {
        Some(first) if verdict == Verdict::NoGo => format!("{verdict}: {first}"),
        _ => verdict.to_string(),
    };
    let check = CheckRun {
        name: CHECK_NAME.into(),
        head_sha: head_sha.into(),
        conclusion,
        title: title.chars().take(200).collect(),
        summary: reasons.iter().map(|r| format!("- {r}\n")).collect(),
        // The evaluation for the App's ledger, when the Action ran it:
        // first, where a cut to GitHub's length limit cannot reach it.
        text: match evidence {
            Some(evidence) => format!(
                "{}{}",
                LedgerRecord::of(verdict, evidence).marker(),
                rendered.full
            ),
            None => rendered.full.clone(),
        },
        annotations: annotations(evidence),
    };
    // Why the evidence was not gathered, above the report.
    let (body, summary) = match state.notice() {
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

/// The branch against its Ask's leading experiment (as `dvc exp diff`
/// against the best run): the leader's metric and parameters, and this
/// branch's value of the same metric.
fn leader_line(leader: &AskLeader, experiment: Option<u64>, evidence: Option<&Evidence>) -> String {
    let format = crate::lifecycle::metric::format_metric;
    if experiment == Some(leader.experiment) {
        return format!(
            "\n**This experiment leads Ask #{}** ({} {}).\n",
            leader.ask,
            leader.metric,
            format(leader.value)
        );
    }
    let mine = evidence
        .into_iter()
        .flat_map(|e| &e.models)
        .find_map(|m| m.metrics()?.get(&leader.metric).copied())
        .map_or("not measured".to_string(), format);
    let params = match leader.params.is_empty() {
        true => String::new(),
        false => format!(", parameters `{}`", leader.params),
    };
    format!(
        "\n**Against Ask #{}'s leader**, Experiment #{} {}: {} {}{params}. This branch: {} {mine}.\n",
        leader.ask,
        leader.experiment,
        leader.title.trim(),
        leader.metric,
        format(leader.value),
        leader.metric
    )
}

/// Annotations for failed data checks, at the dataset file's line where a
/// row is known; branch findings have no line, so they stay in the report.
fn annotations(evidence: Option<&Evidence>) -> Vec<Annotation> {
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
        Verdict::NoGo
    } else {
        Verdict::Go
    };
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
