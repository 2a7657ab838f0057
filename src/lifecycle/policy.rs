//! Branch kinds and their policies (DSLP.md §4). The defaults are the YAML
//! files in `branch-policies/`, embedded in the binary; a repository
//! overrides any field under `policies:` in `.github/dslp.yml`.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::finding::RuleId;
use super::kinds::IssueKind;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BranchKind {
    Collaboration,
    Feature,
    Data,
    Explore,
    Experiment,
    Model,
}

impl BranchKind {
    pub const ALL: [BranchKind; 6] = [
        BranchKind::Collaboration,
        BranchKind::Feature,
        BranchKind::Data,
        BranchKind::Explore,
        BranchKind::Experiment,
        BranchKind::Model,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BranchKind::Collaboration => "collaboration",
            BranchKind::Feature => "feature",
            BranchKind::Data => "data",
            BranchKind::Explore => "explore",
            BranchKind::Experiment => "experiment",
            BranchKind::Model => "model",
        }
    }
}

impl fmt::Display for BranchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a pull request from a branch kind may point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BaseTarget {
    /// `main` (or `master`): the primary collaboration branch.
    Main,
    /// The `development` branch, when one is configured.
    Development,
    /// Any collaboration branch.
    Collaboration,
    /// `development` when configured, otherwise `main`.
    Integration,
    /// A `model/N-*` branch.
    Model,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MergePolicy {
    Allowed,
    Never,
}

/// Which evidence runs on pull requests from a branch kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    #[serde(default)]
    pub data_tests: bool,
    #[serde(default)]
    pub training: bool,
}

/// A branch kind's conventions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchPolicy {
    pub kind: BranchKind,
    pub description: String,
    /// Regular expression with the named groups `number` and `slug`.
    /// Collaboration branches are named in `branches:` instead.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The type label issue N must carry.
    pub issue_kind: Option<IssueKind>,
    pub bases: Vec<BaseTarget>,
    pub merge: MergePolicy,
    pub evidence: Evidence,
    /// Rules whose errors fail the `dslp` check on this kind's pull requests.
    pub blocking: Vec<RuleId>,
}

/// A branch-name regular expression, checked when the config is read so
/// that a bad one is reported at its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BranchPattern(pub String);

impl<'de> Deserialize<'de> for BranchPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let regex = Regex::new(&text)
            .map_err(|e| serde::de::Error::custom(format!("invalid branch pattern: {e}")))?;
        if !regex.capture_names().flatten().any(|name| name == "number") {
            return Err(serde::de::Error::custom(
                "the branch pattern needs a `(?P<number>...)` group for the issue number",
            ));
        }
        Ok(BranchPattern(text))
    }
}

impl JsonSchema for BranchPattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BranchPattern".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "regex",
            "description": "A regular expression with the named groups `number` (the issue) and `slug`"
        })
    }
}

/// A repository's changes to one policy; every field is optional. `P` is
/// what its `pattern` may be: a [`BranchPattern`], or [`NoPattern`] for
/// the collaboration branches, which are named under `branches:`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "P: Deserialize<'de>", serialize = "P: Serialize")
)]
pub struct PolicyOverride<P = BranchPattern> {
    /// Regular expression for the branch name, with the named groups
    /// `number` (the issue) and `slug`.
    #[serde(default)]
    pub pattern: Option<P>,
    /// Allowed pull-request bases.
    #[serde(default)]
    pub bases: Option<Vec<BaseTarget>>,
    /// Whether a pull request from this kind may ever merge.
    #[serde(default)]
    pub merge: Option<MergePolicy>,
    /// Which evidence runs on its pull requests.
    #[serde(default)]
    pub evidence: Option<Evidence>,
    /// Rules whose errors fail the `dslp` check.
    #[serde(default)]
    pub blocking: Option<Vec<RuleId>>,
}

impl<P> Default for PolicyOverride<P> {
    fn default() -> Self {
        PolicyOverride {
            pattern: None,
            bases: None,
            merge: None,
            evidence: None,
            blocking: None,
        }
    }
}

/// The pattern a collaboration branch's policy cannot have: its branches
/// are named under `branches:`. Reading one is an error that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NoPattern {}

impl<'de> Deserialize<'de> for NoPattern {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "collaboration branches are named under `branches: main:`, so their policy takes no `pattern`",
        ))
    }
}

impl JsonSchema for NoPattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NoPattern".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::Schema::from(false)
    }
}

impl PolicyOverride<NoPattern> {
    /// The same changes, as any policy's.
    pub fn patterned(&self) -> PolicyOverride {
        PolicyOverride {
            pattern: None,
            bases: self.bases.clone(),
            merge: self.merge,
            evidence: self.evidence,
            blocking: self.blocking.clone(),
        }
    }
}

