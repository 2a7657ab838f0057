//! A dataset version, as DSLP asks for one after each Data merge: a
//! release `<dataset>-data-vX.Y.Z` with a data card (schema, profile, row
//! count, content hash, where the bytes are kept), versioned by DSLP's
//! dataset rules from the previous version's record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::release::{Asset, decode_marked, encode_marked, newest};
use crate::data::DatasetReport;
use crate::data::source::SourceKind;
use crate::model::release::{Bump, Decision, Version};

/// Where a version's notes keep its record.
const RECORD_MARKER: &str = "<!-- dslp:data-release-record ";

/// What a dataset version is decided from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFacts {
    /// Column → its type as read.
    pub columns: BTreeMap<String, String>,
    pub rows: u64,
    pub sha256: String,
    pub source: SourceKind,
}

/// What a dataset version keeps of itself for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    pub dataset: String,
    pub path: String,
    pub tag: String,
    pub version: Version,
    pub decision: Decision,
    pub facts: DataFacts,
    pub commit: Option<String>,
    /// The Data issue the version closes.
    #[serde(default)]
    pub issue: Option<u64>,
}

/// A dataset version ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedData {
    pub record: DataRecord,
    pub notes: String,
    pub assets: Vec<Asset>,
}

pub fn tag(dataset: &str, version: Version) -> String {
    format!("{dataset}-data-v{version}")
}

/// DSLP's dataset rules: major for a column removed or retyped (consumers
/// break), minor for new columns or more rows, patch for changed values.
pub fn decide(previous: Option<(Version, &DataFacts)>, now: &DataFacts) -> Decision {
    let Some((version, before)) = previous else {
        return Decision::first("first version");
    };
    let mut changes: Vec<(Bump, String)> = Vec::new();
    for (column, kind) in &before.columns {
        match now.columns.get(column) {
            None => changes.push((Bump::Major, format!("column `{column}` removed"))),
            Some(now_kind) if now_kind != kind => changes.push((
                Bump::Major,
                format!("column `{column}` is {now_kind}, was {kind}"),
            )),
            Some(_) => {}
        }
    }
    for column in now
        .columns
        .keys()
        .filter(|c| !before.columns.contains_key(*c))
    {
        changes.push((Bump::Minor, format!("column `{column}` added")));
    }
    if now.rows > before.rows {
        changes.push((
            Bump::Minor,
            format!(
                "{} rows added ({} → {})",
                now.rows - before.rows,
                before.rows,
                now.rows
            ),
        ));
    }
    Decision::after(version, changes, "values changed")
}

/// The version a dataset's report makes after `previous`; `None` when its
/// bytes are the previous version's.
pub fn prepare(
    report: &DatasetReport,
    previous: Option<&DataRecord>,
    commit: Option<String>,
    issue: Option<u64>,
) -> Result<Option<PreparedData>, String> {
    let name = &report.name;
    let content = report
        .content
        .as_ref()
        .ok_or_else(|| format!("dataset `{name}` could not be read for a version"))?;
    if !report.passed() {
        return Err(format!(
            "dataset `{name}` fails its data tests at the merge"
        ));
    }
    let facts = DataFacts {
        columns: report
            .profile
            .iter()
            .map(|c| (c.column.clone(), c.dtype.clone()))
            .collect(),
        rows: report.rows.unwrap_or_default(),
        sha256: content.sha256.clone(),
        source: content.source,
    };
    if previous.is_some_and(|p| p.facts.sha256 == facts.sha256) {
        return Ok(None);
    }
    let decision = decide(previous.map(|p| (p.version, &p.facts)), &facts);
    let record = DataRecord {
        dataset: name.clone(),
        path: report.path.clone(),
        tag: tag(name, decision.version),
        version: decision.version,
        decision,
        facts,
        commit,
        issue,
    };
    let card = card(&record, report);
    let json = |value: &dyn Fn() -> serde_json::Result<String>| value().map_err(|e| e.to_string());
    let schema: BTreeMap<&String, &String> = record.facts.columns.iter().collect();
    let assets = vec![
        Asset {
            name: format!("{name}.data-card.md"),
            content_type: "text/markdown",
            text: card.clone(),
        },
        Asset {
            name: format!("{name}.schema.json"),
            content_type: "application/json",
            text: json(&|| serde_json::to_string_pretty(&schema))?,
        },
        Asset {
            name: format!("{name}.profile.json"),
            content_type: "application/json",
            text: json(&|| serde_json::to_string_pretty(&report.profile))?,
        },
        Asset {
            name: format!("{name}.data-release.json"),
            content_type: "application/json",
            text: json(&|| serde_json::to_string_pretty(&record))?,
        },
    ];
    Ok(Some(PreparedData {
        notes: format!("{card}\n{}", encode_marked(RECORD_MARKER, &record)?),
        record,
        assets,
    }))
}

