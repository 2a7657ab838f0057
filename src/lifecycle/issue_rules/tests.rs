use super::*;
use crate::lifecycle::Severity;

fn issue(number: u64, labels: &[&str], title: &str, body: &str) -> Issue {
    Issue {
        number: Some(number),
        title: title.to_string(),
        body: body.to_string(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        state: IssueState::Open,
        is_pull_request: false,
    }
}

fn closed(mut issue: Issue) -> Issue {
    issue.state = IssueState::Closed;
    issue
}

fn rules_of(findings: &[Finding]) -> Vec<RuleId> {
    findings.iter().map(|f| f.rule).collect()
}

fn findings(issue: &Issue, directory: &IssueDirectory) -> Vec<Finding> {
    check_issue(issue, directory).findings
}

fn alone(issue: &Issue) -> Vec<Finding> {
    findings(issue, &IssueDirectory::unknown())
}

fn of(rule: RuleId, findings: &[Finding]) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .cloned()
        .collect()
}

/// A project: Ask #1, Data #2, Experiments #3 (succeeded) and #4, a PR #9.
fn project() -> Vec<Issue> {
    vec![
        issue(
            1,
            &["Ask"],
            "Reduce churn",
            &ask_body("- #2 churn table", "- #3 baseline\n- #4 boosting"),
        ),
        issue(
            2,
            &["Data"],
            "Get churn Dataset",
            "### Dataset Description\n\nOne row per customer.\n",
        ),
        issue(
            3,
            &["Experiment", "succeeded"],
            "Baseline",
            &experiment_body("#1"),
        ),
        issue(4, &["Experiment"], "Boosting", &experiment_body("#1")),
        Issue {
            is_pull_request: true,
            ..issue(9, &[], "PR", "")
        },
    ]
}

fn directory() -> IssueDirectory {
    IssueDirectory::complete(None, project())
}

fn ask_body(datasets: &str, approaches: &str) -> String {
    format!(
        "### Problem Statement\n\nCustomers leave.\n\n### Desired Outcome\n\nFewer leave.\n\n### Current State\n\nManual.\n\n\
         ### Success Criteria\n\nAUC above 0.8\n\n### Impact\n\n2% revenue\n\n### Metrics\n\nROC-AUC\n\n### Constraints\n\n_No response_\n\n\
         ### Solution Architecture\n\n_No response_\n\n### Datasets\n\n{datasets}\n\n### Understanding and Exploration\n\n_No response_\n\n\
         ### Approaches and Experiments\n\n{approaches}\n\n### Background Info\n\n_No response_\n\n### Related Projects\n\n_No response_\n"
    )
}

fn experiment_body(ask: &str) -> String {
    format!(
        "### Description\n\nGradient boosting.\n\n### Ask Reference\n\n{ask}\n\n### Metrics\n\nROC-AUC\n\n### Assumptions\n\n_No response_\n\n\
         ### Results\n\n_No response_\n\n### Experiment History\n\n_No response_\n\n### Related PR\n\n_No response_\n"
    )
}

fn model_body(ask: &str, experiment: &str) -> String {
    format!(
        "### Description\n\nServe the churn model.\n\n### Ask Reference\n\n{ask}\n\n### Based on Experiment\n\n{experiment}\n\n### Steps\n\n- [ ] Parametrise\n"
    )
}

const EXPLORE_LEGACY: &str = "## Overview\nSeasonality in churn, prompted by #1.\n## Goals\n- [ ] Is churn seasonal?\n\
    ## What was discovered during this exploration?\n### Insight 1\n### Insight 2\n## Next Steps\n";

// R10

#[test]
fn r10_one_type_label_is_clean() {
    assert!(
        !rules_of(&alone(&issue(
            4,
            &["Experiment"],
            "t",
            &experiment_body("#1")
        )))
        .contains(&RuleId::R10)
    );
}

#[test]
fn r10_two_type_labels_are_an_error() {
    let found = alone(&issue(
        4,
        &["Experiment", "Model"],
        "t",
        &experiment_body("#1"),
    ));
    let r10 = of(RuleId::R10, &found);
    assert_eq!(r10.len(), 1);
    assert_eq!(r10[0].severity, Severity::Error);
    assert!(
        r10[0].message.contains("Experiment, Model"),
        "{}",
        r10[0].message
    );
}

