//! A model release's notes: the version, the rule and the change that
//! decided it, and the metrics against the previous release.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use base64::Engine as _;

use crate::evidence::ModelOutcome;
use crate::lifecycle::metric::format_metric;
use crate::model::artifact::ModelArtifact;
use crate::model::release::{self, Bump, Decision, ReleaseFacts, Version};

/// What a release keeps of itself for the next one to compare with
/// (`NAME.release.json`, one of its assets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub model: String,
    pub tag: String,
    pub version: Version,
    pub decision: Decision,
    pub facts: ReleaseFacts,
    pub metrics: BTreeMap<String, f64>,
    pub commit: Option<String>,
    /// The issues the release answers, when it was made on a merge.
    #[serde(default)]
    pub links: Links,
}

/// The Model issue a release closes the loop of, its Experiment and Ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    pub model_issue: Option<u64>,
    pub experiment: Option<u64>,
    pub ask: Option<u64>,
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
    let links: Vec<String> = [
        ("Model issue", record.links.model_issue),
        ("Experiment", record.links.experiment),
        ("Ask", record.links.ask),
    ]
    .iter()
    .filter_map(|(what, n)| n.map(|n| format!("{what} #{n}")))
    .collect();
    if !links.is_empty() {
        out.push_str(&format!("\n{}.\n", links.join(" · ")));
    }
    out.push_str(
        "\nAssets: the model (`.model.json`, with its fitted preprocessing), the model card, the input and output schemas (JSON Schema), the reference profile monitoring compares with, the stamp, and this release's record.\n",
    );
    out
}

/// Where the notes keep the record, so the next release finds what it
/// compares with in the release itself.
const RECORD_MARKER: &str = "<!-- dslp:release-record ";

/// One file of a release.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub name: String,
    pub content_type: &'static str,
    pub text: String,
}

/// A release, ready to be written to a directory or published.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub record: ReleaseRecord,
    /// The notes, with the record inside them for the next release.
    pub notes: String,
    pub assets: Vec<Asset>,
}

/// What a release of `outcome`'s model would be after `previous`; `None`
/// when nothing it was made from changed since `previous`.
pub fn prepare(
    outcome: &ModelOutcome,
    previous: Option<&ReleaseRecord>,
    links: Links,
) -> Result<Option<Prepared>, String> {
    let name = &outcome.name;
    let artifact = outcome
        .artifact
        .as_ref()
        .ok_or_else(|| match &outcome.error {
            Some(error) => format!("model `{name}` could not be trained: {error}"),
            None => {
                format!("model `{name}` has no trained artifact (its metrics come from a file)")
            }
        })?;
    let facts = ReleaseFacts::of(artifact)
        .ok_or_else(|| format!("model `{name}` has no algorithm to release"))?;
    if previous.is_some_and(|p| p.facts == facts) {
        return Ok(None);
    }
    let decision = release::decide(previous.map(|p| (p.version, &p.facts)), &facts);
    let record = ReleaseRecord {
        model: name.clone(),
        tag: tag(name, decision.version),
        version: decision.version,
        metrics: outcome.metrics().cloned().unwrap_or_default(),
        commit: artifact.stamp.head_commit.clone(),
        decision,
        facts,
        links,
    };
    let card = crate::report::model_card(outcome);
    let assets = assets(&record, artifact, previous, &card)?;
    let notes = format!(
        "{}\n{}",
        notes(&record, previous),
        encode_marked(RECORD_MARKER, &record)?
    );
    Ok(Some(Prepared {
        record,
        notes,
        assets,
    }))
}

/// `value` as JSON in base64 behind `marker`, a hidden line of Markdown.
pub(crate) fn encode_marked(marker: &str, value: &impl Serialize) -> Result<String, String> {
    let json = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(json);
    Ok(format!("{marker}{encoded} -->\n"))
}

/// What [`encode_marked`] hid behind `marker` in `notes`.
pub(crate) fn decode_marked<T: serde::de::DeserializeOwned>(
    notes: &str,
    marker: &str,
) -> Option<T> {
    let start = notes.find(marker)? + marker.len();
    let end = start + notes[start..].find(" -->")?;
    let json = base64::engine::general_purpose::STANDARD
        .decode(notes[start..end].trim())
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// The newest record of each name (`key`: its name and version).
pub(crate) fn newest<T>(
    records: impl Iterator<Item = T>,
    key: impl Fn(&T) -> (String, Version),
) -> BTreeMap<String, T> {
    let mut latest: BTreeMap<String, (Version, T)> = BTreeMap::new();
    for record in records {
        let (name, version) = key(&record);
        match latest.get(&name) {
            Some((kept, _)) if *kept >= version => {}
            _ => {
                latest.insert(name, (version, record));
            }
        }
    }
    latest.into_iter().map(|(name, (_, r))| (name, r)).collect()
}

/// The record a release's notes keep; `None` for a release dslp-bot did
/// not make, or whose notes were edited past reading.
pub fn record_in(notes: &str) -> Option<ReleaseRecord> {
    decode_marked(notes, RECORD_MARKER)
}

/// Each model's newest release, from the releases' notes (drafts left out:
/// a draft is a release not finished).
pub fn latest<'a>(notes: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, ReleaseRecord> {
    newest(notes.into_iter().filter_map(record_in), |r| {
        (r.model.clone(), r.version)
    })
}

/// The release's files: the model, its card, input and output schemas, the
/// reference profile, the stamp, the record and the notes.
fn assets(
    record: &ReleaseRecord,
    artifact: &ModelArtifact,
    previous: Option<&ReleaseRecord>,
    card: &str,
) -> Result<Vec<Asset>, String> {
    let name = &record.model;
    let json = |file: String, value: &dyn erased::Json| -> Result<Asset, String> {
        Ok(Asset {
            name: file,
            content_type: "application/json",
            text: value.pretty()?,
        })
    };
    let markdown = |file: String, text: String| Asset {
        name: file,
        content_type: "text/markdown",
        text,
    };
    let output = artifact.output.as_ref().map(|o| o.json_schema());
    Ok(vec![
        json(format!("{name}.model.json"), artifact)?,
        markdown(format!("{name}.card.md"), card.to_string()),
        json(
            format!("{name}.input.schema.json"),
            &artifact.input_schema().json_schema(),
        )?,
        json(format!("{name}.output.schema.json"), &output)?,
        json(format!("{name}.reference.json"), &artifact.reference)?,
        json(format!("{name}.stamp.json"), &artifact.stamp)?,
        json(format!("{name}.release.json"), record)?,
        markdown(format!("{name}.notes.md"), notes(record, previous)),
    ])
}

/// Pretty JSON of any serialisable value, behind one object-safe trait.
mod erased {
    pub trait Json {
        fn pretty(&self) -> Result<String, String>;
    }

    impl<T: serde::Serialize> Json for T {
        fn pretty(&self) -> Result<String, String> {
            serde_json::to_string_pretty(self).map_err(|e| e.to_string())
        }
    }
}
