//! Issue rules, DSLP.md §8.2 and §8.3: R10–R18, R20, R21.

use std::sync::LazyLock;

use regex::Regex;

use super::body::{self, IssueBody, is_blank};
use super::finding::{Finding, RuleId};
use super::issue::{Classification, Issue, IssueDirectory, IssueState, Lookup, classify};
use super::kinds::{ASK_REFERENCE, BASED_ON_EXPERIMENT, IssueKind, RELATED_PR, Template};
use super::labels::{self, has};
use super::links::{IssueRef, find_refs};

/// DSLP's template placeholders, matched literally (R12).
pub const BODY_PLACEHOLDERS: [&str; 5] = [
    "#link-to-ask-issue",
    "[link-to-ask-this-is-addressing]",
    "[link-to-experiment-issue-this-was-created-from]",
    "[Link to experiment tracking source if applicable]",
    "[Link to pull request where experiment was tried]",
];
pub const TITLE_PLACEHOLDER: &str = "[name]";
/// The sample goal in DSLP's Explore template.
const GOAL_PLACEHOLDER: &str = "Question you plan to answer";

/// What the rules made of an issue: its kind and the findings.
#[derive(Debug, Clone)]
pub struct IssueReport {
    pub classification: Option<Classification>,
    pub findings: Vec<Finding>,
}

impl IssueReport {
    /// The label to add when the kind was read off the headings.
    pub fn suggested_label(&self) -> Option<&'static str> {
        self.classification
            .filter(|c| !c.from_label)
            .map(|c| c.kind.label())
    }
}

/// Checks one issue against its DSLP type. Pull requests are not issues
/// here and get no findings.
pub fn check_issue(issue: &Issue, directory: &IssueDirectory) -> IssueReport {
    if issue.is_pull_request {
        return IssueReport {
            classification: None,
            findings: Vec::new(),
        };
    }
    let body = IssueBody::parse(&issue.body);
    let classification = classify(issue, &body);
    let mut findings = Vec::new();
    check_type_label(issue, classification, &mut findings);
    check_label_combinations(issue, classification.map(|c| c.kind), &mut findings);
    if let Some(class) = classification {
        let ctx = Ctx {
            issue,
            body: &body,
            directory,
        };
        check_sections(&ctx, class.template, &mut findings);
        check_placeholders(&ctx, &mut findings);
        match class.kind {
            IssueKind::Ask => check_ask_links(&ctx, &mut findings),
            IssueKind::Data => check_one_data_issue_per_version(&ctx, &mut findings),
            IssueKind::Explore => {
                check_explore_links(&ctx, &mut findings);
                check_explore_goals(&ctx, &mut findings);
            }
            IssueKind::Experiment => {
                check_reference(
                    &ctx,
                    ASK_REFERENCE,
                    IssueKind::Ask,
                    RuleId::R13,
                    &mut findings,
                );
                check_closed_experiment(&ctx, &mut findings);
            }
            IssueKind::Model => {
                check_reference(
                    &ctx,
                    ASK_REFERENCE,
                    IssueKind::Ask,
                    RuleId::R14,
                    &mut findings,
                );
                check_reference(
                    &ctx,
                    BASED_ON_EXPERIMENT,
                    IssueKind::Experiment,
                    RuleId::R14,
                    &mut findings,
                );
            }
        }
    }
    IssueReport {
        classification,
        findings,
    }
}

struct Ctx<'a> {
    issue: &'a Issue,
    body: &'a IssueBody,
    directory: &'a IssueDirectory,
}

/// R10: exactly one of Ask, Data, Explore, Experiment, Model.
fn check_type_label(issue: &Issue, class: Option<Classification>, out: &mut Vec<Finding>) {
    let kinds = IssueKind::all_from_labels(&issue.labels);
    if kinds.len() > 1 {
        let names: Vec<&str> = kinds.iter().map(|k| k.label()).collect();
        out.push(Finding::error(
            RuleId::R10,
            format!("the issue carries {} type labels: {}", kinds.len(), names.join(", ")),
            "keep exactly one of Ask, Data, Explore, Experiment, Model; open a second issue for the other work",
        ));
    } else if let Some(class) = class.filter(|c| !c.from_label) {
        out.push(Finding::error(
            RuleId::R10,
            format!(
                "the issue has no DSLP type label but follows the {} template",
                class.template.name
            ),
            format!("add the `{}` label", class.kind.label()),
        ));
    }
}

