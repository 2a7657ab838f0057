//! A model release's version, decided from the facts by DSLP's rules rather
//! than asked of a person: **major** when what the model takes or gives
//! stops being compatible (a feature removed or retyped, other classes or
//! task, another target); **minor** when how it learns changes (features
//! added, another algorithm, other preprocessing); **patch** otherwise
//! (data, weights, a parameter). The first release is 1.0.0.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::artifact::ModelArtifact;
use super::schema::{FeatureSchema, InputSchema, OutputSchema};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Version {
    /// `1.2.3`, `v1.2.3` or a tag `churn_lr-v1.2.3`.
    pub fn parse(text: &str) -> Option<Version> {
        let digits = text.rsplit_once('v').map_or(text, |(_, v)| v);
        let mut parts = digits.split('.').map(|p| p.parse::<u64>().ok());
        let version = Version {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
        };
        parts.next().is_none().then_some(version)
    }

    pub fn bumped(self, bump: Bump) -> Version {
        match bump {
            Bump::Major => Version {
                major: self.major + 1,
                minor: 0,
                patch: 0,
            },
            Bump::Minor => Version {
                minor: self.minor + 1,
                patch: 0,
                ..self
            },
            Bump::Patch => Version {
                patch: self.patch + 1,
                ..self
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

/// What the version is decided from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseFacts {
    pub target: String,
    pub output: OutputSchema,
    pub input: InputSchema,
    pub algorithm: String,
    pub standardize: bool,
    pub params: BTreeMap<String, f64>,
    /// sha256 of each dataset file.
    pub data: BTreeMap<String, String>,
}

impl ReleaseFacts {
    /// The facts of a freshly trained artifact (which carries its spec).
    pub fn of(artifact: &ModelArtifact) -> Option<ReleaseFacts> {
        let spec = artifact.spec.as_ref()?;
        Some(ReleaseFacts {
            target: spec.target.clone(),
            output: artifact.output.clone()?,
            input: artifact.input_schema(),
            algorithm: spec.algorithm.map(|a| a.name().to_string())?,
            standardize: spec.standardize,
            params: artifact.stamp.params.clone(),
            data: artifact.stamp.datasets.clone(),
        })
    }
}

/// The version and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub version: Version,
    /// `None` for a first release.
    pub bump: Option<Bump>,
    pub reasons: Vec<String>,
}

impl Decision {
    /// A first version: 1.0.0.
    pub fn first(reason: &str) -> Decision {
        Decision {
            version: Version {
                major: 1,
                minor: 0,
                patch: 0,
            },
            bump: None,
            reasons: vec![reason.into()],
        }
    }

    /// The bump and the changes that made it (`minor: feature `x` added`);
    /// `first` for a first version.
    pub fn summary(&self, first: &str) -> String {
        match self.bump {
            Some(bump) => format!(
                "{}: {}",
                format!("{bump:?}").to_lowercase(),
                self.reasons.join("; ")
            ),
            None => first.to_string(),
        }
    }

    /// The next version after `version`: the largest bump among `changes`,
    /// with the changes that made it; `unchanged` when there were none.
    pub fn after(version: Version, changes: Vec<(Bump, String)>, unchanged: &str) -> Decision {
        let bump = changes.iter().map(|(b, _)| *b).max().unwrap_or(Bump::Patch);
        let mut reasons: Vec<String> = changes
            .into_iter()
            .filter(|(b, _)| *b == bump)
            .map(|(_, r)| r)
            .collect();
        if reasons.is_empty() {
            reasons.push(unchanged.into());
        }
        Decision {
            version: version.bumped(bump),
            bump: Some(bump),
            reasons,
        }
    }
}

pub fn decide(previous: Option<(Version, &ReleaseFacts)>, now: &ReleaseFacts) -> Decision {
    let Some((version, before)) = previous else {
        return Decision::first("first release");
    };
    let mut changes: Vec<(Bump, String)> = Vec::new();
    if before.target != now.target {
        changes.push((
            Bump::Major,
            format!("target `{}` → `{}`", before.target, now.target),
        ));
    }
    if before.output != now.output {
        changes.push((
            Bump::Major,
            "output schema changed (task or classes)".into(),
        ));
    }
    changes.extend(feature_changes(&before.input, &now.input));
    if before.algorithm != now.algorithm {
        changes.push((
            Bump::Minor,
            format!("algorithm {} → {}", before.algorithm, now.algorithm),
        ));
    }
    if before.standardize != now.standardize {
        changes.push((
            Bump::Minor,
            format!("standardize {} → {}", before.standardize, now.standardize),
        ));
    }
    if before.params != now.params {
        changes.push((Bump::Patch, "parameters changed".into()));
    }
    if before.data != now.data {
        changes.push((Bump::Patch, "training data changed".into()));
    }
    Decision::after(version, changes, "retrained; nothing else changed")
}

/// Removed or retyped features are major; added ones minor.
fn feature_changes(before: &InputSchema, now: &InputSchema) -> Vec<(Bump, String)> {
    let kind = |f: &FeatureSchema| match f {
        FeatureSchema::Number { .. } => "number",
        FeatureSchema::Text { .. } => "text",
    };
    let find = |schema: &InputSchema, name: &str| {
        schema.features.iter().find(|f| f.name() == name).map(kind)
    };
    let mut out = Vec::new();
    for f in &before.features {
        match find(now, f.name()) {
            None => out.push((Bump::Major, format!("feature `{}` removed", f.name()))),
            Some(k) if k != kind(f) => out.push((
                Bump::Major,
                format!("feature `{}` is {k}, was {}", f.name(), kind(f)),
            )),
            Some(_) => {}
        }
    }
    for f in &now.features {
        if find(before, f.name()).is_none() {
            out.push((Bump::Minor, format!("feature `{}` added", f.name())));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::Task;

    fn facts(features: &[(&str, bool)], target: &str, algorithm: &str, data: &str) -> ReleaseFacts {
        ReleaseFacts {
            target: target.into(),
            output: OutputSchema {
                task: Task::Binary,
                classes: vec!["0".into(), "1".into()],
                positive: Some("1".into()),
            },
            input: InputSchema {
                features: features
                    .iter()
                    .map(|(name, number)| match number {
                        true => FeatureSchema::Number {
                            name: name.to_string(),
                            min: 0.0,
                            max: 1.0,
                        },
                        false => FeatureSchema::Text {
                            name: name.to_string(),
                            levels: vec!["a".into()],
                        },
                    })
                    .collect(),
            },
            algorithm: algorithm.into(),
            standardize: true,
            params: BTreeMap::new(),
            data: BTreeMap::from([("data/t.csv".to_string(), data.to_string())]),
        }
    }

    #[test]
    fn versions_follow_dslps_rules() {
        let v1 = facts(
            &[("age", true), ("plan", false)],
            "churned",
            "logistic_regression",
            "h1",
        );
        let first = decide(None, &v1);
        assert_eq!(first.version.to_string(), "1.0.0");
        let at = |d: &Decision| (d.version.to_string(), d.bump, d.reasons.clone());
        let one = Version::parse("churn-v1.0.0").unwrap();
        // Only the data: patch.
        let retrained = facts(
            &[("age", true), ("plan", false)],
            "churned",
            "logistic_regression",
            "h2",
        );
        assert_eq!(
            at(&decide(Some((one, &v1)), &retrained)),
            (
                "1.0.1".into(),
                Some(Bump::Patch),
                vec!["training data changed".into()]
            )
        );
        assert_eq!(
            decide(Some((one, &v1)), &v1).reasons,
            ["retrained; nothing else changed"]
        );
        // A feature added (and new data): minor, and the minor reason is the one said.
        let added = facts(
            &[("age", true), ("plan", false), ("spend", true)],
            "churned",
            "logistic_regression",
            "h2",
        );
        assert_eq!(
            at(&decide(Some((one, &v1)), &added)),
            (
                "1.1.0".into(),
                Some(Bump::Minor),
                vec!["feature `spend` added".into()]
            )
        );
        let boosted = facts(
            &[("age", true), ("plan", false)],
            "churned",
            "gradient_boosting",
            "h1",
        );
        assert_eq!(
            decide(Some((one, &v1)), &boosted).version.to_string(),
            "1.1.0"
        );
        // Another target, a feature removed or retyped: major.
        let target = facts(
            &[("age", true), ("plan", false)],
            "upgraded",
            "logistic_regression",
            "h1",
        );
        assert_eq!(
            at(&decide(
                Some((Version::parse("1.4.2").unwrap(), &v1)),
                &target
            )),
            (
                "2.0.0".into(),
                Some(Bump::Major),
                vec!["target `churned` → `upgraded`".into()]
            )
        );
        let removed = facts(&[("age", true)], "churned", "logistic_regression", "h1");
        assert_eq!(
            decide(Some((one, &v1)), &removed).reasons,
            ["feature `plan` removed"]
        );
        let retyped = facts(
            &[("age", false), ("plan", false)],
            "churned",
            "logistic_regression",
            "h1",
        );
        assert_eq!(
            decide(Some((one, &v1)), &retyped).reasons,
            ["feature `age` is text, was number"]
        );
        assert_eq!(Version::parse("v1.2"), None);
        assert_eq!(Version::parse("m-v1.2.3.4"), None);
    }
}
