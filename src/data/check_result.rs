//! The outcome of one data check: what was expected, what was seen, and
//! the rows that broke it.

use serde::{Deserialize, Serialize};

use super::source::DataError;
use crate::lifecycle::Severity;

/// One row that broke a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// 1-based data row (the header is not counted).
    pub row: u64,
    pub value: String,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// What was checked: `type`, `range`, `rows`, `drift PSI`, ….
    pub check: String,
    /// The column, or `None` for a table-level check.
    pub column: Option<String>,
    pub expected: String,
    pub passed: bool,
    /// How much a failure matters.
    pub severity: Severity,
    pub observed: String,
    pub offending_rows: u64,
    /// Up to five offending rows.
    pub examples: Vec<Example>,
}

impl CheckResult {
    /// A passed error-level check with nothing observed yet; callers fill in
    /// what they found.
    pub fn new(check: &str, column: Option<&str>, expected: impl Into<String>) -> CheckResult {
        CheckResult {
            check: check.into(),
            column: column.map(str::to_string),
            expected: expected.into(),
            passed: true,
            severity: Severity::Error,
            observed: String::new(),
            offending_rows: 0,
            examples: Vec::new(),
        }
    }

    pub(super) fn table(
        check: &str,
        expected: &str,
        passed: bool,
        observed: String,
    ) -> CheckResult {
        CheckResult {
            passed,
            observed,
            ..CheckResult::new(check, None, expected)
        }
    }

    pub(super) fn unreadable(error: &DataError, what: &str) -> CheckResult {
        CheckResult {
            passed: false,
            observed: error.to_string(),
            ..CheckResult::new("readable", None, format!("the {what} can be read"))
        }
    }

    /// A failed check at error level.
    pub fn blocks(&self) -> bool {
        !self.passed && self.severity == Severity::Error
    }
}
