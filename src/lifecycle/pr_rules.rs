//! Branch and pull-request rules, DSLP.md §8.4 and §8.5: R30–R33, R40, R42,
//! R43, R47–R49.

use serde::Serialize;

use super::body::{IssueBody, task_items};
use super::branch::{BranchName, Conventions};
use super::finding::{Finding, RuleId, Severity};
use super::issue::{Issue, IssueDirectory, IssueState, Lookup};
use super::kinds::{BASED_ON_EXPERIMENT, IssueKind, RELATED_PR};
use super::labels::{self, has};
use super::links::find_refs;
use super::policy::{BranchKind, MergePolicy};

/// What is known about a pull request. Every `Option` is a fact the caller
/// may not have; an unknown fact is never held against the pull request.
#[derive(Debug, Clone, Default)]
pub struct PullRequest {
    pub number: Option<u64>,
    pub head: String,
    pub base: String,
    /// The description; `None` when not known (a bare branch check).
    pub body: Option<String>,
    pub labels: Vec<String>,
    pub state: IssueState,
    pub merged: bool,
    /// Paths the pull request adds or changes.
    pub changed_files: Option<Vec<String>>,
    /// Every path in the head revision.
    pub repo_files: Option<Vec<String>>,
    pub approvals: Option<u32>,
    pub mergeable: Option<bool>,
    /// Whether the collaboration branch's head is an ancestor of the PR head.
    pub main_merged_in: Option<bool>,
    /// Whether the branch was cut from the collaboration branch.
    pub cut_from_main: Option<bool>,
    pub data_tests_passed: Option<bool>,
    pub training_ran: Option<bool>,
    pub metrics_meet_targets: Option<bool>,
}

/// The verdict of the branch rules on one branch or pull request.
#[derive(Debug, Clone, Serialize)]
pub struct BranchReport {
    pub head: BranchName,
    pub base: Option<BranchName>,
    pub findings: Vec<Finding>,
}

/// R30 and R31 for a branch on its own (a push or a new ref).
pub fn check_branch(
    name: &str,
    conventions: &Conventions,
    directory: &IssueDirectory,
) -> BranchReport {
    let head = conventions.classify(name);
    let mut findings = Vec::new();
    check_name(&head, conventions, &mut findings);
    check_branch_issue(&head, conventions, directory, &mut findings);
    BranchReport {
        head,
        base: None,
        findings,
    }
}

/// Every branch and pull-request rule for a pull request.
pub fn check_pull_request(
    pr: &PullRequest,
    conventions: &Conventions,
    directory: &IssueDirectory,
) -> BranchReport {
    let mut report = check_branch(&pr.head, conventions, directory);
    let base = conventions.classify(&pr.base);
    let head = &report.head;
    let findings = &mut report.findings;
    let head_issue = head.number.and_then(|n| match directory.lookup_number(n) {
        Lookup::Found(issue) => Some(issue),
        _ => None,
    });
    if let Some(kind) = head.kind {
        check_links_issue(pr, head, head_issue, directory, findings);
        let ctx = PrCtx {
            pr,
            head,
            base: &base,
            head_issue,
            conventions,
            directory,
        };
        match kind {
            BranchKind::Explore => check_explore(&ctx, findings),
            BranchKind::Experiment => check_experiment(&ctx, findings),
            BranchKind::Data => check_data(&ctx, findings),
            BranchKind::Model => check_model(&ctx, findings),
            BranchKind::Feature => check_feature(&ctx, findings),
            BranchKind::Collaboration => {}
        }
    }
    report.base = Some(base);
    report
}

/// True when a finding stops the pull request: an error from a rule the
/// head's branch policy lists as blocking.
pub fn is_blocking(finding: &Finding, head: &BranchName, conventions: &Conventions) -> bool {
    finding.severity == Severity::Error
        && head.kind.is_some_and(|kind| {
            conventions
                .policies
                .get(kind)
                .policy
                .blocking
                .contains(&finding.rule)
        })
}

