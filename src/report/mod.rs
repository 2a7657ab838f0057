//! Rendering reports as markdown: one minijinja template per kind, each
//! rendered from a typed context built here.

use std::collections::BTreeMap;

use minijinja::{Environment, Value};

use serde::Serialize;

use crate::data::DatasetReport;
use crate::evidence::{Evidence, ModelOutcome};
use crate::model::evaluation::{format_change, format_metric};

pub mod comment;
pub mod data_release;
pub mod history;
pub mod ledger;
pub mod monitor;
pub mod release;

const TEMPLATES: [(&str, &str); 6] = [
    ("pr_comment.md", include_str!("templates/pr_comment.md")),
    (
        "issue_comment.md",
        include_str!("templates/issue_comment.md"),
    ),
    ("data_tests.md", include_str!("templates/data_tests.md")),
    ("models.md", include_str!("templates/models.md")),
    ("evidence.md", include_str!("templates/evidence.md")),
    ("model_card.md", include_str!("templates/model_card.md")),
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.add_filter("cell", cell);
    env.add_filter("num", num);
    env.add_filter("signed", signed);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("the embedded templates parse");
    }
    env
}

pub(crate) fn to_value<T: Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// Renders one of the embedded templates.
pub(crate) fn environment_render(name: &str, context: Value) -> String {
    render(name, context)
}

fn render(name: &str, context: Value) -> String {
    environment()
        .get_template(name)
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| format!("(the {name} report could not be rendered: {e})"))
}

/// A value safe inside a markdown table cell: pipes escaped, one line.
fn cell(value: Value) -> String {
    let text = if value.is_none() || value.is_undefined() {
        String::new()
    } else {
        value.to_string()
    };
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A number with at most four decimals; blank when absent.
fn num(value: Value) -> String {
    f64::try_from(value).map(format_metric).unwrap_or_default()
}

/// A change with its sign; blank when absent.
fn signed(value: Value) -> String {
    f64::try_from(value).map(format_change).unwrap_or_default()
}

fn verdict_icons() -> Value {
    to_value(std::collections::BTreeMap::from([
        ("GO", "✅"),
        ("NO-GO", "❌"),
        ("NEUTRAL", "➖"),
    ]))
}

#[derive(Serialize)]
struct DatasetView<'a> {
    name: &'a str,
    path: &'a str,
    rows: Option<u64>,
    passed: bool,
    checks: &'a [crate::data::CheckResult],
    failed: Vec<&'a crate::data::CheckResult>,
    passed_checks: Vec<&'a crate::data::CheckResult>,
    drift: &'a Option<Vec<crate::data::drift::ColumnDrift>>,
    drift_note: &'a Option<String>,
    profile: Vec<ProfileView<'a>>,
}

#[derive(Serialize)]
struct ProfileView<'a> {
    #[serde(flatten)]
    profile: &'a crate::data::profile::ColumnProfile,
    median: Option<f64>,
}

/// The data-test section of a report, as markdown.
pub fn data_tests_markdown(reports: &[DatasetReport]) -> String {
    let datasets: Vec<DatasetView> = reports
        .iter()
        .map(|d| DatasetView {
            name: &d.name,
            path: &d.path,
            rows: d.rows,
            passed: d.passed(),
            checks: &d.checks,
            failed: d.checks.iter().filter(|c| !c.passed).collect(),
            passed_checks: d.checks.iter().filter(|c| c.passed).collect(),
            drift: &d.drift,
            drift_note: &d.drift_note,
            profile: d
                .profile
                .iter()
                .map(|p| ProfileView {
                    profile: p,
                    median: p.quantiles.iter().find(|(q, _)| *q == 0.5).map(|(_, v)| *v),
                })
                .collect(),
        })
        .collect();
    render(
        "data_tests.md",
        minijinja::context! { datasets => to_value(&datasets) },
    )
}

#[derive(Serialize)]
struct MetricRow {
    metric: String,
    value: f64,
    base: Option<f64>,
    delta_base: Option<f64>,
    baseline: Option<f64>,
    delta_baseline: Option<f64>,
}

#[derive(Serialize)]
struct ModelView<'a> {
    #[serde(flatten)]
    outcome: &'a ModelOutcome,
    rows: Vec<MetricRow>,
    /// Every parameter, when one differs from the base's (as `dvc exp diff`).
    params_diff: Vec<ParamRow>,
    slice_metrics: Vec<String>,
    confusion: Vec<ConfusionRow>,
}

/// A parameter on this branch and on the base; blank where it is not set.
#[derive(Serialize)]
struct ParamRow {
    name: String,
    head: Option<f64>,
    base: Option<f64>,
    changed: bool,
}

/// The parameters against the base's, when any differs; none otherwise.
fn params_diff(
    head: &BTreeMap<String, f64>,
    base: Option<&BTreeMap<String, f64>>,
) -> Vec<ParamRow> {
    let Some(base) = base else {
        return Vec::new();
    };
    let names: std::collections::BTreeSet<&String> = head.keys().chain(base.keys()).collect();
    let rows: Vec<ParamRow> = names
        .into_iter()
        .map(|name| {
            let (head, base) = (head.get(name).copied(), base.get(name).copied());
            ParamRow {
                name: name.clone(),
                head,
                base,
                changed: head != base,
            }
        })
        .collect();
    match rows.iter().any(|r| r.changed) {
        true => rows,
        false => Vec::new(),
    }
}

