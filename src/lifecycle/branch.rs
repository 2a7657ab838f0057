//! Reading a branch name: which DSLP kind, which issue number.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;

use super::policy::{BaseTarget, BranchKind, Policies};

/// The collaboration branches a repository uses (DSLP.md §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollaborationBranches {
    /// The primary branch names; DSLP renamed `master` to `main`, so both
    /// are accepted unless the repository says otherwise.
    pub main: Vec<String>,
    /// The optional `development` branch feature work targets.
    pub development: Option<String>,
}

impl Default for CollaborationBranches {
    fn default() -> Self {
        CollaborationBranches {
            main: vec!["main".into(), "master".into()],
            development: None,
        }
    }
}

impl CollaborationBranches {
    pub fn is_main(&self, name: &str) -> bool {
        self.main.iter().any(|m| m == name)
    }

    pub fn is_collaboration(&self, name: &str) -> bool {
        self.is_main(name) || self.development.as_deref() == Some(name)
    }

    /// Where feature work goes: `development` if configured, else `main`.
    pub fn integration_names(&self) -> Vec<&str> {
        match &self.development {
            Some(dev) => vec![dev.as_str()],
            None => self.main.iter().map(String::as_str).collect(),
        }
    }
}

/// Path globs the branch rules look for in a repository.
#[derive(Debug, Clone)]
pub struct PathConventions {
    pub data_tests: PathSet,
    pub dataset_docs: PathSet,
    pub model_tests: PathSet,
}

impl Default for PathConventions {
    fn default() -> Self {
        let set = |globs: &[&str]| {
            PathSet::new(globs.iter().map(|g| g.to_string()).collect())
                .expect("default globs are valid")
        };
        PathConventions {
            data_tests: set(&["tests/data_validation/**"]),
            dataset_docs: set(&[
                "code/datasets/*/schema.yml",
                "code/datasets/*/datasheet.yml",
                "docs/data/**",
            ]),
            model_tests: set(&["tests/unit/**", "tests/models/**", "tests/features/**"]),
        }
    }
}

/// A set of globs, kept with their text for messages.
#[derive(Debug, Clone)]
pub struct PathSet {
    pub globs: Vec<String>,
    set: GlobSet,
}

impl PathSet {
    pub fn new(globs: Vec<String>) -> Result<PathSet, String> {
        let mut builder = GlobSetBuilder::new();
        for glob in &globs {
            builder.add(Glob::new(glob).map_err(|e| format!("invalid path glob `{glob}`: {e}"))?);
        }
        let set = builder.build().map_err(|e| e.to_string())?;
        Ok(PathSet { globs, set })
    }

    pub fn matches_any<'a>(&self, paths: impl IntoIterator<Item = &'a String>) -> bool {
        paths.into_iter().any(|p| self.set.is_match(p))
    }

    pub fn describe(&self) -> String {
        self.globs.join(", ")
    }
}

/// Everything a repository agreed on about branches.
#[derive(Debug, Clone)]
pub struct Conventions {
    pub branches: CollaborationBranches,
    pub policies: Policies,
    pub paths: PathConventions,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions {
            branches: CollaborationBranches::default(),
            policies: Policies::defaults(),
            paths: PathConventions::default(),
        }
    }
}

/// What a branch name says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchName {
    pub name: String,
    /// `None` when the name follows no DSLP pattern.
    pub kind: Option<BranchKind>,
    /// The issue number in the name.
    pub number: Option<u64>,
    pub slug: Option<String>,
}

/// Kinds whose names are matched, most specific first: a feature pattern
/// `N-slug` must not swallow `data/N-slug`.
const MATCH_ORDER: [BranchKind; 5] = [
    BranchKind::Data,
    BranchKind::Explore,
    BranchKind::Experiment,
    BranchKind::Model,
    BranchKind::Feature,
];

