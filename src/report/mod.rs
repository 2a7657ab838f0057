//! Rendering reports as markdown, one minijinja template per kind, each
//! from a typed context.

use minijinja::{Environment, Value};
use serde::Serialize;

use crate::data::DatasetReport;

const DATA_TESTS: &str = include_str!("templates/data_tests.md");

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
    env.add_template("data_tests.md", DATA_TESTS)
        .expect("the embedded template parses");
    env
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
    match f64::try_from(value.clone()) {
        Ok(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Ok(v) => {
            let text = format!("{v:.4}");
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        Err(_) => String::new(),
    }
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
    environment()
        .get_template("data_tests.md")
        .and_then(|t| {
            t.render(minijinja::context! { datasets => minijinja::value::Serde(&datasets) })
        })
        .unwrap_or_else(|e| format!("(the data-test report could not be rendered: {e})"))
}
