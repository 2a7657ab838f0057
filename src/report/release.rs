//! A model release's notes: the version, the rule and the change that
//! decided it, and the metrics against the previous release.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::lifecycle::metric::format_metric;
use crate::model::release::{Bump, Decision, ReleaseFacts, Version};

/// What a release keeps of itself for the next one to compare with
/// (`NAME.release.json`, one of its assets).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub model: String,
    pub tag: String,
    pub version: Version,
    pub decision: Decision,
    pub facts: ReleaseFacts,
    pub metrics: BTreeMap<String, f64>,
    pub commit: Option<String>,
}

pub fn tag(model: &str, version: Version) -> String {
    format!("{model}-v{version}")
}

fn rule(bump: Option<Bump>) -> &'static str {
    match bump {
        None => "the first release is 1.0.0",
        Some(Bump::Major) => {
            "major: what the model takes or gives is no longer compatible (a feature removed or retyped, other classes, another target)"
        }
        Some(Bump::Minor) => {
            "minor: how the model learns changed (features added, another algorithm or preprocessing)"
        }
        Some(Bump::Patch) => "patch: only data, weights or a parameter changed",
    }
}

/// The notes in Markdown, as the GitHub release shows them.
pub fn notes(record: &ReleaseRecord, previous: Option<&ReleaseRecord>) -> String {
    let mut out = format!("## {} {}\n\n", record.model, record.tag);
    out.push_str(&format!(
        "Version **{}** — {}.\n\n",
        record.version,
        rule(record.decision.bump)
    ));
    for reason in &record.decision.reasons {
        out.push_str(&format!("- {reason}\n"));
    }
    match previous {
        Some(previous) => {
            out.push_str(&format!(
                "\n| metric | {} | {} | Δ |\n|---|---|---|---|\n",
                record.tag, previous.tag
            ));
            for (metric, value) in &record.metrics {
                let before = previous.metrics.get(metric);
                out.push_str(&format!(
                    "| {metric} | {} | {} | {} |\n",
                    format_metric(*value),
                    before.map_or("–".into(), |b| format_metric(*b)),
                    before.map_or("–".into(), |b| format!("{:+.4}", value - b)),
                ));
            }
        }
        None => {
            out.push_str("\n| metric | value |\n|---|---|\n");
            for (metric, value) in &record.metrics {
                out.push_str(&format!("| {metric} | {} |\n", format_metric(*value)));
            }
        }
    }
    if let Some(commit) = &record.commit {
        out.push_str(&format!("\nTrained at commit `{commit}`.\n"));
    }
    out.push_str(
        "\nAssets: the model (`.model.json`, with its fitted preprocessing), the model card, the input and output schemas (JSON Schema), the reference profile monitoring compares with, the stamp, and this release's record.\n",
    );
    out
}
