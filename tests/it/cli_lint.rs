//! `dslp lint` on the fixtures: exactly the DSLP.md §8 findings, and the
//! exit codes the README promises.

use crate::support::{dslp, dslp_with_stdin, fixture};

fn rules(report: &serde_json::Value) -> Vec<String> {
    let mut rules: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_string())
        .collect();
    rules.sort();
    rules
}

#[test]
fn issue_fixtures_report_exactly_the_expected_rules() {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("issues/expected.json")).expect("manifest"),
    )
    .expect("manifest JSON");
    let cases = manifest["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    let demo = fixture("demo/issues.json");
    for case in cases {
        let file = fixture(&format!("issues/{}", case["file"].as_str().unwrap()));
        let labels: Vec<&str> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let labels = labels.join(",");
        let number = case["number"].to_string();
        let mut args = vec![
            "lint",
            "issue",
            file.to_str().unwrap(),
            "--title",
            case["title"].as_str().unwrap(),
            "--labels",
            &labels,
            "--number",
            &number,
            "--issues",
            demo.to_str().unwrap(),
            "--repo",
            "acme/churn",
            "--format",
            "json",
        ];
        if let Some(state) = case["state"].as_str() {
            args.extend(["--state", state]);
        }
        let run = dslp(&args);
        let report = run.json();
        let mut expected: Vec<String> = case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        expected.sort();
        assert_eq!(rules(&report), expected, "{case}\n{}", run.stdout);
        let errors = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .count();
        assert_eq!(errors as u64, case["errors"].as_u64().unwrap(), "{case}");
        assert_eq!(run.code, if errors > 0 { 1 } else { 0 }, "{case}");
        if let Some(label) = case.get("suggested_label") {
            assert_eq!(&report["suggested_label"], label, "{case}");
        }
        for finding in report["findings"].as_array().unwrap() {
            assert!(!finding["message"].as_str().unwrap().is_empty());
            assert!(!finding["fix"].as_str().unwrap().is_empty());
        }
    }
}

