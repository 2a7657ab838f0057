//! Human and JSON output for the CLI.

use std::fmt::Write as _;

use clap::ValueEnum;

use crate::lifecycle::{Finding, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Findings as indented text lines, errors first.
pub fn findings_text(findings: &[Finding], out: &mut String) {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.rule));
    for finding in sorted {
        let _ = writeln!(
            out,
            "  {:<7} {:<4} {}",
            finding.severity, finding.rule, finding.message
        );
        let _ = writeln!(out, "               fix: {}", finding.fix);
    }
}

/// "2 findings: 1 error, 1 warning" or "no findings".
pub fn summary(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".into();
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}: {}, {}",
        plural(findings.len(), "finding"),
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

pub fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