impl Conventions {
    pub fn classify(&self, name: &str) -> BranchName {
        let name = name.strip_prefix("refs/heads/").unwrap_or(name);
        if self.branches.is_collaboration(name) {
            return BranchName {
                name: name.to_string(),
                kind: Some(BranchKind::Collaboration),
                number: None,
                slug: None,
            };
        }
        for kind in MATCH_ORDER {
            let Some(pattern) = &self.policies.get(kind).pattern else {
                continue;
            };
            if let Some(captures) = pattern.captures(name) {
                return BranchName {
                    name: name.to_string(),
                    kind: Some(kind),
                    number: captures
                        .name("number")
                        .and_then(|n| n.as_str().parse().ok()),
                    slug: captures.name("slug").map(|s| s.as_str().to_string()),
                };
            }
        }
        BranchName {
            name: name.to_string(),
            kind: None,
            number: None,
            slug: None,
        }
    }

    /// Does `base` satisfy one of the `targets`?
    pub fn base_allowed(&self, targets: &[BaseTarget], base: &BranchName) -> bool {
        targets.iter().any(|target| match target {
            BaseTarget::Main => self.branches.is_main(&base.name),
            BaseTarget::Development => {
                self.branches.development.as_deref() == Some(base.name.as_str())
            }
            BaseTarget::Collaboration => self.branches.is_collaboration(&base.name),
            BaseTarget::Integration => self
                .branches
                .integration_names()
                .contains(&base.name.as_str()),
            BaseTarget::Model => base.kind == Some(BranchKind::Model),
        })
    }

    /// The allowed bases in words, for messages.
    pub fn describe_bases(&self, targets: &[BaseTarget]) -> String {
        let mut words: Vec<String> = Vec::new();
        for target in targets {
            match target {
                BaseTarget::Main => {
                    words.extend(self.branches.main.iter().map(|m| format!("`{m}`")))
                }
                BaseTarget::Development => {
                    words.extend(self.branches.development.iter().map(|d| format!("`{d}`")))
                }
                BaseTarget::Collaboration => {
                    words.extend(self.branches.main.iter().map(|m| format!("`{m}`")));
                    words.extend(self.branches.development.iter().map(|d| format!("`{d}`")));
                }
                BaseTarget::Integration => words.extend(
                    self.branches
                        .integration_names()
                        .iter()
                        .map(|n| format!("`{n}`")),
                ),
                BaseTarget::Model => words.push("a `model/N-*` branch".into()),
            }
        }
        words.dedup();
        if words.is_empty() {
            "no branch".into()
        } else {
            words.join(" or ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(name: &str) -> BranchName {
        Conventions::default().classify(name)
    }

    #[test]
    fn dslp_examples_are_recognised() {
        let cases = [
            ("data/2-customer-transactions", BranchKind::Data, 2),
            (
                "experiment/3-baseline-regression",
                BranchKind::Experiment,
                3,
            ),
            ("experiment/4-classification-EBM", BranchKind::Experiment, 4),
            (
                "model/5-customer-churn-classification",
                BranchKind::Model,
                5,
            ),
            ("explore/7-seasonality", BranchKind::Explore, 7),
            ("12-docs/data-gotchas-and-caveats", BranchKind::Feature, 12),
        ];
        for (name, kind, number) in cases {
            let branch = classify(name);
            assert_eq!(branch.kind, Some(kind), "{name}");
            assert_eq!(branch.number, Some(number), "{name}");
        }
    }

    #[test]
    fn collaboration_and_nonconforming_names() {
        assert_eq!(classify("main").kind, Some(BranchKind::Collaboration));
        assert_eq!(
            classify("refs/heads/master").kind,
            Some(BranchKind::Collaboration)
        );
        for name in [
            "feature/x",
            "experiment/abc",
            "data/-x",
            "Experiment/3-x",
            "development",
        ] {
            assert_eq!(classify(name).kind, None, "{name}");
        }
    }

    #[test]
    fn development_is_the_integration_branch_when_configured() {
        let mut conventions = Conventions::default();
        conventions.branches.development = Some("development".into());
        let dev = conventions.classify("development");
        let main = conventions.classify("main");
        assert!(conventions.base_allowed(&[BaseTarget::Integration], &dev));
        assert!(!conventions.base_allowed(&[BaseTarget::Integration], &main));
        assert!(conventions.base_allowed(&[BaseTarget::Collaboration], &main));
    }
}