#[test]
fn r10_unlabelled_template_body_gets_a_label_suggestion() {
    let report = check_issue(
        &issue(4, &[], "t", &experiment_body("#1")),
        &IssueDirectory::unknown(),
    );
    assert_eq!(report.suggested_label(), Some("Experiment"));
    assert!(
        of(RuleId::R10, &report.findings)[0]
            .fix
            .contains("`Experiment`")
    );
    // The kind read off the headings still drives the other rules.
    assert!(!rules_of(&report.findings).contains(&RuleId::R13));
}

#[test]
fn r10_ordinary_issue_is_left_alone() {
    let report = check_issue(
        &issue(
            5,
            &["bug"],
            "Crash",
            "It crashes.\n## Steps to reproduce\nRun it.",
        ),
        &IssueDirectory::unknown(),
    );
    assert!(report.classification.is_none());
    assert!(report.findings.is_empty());
}

// R11

#[test]
fn r11_complete_form_is_clean() {
    assert!(!rules_of(&findings(&project()[0], &directory())).contains(&RuleId::R11));
}

#[test]
fn r11_missing_and_empty_sections_are_reported() {
    let body = experiment_body("#1")
        .replace("### Assumptions\n\n_No response_\n\n", "")
        .replace("ROC-AUC", "_No response_");
    let r11 = of(RuleId::R11, &alone(&issue(4, &["Experiment"], "t", &body)));
    assert_eq!(r11.len(), 2, "{r11:?}");
    assert!(r11[0].message.contains("Assumptions"));
    assert!(r11[1].message.contains("Metrics"));
    assert!(r11.iter().all(|f| f.severity == Severity::Warning));
}

#[test]
fn r11_legacy_data_issue_may_follow_either_data_template() {
    let acquisition =
        "## Dataset Description\nCalls.\n## Source system\nCRM\n## Reference\n## Known Issues\n";
    let creation = "# Dataset Name\nfeatures\n## Dataset Description\nJoined.\n## Parent Sources\n- #2\n## Reference\n## Known Issues\n";
    for body in [acquisition, creation] {
        assert!(
            !rules_of(&alone(&issue(6, &["Data"], "Get calls Dataset", body)))
                .contains(&RuleId::R11),
            "{body}"
        );
    }
}

// R12

#[test]
fn r12_filled_title_and_links_are_clean() {
    assert!(
        !rules_of(&alone(&issue(
            2,
            &["Data"],
            "Get churn Dataset",
            "### Dataset Description\n\nx\n"
        )))
        .contains(&RuleId::R12)
    );
}

#[test]
fn r12_placeholders_in_title_and_body_are_reported() {
    let body = "## Description\n    ***Ask Reference:*** #link-to-ask-issue\n## Metrics\nAUC\n## Assumptions\n## Results\n    ***Experiment History:*** [Link to experiment tracking source if applicable]  \n";
    let r12 = of(
        RuleId::R12,
        &alone(&issue(4, &["Experiment"], "Implement [name] model", body)),
    );
    assert_eq!(r12.len(), 2);
    assert!(r12[0].message.contains("[name]"));
    assert!(
        r12[1].message.contains("#link-to-ask-issue") && r12[1].message.contains("tracking source")
    );
}

// R13

#[test]
fn r13_reference_to_an_ask_is_clean() {
    assert!(!rules_of(&findings(&project()[3], &directory())).contains(&RuleId::R13));
}

#[test]
fn r13_unfilled_missing_or_wrong_kind_reference_is_an_error() {
    let cases = [
        (experiment_body("_No response_"), "not filled in"),
        (experiment_body("see the ask"), "names no issue"),
        (experiment_body("#2"), "is a Data, not an Ask"),
        (experiment_body("#77"), "does not exist"),
        (experiment_body("#9"), "pull request"),
        (
            "## Description\nx\n## Metrics\nAUC\n".to_string(),
            "no Ask Reference",
        ),
    ];
    for (body, expected) in cases {
        let r13 = of(
            RuleId::R13,
            &findings(&issue(4, &["Experiment"], "t", &body), &directory()),
        );
        assert_eq!(r13.len(), 1, "{expected}: {r13:?}");
        assert_eq!(r13[0].severity, Severity::Error);
        assert!(
            r13[0].message.contains(expected),
            "{expected}: {}",
            r13[0].message
        );
    }
}

