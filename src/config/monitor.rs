//! `monitor:` — each released model watched on fresh production inputs,
//! against the reference profile its release carries.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::data::spec::DriftLimits;
use crate::model::monitor::Limits;

/// One watched model (the key names a model under `models:` that has a release).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// Fresh production inputs: a .csv, .parquet or .ndjson path in the repository.
    pub data: String,
    /// The column with the known outcomes, when there is one: the metrics are compared too.
    #[serde(default)]
    pub labels: Option<LabelsSpec>,
    /// How often the App runs it; the Action runs it on the workflow's `schedule:`.
    #[serde(default)]
    pub schedule: Schedule,
    /// Drift limits (PSI warn and fail, KS fail); PSI 0.1 / 0.25 by default.
    #[serde(default)]
    pub drift: DriftLimits,
    /// The largest allowed change of a metric against the release's test
    /// metrics, as `roc_auc: { min_absolute_change: -0.03 }`.
    #[serde(default)]
    pub performance: BTreeMap<String, PerformanceLimit>,
    /// Close the issue monitoring opened once the data is back within limits.
    #[serde(default)]
    pub close_when_recovered: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelsSpec {
    pub column: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Daily,
    #[default]
    Weekly,
    Monthly,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformanceLimit {
    /// How far the metric may move against the release's (negative: a
    /// fall; for losses and errors a rise, so positive).
    pub min_absolute_change: f64,
}

impl Schedule {
    /// How long between two runs.
    pub fn every(self) -> std::time::Duration {
        let days = match self {
            Schedule::Daily => 1,
            Schedule::Weekly => 7,
            Schedule::Monthly => 30,
        };
        std::time::Duration::from_secs(days * 86_400)
    }
}

impl MonitorSpec {
    /// The limits `dslp monitor` applies.
    pub fn limits(&self) -> Limits {
        let defaults = Limits::default();
        let psi = self.drift.psi.unwrap_or_default();
        Limits {
            psi_warn: psi.warn.unwrap_or(defaults.psi_warn),
            psi_fail: psi.fail.unwrap_or(defaults.psi_fail),
            ks_fail: self.drift.ks.and_then(|k| k.fail),
            drops: self
                .performance
                .iter()
                .map(|(metric, limit)| (metric.clone(), limit.min_absolute_change.abs()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RepoConfig;

    #[test]
    fn a_monitor_reads_its_limits_and_names_a_declared_model() {
        let text = "version: 1\nmodels:\n  churn: { dataset: d, task: binary, target: y, algorithm: logistic_regression }\nmonitor:\n  churn:\n    data: data/scoring.csv\n    labels: { column: y }\n    drift: { psi: { warn: 0.2, fail: 0.3 }, ks: { fail: 0.25 } }\n    performance: { roc_auc: { min_absolute_change: -0.03 } }\n";
        let config = RepoConfig::parse(text, "x").unwrap();
        let spec = &config.monitor["churn"];
        let limits = spec.limits();
        assert_eq!(
            (limits.psi_warn, limits.psi_fail, limits.ks_fail),
            (0.2, 0.3, Some(0.25))
        );
        assert_eq!(limits.drops["roc_auc"], 0.03);
        assert_eq!(spec.schedule, Schedule::Weekly);
        let typo = text.replace("monitor:\n  churn:", "monitor:\n  chrun:");
        let error = RepoConfig::parse(&typo, "x").unwrap_err();
        assert_eq!(error.line, 5, "{error:?}");
        assert!(
            error.message.contains("did you mean `churn`"),
            "{}",
            error.message
        );
    }
}