/// R20: succeeded/failed exclude each other and belong on Experiment or
/// Model; on hold excludes both; Deploy only with Model.
fn check_label_combinations(issue: &Issue, kind: Option<IssueKind>, out: &mut Vec<Finding>) {
    let labels = &issue.labels;
    let succeeded = has(labels, labels::SUCCEEDED);
    let failed = has(labels, labels::FAILED);
    if succeeded && failed {
        out.push(Finding::error(
            RuleId::R20,
            "`succeeded` and `failed` are both set",
            "keep the one that matches the outcome against the acceptance criteria",
        ));
    }
    if (succeeded || failed) && !matches!(kind, Some(IssueKind::Experiment | IssueKind::Model)) {
        let which = if succeeded {
            labels::SUCCEEDED
        } else {
            labels::FAILED
        };
        out.push(Finding::error(
            RuleId::R20,
            format!("`{which}` is set on an issue that is not an Experiment or a Model"),
            format!("remove `{which}`: outcomes are recorded on Experiment and Model issues"),
        ));
    }
    if has(labels, labels::ON_HOLD) && (succeeded || failed) {
        out.push(Finding::error(
            RuleId::R20,
            "`on hold` is set together with an outcome label",
            "remove `on hold` once the work succeeded or failed, or remove the outcome",
        ));
    }
    if has(labels, labels::DEPLOY) && kind != Some(IssueKind::Model) {
        out.push(Finding::error(
            RuleId::R20,
            "`Deploy` is set on an issue that is not a Model",
            "remove `Deploy`: it marks a Model issue ready for deployment",
        ));
    }
}

/// R11: the template's headings are present, and the sections DSLP needs
/// are filled in.
fn check_sections(ctx: &Ctx<'_>, template: &Template, out: &mut Vec<Finding>) {
    let expected = template.expected_headings(ctx.body.shape);
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|h| !ctx.body.has_heading(h))
        .collect();
    if !missing.is_empty() {
        out.push(Finding::warning(
            RuleId::R11,
            format!(
                "{} section{} of the {} template {} missing: {}",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                template.name,
                if missing.len() == 1 { "is" } else { "are" },
                missing.join(", ")
            ),
            format!(
                "add the heading{} back, even if the section stays short",
                if missing.len() == 1 { "" } else { "s" }
            ),
        ));
    }
    let empty: Vec<&str> = template
        .required
        .iter()
        .copied()
        .filter(|title| {
            ctx.body
                .section_with_children(title)
                .is_some_and(|text| is_blank(&text))
        })
        .collect();
    if !empty.is_empty() {
        out.push(Finding::warning(
            RuleId::R11,
            format!(
                "required section{} empty: {}",
                if empty.len() == 1 { " is" } else { "s are" },
                empty.join(", ")
            ),
            if empty.len() == 1 {
                "fill it in: DSLP relies on it to judge the work"
            } else {
                "fill them in: DSLP relies on them to judge the work"
            },
        ));
    }
}

/// R12: template placeholders left as they were.
fn check_placeholders(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx.issue.title.contains(TITLE_PLACEHOLDER) {
        out.push(Finding::warning(
            RuleId::R12,
            format!("the title still contains the placeholder `{TITLE_PLACEHOLDER}`"),
            "replace `[name]` in the title with the dataset or model name",
        ));
    }
    let left: Vec<&str> = BODY_PLACEHOLDERS
        .iter()
        .copied()
        .filter(|p| ctx.body.prose.contains(p))
        .collect();
    if !left.is_empty() {
        out.push(Finding::warning(
            RuleId::R12,
            format!(
                "unfilled placeholder{}: {}",
                if left.len() == 1 { "" } else { "s" },
                left.join(", ")
            ),
            "replace each placeholder with a link (`#N` or an issue URL), or remove the line",
        ));
    }
}

