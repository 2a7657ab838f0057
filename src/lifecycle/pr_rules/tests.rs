use super::*;

fn issue(number: u64, labels: &[&str], body: &str) -> Issue {
    Issue {
        number: Some(number),
        title: format!("issue {number}"),
        body: body.to_string(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        state: IssueState::Open,
        is_pull_request: false,
    }
}

/// Ask #1, Data #2, Explore #3, Experiment #4 (succeeded, PR #20), Experiment #5,
/// Model #6 based on #4, closed Data #7, PR #20.
fn directory() -> IssueDirectory {
    let mut closed_data = issue(7, &["Data"], "");
    closed_data.state = IssueState::Closed;
    IssueDirectory::complete(
        None,
        vec![
            issue(1, &["Ask"], ""),
            issue(2, &["Data"], ""),
            issue(3, &["Explore"], ""),
            issue(4, &["Experiment", "succeeded"], "### Related PR\n\n#20\n"),
            issue(5, &["Experiment"], "### Related PR\n\n_No response_\n"),
            issue(
                6,
                &["Model"],
                "### Based on Experiment\n\n#4\n\n### Steps\n\n- [x] Parametrise\n- [ ] Monitoring\n",
            ),
            closed_data,
            Issue {
                is_pull_request: true,
                ..issue(20, &[], "")
            },
        ],
    )
}

fn pr(head: &str, base: &str) -> PullRequest {
    let number = Conventions::default().classify(head).number;
    PullRequest {
        number: Some(20),
        head: head.to_string(),
        base: base.to_string(),
        body: Some(number.map(|n| format!("Part of #{n}")).unwrap_or_default()),
        ..PullRequest::default()
    }
}

fn check(pr: &PullRequest) -> Vec<Finding> {
    check_pull_request(pr, &Conventions::default(), &directory()).findings
}

fn of(rule: RuleId, findings: &[Finding]) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .cloned()
        .collect()
}

fn branch(name: &str) -> Vec<Finding> {
    check_branch(name, &Conventions::default(), &directory()).findings
}

// R30

#[test]
fn r30_dslp_and_collaboration_names_are_clean() {
    for name in [
        "main",
        "master",
        "data/2-churn",
        "explore/3-eda",
        "experiment/4-xgb",
        "model/6-churn",
        "12-fix-docs",
    ] {
        assert!(of(RuleId::R30, &branch(name)).is_empty(), "{name}");
    }
}

#[test]
fn r30_other_names_are_warned_with_a_rename_hint() {
    let r30 = of(RuleId::R30, &branch("experiment/xgb"));
    assert_eq!(r30.len(), 1);
    assert_eq!(r30[0].severity, Severity::Warning);
    assert!(r30[0].fix.contains("experiment/N-"), "{}", r30[0].fix);
    assert_eq!(of(RuleId::R30, &branch("feature/login")).len(), 1);
}

// R31

#[test]
fn r31_branch_of_an_open_issue_of_its_type_is_clean() {
    assert!(of(RuleId::R31, &branch("data/2-churn")).is_empty());
    // An unknown directory cannot tell, so it says nothing.
    let unknown = check_branch(
        "data/99-x",
        &Conventions::default(),
        &IssueDirectory::unknown(),
    );
    assert!(unknown.findings.is_empty());
}

#[test]
fn r31_missing_closed_wrong_type_or_pull_request_is_an_error() {
    let cases = [
        ("data/99-x", "does not exist"),
        ("data/7-old", "is closed"),
        ("experiment/2-x", "not labelled `Experiment`"),
        ("model/20-x", "pull request"),
    ];
    for (name, expected) in cases {
        let r31 = of(RuleId::R31, &branch(name));
        assert_eq!(r31.len(), 1, "{name}: {r31:?}");
        assert_eq!(r31[0].severity, Severity::Error);
        assert!(
            r31[0].message.contains(expected),
            "{name}: {}",
            r31[0].message
        );
    }
}

// R32

#[test]
fn r32_pr_linking_its_issue_and_linked_back_is_clean() {
    assert!(
        of(
            RuleId::R32,
            &check(&pr("experiment/4-xgb", "model/6-churn"))
        )
        .is_empty()
    );
}

#[test]
fn r32_unlinked_pr_and_missing_back_link_are_warned() {
    let mut unlinked = pr("data/2-churn", "main");
    unlinked.body = Some("New churn table".into());
    let r32 = of(RuleId::R32, &check(&unlinked));
    assert_eq!(r32.len(), 1);
    assert!(r32[0].message.contains("#2"));
    let r32 = of(RuleId::R32, &check(&pr("experiment/5-rf", "model/6-churn")));
    assert_eq!(r32.len(), 1, "{r32:?}");
    assert!(r32[0].message.contains("Related PR"));
}

// R33 and R40

#[test]
fn r33_labelled_explore_pr_is_clean_but_r40_always_blocks_it() {
    let mut explore = pr("explore/3-eda", "main");
    explore.labels = vec!["Explore".into()];
    let found = check(&explore);
    assert!(of(RuleId::R33, &found).is_empty());
    let r40 = of(RuleId::R40, &found);
    assert_eq!(r40.len(), 1);
    let head = Conventions::default().classify("explore/3-eda");
    assert!(is_blocking(&r40[0], &head, &Conventions::default()));
}

#[test]
fn r33_unlabelled_explore_pr_is_warned_and_r40_alerts_on_merge() {
    let mut explore = pr("explore/3-eda", "main");
    assert_eq!(of(RuleId::R33, &check(&explore)).len(), 1);
    explore.merged = true;
    explore.state = IssueState::Closed;
    let r40 = of(RuleId::R40, &check(&explore));
    assert_eq!(r40.len(), 1);
    assert!(r40[0].message.contains("was merged"));
}

