//! The comments dslp-bot keeps up to date: one per pull request, one per
//! issue, each found again by a hidden marker and edited in place.

use serde::Serialize;

use super::{environment_render, to_value};
use crate::evidence::Evidence;
use crate::lifecycle::{BranchReport, Finding, IssueReport, Rulebook, Verdict};

/// Marks the sticky pull-request report.
pub const PR_MARKER: &str = "<!-- dslp:pr-report -->";
/// Marks the sticky issue-rule comment.
pub const ISSUE_MARKER: &str = "<!-- dslp:issue-report -->";
/// GitHub's limit on a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// A comment body within GitHub's limit, and the untrimmed text for places
/// that take more (the check run's text, the Action's job summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: String,
    pub full: String,
    pub trimmed: bool,
}

#[derive(Serialize)]
struct FindingView<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    blocking: bool,
}

/// The sticky pull-request report: branch rules, then the evidence.
pub fn pr_comment(
    branch: &BranchReport,
    rulebook: &Rulebook,
    evidence: Option<&Evidence>,
    verdict: Verdict,
    reasons: &[String],
) -> Rendered {
    let render = |evidence_section: String, charts: &[String], trimmed: &str| {
        let findings: Vec<FindingView> = branch
            .findings
            .iter()
            .map(|f| FindingView {
                finding: f,
                blocking: rulebook.is_blocking(f, &branch.head),
            })
            .collect();
        environment_render(
            "pr_comment.md",
            minijinja::context! {
                marker => PR_MARKER,
                evidence_section => evidence_section,
                verdict => verdict.as_str(),
                reasons => to_value(reasons),
                icon => verdict.icon(),
                head => &branch.head.name,
                base => branch.base.as_ref().map(|b| b.name.clone()).unwrap_or_default(),
                branch_kind => describe_kind(branch),
                findings => to_value(&findings),
                charts => to_value(charts),
                trimmed => trimmed,
                version => env!("CARGO_PKG_VERSION"),
            },
        )
    };
    let evidence_section = evidence
        .map(|e| super::evidence_sections(e, false))
        .unwrap_or_default();
    let charts = evidence.map(charts).unwrap_or_default();
    let full = render(evidence_section.clone(), &charts, "");
    if full.chars().count() <= COMMENT_LIMIT {
        return Rendered {
            body: full.clone(),
            full,
            trimmed: false,
        };
    }
    // Too long: fold away the detail blocks first, then the charts, and as a
    // last resort cut the evidence; say so, and point at the check run.
    let note = "trimmed to fit GitHub's comment limit: the whole report is in the `dslp` check run";
    let folded = fold_details(&evidence_section);
    let body = render(folded.clone(), &charts, note);
    if body.chars().count() <= COMMENT_LIMIT {
        return Rendered {
            body,
            full,
            trimmed: true,
        };
    }
    let body = render(folded.clone(), &[], note);
    if body.chars().count() <= COMMENT_LIMIT {
        return Rendered {
            body,
            full,
            trimmed: true,
        };
    }
    let skeleton = render(String::new(), &[], note).chars().count();
    let room = COMMENT_LIMIT.saturating_sub(skeleton + 200);
    let cut: String = folded.chars().take(room).collect();
    let body = render(format!("{cut}\n\n…\n"), &[], note);
    Rendered {
        body,
        full,
        trimmed: true,
    }
}

