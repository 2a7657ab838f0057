//! Per-rule severity, as a repository configures it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::finding::{Finding, RuleId, Severity};

/// What a repository wants done with a rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    Error,
    Warning,
    Off,
}

/// Severity overrides. A rule without an override keeps each finding's own
/// default (DSLP.md §8 marks some checks of one rule E and others W); an
/// override sets every finding of that rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSettings {
    pub levels: BTreeMap<RuleId, RuleLevel>,
}

impl RuleSettings {
    pub fn level(&self, rule: RuleId) -> Option<RuleLevel> {
        self.levels.get(&rule).copied()
    }

    pub fn apply(&self, findings: Vec<Finding>) -> Vec<Finding> {
        findings
            .into_iter()
            .filter_map(|mut finding| {
                match self.level(finding.rule) {
                    Some(RuleLevel::Off) => return None,
                    Some(RuleLevel::Error) => finding.severity = Severity::Error,
                    Some(RuleLevel::Warning) => finding.severity = Severity::Warning,
                    None => {}
                }
                Some(finding)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_raise_lower_and_silence() {
        let mut settings = RuleSettings::default();
        settings.levels.insert(RuleId::R30, RuleLevel::Error);
        settings.levels.insert(RuleId::R16, RuleLevel::Off);
        let findings = vec![
            Finding::warning(RuleId::R30, "a", "b"),
            Finding::warning(RuleId::R16, "c", "d"),
            Finding::error(RuleId::R13, "e", "f"),
        ];
        let applied = settings.apply(findings);
        assert_eq!(applied.len(), 2);
        assert_eq!(applied[0].severity, Severity::Error);
        assert_eq!(applied[1].rule, RuleId::R13);
    }
}
