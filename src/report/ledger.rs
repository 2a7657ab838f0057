//! A pull request's evaluation, as the runs ledger keeps it, carried in the
//! `dslp` check run's text (a hidden marker): when the App dispatches an
//! evaluation to GitHub Actions, the Action reports, and the App reads the
//! result back from the Action's check run to keep the Ask's leaderboard
//! complete.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::evidence::Evidence;
use crate::lifecycle::Verdict;
use crate::model::stamp::Stamp;

const MARKER: &str = "<!-- dslp:ledger ";

/// One evaluation: what the ledger's run records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRecord {
    pub verdict: Verdict,
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    pub stamps: BTreeMap<String, Stamp>,
}

impl LedgerRecord {
    pub fn of(verdict: Verdict, evidence: &Evidence) -> LedgerRecord {
        LedgerRecord {
            verdict,
            metrics: evidence.metrics_by_model(),
            stamps: evidence.stamps_by_model(),
        }
    }

    /// The hidden marker.
    pub fn marker(&self) -> String {
        let encoded = serde_json::to_vec(self)
            .map(|json| base64::engine::general_purpose::STANDARD.encode(json))
            .unwrap_or_default();
        format!("{MARKER}{encoded} -->\n")
    }

    /// The record a check run's text carries, if it carries one.
    pub fn read(text: &str) -> Option<LedgerRecord> {
        let start = text.find(MARKER)? + MARKER.len();
        let end = start + text[start..].find(" -->")?;
        let json = base64::engine::general_purpose::STANDARD
            .decode(text[start..end].trim())
            .ok()?;
        serde_json::from_slice(&json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_from_the_text_it_is_hidden_in() {
        let record = LedgerRecord {
            verdict: Verdict::Go,
            metrics: BTreeMap::from([(
                "churn".to_string(),
                BTreeMap::from([("roc_auc".to_string(), 0.91)]),
            )]),
            stamps: BTreeMap::new(),
        };
        let text = format!("## report\n\n{}more", record.marker());
        assert_eq!(LedgerRecord::read(&text), Some(record));
        assert_eq!(LedgerRecord::read("## report without one"), None);
        assert_eq!(LedgerRecord::read("<!-- dslp:ledger not base64 -->"), None);
    }
}
