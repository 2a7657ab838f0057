use super::*;

fn parse(text: &str) -> Result<RepoConfig, ConfigError> {
    RepoConfig::parse(text, ".github/dslp.yml")
}

#[test]
fn the_example_parses_to_the_defaults() {
    let config = parse(EXAMPLE).unwrap();
    let rulebook = config.rulebook(CONFIG_PATH).unwrap();
    assert_eq!(
        rulebook.conventions.branches,
        CollaborationBranches::default()
    );
    assert!(rulebook.settings.levels.is_empty());
}

#[test]
fn unknown_key_names_line_and_column() {
    let err = parse("version: 1\nbranches:\n  mian: [main]\n").unwrap_err();
    assert_eq!((err.line, err.column), (3, 3), "{err}");
    assert!(err.message.contains("mian"), "{err}");
}

#[test]
fn unknown_rule_and_level_are_errors_at_their_place() {
    let err = parse("version: 1\nrules:\n  R99: off\n").unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    assert!(err.message.contains("unknown rule `R99`"), "{err}");
    let err = parse("version: 1\nrules:\n  R16: loud\n").unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    assert!(err.message.contains("loud"), "{err}");
}

#[test]
fn bad_pattern_glob_and_version_are_reported_where_they_stand() {
    let err = parse("version: 1\npolicies:\n  data:\n    pattern: '^data/.*$'\n").unwrap_err();
    assert_eq!(err.line, 4, "{err}");
    assert!(err.message.contains("number"), "{err}");
    let err = parse("version: 1\npaths:\n  data_tests: ['tests/[']\n").unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    let err = parse("version: 2\n").unwrap_err();
    assert_eq!(err.line, 1, "{err}");
    assert!(err.message.contains("version 2"), "{err}");
}

#[test]
fn collaboration_policy_takes_no_pattern() {
    let err = parse("version: 1\npolicies:\n  collaboration:\n    pattern: '^(?P<number>x)$'\n")
        .unwrap_err();
    assert_eq!(err.line, 4, "{err}");
}

#[test]
fn missing_version_and_empty_file_are_explained() {
    assert!(
        parse("rules: {}\n")
            .unwrap_err()
            .message
            .contains("version")
    );
    assert!(parse("  \n").unwrap_err().message.contains("empty"));
}

#[test]
fn overrides_reach_the_rulebook() {
    let config = parse(
        "version: 1\nbranches:\n  main: [trunk]\n  development: dev\nrules:\n  R30: error\npolicies:\n  experiment:\n    blocking: [R42]\npaths:\n  data_tests: ['checks/**']\n",
    )
    .unwrap();
    let rulebook = config.rulebook(CONFIG_PATH).unwrap();
    assert!(rulebook.conventions.branches.is_main("trunk"));
    assert_eq!(
        rulebook.conventions.branches.development.as_deref(),
        Some("dev")
    );
    assert_eq!(rulebook.settings.level(RuleId::R30), Some(RuleLevel::Error));
    let experiment = rulebook.conventions.policies.get(BranchKind::Experiment);
    assert_eq!(experiment.policy.blocking, vec![RuleId::R42]);
    assert!(
        rulebook
            .conventions
            .paths
            .data_tests
            .matches_any(&["checks/a.py".to_string()])
    );
}

#[test]
fn schema_describes_the_top_level_keys() {
    let schema = json_schema();
    let properties = schema["properties"].as_object().unwrap();
    for key in ["version", "branches", "rules", "policies", "paths"] {
        assert!(properties.contains_key(key), "{key}");
    }
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}
