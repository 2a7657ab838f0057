//! `dslp data test`: the data tests of the datasets in .github/dslp.yml.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Subcommand, ValueEnum};

use super::common::{exit, load_repository};
use super::output;
use crate::data::DatasetReport;
use crate::data::source::Sources;
use crate::evidence::{self, Request};
use crate::lifecycle::Severity;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Run the data tests, profile, leakage and (with --base) drift of every declared dataset.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The repository config; by default .github/dslp.yml of the repository.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The repository root dataset paths are relative to; by default the git
    /// repository around the current directory.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Compare each dataset with the same file at this revision (drift).
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// Only these datasets (repeatable).
    #[arg(long = "dataset", value_name = "NAME")]
    datasets: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    format: DataFormat,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum DataFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

pub fn run(command: DataCommand) -> Result<i32> {
    let DataCommand::Test(args) = command;
    let (root, shown, config) = load_repository(args.root.as_deref(), args.config.as_deref())?;
    if config.datasets.is_empty() {
        bail!("{shown} declares no datasets; add them under `datasets:` (see README, Data tests)");
    }
    for wanted in &args.datasets {
        if !config.datasets.contains_key(wanted) {
            let known: Vec<&str> = config.datasets.keys().map(String::as_str).collect();
            bail!(
                "no dataset `{wanted}` in {shown}; the datasets are {}",
                known.join(", ")
            );
        }
    }
    if let Some(base) = &args.base {
        super::common::known_revision(&root, base)?;
    }
    let reports = evidence::gather(&Request {
        root: &root,
        config: &config,
        base: args.base.as_deref(),
        models: &[],
        datasets: &args.datasets,
        run_data_tests: true,
        run_training: false,
        keep_artifacts: false,
        sources: &Sources::default(),
    })
    .datasets;
    match args.format {
        DataFormat::Json => println!("{}", output::json(&reports)),
        DataFormat::Markdown => println!("{}", crate::report::data_tests_markdown(&reports)),
        DataFormat::Text => print!("{}", text_report(&reports, args.base.as_deref())),
    }
    Ok(if reports.iter().all(DatasetReport::passed) {
        exit::CLEAN
    } else {
        exit::FINDINGS
    })
}

pub(super) fn text_report(reports: &[DatasetReport], base: Option<&str>) -> String {
    let mut out = String::new();
    for report in reports {
        out.push_str(&dataset_line(report));
        for check in &report.checks {
            out.push_str(&check_text(check));
        }
        out.push_str(&drift_text(report, base));
        out.push_str("  profile:\n");
        for p in &report.profile {
            let stats = match (p.min, p.max, p.mean) {
                (Some(min), Some(max), Some(mean)) => format!("min {min} max {max} mean {mean:.4}"),
                _ => {
                    let top: Vec<String> = p
                        .top
                        .iter()
                        .take(3)
                        .map(|(v, n)| format!("{v} ({n})"))
                        .collect();
                    format!("top {}", top.join(", "))
                }
            };
            out.push_str(&format!(
                "    {:<24} {:<8} nulls {:<6} distinct {:<8} {stats}\n",
                p.column, p.dtype, p.nulls, p.distinct
            ));
        }
    }
    out
}

/// A dataset as `check` shows it: its line, the checks that did not pass,
/// and the columns that drifted most.
pub(super) fn folded_report(report: &DatasetReport, base: Option<&str>) -> String {
    let passed = report.checks.iter().filter(|c| c.passed).count();
    let rows = report
        .rows
        .map(|r| format!(", {r} rows"))
        .unwrap_or_default();
    let mut out = format!(
        "data {} ({}{rows}): {passed} check{} passed\n",
        report.name,
        report.path,
        if passed == 1 { "" } else { "s" }
    );
    for check in report.checks.iter().filter(|c| !c.passed) {
        out.push_str(&check_text(check));
    }
    match (&report.drift, &report.drift_note, base) {
        (Some(drifts), _, Some(base)) if !drifts.is_empty() => {
            let mut top: Vec<_> = drifts.iter().collect();
            top.sort_by(|a, b| b.psi.unwrap_or(0.0).total_cmp(&a.psi.unwrap_or(0.0)));
            let shown: Vec<String> = top
                .iter()
                .take(3)
                .map(|d| {
                    let ks = d.ks.map(|k| format!(", KS {k:.3}")).unwrap_or_default();
                    format!("{} PSI {:.3}{ks}", d.column, d.psi.unwrap_or(0.0))
                })
                .collect();
            out.push_str(&format!("  drift versus {base}: {}\n", shown.join("; ")));
        }
        (_, Some(note), _) => out.push_str(&format!("  drift not computed: {note}\n")),
        _ => {}
    }
    out
}

/// A dataset's first line: its verdict and its checks counted.
fn dataset_line(report: &DatasetReport) -> String {
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    let errors = failed
        .iter()
        .filter(|c| c.severity == Severity::Error)
        .count();
    let warnings = failed.len() - errors;
    let rows = report
        .rows
        .map(|r| format!(", {r} rows"))
        .unwrap_or_default();
    let verdict = if report.passed() { "passed" } else { "FAILED" };
    format!(
        "dataset {} ({}{rows}): {verdict}, {} checks, {errors} failed, {warnings} warning{}\n",
        report.name,
        report.path,
        report.checks.len(),
        if warnings == 1 { "" } else { "s" }
    )
}

/// One check, with the rows that broke it.
fn check_text(check: &crate::data::CheckResult) -> String {
    let mark = match (check.passed, check.severity) {
        (true, _) => "ok     ",
        (false, Severity::Error) => "FAILED ",
        (false, Severity::Warning) => "warning",
    };
    let column = check
        .column
        .as_deref()
        .map(|c| format!("{c}: "))
        .unwrap_or_default();
    let mut out = format!(
        "  {mark} {column}{} — expected {}; {}\n",
        check.check, check.expected, check.observed
    );
    if !check.examples.is_empty() {
        let examples: Vec<String> = check
            .examples
            .iter()
            .map(|e| format!("row {}: {}", e.row, e.value))
            .collect();
        out.push_str(&format!("          {}\n", examples.join("; ")));
    }
    out
}

/// The drift of each column against the base, or why there is none.
fn drift_text(report: &DatasetReport, base: Option<&str>) -> String {
    match (&report.drift, &report.drift_note, base) {
        (Some(drifts), _, Some(base)) if !drifts.is_empty() => {
            let mut out = format!("  drift versus {base}:\n");
            for drift in drifts {
                let ks = drift.ks.map(|k| format!("  KS {k:.4}")).unwrap_or_default();
                let psi = drift.psi.map(|p| format!("PSI {p:.4}")).unwrap_or_default();
                let new = if drift.new_categories.is_empty() {
                    String::new()
                } else {
                    format!("  new: {}", drift.new_categories.join(", "))
                };
                out.push_str(&format!("    {:<24} {psi}{ks}{new}\n", drift.column));
            }
            out
        }
        (_, Some(note), _) => format!("  drift not computed: {note}\n"),
        _ => String::new(),
    }
}