#[test]
fn r13_legacy_line_and_urls_resolve() {
    let body = "## Description\nBoost.\n    ***Ask Reference:*** https://github.com/acme/churn/issues/1\n## Metrics\nAUC\n## Assumptions\n## Results\n";
    let here = IssueDirectory::complete(
        crate::lifecycle::links::RepoName::parse("acme/churn"),
        project(),
    );
    assert!(
        !rules_of(&findings(&issue(4, &["Experiment"], "t", body), &here)).contains(&RuleId::R13)
    );
    // Another repository's issue cannot be checked, so it is not held against the issue.
    let other = body.replace("acme/churn", "acme/other");
    assert!(
        !rules_of(&findings(&issue(4, &["Experiment"], "t", &other), &here)).contains(&RuleId::R13)
    );
}

// R14

#[test]
fn r14_model_of_a_succeeded_experiment_is_clean() {
    let model = issue(
        5,
        &["Model"],
        "Implement churn model",
        &model_body("#1", "#3"),
    );
    assert!(!rules_of(&findings(&model, &directory())).contains(&RuleId::R14));
}

#[test]
fn r14_unsucceeded_experiment_or_wrong_ask_is_an_error() {
    let model = issue(5, &["Model"], "m", &model_body("#1", "#4"));
    let r14 = of(RuleId::R14, &findings(&model, &directory()));
    assert_eq!(r14.len(), 1);
    assert!(r14[0].message.contains("not labelled `succeeded`"));
    let model = issue(5, &["Model"], "m", &model_body("#3", "_No response_"));
    let r14 = of(RuleId::R14, &findings(&model, &directory()));
    assert_eq!(r14.len(), 2, "{r14:?}");
    assert!(r14[0].message.contains("Ask Reference #3 is an Experiment"));
    assert!(
        r14[1]
            .message
            .contains("Based on Experiment is not filled in")
    );
}

// R15

#[test]
fn r15_explore_linking_its_ask_is_clean() {
    assert!(
        !rules_of(&findings(
            &issue(7, &["Explore"], "t", EXPLORE_LEGACY),
            &directory()
        ))
        .contains(&RuleId::R15)
    );
}

#[test]
fn r15_explore_without_dslp_link_is_warned() {
    let unlinked = EXPLORE_LEGACY.replace(", prompted by #1", "");
    let r15 = of(
        RuleId::R15,
        &findings(&issue(7, &["Explore"], "t", &unlinked), &directory()),
    );
    assert_eq!(r15.len(), 1);
    assert_eq!(r15[0].severity, Severity::Warning);
    let to_pr = EXPLORE_LEGACY.replace("#1", "#9");
    assert_eq!(
        of(
            RuleId::R15,
            &findings(&issue(7, &["Explore"], "t", &to_pr), &directory())
        )
        .len(),
        1
    );
}

// R16

#[test]
fn r16_goal_or_timebox_is_clean() {
    assert!(!rules_of(&alone(&issue(7, &["Explore"], "t", EXPLORE_LEGACY))).contains(&RuleId::R16));
    let timeboxed = "### Overview\n\n#1\n\n### Goals\n\n- [ ] \n\n### Timebox\n\n3 days\n";
    assert!(!rules_of(&alone(&issue(7, &["Explore"], "t", timeboxed))).contains(&RuleId::R16));
    let legacy_due = EXPLORE_LEGACY.replace(
        "- [ ] Is churn seasonal?",
        "- [ ] Question you plan to answer\nTimebox: two days",
    );
    assert!(!rules_of(&alone(&issue(7, &["Explore"], "t", &legacy_due))).contains(&RuleId::R16));
}

#[test]
fn r16_placeholder_goal_without_timebox_is_warned() {
    let body = EXPLORE_LEGACY.replace("Is churn seasonal?", "Question you plan to answer");
    assert_eq!(
        of(RuleId::R16, &alone(&issue(7, &["Explore"], "t", &body))).len(),
        1
    );
    let form = "### Overview\n\n#1\n\n### Goals\n\n- [ ] \n\n### Timebox\n\n_No response_\n";
    assert_eq!(
        of(RuleId::R16, &alone(&issue(7, &["Explore"], "t", form))).len(),
        1
    );
}

// R17

#[test]
fn r17_one_open_issue_per_dataset_is_clean() {
    let new = issue(
        8,
        &["Data"],
        "Get calls Dataset",
        "### Dataset Description\n\nx\n",
    );
    assert!(!rules_of(&findings(&new, &directory())).contains(&RuleId::R17));
}

