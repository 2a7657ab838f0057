//! `dslp lint issue | issues | branch | config`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use super::common::{RepoArgs, exit, load_rulebook, read_input};
use super::issues_file::{parse_export, parse_issue};
use super::output::{self, Format};
use crate::config::{self, RepoConfig};
use crate::lifecycle::finding::has_errors;
use crate::lifecycle::{
    BranchReport, Finding, Issue, IssueDirectory, IssueReport, IssueState, PullRequest, Rulebook,
};

#[derive(Debug, Subcommand)]
pub enum LintCommand {
    /// Check one issue: a markdown body, or GitHub issue JSON; `-` reads standard input.
    Issue {
        file: PathBuf,
        /// The issue title (JSON input carries its own).
        #[arg(long)]
        title: Option<String>,
        /// The issue's labels, comma-separated (JSON input carries its own).
        #[arg(long, value_delimiter = ',')]
        labels: Option<Vec<String>>,
        /// Whether the issue is open or closed.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// The issue number.
        #[arg(long)]
        number: Option<u64>,
        #[command(flatten)]
        repo: RepoArgs,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Check every issue of a JSON export against DSLP, links resolved within the export.
    Issues {
        /// `gh issue list --state all --limit 1000 --json number,title,body,labels,state > issues.json`
        file: PathBuf,
        /// The repository config; by default .github/dslp.yml in the current directory, if present.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// The repository as owner/name, to tell its own links from other repositories'.
        #[arg(long, value_name = "OWNER/NAME", value_parser = super::common::parse_repo)]
        repo: Option<crate::lifecycle::links::RepoName>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Check a branch name, and with --base the pull request it would open.
    Branch {
        name: String,
        /// The pull request's base branch.
        #[arg(long)]
        base: Option<String>,
        #[command(flatten)]
        repo: RepoArgs,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Check .github/dslp.yml (or PATH): unknown keys and bad values, with line and column.
    Config {
        path: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StateArg {
    Open,
    Closed,
}

pub fn run(command: LintCommand) -> Result<i32> {
    match command {
        LintCommand::Issue {
            file,
            title,
            labels,
            state,
            number,
            repo,
            format,
        } => {
            let text = read_input(&file)?;
            let (mut issue, _) = parse_issue(&text, &file.display().to_string())?;
            if let Some(title) = title {
                issue.title = title;
            }
            if let Some(labels) = labels {
                issue.labels = labels
                    .into_iter()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect();
            }
            if let Some(state) = state {
                issue.state = match state {
                    StateArg::Open => IssueState::Open,
                    StateArg::Closed => IssueState::Closed,
                };
            }
            if number.is_some() {
                issue.number = number;
            }
            lint_issue(issue, &repo, format)
        }
        LintCommand::Issues {
            file,
            config,
            repo,
            format,
        } => lint_issues(&file, config.as_deref(), repo, format),
        LintCommand::Branch {
            name,
            base,
            repo,
            format,
        } => lint_branch(name, base, &repo, format),
        LintCommand::Config { path, format } => lint_config(path.as_deref(), format),
    }
}

fn lint_issue(issue: Issue, repo: &RepoArgs, format: Format) -> Result<i32> {
    let rulebook = load_rulebook(repo.config.as_deref())?;
    let directory = directory(repo)?;
    let report = rulebook.check_issue(&issue, &directory);
    print_issue_reports(&[(issue, report.clone())], format);
    Ok(code(&report.findings))
}

fn lint_issues(
    file: &std::path::Path,
    config: Option<&std::path::Path>,
    repo: Option<crate::lifecycle::links::RepoName>,
    format: Format,
) -> Result<i32> {
    let issues = parse_export(&read_input(file)?, &file.display().to_string())?;
    let rulebook = load_rulebook(config)?;
    let directory = IssueDirectory::complete(repo, issues.clone());
    let reports: Vec<(Issue, IssueReport)> = issues
        .into_iter()
        .filter(|issue| !issue.is_pull_request)
        .map(|issue| {
            let report = rulebook.check_issue(&issue, &directory);
            (issue, report)
        })
        .collect();
    print_issue_reports(&reports, format);
    let all: Vec<Finding> = reports
        .iter()
        .flat_map(|(_, r)| r.findings.clone())
        .collect();
    Ok(code(&all))
}

fn lint_branch(name: String, base: Option<String>, repo: &RepoArgs, format: Format) -> Result<i32> {
    let rulebook = load_rulebook(repo.config.as_deref())?;
    let directory = directory(repo)?;
    let report = match base {
        Some(base) => rulebook.check_pull_request(
            &PullRequest {
                head: name,
                base,
                ..PullRequest::default()
            },
            &directory,
        ),
        None => rulebook.check_branch(&name, &directory),
    };
    print_branch_report(&report, &rulebook, format);
    Ok(code(&report.findings))
}

fn code(findings: &[Finding]) -> i32 {
    if has_errors(findings) {
        exit::FINDINGS
    } else {
        exit::CLEAN
    }
}

fn directory(repo: &RepoArgs) -> Result<IssueDirectory> {
    Ok(match &repo.issues {
        Some(path) => IssueDirectory::complete(
            repo.repo.clone(),
            parse_export(&read_input(path)?, &path.display().to_string())?,
        ),
        None => IssueDirectory::partial(repo.repo.clone(), []),
    })
}

#[derive(Serialize)]
struct IssueJsonReport<'a> {
    number: Option<u64>,
    title: &'a str,
    kind: Option<String>,
    suggested_label: Option<&'static str>,
    findings: &'a [Finding],
}

fn print_issue_reports(reports: &[(Issue, IssueReport)], format: Format) {
    match format {
        Format::Json => {
            let items: Vec<IssueJsonReport> = reports
                .iter()
                .map(|(issue, report)| IssueJsonReport {
                    number: issue.number,
                    title: &issue.title,
                    kind: report.classification.map(|c| c.kind.to_string()),
                    suggested_label: report.suggested_label(),
                    findings: &report.findings,
                })
                .collect();
            if items.len() == 1 {
                println!("{}", output::json(&items[0]));
            } else {
                println!("{}", output::json(&items));
            }
        }
        Format::Text => {
            let mut text = String::new();
            let single = reports.len() == 1;
            for (issue, report) in reports {
                if !single && report.findings.is_empty() {
                    continue;
                }
                let name = match issue.number {
                    Some(n) => format!("#{n}"),
                    None => "issue".to_string(),
                };
                let kind = match report.classification {
                    Some(c) if c.from_label => format!("{} ({})", c.kind, c.template.name),
                    Some(c) => format!(
                        "{} by its headings; suggested label `{}`",
                        c.template.name,
                        c.kind.label()
                    ),
                    None => "not a DSLP issue".to_string(),
                };
                let title = if issue.title.is_empty() {
                    String::new()
                } else {
                    format!(" {:?}", issue.title)
                };
                text.push_str(&format!("{name}{title}: {kind}\n"));
                output::findings_text(&report.findings, &mut text);
            }
            let all: Vec<Finding> = reports
                .iter()
                .flat_map(|(_, r)| r.findings.clone())
                .collect();
            if !single {
                let n = reports.len();
                text.push_str(&format!(
                    "{n} issue{} checked; ",
                    if n == 1 { "" } else { "s" }
                ));
            }
            text.push_str(&output::summary(&all));
            println!("{text}");
        }
    }
}

fn print_branch_report(report: &BranchReport, rulebook: &Rulebook, format: Format) {
    match format {
        Format::Json => {
            let findings: Vec<serde_json::Value> = report
                .findings
                .iter()
                .map(|f| {
                    let mut value = serde_json::to_value(f).unwrap_or_default();
                    value["blocking"] = rulebook.is_blocking(f, &report.head).into();
                    value
                })
                .collect();
            println!(
                "{}",
                output::json(&serde_json::json!({
                    "head": report.head,
                    "base": report.base,
                    "findings": findings,
                }))
            );
        }
        Format::Text => {
            let mut text = String::new();
            let kind = match (report.head.kind, report.head.number) {
                (Some(kind), Some(n)) => format!("{kind} branch of issue #{n}"),
                (Some(kind), None) => format!("{kind} branch"),
                (None, _) => "no DSLP branch kind".to_string(),
            };
            text.push_str(&format!("{}: {kind}", report.head.name));
            if let Some(base) = &report.base {
                text.push_str(&format!(", pull request into `{}`", base.name));
            }
            text.push('\n');
            output::findings_text(&report.findings, &mut text);
            text.push_str(&output::summary(&report.findings));
            println!("{text}");
        }
    }
}

fn lint_config(path: Option<&Path>, format: Format) -> Result<i32> {
    let path = path.unwrap_or(Path::new(config::CONFIG_PATH));
    let text = read_input(path)
        .map_err(|e| anyhow::anyhow!("{e:#}; `dslp init` writes a commented .github/dslp.yml"))?;
    let shown = path.display().to_string();
    let result = RepoConfig::parse(&text, &shown).and_then(|c| c.rulebook(&shown).map(|_| c));
    match (result, format) {
        (Ok(_), Format::Text) => {
            println!("{shown}: valid");
            Ok(exit::CLEAN)
        }
        (Ok(_), Format::Json) => {
            println!(
                "{}",
                output::json(&serde_json::json!({"file": shown, "valid": true, "errors": []}))
            );
            Ok(exit::CLEAN)
        }
        (Err(error), Format::Text) => {
            eprintln!("{error}");
            Ok(exit::USAGE)
        }
        (Err(error), Format::Json) => {
            println!(
                "{}",
                output::json(&serde_json::json!({
                    "file": shown,
                    "valid": false,
                    "errors": [{"line": error.line, "column": error.column, "message": error.message}],
                }))
            );
            Ok(exit::USAGE)
        }
    }
}