struct PrCtx<'a> {
    pr: &'a PullRequest,
    head: &'a BranchName,
    base: &'a BranchName,
    head_issue: Option<&'a Issue>,
    conventions: &'a Conventions,
    directory: &'a IssueDirectory,
}

/// R30: the name follows a DSLP pattern or is a collaboration branch.
fn check_name(head: &BranchName, conventions: &Conventions, out: &mut Vec<Finding>) {
    if head.kind.is_some() {
        return;
    }
    let hint = ["data", "explore", "experiment", "model"]
        .into_iter()
        .find(|prefix| head.name.to_lowercase().starts_with(&format!("{prefix}/")))
        .map(|prefix| format!("rename it `{prefix}/N-short-description`, N being its {} issue", capitalise(prefix)))
        .unwrap_or_else(|| {
            format!(
                "name it `data/N-…`, `explore/N-…`, `experiment/N-…`, `model/N-…` or `N-…` after its issue; collaboration branches are {}",
                conventions.describe_bases(&[super::policy::BaseTarget::Collaboration])
            )
        });
    out.push(Finding::warning(
        RuleId::R30,
        format!("branch `{}` follows no DSLP naming pattern", head.name),
        hint,
    ));
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// R31: `data/N-*`, `explore/N-*`, `experiment/N-*`, `model/N-*` name an
/// open issue of the matching type.
fn check_branch_issue(
    head: &BranchName,
    conventions: &Conventions,
    directory: &IssueDirectory,
    out: &mut Vec<Finding>,
) {
    let (Some(kind), Some(number)) = (head.kind, head.number) else {
        return;
    };
    let Some(wanted) = conventions.policies.get(kind).policy.issue_kind else {
        return;
    };
    match directory.lookup_number(number) {
        Lookup::Unknown => {}
        Lookup::Missing => out.push(Finding::error(
            RuleId::R31,
            format!(
                "branch `{}` names issue #{number}, which does not exist",
                head.name
            ),
            format!("open the {wanted} issue first and use its number in the branch name"),
        )),
        Lookup::Found(issue) if issue.is_pull_request => out.push(Finding::error(
            RuleId::R31,
            format!(
                "branch `{}` names #{number}, which is a pull request",
                head.name
            ),
            format!("use the number of its {wanted} issue"),
        )),
        Lookup::Found(issue) => {
            if !IssueKind::all_from_labels(&issue.labels).contains(&wanted) {
                out.push(Finding::error(
                    RuleId::R31,
                    format!(
                        "issue #{number} is not labelled `{}`, but `{}` is {kind} work",
                        wanted.label(),
                        head.name
                    ),
                    format!(
                        "label #{number} `{}`, or rename the branch after the right issue",
                        wanted.label()
                    ),
                ));
            }
            if issue.state == IssueState::Closed {
                out.push(Finding::error(
                    RuleId::R31,
                    format!("issue #{number} of branch `{}` is closed", head.name),
                    format!("reopen #{number}, or open a new {wanted} issue for this work"),
                ));
            }
        }
    }
}

/// R32: the pull request links its issue, and an Experiment's Related PR
/// points back.
fn check_links_issue(
    pr: &PullRequest,
    head: &BranchName,
    issue: Option<&Issue>,
    directory: &IssueDirectory,
    out: &mut Vec<Finding>,
) {
    let Some(number) = head.number else {
        return;
    };
    let repo = directory.repo.as_ref();
    let linked = |body: &str| {
        find_refs(body)
            .iter()
            .any(|r| r.number_in(repo) == Some(number))
    };
    if pr.body.as_deref().is_some_and(|body| !linked(body)) {
        out.push(Finding::warning(
            RuleId::R32,
            format!("the pull request does not link its issue #{number}"),
            format!("mention #{number} in the description (for example `Part of #{number}`)"),
        ));
    }
    let (Some(issue), Some(pr_number)) = (issue, pr.number) else {
        return;
    };
    if head.kind == Some(BranchKind::Experiment) {
        let related = IssueBody::parse(&issue.body)
            .field(RELATED_PR)
            .unwrap_or_default();
        if !find_refs(&related).iter().any(|r| r.number == pr_number) {
            out.push(Finding::warning(
                RuleId::R32,
                format!("Experiment #{number} does not name this pull request under Related PR"),
                format!("set `***Related PR:*** #{pr_number}` in #{number}"),
            ));
        }
    }
}

/// R33 and R40: explore work is labelled and never merged.
fn check_explore(ctx: &PrCtx<'_>, out: &mut Vec<Finding>) {
    if !has(&ctx.pr.labels, labels::EXPLORE) {
        out.push(Finding::warning(
            RuleId::R33,
            "the explore pull request lacks the `Explore` label",
            "add the `Explore` label so the work can be found later",
        ));
    }
    let policy = &ctx.conventions.policies.get(BranchKind::Explore).policy;
    if ctx.pr.merged {
        out.push(Finding::error(
            RuleId::R40,
            "this explore pull request was merged; explore work is never merged",
            "revert the merge on the collaboration branch and move anything reusable to a feature branch",
        ));
    } else if policy.merge == MergePolicy::Never && ctx.pr.state == IssueState::Open {
        out.push(Finding::error(
            RuleId::R40,
            "explore branches are never merged",
            "put the TLDR in the Explore issue, then close this pull request unmerged",
        ));
    }
}

/// R42 and R43: an experiment merges only into its model branch, once it
/// succeeded and has `main` merged in.
fn check_experiment(ctx: &PrCtx<'_>, out: &mut Vec<Finding>) {
    let policy = &ctx.conventions.policies.get(BranchKind::Experiment).policy;
    if !ctx.conventions.base_allowed(&policy.bases, ctx.base) {
        out.push(Finding::error(
            RuleId::R42,
            format!("experiment pull requests may only merge into {}, not `{}`", ctx.conventions.describe_bases(&policy.bases), ctx.base.name),
            "leave the pull request open for review; once the Experiment succeeds, retarget it to its model branch",
        ));
        return;
    }
    if ctx.base.kind != Some(BranchKind::Model) {
        return;
    }
    let number = ctx.head.number;
    if let Some(issue) = ctx.head_issue
        && !has(&issue.labels, labels::SUCCEEDED)
    {
        out.push(Finding::error(
            RuleId::R43,
            format!("Experiment #{} is not labelled `succeeded`", number.unwrap_or_default()),
            "only a succeeded experiment merges into a model branch: label it once it met the Ask's criteria",
        ));
    }
    if let Some(model_number) = ctx.base.number
        && let Lookup::Found(model) = ctx.directory.lookup_number(model_number)
    {
        let based_on = IssueBody::parse(&model.body)
            .field(BASED_ON_EXPERIMENT)
            .and_then(|v| find_refs(&v).into_iter().next());
        if based_on.as_ref().map(|r| r.number) != number {
            out.push(Finding::error(
                RuleId::R43,
                match &based_on {
                    Some(other) => format!("Model #{model_number} is based on {other}, not on this experiment"),
                    None => format!("Model #{model_number} names no Experiment it is based on"),
                },
                format!("set `***Based on Experiment:*** #{}` in #{model_number}, or target the right model branch", number.unwrap_or_default()),
            ));
        }
    }
    if ctx.pr.main_merged_in == Some(false) {
        out.push(Finding::error(
            RuleId::R43,
            "the collaboration branch has not been merged into this experiment branch",
            format!(
                "merge `{}` into `{}` and resolve any conflicts",
                ctx.conventions
                    .branches
                    .main
                    .first()
                    .map(String::as_str)
                    .unwrap_or("main"),
                ctx.head.name
            ),
        ));
    }
    if ctx.pr.mergeable == Some(false) {
        out.push(Finding::error(
            RuleId::R43,
            "the pull request has merge conflicts",
            "resolve the conflicts with the model branch",
        ));
    }
}

fn check_base(
    ctx: &PrCtx<'_>,
    kind: BranchKind,
    rule: RuleId,
    severity: Severity,
    out: &mut Vec<Finding>,
) {
    let policy = &ctx.conventions.policies.get(kind).policy;
    if !ctx.conventions.base_allowed(&policy.bases, ctx.base) {
        let finding = Finding {
            rule,
            severity,
            message: format!(
                "{kind} pull requests target {}, not `{}`",
                ctx.conventions.describe_bases(&policy.bases),
                ctx.base.name
            ),
            fix: format!(
                "change the base branch to {}",
                ctx.conventions.describe_bases(&policy.bases)
            ),
        };
        out.push(finding);
    }
}

fn check_approved(ctx: &PrCtx<'_>, rule: RuleId, out: &mut Vec<Finding>) {
    if ctx.pr.approvals == Some(0) {
        out.push(Finding::error(
            rule,
            "no approving review yet",
            "ask a teammate for a review",
        ));
    }
}

/// R47: data work is validated, documented and reviewed.
fn check_data(ctx: &PrCtx<'_>, out: &mut Vec<Finding>) {
    check_base(ctx, BranchKind::Data, RuleId::R47, Severity::Error, out);
    let paths = &ctx.conventions.paths;
    if let Some(files) = &ctx.pr.repo_files
        && !paths.data_tests.matches_any(files)
    {
        out.push(Finding::error(
            RuleId::R47,
            format!("no data validation tests found ({})", paths.data_tests.describe()),
            "add schema and sanity tests for the dataset, or declare them under `datasets:` in .github/dslp.yml",
        ));
    }
    if ctx.pr.data_tests_passed == Some(false) {
        out.push(Finding::error(
            RuleId::R47,
            "the data tests failed",
            "fix the data or the expectations; see the data-test report",
        ));
    }
    if let Some(changed) = &ctx.pr.changed_files
        && !paths.dataset_docs.matches_any(changed)
    {
        out.push(Finding::warning(
            RuleId::R47,
            "the pull request adds no dataset documentation or schema",
            format!("add or update one of {}", paths.dataset_docs.describe()),
        ));
    }
    check_approved(ctx, RuleId::R47, out);
}

/// R48: model work is cut from main, tested, evaluated and approved.
fn check_model(ctx: &PrCtx<'_>, out: &mut Vec<Finding>) {
    check_base(ctx, BranchKind::Model, RuleId::R48, Severity::Error, out);
    if ctx.pr.cut_from_main == Some(false) {
        out.push(Finding::error(
            RuleId::R48,
            "the model branch was not cut from the collaboration branch",
            "create model branches from the head of `main`",
        ));
    }
    let paths = &ctx.conventions.paths;
    if let Some(files) = &ctx.pr.repo_files
        && !paths.model_tests.matches_any(files)
    {
        out.push(Finding::error(
            RuleId::R48,
            format!(
                "no tests for features, models and datasets found ({})",
                paths.model_tests.describe()
            ),
            "add tests before the model goes to production",
        ));
    }
    if ctx.pr.training_ran == Some(false) {
        out.push(Finding::error(
            RuleId::R48,
            "training and evaluation have not run on this head",
            "declare the model under `models:` in .github/dslp.yml so dslp-bot evaluates it",
        ));
    }
    if ctx.pr.metrics_meet_targets == Some(false) {
        out.push(Finding::error(
            RuleId::R48,
            "the metrics do not meet the Ask's success thresholds",
            "see the gates in the report",
        ));
    }
    if let Some(issue) = ctx.head_issue {
        let steps = IssueBody::parse(&issue.body)
            .section_with_children("Steps")
            .unwrap_or_default();
        let open = task_items(&steps).iter().filter(|(done, _)| !done).count();
        if open > 0 {
            out.push(Finding::warning(
                RuleId::R48,
                format!(
                    "{open} Steps item{} of Model #{} still unchecked",
                    if open == 1 { " is" } else { "s are" },
                    issue.number.unwrap_or_default()
                ),
                "finish the steps, or check them off in the Model issue",
            ));
        }
    }
    check_approved(ctx, RuleId::R48, out);
}

/// R49: feature work targets the integration branch.
fn check_feature(ctx: &PrCtx<'_>, out: &mut Vec<Finding>) {
    check_base(
        ctx,
        BranchKind::Feature,
        RuleId::R49,
        Severity::Warning,
        out,
    );
}

#[cfg(test)]
mod tests;