#[test]
fn r17_second_open_issue_for_a_dataset_is_warned() {
    let new = issue(
        8,
        &["Data"],
        "Get Churn dataset",
        "### Dataset Description\n\nx\n",
    );
    let r17 = of(RuleId::R17, &findings(&new, &directory()));
    assert_eq!(r17.len(), 1);
    assert!(r17[0].message.contains("#2"));
    // A closed earlier version is fine: that is how versions follow each other.
    let mut issues = project();
    issues[1] = closed(issues[1].clone());
    assert!(
        of(
            RuleId::R17,
            &findings(&new, &IssueDirectory::complete(None, issues))
        )
        .is_empty()
    );
}

// R18

#[test]
fn r18_ask_listing_its_data_and_experiments_is_clean() {
    assert!(!rules_of(&findings(&project()[0], &directory())).contains(&RuleId::R18));
}

#[test]
fn r18_ask_missing_datasets_or_experiments_is_warned() {
    let ask = issue(
        1,
        &["Ask"],
        "Reduce churn",
        &ask_body("_No response_", "- #3 baseline"),
    );
    let r18 = of(RuleId::R18, &findings(&ask, &directory()));
    assert_eq!(r18.len(), 2, "{r18:?}");
    assert!(r18[0].message.contains("Datasets links no Data issue"));
    assert!(r18[1].message.contains("#4") && !r18[1].message.contains("#3"));
}

// R20

#[test]
fn r20_valid_combinations_are_clean() {
    let model = issue(
        5,
        &["Model", "Deploy", "succeeded"],
        "m",
        &model_body("#1", "#3"),
    );
    assert!(!rules_of(&findings(&model, &directory())).contains(&RuleId::R20));
}

#[test]
fn r20_each_invalid_combination_is_an_error() {
    let cases: [(&[&str], &str); 4] = [
        (&["Experiment", "succeeded", "failed"], "both set"),
        (&["Ask", "failed"], "not an Experiment or a Model"),
        (&["Experiment", "on hold", "succeeded"], "`on hold`"),
        (&["Experiment", "Deploy"], "`Deploy`"),
    ];
    for (labels, expected) in cases {
        let r20 = of(
            RuleId::R20,
            &alone(&issue(4, labels, "t", &experiment_body("#1"))),
        );
        assert!(
            r20.iter()
                .any(|f| f.message.contains(expected) && f.severity == Severity::Error),
            "{labels:?}: {r20:?}"
        );
    }
}

// R21

#[test]
fn r21_closed_experiment_with_outcome_and_tldr_is_clean() {
    let body = experiment_body("#1")
        .replace(
            "### Results\n\n_No response_",
            "### Results\n\nBoosting beat the baseline by 4 AUC points.",
        )
        .replace("### Related PR\n\n_No response_", "### Related PR\n\n#12");
    let done = closed(issue(4, &["Experiment", "failed"], "t", &body));
    assert!(!rules_of(&alone(&done)).contains(&RuleId::R21));
}

#[test]
fn r21_closed_without_outcome_tldr_or_pr_is_reported() {
    let r21 = of(
        RuleId::R21,
        &alone(&closed(issue(
            4,
            &["Experiment"],
            "t",
            &experiment_body("#1"),
        ))),
    );
    assert_eq!(r21.len(), 3, "{r21:?}");
    assert_eq!(
        r21.iter().filter(|f| f.severity == Severity::Error).count(),
        2
    );
    // Open experiments are still being worked on.
    assert!(
        of(
            RuleId::R21,
            &alone(&issue(4, &["Experiment"], "t", &experiment_body("#1")))
        )
        .is_empty()
    );
}

#[test]
fn r21_legacy_link_lines_are_not_a_tldr() {
    let body = "## Description\nx\n    ***Ask Reference:*** #1\n## Metrics\nAUC\n## Assumptions\n## Results\n    ***Experiment History:*** https://mlflow/run/1  \n    ***Related PR:*** #12  \n";
    let r21 = of(
        RuleId::R21,
        &alone(&closed(issue(4, &["Experiment", "succeeded"], "t", body))),
    );
    assert_eq!(r21.len(), 1, "{r21:?}");
    assert!(r21[0].message.contains("TLDR"));
}
