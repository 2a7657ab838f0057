//! `dslp check`: the checked-out branch judged as its pull request would
//! be — the branch rules, the data tests, the models against the base —
//! with the verdict and its reasons first and the next step last.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::common::{current_branch, known_revision, read_input};
use super::data::{DataFormat, folded_report, text_report};
use super::issues_file::parse_export;
use super::model::{CommonArgs, code, load, model_text, write_artifacts};
use super::output;
use crate::config::{self, RepoConfig};
use crate::data::source::Sources;
use crate::engine::{self, EvidenceState};
use crate::evidence::{self, Evidence, Request};
use crate::lifecycle::{BranchReport, IssueDirectory, PullRequest, Rulebook, Severity, Verdict};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The base revision; by default the collaboration branch.
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// The branch whose policy applies; by default the checked-out branch.
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// A JSON export of the repository's issues, so the branch's issue is
    /// checked too (`gh issue list --state all --json number,title,body,labels,state`).
    #[arg(long, value_name = "FILE")]
    issues: Option<PathBuf>,
    /// List every check and gate, the passing ones too, and the profile.
    #[arg(long, short)]
    verbose: bool,
    /// No progress on standard error.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    common: CommonArgs,
}

/// A branch, judged.
pub(super) struct Checked {
    pub branch: String,
    pub base: Option<String>,
    pub report: BranchReport,
    pub rulebook: Rulebook,
    /// Its verdict and reasons are the whole check's: branch rules and evidence.
    pub evidence: Evidence,
}

pub fn check(args: CheckArgs) -> Result<i32> {
    crate::progress::enable(!args.quiet);
    let (root, config) = load(&args.common)?;
    let branch = match args.branch {
        Some(branch) => branch,
        None => current_branch(&root)?,
    };
    if let Some(base) = &args.base {
        known_revision(&root, base)?;
    }
    let directory = match &args.issues {
        Some(path) => {
            let issues = parse_export(&read_input(path)?, &path.display().to_string())?;
            IssueDirectory::complete(None, issues)
        }
        None => IssueDirectory::partial(None, []),
    };
    let keep = args.common.output.is_some();
    let mut checked = judge(&root, &config, branch, args.base, &directory, keep)?;
    checked.evidence = write_artifacts(checked.evidence, args.common.output.as_deref());
    print(&checked, args.common.format, args.verbose);
    Ok(code(checked.evidence.verdict))
}

/// Judges `branch` of the repository at `root` against `base` (by
/// default its collaboration branch), as its pull request would be.
pub(super) fn judge(
    root: &Path,
    config: &RepoConfig,
    branch: String,
    base: Option<String>,
    directory: &IssueDirectory,
    keep_artifacts: bool,
) -> Result<Checked> {
    let rulebook = config.rulebook(config::CONFIG_PATH)?;
    let base = base.or_else(|| default_base(root, &rulebook, &branch));
    let report = match &base {
        Some(base) => {
            let pr = PullRequest {
                head: branch.clone(),
                base: base.clone(),
                ..PullRequest::default()
            };
            engine::pull_request_rules(&pr, &rulebook, directory)
        }
        None => rulebook.check_branch(&branch, directory),
    };
    let kind = report
        .head
        .kind
        .map(|k| rulebook.conventions.policies.get(k).policy.evidence)
        .unwrap_or_default();
    let mut evidence = evidence::gather(&Request {
        root,
        config,
        base: base.as_deref(),
        models: &[],
        datasets: &[],
        run_data_tests: kind.data_tests,
        run_training: kind.training,
        keep_artifacts,
        sources: &Sources::default(),
    });
    let state = match kind.data_tests || kind.training {
        true => EvidenceState::Gathered(&evidence),
        false => EvidenceState::NotDue,
    };
    let (verdict, reasons) = engine::pull_request_verdict(&report, &rulebook, state);
    evidence.verdict = verdict;
    evidence.reasons = reasons;
    Ok(Checked {
        branch,
        base,
        report,
        rulebook,
        evidence,
    })
}

