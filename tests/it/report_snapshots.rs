//! Every comment template rendered from real inputs and snapshotted, so a
//! report change is reviewed as a diff.

use std::path::Path;

use dslp_bot::config::RepoConfig;
use dslp_bot::evidence::{self, Request};
use dslp_bot::lifecycle::{Issue, IssueDirectory, PullRequest};
use dslp_bot::report::comment::{self, COMMENT_LIMIT, ISSUE_MARKER, PR_MARKER};

use crate::support::fixture;

fn demo_issues() -> IssueDirectory {
    let text = std::fs::read_to_string(fixture("demo/issues.json")).unwrap();
    let issues: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let issues = issues.into_iter().map(|i| Issue {
        number: i["number"].as_u64(),
        title: i["title"].as_str().unwrap().to_string(),
        body: i["body"].as_str().unwrap().to_string(),
        labels: i["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_string())
            .collect(),
        ..Issue::default()
    });
    IssueDirectory::complete(None, issues)
}

/// The demo project copied outside any git repository, so no commit ids.
fn demo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    for file in [".github/dslp.yml", "data/churn.csv"] {
        std::fs::copy(fixture(&format!("demo/{file}")), dir.path().join(file)).unwrap();
    }
    dir
}

/// Timings differ from run to run; everything else is deterministic.
fn redact_timings(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("- Training time") {
                "- Training time [redacted]"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn issue_comment() {
    let body = std::fs::read_to_string(fixture("issues/legacy/experiment-as-opened.md")).unwrap();
    let issue = Issue {
        number: Some(20),
        title: "Random forest".into(),
        body,
        labels: vec!["Experiment".into()],
        ..Issue::default()
    };
    let rulebook = dslp_bot::lifecycle::Rulebook::default();
    let report = rulebook.check_issue(&issue, &demo_issues());
    let comment = comment::issue_comment(&report).expect("findings give a comment");
    assert!(comment.starts_with(ISSUE_MARKER));
    insta::assert_snapshot!("issue_comment", comment);
    let clean = Issue {
        number: Some(6),
        ..issue
    };
    let mut report = rulebook.check_issue(&clean, &demo_issues());
    report.findings.clear();
    assert_eq!(comment::issue_comment(&report), None);
}

fn pr_report(root: &Path) -> comment::Rendered {
    pr_report_with(root, |_| {})
}

/// The demo's report, its evidence changed by `edit` first.
fn pr_report_with(root: &Path, edit: impl FnOnce(&mut evidence::Evidence)) -> comment::Rendered {
    let text = std::fs::read_to_string(root.join(".github/dslp.yml")).unwrap();
    let config = RepoConfig::parse(&text, "dslp.yml").unwrap();
    let rulebook = config.rulebook("dslp.yml").unwrap();
    let pr = PullRequest {
        number: Some(12),
        head: "experiment/6-boosting".into(),
        base: "main".into(),
        body: Some("Tries boosting for #6.".into()),
        ..PullRequest::default()
    };
    let branch = dslp_bot::engine::pull_request_rules(&pr, &rulebook, &demo_issues());
    let mut evidence = evidence::gather(&Request {
        root,
        config: &config,
        base: None,
        models: &[],
        datasets: &[],
        run_data_tests: true,
        run_training: true,
        keep_artifacts: false,
        sources: &dslp_bot::data::source::Sources::default(),
    });
    edit(&mut evidence);
    dslp_bot::engine::pull_request_report(
        &branch,
        &rulebook,
        dslp_bot::engine::EvidenceState::Gathered(&evidence),
    )
}

#[test]
fn pull_request_comment() {
    let demo = demo_copy();
    let rendered = pr_report(demo.path());
    assert!(rendered.body.starts_with(PR_MARKER));
    assert!(!rendered.trimmed);
    assert!(
        rendered.body.contains("```mermaid\nxychart-beta"),
        "{}",
        rendered.body
    );
    insta::assert_snapshot!("pull_request_comment", redact_timings(&rendered.body));
}

/// The sections a base brings, for the README's example: the parameters
/// against the base's (one changed), and the base's curves beside the
/// branch's. The base here is the branch's own run, with `c` at 2.
#[test]
fn pull_request_comment_against_a_base() {
    let demo = demo_copy();
    let rendered = pr_report_with(demo.path(), |evidence| {
        let model = &mut evidence.models[0];
        let report = model.report.as_ref().unwrap();
        let mut params = report.params.clone();
        params.insert("c".into(), 2.0);
        model.base_params = Some(params);
        model.base_metrics = Some(report.evaluation.metrics.clone());
        model.base_curves = report.evaluation.curves.clone();
    });
    let body = redact_timings(&rendered.body);
    assert!(body.contains("| **`c`** |"), "{body}");
    assert!(body.contains("line 2: base, line 3: chance"), "{body}");
    insta::assert_snapshot!("pull_request_comment_against_a_base", body);
}

#[test]
fn model_card() {
    let demo = demo_copy();
    let text = std::fs::read_to_string(demo.path().join(".github/dslp.yml")).unwrap();
    let config = RepoConfig::parse(&text, "dslp.yml").unwrap();
    let evidence = evidence::gather(&Request {
        root: demo.path(),
        config: &config,
        base: None,
        models: &[],
        datasets: &[],
        run_data_tests: false,
        run_training: true,
        keep_artifacts: false,
        sources: &dslp_bot::data::source::Sources::default(),
    });
    let card = dslp_bot::report::model_card(&evidence.models[0]);
    insta::assert_snapshot!("model_card", redact_timings(&card));
}

#[test]
fn a_report_too_long_for_github_is_trimmed_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    let columns: Vec<String> = (0..900)
        .map(|i| format!("a_rather_long_feature_column_name_number_{i:04}"))
        .collect();
    let mut csv = columns.join(",") + "\n";
    for row in 0..30 {
        csv.push_str(
            &columns
                .iter()
                .enumerate()
                .map(|(i, _)| ((row * 7 + i) % 11).to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        csv.push('\n');
    }
    std::fs::write(dir.path().join("wide.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join(".github/dslp.yml"),
        "version: 1\ndatasets:\n  wide: { path: wide.csv, rows: { min: 1 } }\n",
    )
    .unwrap();
    let config = RepoConfig::parse(
        &std::fs::read_to_string(dir.path().join(".github/dslp.yml")).unwrap(),
        "x",
    )
    .unwrap();
    let rulebook = config.rulebook("x").unwrap();
    let branch = rulebook.check_pull_request(
        &PullRequest {
            head: "data/2-wide".into(),
            base: "main".into(),
            ..PullRequest::default()
        },
        &IssueDirectory::unknown(),
    );
    let evidence = evidence::gather(&Request {
        root: dir.path(),
        config: &config,
        base: None,
        models: &[],
        datasets: &[],
        run_data_tests: true,
        run_training: false,
        keep_artifacts: false,
        sources: &dslp_bot::data::source::Sources::default(),
    });
    let rendered = dslp_bot::engine::pull_request_report(
        &branch,
        &rulebook,
        dslp_bot::engine::EvidenceState::Gathered(&evidence),
    );
    assert!(
        rendered.full.chars().count() > COMMENT_LIMIT,
        "the test needs a report over the limit"
    );
    assert!(rendered.trimmed);
    assert!(rendered.body.chars().count() <= COMMENT_LIMIT);
    assert!(
        rendered
            .body
            .contains("trimmed to fit GitHub's comment limit")
    );
    assert!(
        rendered
            .full
            .contains("a_rather_long_feature_column_name_number_0899")
    );
    assert!(rendered.body.starts_with(PR_MARKER));
}