#[test]
fn demo_project_lints_with_its_config() {
    let run = dslp(&[
        "lint",
        "issues",
        "fixtures/demo/issues.json",
        "--config",
        "fixtures/demo/.github/dslp.yml",
        "--repo",
        "acme/churn",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("#8 \"Random forest\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("R18  Approaches and Experiments does not list #8"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("8 issues checked; 2 findings: 0 errors, 2 warnings\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn config_severity_overrides_change_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dslp.yml");
    std::fs::write(&config, "version: 1\nrules:\n  R18: error\n  R11: off\n").unwrap();
    let run = dslp(&[
        "lint",
        "issues",
        "fixtures/demo/issues.json",
        "--config",
        config.to_str().unwrap(),
        "--repo",
        "acme/churn",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let all: Vec<serde_json::Value> = run.json().as_array().unwrap().clone();
    let findings: Vec<&serde_json::Value> = all
        .iter()
        .flat_map(|i| i["findings"].as_array().unwrap())
        .collect();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["rule"], "R18");
    assert_eq!(findings[0]["severity"], "error");
}

#[test]
fn issue_json_is_read_from_standard_input() {
    let issue = serde_json::json!({
        "number": 40, "title": "Boosting", "state": "open",
        "labels": [{"name": "Experiment"}],
        "body": "### Description\n\nx\n\n### Ask Reference\n\n#3\n\n### Metrics\n\nAUC\n",
    });
    let run = dslp_with_stdin(
        &[
            "lint",
            "issue",
            "-",
            "--issues",
            "fixtures/demo/issues.json",
            "--format",
            "json",
        ],
        &issue.to_string(),
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.json();
    let r13: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "R13")
        .collect();
    assert_eq!(r13.len(), 1);
    assert!(
        r13[0]["message"]
            .as_str()
            .unwrap()
            .contains("#3 is a Data, not an Ask")
    );
}

#[test]
fn branch_lint_checks_names_issues_and_bases() {
    let demo = fixture("demo/issues.json");
    let demo = demo.to_str().unwrap();
    let run = dslp(&["lint", "branch", "experiment/6-boosting", "--issues", demo]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("experiment branch of issue #6"),
        "{}",
        run.stdout
    );

    let run = dslp(&[
        "lint",
        "branch",
        "experiment/6-boosting",
        "--base",
        "main",
        "--issues",
        demo,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(rules(&report), vec!["R42"]);
    assert_eq!(report["findings"][0]["blocking"], true);

    let run = dslp(&[
        "lint",
        "branch",
        "data/4-churn",
        "--issues",
        demo,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(rules(&run.json()), vec!["R31", "R31"]);

    let run = dslp(&["lint", "branch", "my-branch"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("R30"), "{}", run.stdout);
}

#[test]
fn config_lint_names_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dslp.yml");
    std::fs::write(
        &path,
        "version: 1\npolicies:\n  experiment:\n    blockng: [R42]\n",
    )
    .unwrap();
    let run = dslp(&["lint", "config", path.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("dslp.yml:4:5: unknown field `blockng`"),
        "{}",
        run.stderr
    );

    let run = dslp(&["lint", "config", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, 2);
    let report = run.json();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][0]["line"], 4);

    let run = dslp(&["lint", "config", "fixtures/demo/.github/dslp.yml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_bad_config_stops_lint_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dslp.yml");
    std::fs::write(&path, "version: 1\nrules:\n  R77: off\n").unwrap();
    let run = dslp(&["lint", "branch", "main", "--config", path.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(":3:3: unknown rule `R77`"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_and_input_errors_exit_2_with_a_message() {
    let run = dslp(&["lint", "issue", "fixtures/no-such-file.md"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("reading fixtures/no-such-file.md"),
        "{}",
        run.stderr
    );

    let run = dslp_with_stdin(&["lint", "issue", "-"], "{\"title\": \"truncated");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("looks like JSON but is not a GitHub issue"),
        "{}",
        run.stderr
    );

    let run = dslp(&["lint", "issues", "fixtures/issues/legacy/bug-report.md"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("gh issue list"), "{}", run.stderr);

    let run = dslp(&["lint", "nonsense"]);
    assert_eq!(run.code, 2);
    let run = dslp(&["lint", "branch", "x", "--repo", "not-a-repo"]);
    assert_eq!(run.code, 2);
}

#[test]
fn labels_and_rules_are_listed() {
    let labels = dslp(&["labels", "--format", "json"]).json();
    assert_eq!(labels.as_array().unwrap().len(), 11);
    assert_eq!(labels[9]["name"], "on hold");
    assert_eq!(labels[9]["color"], "ffd04f");
    let rules = dslp(&["rules"]);
    assert_eq!(rules.code, 0);
    assert_eq!(rules.stdout.lines().count(), 21);
}

#[test]
fn stats_reads_an_issue_export_into_team_figures() {
    let export = fixture("demo/issues.json");
    let run = dslp(&[
        "stats",
        export.to_str().unwrap(),
        "--now",
        "2026-11-22T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let figures = run.json();
    assert_eq!(figures["experiment_success_rate"], 1.0);
    let kind = |name: &str| {
        figures["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == name)
            .cloned()
            .unwrap()
    };
    // Data #2: opened 2026-09-02, closed a week later; #3 still open.
    assert_eq!(kind("Data")["median_days_to_close"], 7.0);
    assert_eq!(
        (
            kind("Data")["open"].as_u64(),
            kind("Data")["closed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(kind("Experiment")["median_days_to_close"], 10.0);
    let shares: f64 = figures["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["share_of_time"].as_f64().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-9);

    let broken = dslp(&["stats", fixture("demo/.github/dslp.yml").to_str().unwrap()]);
    assert_eq!(broken.code, 2);
    assert!(broken.stderr.contains("gh issue list"), "{}", broken.stderr);
}
