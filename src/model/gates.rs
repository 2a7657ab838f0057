//! Gates and the verdict, with MLflow's threshold semantics: an absolute
//! floor (or ceiling), a least absolute or relative improvement over the
//! base branch, and "beats the baseline", each knowing whether higher or
//! lower is better.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::evaluation::{format_change, format_metric as fmt, greater_is_better};
use super::spec::{Gate, MetricGate};

pub use crate::lifecycle::Verdict;

/// One condition and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub gate: String,
    pub condition: String,
    pub passed: bool,
    pub observed: String,
}

/// What the gates are judged on.
pub struct GateInputs<'a> {
    pub metrics: &'a BTreeMap<String, f64>,
    pub base: Option<&'a BTreeMap<String, f64>>,
    pub baseline: Option<&'a BTreeMap<String, f64>>,
    pub data_tests_passed: Option<bool>,
}

pub fn evaluate(gates: &BTreeMap<String, Gate>, inputs: &GateInputs<'_>) -> Vec<GateResult> {
    let mut results = Vec::new();
    for (name, gate) in gates {
        match gate {
            Gate::Pass(_) => results.push(GateResult {
                gate: name.clone(),
                condition: "the data tests pass".into(),
                passed: inputs.data_tests_passed == Some(true),
                observed: match inputs.data_tests_passed {
                    Some(true) => "passed".into(),
                    Some(false) => "failed".into(),
                    None => "not run".into(),
                },
            }),
            Gate::Metric(gate) => metric_gate(name, gate, inputs, &mut results),
        }
    }
    results
}

fn metric_gate(
    metric: &str,
    gate: &MetricGate,
    inputs: &GateInputs<'_>,
    out: &mut Vec<GateResult>,
) {
    let higher = gate
        .greater_is_better
        .unwrap_or_else(|| greater_is_better(metric));
    let better = |a: f64, b: f64| if higher { a >= b } else { a <= b };
    let word = if higher { "at least" } else { "at most" };
    let Some(value) = inputs.metrics.get(metric).copied() else {
        out.push(GateResult {
            gate: metric.into(),
            condition: "the metric is reported".into(),
            passed: false,
            observed: "not reported".into(),
        });
        return;
    };
    if let Some(threshold) = gate.threshold {
        out.push(GateResult {
            gate: metric.into(),
            condition: format!("{word} {}", fmt(threshold)),
            passed: better(value, threshold),
            observed: fmt(value),
        });
    }
    if gate.min_absolute_change.is_some() || gate.min_relative_change.is_some() {
        match inputs.base.and_then(|b| b.get(metric)).copied() {
            None => out.push(GateResult {
                gate: metric.into(),
                condition: "compared with the base branch".into(),
                passed: true,
                observed: "no base value; nothing to compare".into(),
            }),
            Some(base) => {
                let change = if higher { value - base } else { base - value };
                if let Some(least) = gate.min_absolute_change {
                    out.push(GateResult {
                        gate: metric.into(),
                        condition: format!("improves on base by at least {}", fmt(least)),
                        passed: change >= least,
                        observed: format!(
                            "{} vs base {} ({})",
                            fmt(value),
                            fmt(base),
                            format_change(value - base)
                        ),
                    });
                }
                if let Some(least) = gate.min_relative_change {
                    let relative = if base == 0.0 {
                        if change > 0.0 { f64::INFINITY } else { 0.0 }
                    } else {
                        change / base.abs()
                    };
                    out.push(GateResult {
                        gate: metric.into(),
                        condition: format!("improves on base by at least {:.1}%", least * 100.0),
                        passed: relative >= least,
                        observed: format!("{:+.2}% vs base {}", relative * 100.0, fmt(base)),
                    });
                }
            }
        }
    }
    if gate.beats_baseline {
        let baseline = inputs.baseline.and_then(|b| b.get(metric)).copied();
        out.push(GateResult {
            gate: metric.into(),
            condition: "beats the dummy baseline".into(),
            passed: baseline.is_some_and(|b| if higher { value > b } else { value < b }),
            observed: match baseline {
                Some(b) => format!("{} vs baseline {}", fmt(value), fmt(b)),
                None => "no baseline value".into(),
            },
        });
    }
}

/// GO when every gate holds, NO-GO with the failing ones as reasons,
/// NEUTRAL when there are no gates.
pub fn verdict(results: &[GateResult], errors: &[String]) -> (Verdict, Vec<String>) {
    if !errors.is_empty() {
        return (Verdict::NoGo, errors.to_vec());
    }
    if results.is_empty() {
        return (Verdict::Neutral, vec!["no gates are declared".into()]);
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{}: {} — observed {}", r.gate, r.condition, r.observed))
        .collect();
    if failed.is_empty() {
        (
            Verdict::Go,
            results
                .iter()
                .map(|r| format!("{}: {} — {}", r.gate, r.condition, r.observed))
                .collect(),
        )
    } else {
        (Verdict::NoGo, failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(yaml: &str) -> BTreeMap<String, Gate> {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn thresholds_know_which_way_is_better() {
        let metrics = BTreeMap::from([("roc_auc".to_string(), 0.8), ("log_loss".to_string(), 0.4)]);
        let inputs = GateInputs {
            metrics: &metrics,
            base: None,
            baseline: None,
            data_tests_passed: None,
        };
        let results = evaluate(
            &gate("roc_auc: { threshold: 0.75 }\nlog_loss: { threshold: 0.3 }\n"),
            &inputs,
        );
        assert_eq!(
            results.iter().map(|r| r.passed).collect::<Vec<_>>(),
            vec![false, true]
        );
        assert_eq!(results[0].condition, "at most 0.3");
        let (verdict, reasons) = verdict(&results, &[]);
        assert_eq!(verdict, Verdict::NoGo);
        assert_eq!(reasons, vec!["log_loss: at most 0.3 — observed 0.4"]);
    }

    #[test]
    fn changes_versus_base_and_baseline() {
        let metrics = BTreeMap::from([("roc_auc".to_string(), 0.80)]);
        let base = BTreeMap::from([("roc_auc".to_string(), 0.78)]);
        let baseline = BTreeMap::from([("roc_auc".to_string(), 0.5)]);
        let inputs = GateInputs {
            metrics: &metrics,
            base: Some(&base),
            baseline: Some(&baseline),
            data_tests_passed: Some(false),
        };
        let results = evaluate(
            &gate(
                "roc_auc: { min_absolute_change: 0.01, min_relative_change: 0.05, beats_baseline: true }\ndata_tests: pass\n",
            ),
            &inputs,
        );
        let passed: Vec<(String, bool)> = results
            .iter()
            .map(|r| (r.condition.clone(), r.passed))
            .collect();
        assert_eq!(
            passed,
            vec![
                ("the data tests pass".to_string(), false),
                ("improves on base by at least 0.01".to_string(), true),
                ("improves on base by at least 5.0%".to_string(), false),
                ("beats the dummy baseline".to_string(), true),
            ]
        );
        assert_eq!(verdict(&[], &[]).0, Verdict::Neutral);
    }
}