/// R13 / R14: a link line names an issue of the wanted kind.
fn check_reference(
    ctx: &Ctx<'_>,
    field: &str,
    wanted: IssueKind,
    rule: RuleId,
    out: &mut Vec<Finding>,
) {
    let line = format!("***{field}:***");
    let Some(value) = ctx.body.field(field) else {
        out.push(Finding::error(
            rule,
            format!("no {field}"),
            format!("add a line `{line} #N` naming the {wanted} issue (or fill the {field} field)"),
        ));
        return;
    };
    let refs = find_refs(&value);
    let Some(reference) = refs.first() else {
        let what = if is_blank(&value) || BODY_PLACEHOLDERS.iter().any(|p| value.contains(p)) {
            "is not filled in"
        } else {
            "names no issue"
        };
        out.push(Finding::error(
            rule,
            format!("{field} {what}"),
            format!("write the {wanted} issue as `#N`, `owner/repo#N` or its URL"),
        ));
        return;
    };
    match ctx.directory.lookup(reference) {
        Lookup::Unknown => {}
        Lookup::Missing => out.push(Finding::error(
            rule,
            format!("{field} {reference} does not exist"),
            format!("point {field} at an existing {wanted} issue"),
        )),
        Lookup::Found(target) if target.is_pull_request => out.push(Finding::error(
            rule,
            format!("{field} {reference} is a pull request, not an issue"),
            format!("point {field} at the {wanted} issue itself"),
        )),
        Lookup::Found(target) => {
            let kinds = IssueKind::all_from_labels(&target.labels);
            if !kinds.contains(&wanted) {
                let actual = match kinds.as_slice() {
                    [] => "has no DSLP type label".to_string(),
                    [kind] => format!("is {} {kind}", article(*kind)),
                    _ => "has several type labels".to_string(),
                };
                out.push(Finding::error(
                    rule,
                    format!(
                        "{field} {reference} {actual}, not {} {wanted}",
                        article(wanted)
                    ),
                    format!(
                        "point {field} at {} {wanted} issue, or label {reference} `{}`",
                        article(wanted),
                        wanted.label()
                    ),
                ));
            } else if wanted == IssueKind::Experiment && !has(&target.labels, labels::SUCCEEDED) {
                out.push(Finding::error(
                    rule,
                    format!("{field} {reference} is not labelled `succeeded`"),
                    "a Model starts from a succeeded Experiment: label it `succeeded` once it met the Ask's criteria",
                ));
            }
        }
    }
}

fn article(kind: IssueKind) -> &'static str {
    match kind {
        IssueKind::Ask | IssueKind::Explore | IssueKind::Experiment => "an",
        IssueKind::Data | IssueKind::Model => "a",
    }
}

/// The references in the body other than to the issue itself.
fn refs_to_others(ctx: &Ctx<'_>, text: &str) -> Vec<IssueRef> {
    find_refs(text)
        .into_iter()
        .filter(|r| {
            ctx.issue.number.is_none()
                || r.number_in(ctx.directory.repo.as_ref()) != ctx.issue.number
        })
        .collect()
}

/// R15: an Explore issue links the Ask, Data, Experiment or Explore issue
/// that prompted it.
fn check_explore_links(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let refs = refs_to_others(ctx, &ctx.body.prose);
    let links_dslp_issue = refs.iter().any(|r| match ctx.directory.lookup(r) {
        Lookup::Unknown => true,
        Lookup::Missing => false,
        Lookup::Found(target) => !target.is_pull_request && target.labelled_kind().is_some(),
    });
    if !links_dslp_issue {
        out.push(Finding::warning(
            RuleId::R15,
            if refs.is_empty() {
                "the Explore issue links no other issue".to_string()
            } else {
                "the Explore issue links no Ask, Data, Experiment or Explore issue".to_string()
            },
            "link the issue that prompted this exploration (`#N`) in the Overview",
        ));
    }
}

static TIMEBOX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)\b(time-?box(ed)?|due(\s+date)?|deadline)\b\s*[:\-]?\s*\S")
        .expect("valid regex")
});

/// R16: Goals holds at least one real question, or a timebox is given.
fn check_explore_goals(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let has_goal = ctx.body.section("Goals").is_some_and(|goals| {
        goals.content.lines().any(|line| {
            let text = body::strip_list_marker(line);
            !text.is_empty()
                && text != body::NO_RESPONSE
                && !text.eq_ignore_ascii_case(GOAL_PLACEHOLDER)
        })
    });
    let has_timebox = ctx.body.field("Timebox").is_some_and(|t| !is_blank(&t))
        || ctx
            .body
            .sections
            .iter()
            .filter(|s| !body::normalise(&s.title).starts_with("timebox"))
            .any(|s| TIMEBOX.is_match(&s.content));
    if !has_goal && !has_timebox {
        out.push(Finding::warning(
            RuleId::R16,
            "the Explore issue has neither a goal nor a timebox",
            "list the questions to answer under Goals (`- [ ] Which ...?`), or give a timebox",
        ));
    }
}

static DATASET_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:get|create)\s+(.+?)\s+dataset\s*$").expect("valid regex")
});

/// The dataset a Data issue is about: from its title or its Dataset Name.
fn dataset_name(issue: &Issue) -> Option<String> {
    let from_title = DATASET_TITLE
        .captures(&issue.title)
        .map(|c| c[1].trim().to_string());
    let from_field = || {
        IssueBody::parse(&issue.body)
            .field("Dataset Name")
            .map(|v| v.trim().to_string())
            .filter(|v| !is_blank(v))
    };
    from_title
        .or_else(from_field)
        .filter(|name| !name.contains(TITLE_PLACEHOLDER))
        .map(|name| name.to_lowercase())
}