#[test]
fn r40_closed_unmerged_explore_pr_is_clean() {
    let mut explore = pr("explore/3-eda", "main");
    explore.state = IssueState::Closed;
    assert!(of(RuleId::R40, &check(&explore)).is_empty());
}

// R42

#[test]
fn r42_experiment_into_model_branch_is_clean() {
    assert!(
        of(
            RuleId::R42,
            &check(&pr("experiment/4-xgb", "model/6-churn"))
        )
        .is_empty()
    );
}

#[test]
fn r42_experiment_into_collaboration_branch_is_an_error() {
    for base in ["main", "master", "2-other-feature"] {
        let r42 = of(RuleId::R42, &check(&pr("experiment/4-xgb", base)));
        assert_eq!(r42.len(), 1, "{base}");
        assert_eq!(r42[0].severity, Severity::Error);
    }
}

// R43

#[test]
fn r43_succeeded_experiment_into_its_model_branch_is_clean() {
    let mut ready = pr("experiment/4-xgb", "model/6-churn");
    ready.main_merged_in = Some(true);
    ready.mergeable = Some(true);
    assert!(of(RuleId::R43, &check(&ready)).is_empty());
}

#[test]
fn r43_unsucceeded_wrong_model_unmerged_main_and_conflicts_are_errors() {
    let mut not_ready = pr("experiment/5-rf", "model/6-churn");
    not_ready.main_merged_in = Some(false);
    not_ready.mergeable = Some(false);
    let r43 = of(RuleId::R43, &check(&not_ready));
    let messages: Vec<&str> = r43.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(r43.len(), 4, "{messages:?}");
    assert!(messages[0].contains("not labelled `succeeded`"));
    assert!(messages[1].contains("based on #4, not on this experiment"));
    assert!(messages[2].contains("has not been merged"));
    assert!(messages[3].contains("conflicts"));
}

// R47

#[test]
fn r47_validated_documented_reviewed_data_pr_is_clean() {
    let mut data = pr("data/2-churn", "main");
    data.repo_files = Some(vec!["tests/data_validation/test_churn.py".into()]);
    data.changed_files = Some(vec!["code/datasets/churn/schema.yml".into()]);
    data.data_tests_passed = Some(true);
    data.approvals = Some(1);
    assert!(of(RuleId::R47, &check(&data)).is_empty());
}

#[test]
fn r47_wrong_base_no_tests_failed_tests_no_docs_no_review_are_reported() {
    let mut data = pr("data/2-churn", "model/6-churn");
    data.repo_files = Some(vec!["code/datasets/churn/churn.py".into()]);
    data.changed_files = Some(vec!["code/datasets/churn/churn.py".into()]);
    data.data_tests_passed = Some(false);
    data.approvals = Some(0);
    let r47 = of(RuleId::R47, &check(&data));
    assert_eq!(r47.len(), 5, "{r47:?}");
    assert_eq!(
        r47.iter()
            .filter(|f| f.severity == Severity::Warning)
            .count(),
        1
    );
}

// R48

#[test]
fn r48_tested_evaluated_approved_model_pr_is_clean_but_for_open_steps() {
    let mut model = pr("model/6-churn", "main");
    model.cut_from_main = Some(true);
    model.repo_files = Some(vec!["tests/unit/test_model.py".into()]);
    model.training_ran = Some(true);
    model.metrics_meet_targets = Some(true);
    model.approvals = Some(2);
    let r48 = of(RuleId::R48, &check(&model));
    // Model #6 still has one unchecked step: a warning, not an error.
    assert_eq!(r48.len(), 1, "{r48:?}");
    assert_eq!(r48[0].severity, Severity::Warning);
    assert!(r48[0].message.contains("1 Steps item"));
}

#[test]
fn r48_untested_unevaluated_model_pr_is_an_error() {
    let mut model = pr("model/6-churn", "experiment/4-xgb");
    model.cut_from_main = Some(false);
    model.repo_files = Some(vec![]);
    model.training_ran = Some(false);
    model.metrics_meet_targets = Some(false);
    model.approvals = Some(0);
    let errors = of(RuleId::R48, &check(&model))
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    assert_eq!(errors, 6);
}

// R49

#[test]
fn r49_feature_into_integration_branch_is_clean() {
    assert!(of(RuleId::R49, &check(&pr("12-docs", "main"))).is_empty());
    let mut conventions = Conventions::default();
    conventions.branches.development = Some("development".into());
    let report = check_pull_request(&pr("12-docs", "development"), &conventions, &directory());
    assert!(of(RuleId::R49, &report.findings).is_empty());
}

#[test]
fn r49_feature_past_the_development_branch_is_warned() {
    let mut conventions = Conventions::default();
    conventions.branches.development = Some("development".into());
    let report = check_pull_request(&pr("12-docs", "main"), &conventions, &directory());
    let r49 = of(RuleId::R49, &report.findings);
    assert_eq!(r49.len(), 1);
    assert_eq!(r49[0].severity, Severity::Warning);
    assert!(r49[0].fix.contains("`development`"));
}

#[test]
fn unknown_facts_are_never_held_against_a_pull_request() {
    let bare = PullRequest {
        head: "model/6-churn".into(),
        base: "main".into(),
        ..PullRequest::default()
    };
    let found =
        check_pull_request(&bare, &Conventions::default(), &IssueDirectory::unknown()).findings;
    assert!(found.is_empty(), "{found:?}");
}