/// The first collaboration branch that exists, unless we are on it.
fn default_base(root: &Path, rulebook: &Rulebook, branch: &str) -> Option<String> {
    if rulebook.conventions.branches.is_collaboration(branch) {
        return None;
    }
    let repo = git2::Repository::discover(root).ok()?;
    rulebook
        .conventions
        .branches
        .main
        .iter()
        .find(|name| repo.revparse_single(name).is_ok())
        .cloned()
}

fn print(checked: &Checked, format: DataFormat, verbose: bool) {
    match format {
        DataFormat::Json => {
            let json = serde_json::json!({
                "branch": checked.branch,
                "base": checked.base,
                "findings": checked.report.findings,
            });
            let mut value = serde_json::to_value(&checked.evidence).unwrap_or_default();
            if let (Some(all), Some(extra)) = (value.as_object_mut(), json.as_object()) {
                all.extend(extra.clone());
            }
            println!("{}", output::json(&value));
        }
        DataFormat::Markdown => {
            let state = EvidenceState::Gathered(&checked.evidence);
            let rendered = engine::pull_request_report(&checked.report, &checked.rulebook, state);
            println!("{}", rendered.body);
        }
        DataFormat::Text => print!("{}", text(checked, verbose)),
    }
}

/// The verdict and its reasons first, then the branch, the data and the
/// models (what passed folded into a count), then the next step.
pub(super) fn text(checked: &Checked, verbose: bool) -> String {
    let evidence = &checked.evidence;
    let head = &checked.report.head;
    let kind = match (head.kind, head.number) {
        (Some(kind), Some(n)) => format!("{kind} branch of #{n}"),
        (Some(kind), None) => format!("{kind} branch"),
        _ => "a branch of no DSLP kind".into(),
    };
    let into = checked
        .base
        .as_deref()
        .map(|b| format!(" into `{b}`"))
        .unwrap_or_default();
    let mut out = format!(
        "{}: `{}` ({kind}){into}\n",
        evidence.verdict, checked.branch
    );
    for reason in &evidence.reasons {
        out.push_str(&format!("  - {reason}\n"));
    }
    out.push('\n');
    out.push_str(&branch_text(&checked.report));
    for dataset in &evidence.datasets {
        out.push('\n');
        match verbose {
            true => out.push_str(&text_report(
                std::slice::from_ref(dataset),
                checked.base.as_deref(),
            )),
            false => out.push_str(&folded_report(dataset, checked.base.as_deref())),
        }
    }
    for model in &evidence.models {
        out.push('\n');
        out.push_str(&model_text(model, verbose));
    }
    out.push_str(&format!("\nnext: {}\n", next_step(checked)));
    out.push_str(&format!(
        "stamp: head {}, base {}\n",
        evidence.head_commit.as_deref().unwrap_or("unknown"),
        evidence.base_commit.as_deref().unwrap_or("none")
    ));
    out
}

fn branch_text(report: &BranchReport) -> String {
    if report.findings.is_empty() {
        return "branch and pull request: no findings\n".into();
    }
    let mut out = String::from("branch and pull request:\n");
    for finding in &report.findings {
        let mark = match finding.severity {
            Severity::Error => "error  ",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "  {mark} {}: {}\n          fix: {}\n",
            finding.rule, finding.message, finding.fix
        ));
    }
    out
}

/// What to do now, in one line.
fn next_step(checked: &Checked) -> String {
    let blocking = checked
        .report
        .findings
        .iter()
        .find(|f| checked.rulebook.is_blocking(f, &checked.report.head));
    if let Some(finding) = blocking {
        return format!("{} ({})", finding.fix, finding.rule);
    }
    let evidence = &checked.evidence;
    match evidence.verdict {
        Verdict::NoGo => {
            "fix what failed above and push again; the pull request's check runs on every push"
                .into()
        }
        Verdict::Neutral => evidence
            .reasons
            .first()
            .cloned()
            .unwrap_or_else(|| "nothing to judge here".into()),
        Verdict::Go => match &checked.base {
            Some(base) => {
                format!("push and open the pull request into `{base}`; its check will say the same")
            }
            None => "nothing to do: this is a collaboration branch".into(),
        },
    }
}
