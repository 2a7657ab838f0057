//! The shipped issue forms agree with the rules engine's template table,
//! and a body GitHub renders from them passes the template rules.

use dslp_bot::lifecycle::kinds::{IssueKind, TEMPLATES, Template};
use dslp_bot::lifecycle::{Issue, IssueDirectory, RuleId, Rulebook};
use dslp_bot::scaffold::ISSUE_TEMPLATE_FILES;

use crate::support::{check_schema, dslp, repo_root};

fn form(template: &Template) -> serde_json::Value {
    let file = format!("{}.yml", template.form_file);
    let (_, text) = ISSUE_TEMPLATE_FILES
        .iter()
        .find(|(name, _)| *name == file)
        .unwrap_or_else(|| panic!("no embedded form {file}"));
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The fields that render into the issue body (markdown blocks do not).
fn fields(form: &serde_json::Value) -> Vec<&serde_json::Value> {
    form["body"]
        .as_array()
        .expect("body")
        .iter()
        .filter(|element| element["type"] != "markdown")
        .collect()
}

#[test]
fn form_labels_match_the_template_table() {
    for template in TEMPLATES {
        let form = form(template);
        let labels: Vec<&str> = fields(&form)
            .iter()
            .map(|f| f["attributes"]["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, template.form_labels, "{}", template.name);
        assert_eq!(form["name"], template.name);
        assert_eq!(
            form["labels"],
            serde_json::json!([template.kind.label()]),
            "{}",
            template.name
        );
    }
}

#[test]
fn forms_require_what_dslp_needs() {
    for template in TEMPLATES {
        let form = form(template);
        let required: Vec<&str> = fields(&form)
            .iter()
            .filter(|f| f["validations"]["required"] == true)
            .map(|f| f["attributes"]["label"].as_str().unwrap())
            .collect();
        for needed in template.required {
            assert!(
                required.contains(needed),
                "{}: {needed} is not required",
                template.name
            );
        }
        let links: &[&str] = match template.kind {
            IssueKind::Experiment => &["Ask Reference"],
            IssueKind::Model => &["Ask Reference", "Based on Experiment"],
            _ => &[],
        };
        for link in links {
            assert!(
                required.contains(link),
                "{}: {link} is not required",
                template.name
            );
        }
    }
}

/// What GitHub writes into an issue created from a form: `### Label`, a
/// blank line, the answer or `_No response_`.
fn render(form: &serde_json::Value, answer: impl Fn(&str) -> Option<String>) -> String {
    fields(form)
        .iter()
        .map(|field| {
            let label = field["attributes"]["label"].as_str().unwrap();
            let value = answer(label)
                .or_else(|| {
                    field["attributes"]["value"]
                        .as_str()
                        .map(|v| v.trim().to_string())
                })
                .unwrap_or_else(|| "_No response_".to_string());
            format!("### {label}\n\n{value}")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[test]
fn a_filled_in_form_passes_the_template_rules() {
    let rulebook = Rulebook::default();
    for template in TEMPLATES {
        let body = render(&form(template), |label| match label {
            "Ask Reference" => Some("#1".into()),
            "Based on Experiment" => Some("#2".into()),
            "Overview" => Some("Prompted by #1.".into()),
            "Goals" => Some("- [ ] Is churn seasonal?".into()),
            _ => Some(format!("Our answer for {label}.")),
        });
        let issue = Issue {
            number: Some(9),
            title: format!("A {} issue", template.name),
            body,
            labels: vec![template.kind.label().to_string()],
            ..Issue::default()
        };
        let report = rulebook.check_issue(&issue, &IssueDirectory::unknown());
        assert_eq!(
            report.classification.map(|c| c.template.name),
            Some(template.name)
        );
        assert!(
            report.findings.is_empty(),
            "{}: {:?}",
            template.name,
            report.findings
        );
    }
}

#[test]
fn an_untouched_form_is_classified_and_flagged() {
    let rulebook = Rulebook::default();
    for template in TEMPLATES {
        let body = render(&form(template), |_| None);
        let issue = Issue {
            number: Some(9),
            body,
            ..Issue::default()
        };
        let report = rulebook.check_issue(&issue, &IssueDirectory::unknown());
        let kind = report.classification.map(|c| c.kind);
        assert_eq!(
            kind,
            Some(template.kind),
            "{} was not recognised unlabelled",
            template.name
        );
        assert!(
            report.findings.iter().any(|f| f.rule == RuleId::R10),
            "{}",
            template.name
        );
    }
}

#[test]
fn shipped_forms_and_chooser_validate_against_githubs_schemas() {
    let dir = repo_root().join("issue-templates");
    let forms: Vec<_> = TEMPLATES
        .iter()
        .map(|t| dir.join(format!("{}.yml", t.form_file)))
        .collect();
    check_schema("github-issue-forms", &forms);
    check_schema("github-issue-config", &[dir.join("config.yml")]);
}

#[test]
fn published_config_schema_accepts_the_example_and_rejects_typos() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    let run = dslp(&["config", "schema"]);
    assert_eq!(run.code, 0);
    std::fs::write(&schema, &run.stdout).unwrap();
    let example = repo_root().join("src/config/dslp.example.yml");
    let typo = dir.path().join("typo.yml");
    std::fs::write(&typo, "version: 1\nrulez: {}\n").unwrap();
    let validate = |file: &std::path::Path| {
        std::process::Command::new("check-jsonschema")
            .arg("--schemafile")
            .arg(&schema)
            .arg(file)
            .output()
            .expect("check-jsonschema runs; install it with `pip install check-jsonschema`")
            .status
            .success()
    };
    assert!(validate(&example), "the example config does not validate");
    assert!(validate(
        &repo_root().join("fixtures/demo/.github/dslp.yml")
    ));
    assert!(!validate(&typo), "the schema accepted an unknown key");
}