/// The data card: the version and why, where the bytes are, the schema and
/// profile.
fn card(record: &DataRecord, report: &DatasetReport) -> String {
    let facts = &record.facts;
    let why = record.decision.summary("the first version is 1.0.0");
    let mut out = format!(
        "## {} {}\n\nVersion **{}** ({why}).\n\n- file: `{}`, kept in {}\n- rows: {}\n- sha256: `{}`\n",
        record.dataset,
        record.tag,
        record.version,
        record.path,
        facts.source,
        facts.rows,
        facts.sha256
    );
    if let Some(commit) = &record.commit {
        out.push_str(&format!("- commit: `{commit}`\n"));
    }
    if let Some(issue) = record.issue {
        out.push_str(&format!("- Data issue: #{issue}\n"));
    }
    out.push_str("\n| column | type | nulls | distinct | min | max | mean |\n|---|---|---|---|---|---|---|\n");
    let number = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.4}"));
    for c in &report.profile {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            c.column,
            c.dtype,
            c.nulls,
            c.distinct,
            number(c.min),
            number(c.max),
            number(c.mean)
        ));
    }
    out
}

/// The record a version's notes keep.
pub fn record_in(notes: &str) -> Option<DataRecord> {
    decode_marked(notes, RECORD_MARKER)
}

/// Each dataset's newest version, from the releases' notes.
pub fn latest<'a>(notes: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, DataRecord> {
    newest(notes.into_iter().filter_map(record_in), |r| {
        (r.dataset.clone(), r.version)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(columns: &[(&str, &str)], rows: u64, sha: &str) -> DataFacts {
        DataFacts {
            columns: columns
                .iter()
                .map(|(c, t)| (c.to_string(), t.to_string()))
                .collect(),
            rows,
            sha256: sha.into(),
            source: SourceKind::Git,
        }
    }

    #[test]
    fn dataset_versions_follow_dslps_rules() {
        let v1 = Version {
            major: 1,
            minor: 0,
            patch: 0,
        };
        let before = facts(&[("a", "int"), ("b", "string")], 100, "x");
        let fixed = decide(
            Some((v1, &before)),
            &facts(&[("a", "int"), ("b", "string")], 100, "y"),
        );
        assert_eq!(
            (fixed.version.to_string(), fixed.bump),
            ("1.0.1".into(), Some(Bump::Patch))
        );
        let more = decide(
            Some((v1, &before)),
            &facts(&[("a", "int"), ("b", "string")], 150, "y"),
        );
        assert_eq!(more.version.to_string(), "1.1.0");
        assert_eq!(more.reasons, vec!["50 rows added (100 → 150)".to_string()]);
        let wider = decide(
            Some((v1, &before)),
            &facts(&[("a", "int"), ("b", "string"), ("c", "float")], 100, "y"),
        );
        assert_eq!(wider.reasons, vec!["column `c` added".to_string()]);
        let retyped = decide(
            Some((v1, &before)),
            &facts(&[("a", "float"), ("b", "string")], 200, "y"),
        );
        assert_eq!(retyped.version.to_string(), "2.0.0");
        assert_eq!(
            retyped.reasons,
            vec!["column `a` is float, was int".to_string()]
        );
        let dropped = decide(Some((v1, &before)), &facts(&[("a", "int")], 100, "y"));
        assert_eq!(dropped.reasons, vec!["column `b` removed".to_string()]);
        assert_eq!(decide(None, &before).version.to_string(), "1.0.0");
    }
}