/// Replaces the content of every `<details>` block with a pointer.
fn fold_details(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(start) = rest.find("<details>") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match (after.find("</summary>"), after.find("</details>")) {
            (Some(summary_end), Some(end)) if summary_end < end => {
                out.push_str(&after[..summary_end + "</summary>".len()]);
                out.push_str(
                    "\n\n_(left out here for length; see the `dslp` check run)_\n</details>",
                );
                rest = &after[end + "</details>".len()..];
            }
            _ => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn describe_kind(branch: &BranchReport) -> String {
    match (branch.head.kind, branch.head.number) {
        (Some(kind), Some(n)) => format!("{kind} branch of #{n}"),
        (Some(kind), None) => format!("{kind} branch"),
        (None, _) => "no DSLP branch kind".into(),
    }
}

/// Mermaid charts GitHub renders itself: each model's gated metric against
/// base and baseline, and PSI by column per dataset.
pub fn charts(evidence: &Evidence) -> Vec<String> {
    let mut charts = Vec::new();
    for model in &evidence.models {
        let Some(report) = &model.report else {
            continue;
        };
        let metric = model
            .gates
            .first()
            .map(|g| g.gate.clone())
            .filter(|m| report.evaluation.metrics.contains_key(m))
            .or_else(|| {
                model
                    .shown_metrics
                    .iter()
                    .find(|m| report.evaluation.metrics.contains_key(*m))
                    .cloned()
            });
        let Some(metric) = metric else { continue };
        let mut labels = vec!["\"this branch\"".to_string()];
        let mut values = vec![report.evaluation.metrics[&metric]];
        if let Some(base) = model.base_metrics.as_ref().and_then(|b| b.get(&metric)) {
            labels.push("\"base\"".into());
            values.push(*base);
        }
        if let Some(baseline) = report.baseline.metrics.get(&metric) {
            labels.push("\"baseline\"".into());
            values.push(*baseline);
        }
        charts.push(format!(
            "xychart-beta\n    title \"{}: {}\"\n    x-axis [{}]\n    y-axis \"{}\"\n    bar [{}]",
            model.name,
            metric,
            labels.join(", "),
            metric,
            values
                .iter()
                .map(|v| crate::model::evaluation::format_metric(*v))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        charts.extend(curve_charts(
            &model.name,
            &report.evaluation,
            model.base_curves.as_ref(),
        ));
        if let Some(tuning) = &report.tuning {
            charts.extend(tuning_charts(&model.name, tuning));
        }
    }
    for dataset in &evidence.datasets {
        charts.extend(drift_histograms(dataset));
        let Some(drift) = &dataset.drift else {
            continue;
        };
        let with_psi: Vec<_> = drift
            .iter()
            .filter_map(|d| d.psi.map(|p| (d.column.as_str(), p)))
            .take(20)
            .collect();
        if with_psi.is_empty() {
            continue;
        }
        charts.push(format!(
            "xychart-beta\n    title \"{}: drift (PSI) by column\"\n    x-axis [{}]\n    y-axis \"PSI\"\n    bar [{}]",
            dataset.name,
            with_psi.iter().map(|(c, _)| format!("\"{c}\"")).collect::<Vec<_>>().join(", "),
            with_psi.iter().map(|(_, p)| crate::model::evaluation::format_metric(*p)).collect::<Vec<_>>().join(", ")
        ));
    }
    charts
}

/// The histogram of each drifted column (PSI 0.1 or more, the usual
/// warning, the three largest): the base's share of each bin as bars, the
/// head's as a line.
fn drift_histograms(dataset: &crate::data::DatasetReport) -> Vec<String> {
    let Some(drift) = &dataset.drift else {
        return Vec::new();
    };
    let mut drifted: Vec<_> = drift
        .iter()
        .filter(|d| d.psi.is_some_and(|p| p >= 0.1) && d.bins.is_some())
        .collect();
    drifted.sort_by(|a, b| b.psi.unwrap_or(0.0).total_cmp(&a.psi.unwrap_or(0.0)));
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    drifted
        .into_iter()
        .take(3)
        .filter_map(|d| {
            let bins = d.bins.as_ref()?;
            let labels: Vec<String> = bins
                .labels
                .iter()
                .map(|l| format!("\"{}\"", l.replace('"', "'")))
                .collect();
            Some(format!(
                "xychart-beta\n    title \"{}.{}: PSI {:.3} (bars: base; line: this branch)\"\n    x-axis [{}]\n    y-axis \"share of rows\"\n    bar [{}]\n    line [{}]",
                dataset.name,
                d.column,
                d.psi.unwrap_or(0.0),
                labels.join(", "),
                fmt(&bins.base),
                fmt(&bins.head)
            ))
        })
        .collect()
}

/// A binary classifier's ROC and precision-recall curves and its
/// calibration, each against the line a chance (or perfectly calibrated)
/// model draws.
/// A binary model's ROC and precision-recall curves, the base's beside
/// them when it has them, and its calibration.
fn curve_charts(
    model: &str,
    evaluation: &crate::model::evaluation::Evaluation,
    base: Option<&crate::model::curves::Curves>,
) -> Vec<String> {
    let values = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut charts = Vec::new();
    if let Some(curves) = &evaluation.curves {
        let chance: Vec<f64> = (0..curves.roc.len())
            .map(|i| i as f64 / (curves.roc.len() - 1) as f64)
            .collect();
        let auc = evaluation
            .metrics
            .get("roc_auc")
            .copied()
            .unwrap_or(f64::NAN);
        // Mermaid's lines carry no legend: the title says which is which.
        let (roc_title, roc_base) = match base {
            Some(base) => (
                "line 2: base, line 3: chance",
                format!("\n    line [{}]", values(&base.roc)),
            ),
            None => ("line 2: chance", String::new()),
        };
        charts.push(format!(
            "xychart-beta\n    title \"{model}: ROC curve (AUC {auc:.3}; {roc_title})\"\n    x-axis \"false positive rate\" 0 --> 1\n    y-axis \"true positive rate\" 0 --> 1\n    line [{}]{roc_base}\n    line [{}]",
            values(&curves.roc),
            values(&chance)
        ));
        let ap = evaluation
            .metrics
            .get("average_precision")
            .copied()
            .unwrap_or(f64::NAN);
        let (pr_title, pr_base) = match base {
            Some(base) => (
                "; line 2: base",
                format!("\n    line [{}]", values(&base.precision_recall)),
            ),
            None => ("", String::new()),
        };
        charts.push(format!(
            "xychart-beta\n    title \"{model}: precision-recall (AP {ap:.3}{pr_title})\"\n    x-axis \"recall\" 0 --> 1\n    y-axis \"precision\" 0 --> 1\n    line [{}]{pr_base}",
            values(&curves.precision_recall)
        ));
    }
    let bins: Vec<_> = evaluation
        .calibration
        .iter()
        .filter(|b| b.count > 0)
        .collect();
    if bins.len() >= 2 {
        let labels: Vec<String> = bins
            .iter()
            .map(|b| format!("\"{:.1}–{:.1}\"", b.lower, b.upper))
            .collect();
        let observed: Vec<f64> = bins.iter().map(|b| b.fraction_positive).collect();
        let predicted: Vec<f64> = bins.iter().map(|b| b.mean_predicted).collect();
        charts.push(format!(
            "xychart-beta\n    title \"{model}: calibration (bars: share positive; line: mean predicted)\"\n    x-axis [{}]\n    y-axis \"share\" 0 --> 1\n    bar [{}]\n    line [{}]",
            labels.join(", "),
            values(&observed),
            values(&predicted)
        ));
    }
    charts
}

/// The tuning curve of each parameter the search varied (the first two):
/// the cross-validated score at each of its values, the best over the
/// other parameters' values.
fn tuning_charts(model: &str, tuning: &crate::model::tune::TuningReport) -> Vec<String> {
    let mut charts = Vec::new();
    for parameter in tuning.space.keys().take(2) {
        let mut best: Vec<(f64, f64)> = Vec::new();
        for candidate in &tuning.candidates {
            let (Some(value), score) = (candidate.params.get(parameter), candidate.score_mean)
            else {
                continue;
            };
            match best.iter_mut().find(|(v, _)| v == value) {
                Some((_, s)) => *s = s.max(score),
                None => best.push((*value, score)),
            }
        }
        if best.len() < 2 {
            continue;
        }
        best.sort_by(|a, b| a.0.total_cmp(&b.0));
        let format = crate::model::evaluation::format_metric;
        charts.push(format!(
            "xychart-beta\n    title \"{model}: tuning {parameter} ({}, {}-fold mean)\"\n    x-axis \"{parameter}\" [{}]\n    y-axis \"{}\"\n    line [{}]",
            tuning.scoring,
            tuning.folds,
            best.iter().map(|(v, _)| format!("\"{}\"", format(*v))).collect::<Vec<_>>().join(", "),
            tuning.scoring,
            best.iter().map(|(_, s)| format(*s)).collect::<Vec<_>>().join(", ")
        ));
    }
    charts
}

/// The sticky issue comment for issue-rule findings; `None` when there is
/// nothing to say (a clean issue gets no comment, or its old one is cleared).
pub fn issue_comment(report: &IssueReport) -> Option<String> {
    if report.findings.is_empty() {
        return None;
    }
    let errors = report
        .findings
        .iter()
        .any(|f| f.severity == crate::lifecycle::Severity::Error);
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.rule));
    Some(environment_render(
        "issue_comment.md",
        minijinja::context! {
            marker => ISSUE_MARKER,
            errors => errors,
            kind => report.classification.map(|c| c.kind.to_string()).unwrap_or_else(|| "DSLP".into()),
            template => report.classification.map(|c| c.template.name).unwrap_or(""),
            suggested_label => report.suggested_label(),
            findings => to_value(&findings),
            version => env!("CARGO_PKG_VERSION"),
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::data::drift;
    use crate::data::stats::ValueCounts;

    fn report(columns: Vec<crate::data::drift::ColumnDrift>) -> crate::data::DatasetReport {
        crate::data::DatasetReport {
            name: "churn".into(),
            path: "data/churn.csv".into(),
            rows: Some(100),
            checks: Vec::new(),
            profile: Vec::new(),
            drift: Some(columns),
            drift_note: None,
            content: None,
        }
    }

    #[test]
    fn a_drifted_column_gets_its_histogram_a_steady_one_none() {
        let base: Vec<f64> = (0..1000).map(f64::from).collect();
        let risen: Vec<f64> = (0..1000).map(|v| f64::from(v) * 1.5).collect();
        let counts = |v: &Vec<f64>| ValueCounts::of(|| v.clone().into_iter());
        let moved = drift::numeric("charges", &counts(&base), &counts(&risen));
        let steady = drift::numeric("tenure", &counts(&base), &counts(&base));
        let bins = moved.bins.clone().unwrap();
        assert_eq!(bins.labels.len(), 10);
        assert!((bins.base.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!((bins.head.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let levels = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let plan = drift::categorical(
            "plan",
            &levels(&[("monthly", 80), ("yearly", 20)]),
            &levels(&[("monthly", 30), ("yearly", 20), ("weekly", 50)]),
        );
        let charts = drift_histograms(&report(vec![steady, moved, plan]));
        assert_eq!(charts.len(), 2, "{charts:?}");
        assert!(charts.iter().any(|c| c.contains("churn.charges: PSI")));
        let plan_chart = charts.iter().find(|c| c.contains("churn.plan")).unwrap();
        assert!(
            plan_chart.contains("\"monthly\", \"yearly\", \"weekly\""),
            "{plan_chart}"
        );
        assert!(
            plan_chart.contains("bar [0.800, 0.200, 0.000]"),
            "{plan_chart}"
        );
    }

    #[test]
    fn a_tuned_parameter_gets_its_curve_the_best_score_at_each_value() {
        use crate::model::tune::{Candidate, TuningReport};
        let candidate = |c: f64, depth: f64, score: f64| Candidate {
            params: BTreeMap::from([("c".to_string(), c), ("depth".to_string(), depth)]),
            score_mean: score,
            score_std: 0.01,
        };
        let tuning = TuningReport {
            scoring: "roc_auc".into(),
            folds: 5,
            space: BTreeMap::from([("c".to_string(), "0.1, 1, 10".to_string())]),
            candidates: vec![
                candidate(10.0, 3.0, 0.83),
                candidate(0.1, 3.0, 0.8),
                candidate(1.0, 3.0, 0.84),
                candidate(1.0, 5.0, 0.85),
            ],
            chosen: BTreeMap::from([("c".to_string(), 1.0)]),
        };
        let charts = tuning_charts("churn_lr", &tuning);
        assert_eq!(charts.len(), 1, "only the searched parameter: {charts:?}");
        assert!(
            charts[0].contains("x-axis \"c\" [\"0.1\", \"1\", \"10\"]"),
            "{}",
            charts[0]
        );
        assert!(
            charts[0].contains("line [0.8, 0.85, 0.83]"),
            "{}",
            charts[0]
        );
        let one_value = TuningReport {
            candidates: vec![candidate(1.0, 3.0, 0.8)],
            ..tuning
        };
        assert!(
            tuning_charts("m", &one_value).is_empty(),
            "no curve from one point"
        );
    }
}
