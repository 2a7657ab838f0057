//! What the rules report: a finding with a rule id, a severity, a one-line
//! message and how to fix it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

macro_rules! rules {
    ($($id:ident => $title:literal),+ $(,)?) => {
        /// The DSLP.md §8 rules this engine enforces.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId { $($id),+ }

        impl RuleId {
            pub const ALL: &'static [RuleId] = &[$(RuleId::$id),+];

            pub fn as_str(self) -> &'static str {
                match self { $(RuleId::$id => stringify!($id)),+ }
            }

            /// A short title, for listings and the config schema.
            pub fn title(self) -> &'static str {
                match self { $(RuleId::$id => $title),+ }
            }
        }
    };
}

rules! {
    R10 => "exactly one DSLP type label",
    R11 => "the template's sections are present and filled in",
    R12 => "no unfilled template placeholders",
    R13 => "an Experiment references its Ask",
    R14 => "a Model references its Ask and a succeeded Experiment",
    R15 => "an Explore issue links the issue that prompted it",
    R16 => "an Explore issue has goals or a timebox",
    R17 => "one Data issue per dataset version",
    R18 => "an Ask links its datasets and lists its experiments",
    R20 => "status labels are combined correctly",
    R21 => "a closed Experiment has a status label and a TLDR",
    R30 => "branch names follow DSLP's patterns",
    R31 => "a typed branch refers to an open issue of its type",
    R32 => "a pull request links its issue",
    R33 => "explore pull requests carry the Explore label",
    R40 => "explore branches are never merged",
    R42 => "experiment branches merge only into a model branch",
    R43 => "an experiment is ready to merge into its model branch",
    R47 => "a data branch is validated, documented and reviewed",
    R48 => "a model branch is tested, evaluated and approved",
    R49 => "a feature branch targets the integration branch",
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for RuleId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|rule| rule.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown rule `{s}`; the rules are {}", known.join(", "))
            })
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for RuleId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RuleId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": ids,
            "description": "A DSLP.md §8 rule id"
        })
    }
}

/// One thing a rule found wrong, and how to put it right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: RuleId,
    pub severity: Severity,
    /// One line: what is wrong.
    pub message: String,
    /// One line: what to do about it.
    pub fix: String,
}

impl Finding {
    pub fn error(rule: RuleId, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Error,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn warning(rule: RuleId, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Warning,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// True when any finding is at error level.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
