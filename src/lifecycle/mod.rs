//! The DSLP domain: issue kinds, branch kinds, links and the rules of
//! DSLP.md §8. Everything here is pure: plain structs in, findings out; no
//! GitHub, git, clock or disk.

pub mod ask;
pub mod body;
pub mod branch;
pub mod finding;
pub mod issue;
pub mod issue_rules;
pub mod kinds;
pub mod labels;
pub mod links;
pub mod metric;
pub mod policy;
pub mod pr_rules;
pub mod settings;
pub mod stage;
pub mod stats;
pub mod verdict;

pub use branch::{BranchName, CollaborationBranches, Conventions};
pub use finding::{Finding, RuleId, Severity};
pub use issue::{Issue, IssueDirectory, IssueState};
pub use issue_rules::IssueReport;
pub use kinds::IssueKind;
pub use policy::BranchKind;
pub use pr_rules::{BranchReport, PullRequest};
pub use settings::{RuleLevel, RuleSettings};
pub use verdict::Verdict;

/// The rules as one repository has configured them.
#[derive(Debug, Clone, Default)]
pub struct Rulebook {
    pub conventions: Conventions,
    pub settings: RuleSettings,
}

impl Rulebook {
    pub fn check_issue(&self, issue: &Issue, directory: &IssueDirectory) -> IssueReport {
        let mut report = issue_rules::check_issue(issue, directory);
        report.findings = self.settings.apply(report.findings);
        report
    }

    pub fn check_branch(&self, name: &str, directory: &IssueDirectory) -> BranchReport {
        let mut report = pr_rules::check_branch(name, &self.conventions, directory);
        report.findings = self.settings.apply(report.findings);
        report
    }

    pub fn check_pull_request(&self, pr: &PullRequest, directory: &IssueDirectory) -> BranchReport {
        let mut report = pr_rules::check_pull_request(pr, &self.conventions, directory);
        report.findings = self.settings.apply(report.findings);
        report
    }

    /// Whether a finding on a pull request from `head` fails the check.
    pub fn is_blocking(&self, finding: &Finding, head: &BranchName) -> bool {
        pr_rules::is_blocking(finding, head, &self.conventions)
    }
}