/// One true class's row: its counts, each with its share of the row.
#[derive(Serialize)]
struct ConfusionRow {
    class: String,
    cells: Vec<String>,
}

fn confusion_rows(matrix: &[Vec<u64>], classes: &[String]) -> Vec<ConfusionRow> {
    matrix
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let total: u64 = row.iter().sum();
            ConfusionRow {
                class: classes.get(i).cloned().unwrap_or_else(|| i.to_string()),
                cells: row
                    .iter()
                    .map(|n| match total {
                        0 => "0".to_string(),
                        _ => format!("{n} ({:.1} %)", 100.0 * *n as f64 / total as f64),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn model_view(outcome: &ModelOutcome) -> ModelView<'_> {
    let mut rows = Vec::new();
    let mut confusion = Vec::new();
    let mut slice_metrics = Vec::new();
    if let Some(report) = &outcome.report {
        let metrics = &report.evaluation.metrics;
        let mut names: Vec<&String> = outcome
            .shown_metrics
            .iter()
            .filter(|m| metrics.contains_key(*m))
            .collect();
        if names.is_empty() {
            names = metrics.keys().collect();
        }
        for name in names {
            let value = metrics[name];
            let base = outcome
                .base_metrics
                .as_ref()
                .and_then(|b| b.get(name))
                .copied();
            let baseline = report.baseline.metrics.get(name).copied();
            rows.push(MetricRow {
                metric: name.clone(),
                value,
                base,
                delta_base: base.map(|b| value - b),
                baseline,
                delta_baseline: baseline.map(|b| value - b),
            });
        }
        confusion = confusion_rows(&report.evaluation.confusion_matrix, &report.classes);
        slice_metrics = outcome
            .shown_metrics
            .iter()
            .filter(|m| report.slices.iter().any(|s| s.metrics.contains_key(*m)))
            .take(4)
            .cloned()
            .collect();
    }
    let params_diff = outcome
        .report
        .as_ref()
        .map(|report| params_diff(&report.params, outcome.base_params.as_ref()))
        .unwrap_or_default();
    ModelView {
        outcome,
        rows,
        params_diff,
        slice_metrics,
        confusion,
    }
}

/// The model section of a report, as markdown.
pub fn models_markdown(models: &[ModelOutcome]) -> String {
    let views: Vec<ModelView> = models.iter().map(model_view).collect();
    render(
        "models.md",
        minijinja::context! { models => to_value(&views), verdict_icon => verdict_icons() },
    )
}

/// The whole evidence: verdict and reasons, data tests, models, stamp.
pub fn evidence_markdown(evidence: &Evidence) -> String {
    evidence_sections(evidence, true)
}

/// The evidence's sections, with or without its own verdict heading (the
/// pull-request report has a heading that also weighs the branch rules).
pub fn evidence_sections(evidence: &Evidence, header: bool) -> String {
    #[derive(Serialize)]
    struct StampView<'a> {
        name: &'a str,
        stamp: &'a crate::model::stamp::Stamp,
    }
    let stamps: Vec<StampView> = evidence
        .models
        .iter()
        .map(|m| StampView {
            name: &m.name,
            stamp: &m.stamp,
        })
        .collect();
    render(
        "evidence.md",
        minijinja::context! {
            header => header,
            verdict => evidence.verdict.to_string(),
            reasons => &evidence.reasons,
            verdict_icon => verdict_icons(),
            datasets => !evidence.datasets.is_empty(),
            data_section => data_tests_markdown(&evidence.datasets),
            models => !evidence.models.is_empty(),
            models_section => models_markdown(&evidence.models),
            head_commit => &evidence.head_commit,
            base_commit => &evidence.base_commit,
            stamps => to_value(&stamps),
            versions => to_value(crate::model::stamp::versions()),
        },
    )
}

/// A model card: data, metrics, gates, stamp.
pub fn model_card(outcome: &ModelOutcome) -> String {
    render(
        "model_card.md",
        minijinja::context! {
            m => to_value(outcome),
            body => models_markdown(std::slice::from_ref(outcome)),
            stamp_json => serde_json::to_string_pretty(&outcome.stamp).unwrap_or_default(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_show_against_the_base_only_when_one_differs() {
        let head = BTreeMap::from([("c".to_string(), 0.5), ("max_iter".to_string(), 100.0)]);
        let base = BTreeMap::from([("c".to_string(), 1.0), ("max_iter".to_string(), 100.0)]);
        let rows = params_diff(&head, Some(&base));
        let shown: Vec<(&str, bool)> = rows.iter().map(|r| (r.name.as_str(), r.changed)).collect();
        assert_eq!(shown, vec![("c", true), ("max_iter", false)]);
        assert!(
            params_diff(&head, Some(&head)).is_empty(),
            "the same parameters: no table"
        );
        assert!(params_diff(&head, None).is_empty(), "no base: no table");
        let added = params_diff(&head, Some(&BTreeMap::new()));
        assert!(added.iter().all(|r| r.changed && r.base.is_none()));
    }
}