/// R17: one open Data issue per dataset version.
fn check_one_data_issue_per_version(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx.issue.state != IssueState::Open {
        return;
    }
    let Some(name) = dataset_name(ctx.issue) else {
        return;
    };
    let others: Vec<String> = ctx
        .directory
        .of_kind(IssueKind::Data)
        .filter(|other| other.number != ctx.issue.number && other.state == IssueState::Open)
        .filter(|other| dataset_name(other).as_deref() == Some(name.as_str()))
        .filter_map(|other| other.number.map(|n| format!("#{n}")))
        .collect();
    if !others.is_empty() {
        out.push(Finding::warning(
            RuleId::R17,
            format!("another open Data issue covers the same dataset: {}", others.join(", ")),
            "DSLP keeps one Data issue per dataset version: close the older one, or name the new version in the title",
        ));
    }
}

/// R18: an Ask links its datasets before experiments start, and lists every
/// Experiment that references it.
fn check_ask_links(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some(ask_number) = ctx.issue.number else {
        return;
    };
    let repo = ctx.directory.repo.as_ref();
    let experiments: Vec<u64> = ctx
        .directory
        .of_kind(IssueKind::Experiment)
        .filter(|exp| {
            IssueBody::parse(&exp.body)
                .field(ASK_REFERENCE)
                .and_then(|v| find_refs(&v).into_iter().next())
                .is_some_and(|r| r.number_in(repo) == Some(ask_number))
        })
        .filter_map(|exp| exp.number)
        .collect();
    if experiments.is_empty() {
        return;
    }
    let datasets = ctx
        .body
        .section_with_children("Datasets")
        .unwrap_or_default();
    let links_data = find_refs(&datasets)
        .iter()
        .any(|r| match ctx.directory.lookup(r) {
            Lookup::Unknown => true,
            Lookup::Missing => false,
            Lookup::Found(target) => target.labels.iter().any(|l| l == labels::DATA),
        });
    if !links_data {
        out.push(Finding::warning(
            RuleId::R18,
            "experiments have started but Datasets links no Data issue",
            "link the Data issue of every dataset the experiments use under Datasets",
        ));
    }
    let approaches = ctx
        .body
        .section_with_children("Approaches and Experiments")
        .unwrap_or_default();
    let listed: Vec<u64> = find_refs(&approaches)
        .iter()
        .filter_map(|r| r.number_in(repo))
        .collect();
    let unlisted: Vec<String> = experiments
        .iter()
        .filter(|n| !listed.contains(n))
        .map(|n| format!("#{n}"))
        .collect();
    if !unlisted.is_empty() {
        out.push(Finding::warning(
            RuleId::R18,
            format!(
                "Approaches and Experiments does not list {}",
                unlisted.join(", ")
            ),
            "add each Experiment that references this Ask, succeeded ones first",
        ));
    }
}

/// An Experiment's TLDR: what its Results section says (the legacy shape's
/// inline History and Related PR fields are not a TLDR).
pub fn experiment_tldr(body: &IssueBody) -> Option<String> {
    let results = body.section_with_children("Results").unwrap_or_default();
    let tldr: String = results
        .lines()
        .filter(|line| {
            let trimmed = line.trim();
            !trimmed.contains(&format!("{}:", super::kinds::EXPERIMENT_HISTORY))
                && !trimmed.contains(&format!("{RELATED_PR}:"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    (!is_blank(&tldr)).then(|| tldr.trim().to_string())
}

/// R21: a closed Experiment carries one outcome and a TLDR.
fn check_closed_experiment(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx.issue.state != IssueState::Closed {
        return;
    }
    let statuses: Vec<&str> = [labels::SUCCEEDED, labels::FAILED, labels::ON_HOLD]
        .into_iter()
        .filter(|s| has(&ctx.issue.labels, s))
        .collect();
    if statuses.len() != 1 {
        out.push(Finding::error(
            RuleId::R21,
            if statuses.is_empty() {
                "the Experiment was closed without `succeeded`, `failed` or `on hold`".to_string()
            } else {
                format!("the closed Experiment carries {}", statuses.join(" and "))
            },
            "label the outcome with exactly one of `succeeded`, `failed`, `on hold`",
        ));
    }
    if experiment_tldr(ctx.body).is_none() {
        out.push(Finding::error(
            RuleId::R21,
            "the closed Experiment has no TLDR under Results",
            "write what was tried, what happened and why, so nobody retries it by accident",
        ));
    }
    let related = ctx.body.field(RELATED_PR).unwrap_or_default();
    if find_refs(&related).is_empty() {
        out.push(Finding::warning(
            RuleId::R21,
            "Related PR is not filled in",
            "link the experiment's pull request on the Related PR line",
        ));
    }
}

#[cfg(test)]
mod tests;
