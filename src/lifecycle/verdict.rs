//! GO / NO-GO: the one judgement dslp-bot gives a pull request, a branch or
//! an issue. DSLP's `succeeded`/`failed` mean "met / did not meet the
//! acceptance criteria"; the verdict says whether that is what the evidence
//! shows. Text only where it leaves: a report, the store, the Action's output.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Verdict {
    Go,
    NoGo,
    /// Informational: the branch kind has no gates, or none were declared.
    Neutral,
}

impl Verdict {
    /// The words a report and the store use.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
            Verdict::Neutral => "NEUTRAL",
        }
    }

    /// Reads the words back (the store, an older ledger row).
    pub fn parse(text: &str) -> Option<Verdict> {
        [Verdict::Go, Verdict::NoGo, Verdict::Neutral]
            .into_iter()
            .find(|v| v.as_str() == text)
    }

    pub fn icon(self) -> &'static str {
        match self {
            Verdict::Go => "✅",
            Verdict::NoGo => "❌",
            Verdict::Neutral => "➖",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_read_back() {
        for verdict in [Verdict::Go, Verdict::NoGo, Verdict::Neutral] {
            assert_eq!(Verdict::parse(verdict.as_str()), Some(verdict));
            assert_eq!(
                serde_json::to_value(verdict).unwrap(),
                serde_json::Value::from(verdict.as_str())
            );
        }
        assert_eq!(Verdict::parse("go"), None);
    }
}