/// The embedded default policy files, one per branch kind.
pub const DEFAULT_POLICY_FILES: [(&str, &str); 6] = [
    (
        "collaboration.yml",
        include_str!("../../branch-policies/collaboration.yml"),
    ),
    (
        "feature.yml",
        include_str!("../../branch-policies/feature.yml"),
    ),
    ("data.yml", include_str!("../../branch-policies/data.yml")),
    (
        "explore.yml",
        include_str!("../../branch-policies/explore.yml"),
    ),
    (
        "experiment.yml",
        include_str!("../../branch-policies/experiment.yml"),
    ),
    ("model.yml", include_str!("../../branch-policies/model.yml")),
];

/// A policy with its name pattern compiled.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub policy: BranchPolicy,
    pub pattern: Option<Regex>,
}

/// Why a pattern cannot be used.
pub fn compile_pattern(kind: BranchKind, pattern: &str) -> Result<Regex, String> {
    let regex = Regex::new(pattern).map_err(|e| format!("invalid {kind} branch pattern: {e}"))?;
    if !regex.capture_names().flatten().any(|name| name == "number") {
        return Err(format!(
            "the {kind} branch pattern has no `(?P<number>...)` group for the issue number"
        ));
    }
    Ok(regex)
}

/// The six policies in force.
#[derive(Debug, Clone)]
pub struct Policies {
    by_kind: BTreeMap<BranchKind, CompiledPolicy>,
}

impl Policies {
    /// The embedded defaults. They are tested, so failing here is a build defect.
    pub fn defaults() -> Policies {
        let mut by_kind = BTreeMap::new();
        for (file, text) in DEFAULT_POLICY_FILES {
            let policy: BranchPolicy = serde_saphyr::from_str(text)
                .unwrap_or_else(|e| panic!("embedded branch-policies/{file} is invalid: {e}"));
            let pattern = policy.pattern.as_deref().map(|p| {
                compile_pattern(policy.kind, p)
                    .unwrap_or_else(|e| panic!("embedded branch-policies/{file}: {e}"))
            });
            by_kind.insert(policy.kind, CompiledPolicy { policy, pattern });
        }
        Policies { by_kind }
    }

    /// Applies a repository's overrides. The error names the policy and why.
    pub fn with_overrides(
        mut self,
        overrides: &BTreeMap<BranchKind, PolicyOverride>,
    ) -> Result<Policies, String> {
        for (kind, change) in overrides {
            let compiled = self
                .by_kind
                .get_mut(kind)
                .ok_or_else(|| format!("no default policy for {kind}"))?;
            if let Some(BranchPattern(pattern)) = &change.pattern {
                if *kind == BranchKind::Collaboration {
                    return Err(
                        "collaboration branches are named under `branches:`, not by a pattern"
                            .into(),
                    );
                }
                compiled.pattern = Some(compile_pattern(*kind, pattern)?);
                compiled.policy.pattern = Some(pattern.clone());
            }
            let policy = &mut compiled.policy;
            if let Some(bases) = &change.bases {
                policy.bases = bases.clone();
            }
            if let Some(merge) = change.merge {
                policy.merge = merge;
            }
            if let Some(evidence) = change.evidence {
                policy.evidence = evidence;
            }
            if let Some(blocking) = &change.blocking {
                policy.blocking = blocking.clone();
            }
        }
        Ok(self)
    }

    pub fn get(&self, kind: BranchKind) -> &CompiledPolicy {
        // Every kind is loaded by `defaults`, and overrides never remove one.
        &self.by_kind[&kind]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_an_embedded_policy() {
        let policies = Policies::defaults();
        for kind in BranchKind::ALL {
            let compiled = policies.get(kind);
            assert_eq!(compiled.policy.kind, kind);
            assert_eq!(
                compiled.pattern.is_none(),
                kind == BranchKind::Collaboration
            );
        }
    }

    #[test]
    fn explore_never_merges_and_experiment_targets_models() {
        let policies = Policies::defaults();
        assert_eq!(
            policies.get(BranchKind::Explore).policy.merge,
            MergePolicy::Never
        );
        assert_eq!(
            policies.get(BranchKind::Experiment).policy.bases,
            vec![BaseTarget::Model]
        );
        assert!(policies.get(BranchKind::Data).policy.evidence.data_tests);
    }

    #[test]
    fn override_replaces_only_named_fields() {
        let mut changes = BTreeMap::new();
        changes.insert(
            BranchKind::Data,
            PolicyOverride {
                pattern: Some(BranchPattern(
                    r"^dataset/(?P<number>\d+)-(?P<slug>.+)$".into(),
                )),
                ..PolicyOverride::default()
            },
        );
        let policies = Policies::defaults().with_overrides(&changes).unwrap();
        let data = policies.get(BranchKind::Data);
        assert!(data.pattern.as_ref().unwrap().is_match("dataset/3-churn"));
        assert_eq!(data.policy.blocking, vec![RuleId::R31, RuleId::R47]);
    }

    #[test]
    fn pattern_without_number_group_is_refused() {
        let err = compile_pattern(BranchKind::Model, "^model/.*$").unwrap_err();
        assert!(err.contains("number"), "{err}");
        assert!(compile_pattern(BranchKind::Model, "^model/(").is_err());
    }
}
