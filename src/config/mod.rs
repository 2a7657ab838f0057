//! The repository config, `.github/dslp.yml`.
//!
//! Unknown keys are errors, and every error names its line and column so it
//! can be shown where the user will see it. Later sections (`datasets:`,
//! `models:`) join [`RepoConfig`] as optional fields.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lifecycle::branch::{CollaborationBranches, PathConventions, PathSet};
use crate::lifecycle::policy::{BranchKind, NoPattern, Policies, PolicyOverride};
use crate::lifecycle::{Conventions, RuleId, RuleLevel, RuleSettings, Rulebook};

/// Where the config lives in a repository.
pub const CONFIG_PATH: &str = ".github/dslp.yml";

/// The commented example `dslp init` writes; it parses to the defaults.
pub const EXAMPLE: &str = include_str!("dslp.example.yml");

/// The config format this dslp-bot reads.
pub const VERSION: u32 = 1;

/// `.github/dslp.yml`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    /// The config format version. This dslp-bot reads version 1.
    pub version: ConfigVersion,
    /// The collaboration branches.
    #[serde(default)]
    pub branches: BranchesConfig,
    /// Severity per rule id: error, warning or off.
    #[serde(default)]
    pub rules: BTreeMap<RuleId, RuleLevel>,
    /// Changes to the default branch policies.
    #[serde(default)]
    pub policies: PoliciesConfig,
    /// Where the branch rules look for tests and dataset documentation.
    #[serde(default)]
    pub paths: PathsConfig,
    /// The datasets whose data tests, profile, drift and leakage run on pull requests.
    #[serde(default)]
    pub datasets: BTreeMap<String, crate::data::spec::DatasetSpec>,
    /// The models trained and judged on pull requests.
    #[serde(default)]
    pub models: BTreeMap<String, crate::model::spec::ModelSpec>,
    /// What the App does by itself along the lifecycle.
    #[serde(default)]
    pub automations: AutomationsConfig,
    /// Released models watched on fresh production inputs.
    #[serde(default)]
    pub monitor: BTreeMap<String, monitor::MonitorSpec>,
    /// Where the App evaluates pull requests: on its own machine (`app`),
    /// or on this repository's GitHub Actions runners (`actions`: the App
    /// dispatches `.github/workflows/dslp-compute.yml`, which
    /// `dslp init --compute actions` writes). The Action ignores it.
    #[serde(default)]
    pub compute: Compute,
    /// The text this config was read from: what an evaluation in a child
    /// process reads again.
    #[serde(skip)]
    #[schemars(skip)]
    pub source: String,
}

/// Where the App runs a pull request's data tests and training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Compute {
    /// In the App's own evaluation process.
    #[default]
    App,
    /// On the repository's GitHub Actions runners, dispatched by the App.
    Actions,
}

/// The workflow the App dispatches for `compute: actions`.
pub const COMPUTE_WORKFLOW: &str = "dslp-compute.yml";

/// Whether an automation acts, or only says what it would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Do it.
    #[default]
    Act,
    /// Comment with the exact steps instead.
    Suggest,
    /// Neither.
    Off,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomationsConfig {
    /// Keep each Ask's linked issues and experiment leaderboard in its body.
    #[serde(default = "yes")]
    pub ask_section: bool,
    /// An Experiment labelled `succeeded`: open its Model issue, create the
    /// `model/` branch from the collaboration branch, retarget its pull request.
    #[serde(default)]
    pub success: Mode,
    /// An Experiment labelled `failed`: ask for a TLDR; once it exists, close
    /// the pull request unmerged and the issue.
    #[serde(default)]
    pub failure: Mode,
    /// An explore pull request closed unmerged closes its Explore issue once
    /// the TLDR exists; one merged anyway raises an alert.
    #[serde(default)]
    pub explore: Mode,
    /// A `model/N-*` pull request merged into the collaboration branch:
    /// train its models at the merge commit and publish each changed one as
    /// a GitHub Release `<model>-vX.Y.Z` (needs `contents: write`).
    /// `suggest` (the default) says the commands instead.
    #[serde(default = "suggest")]
    pub release: Mode,
    /// Make a Data, Explore, Experiment or Model issue that refers to an
    /// Ask its sub-issue (and unlink it when the reference goes).
    #[serde(default = "yes")]
    pub sub_issues: bool,
    /// Evaluate pull requests from forks only after a maintainer's
    /// `/dslp ok-to-test` (or the `ok-to-test` label).
    #[serde(default = "yes")]
    pub fork_approval: bool,
    /// Lower limits for pull requests from forks; the server's own are the
    /// most these can be.
    #[serde(default)]
    pub fork_limits: ForkLimitsConfig,
    /// The App's rulesets for this repository (DSLP branch names, the
    /// `dslp` check on the default branch): act, suggest or off; absent,
    /// the server's `DSLP_RULESETS`. Kept at installation and at each push
    /// to the default branch, so a policy change reaches the ruleset.
    #[serde(default)]
    pub rulesets: Option<Mode>,
    /// Keep the repository's DSLP issues on this organisation project (its
    /// number, or its title) with a `Stage` field set from the lifecycle.
    #[serde(default)]
    pub project: Option<ProjectRef>,
}

/// A Projects board of the repository's organisation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ProjectRef {
    /// The number in its URL (`/orgs/acme/projects/3`).
    Number(u64),
    /// Its title.
    Title(String),
}

#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForkLimitsConfig {
    /// Rows per dataset file.
    #[serde(default)]
    pub rows: Option<u64>,
    /// Megabytes per dataset file.
    #[serde(default)]
    pub megabytes: Option<u64>,
    /// Seconds for fetching, data tests and training.
    #[serde(default)]
    pub seconds: Option<u64>,
}

fn yes() -> bool {
    true
}

fn suggest() -> Mode {
    Mode::Suggest
}

impl Default for AutomationsConfig {
    fn default() -> Self {
        AutomationsConfig {
            ask_section: true,
            success: Mode::Act,
            failure: Mode::Act,
            explore: Mode::Act,
            release: Mode::Suggest,
            sub_issues: true,
            fork_approval: true,
            fork_limits: ForkLimitsConfig::default(),
            rulesets: None,
            project: None,
        }
    }
}

/// The `version:` value, refused unless this build can read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct ConfigVersion(#[schemars(range(min = 1, max = 1))] pub u32);

impl<'de> Deserialize<'de> for ConfigVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let version = u32::deserialize(deserializer)?;
        if version != VERSION {
            return Err(serde::de::Error::custom(format!(
                "config version {version} is not supported; this dslp-bot reads version {VERSION}"
            )));
        }
        Ok(ConfigVersion(version))
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchesConfig {
    /// The primary collaboration branch names.
    #[serde(default = "default_main")]
    pub main: Vec<String>,
    /// The development branch feature work targets, if the team uses one.
    #[serde(default)]
    pub development: Option<String>,
}

fn default_main() -> Vec<String> {
    CollaborationBranches::default().main
}

impl Default for BranchesConfig {
    fn default() -> Self {
        BranchesConfig {
            main: default_main(),
            development: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoliciesConfig {
    #[serde(default)]
    pub collaboration: Option<PolicyOverride<NoPattern>>,
    #[serde(default)]
    pub feature: Option<PolicyOverride>,
    #[serde(default)]
    pub data: Option<PolicyOverride>,
    #[serde(default)]
    pub explore: Option<PolicyOverride>,
    #[serde(default)]
    pub experiment: Option<PolicyOverride>,
    #[serde(default)]
    pub model: Option<PolicyOverride>,
}

impl PoliciesConfig {
    fn overrides(&self) -> BTreeMap<BranchKind, PolicyOverride> {
        let mut map = BTreeMap::new();
        if let Some(c) = &self.collaboration {
            map.insert(BranchKind::Collaboration, c.patterned());
        }
        let typed = [
            (BranchKind::Feature, &self.feature),
            (BranchKind::Data, &self.data),
            (BranchKind::Explore, &self.explore),
            (BranchKind::Experiment, &self.experiment),
            (BranchKind::Model, &self.model),
        ];
        for (kind, change) in typed {
            if let Some(change) = change {
                map.insert(kind, change.clone());
            }
        }
        map
    }
}

/// A path glob such as `tests/data_validation/**`, checked when read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct PathGlob(pub String);

impl<'de> Deserialize<'de> for PathGlob {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        globset::Glob::new(&text)
            .map_err(|e| serde::de::Error::custom(format!("invalid path glob `{text}`: {e}")))?;
        Ok(PathGlob(text))
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathsConfig {
    /// Where data validation tests live (R47).
    #[serde(default)]
    pub data_tests: Option<Vec<PathGlob>>,
    /// Dataset documentation and schemas a data PR should touch (R47).
    #[serde(default)]
    pub dataset_docs: Option<Vec<PathGlob>>,
    /// Tests for features, models and datasets a model PR needs (R48).
    #[serde(default)]
    pub model_tests: Option<Vec<PathGlob>>,
}

/// A config that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl RepoConfig {
    /// Reads a config; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<RepoConfig, ConfigError> {
        if text.trim().is_empty() {
            return Err(ConfigError {
                file: file.to_string(),
                line: 1,
                column: 1,
                message: format!(
                    "the config is empty; it needs at least `version: {VERSION}` (`dslp init` writes a commented example)"
                ),
            });
        }
        let mut config = serde_saphyr::from_str::<RepoConfig>(text).map_err(|error| {
            let (line, column) = error
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            ConfigError {
                file: file.to_string(),
                line: line.max(1),
                column: column.max(1),
                message: words::explain(
                    &without_position(&first_line(&error.without_snippet().to_string())),
                    text,
                    line,
                ),
            }
        })?;
        check_params(&config, text, file)?;
        check_monitors(&config, text, file)?;
        config.source = text.to_string();
        Ok(config)
    }

    /// The rules as this repository configured them.
    pub fn rulebook(&self, file: &str) -> Result<Rulebook, ConfigError> {
        let invalid = |message: String| ConfigError {
            file: file.to_string(),
            line: 1,
            column: 1,
            message,
        };
        let policies = Policies::defaults()
            .with_overrides(&self.policies.overrides())
            .map_err(invalid)?;
        let defaults = PathConventions::default();
        let paths_or = |given: &Option<Vec<PathGlob>>, default: PathSet| match given {
            Some(globs) => PathSet::new(globs.iter().map(|g| g.0.clone()).collect()),
            None => Ok(default),
        };
        let paths = PathConventions {
            data_tests: paths_or(&self.paths.data_tests, defaults.data_tests).map_err(invalid)?,
            dataset_docs: paths_or(&self.paths.dataset_docs, defaults.dataset_docs)
                .map_err(invalid)?,
            model_tests: paths_or(&self.paths.model_tests, defaults.model_tests)
                .map_err(invalid)?,
        };
        Ok(Rulebook {
            conventions: Conventions {
                branches: CollaborationBranches {
                    main: self.branches.main.clone(),
                    development: self.branches.development.clone(),
                },
                policies,
                paths,
            },
            settings: RuleSettings {
                levels: self.rules.clone(),
            },
        })
    }
}

/// Every parameter a model sets (in `params:` and in `tune:`) is one its
/// algorithm takes: `C: 1.0` (scikit-learn's spelling) would otherwise be
/// ignored and the model trained with the default.
fn check_params(config: &RepoConfig, text: &str, file: &str) -> Result<(), ConfigError> {
    for (name, model) in &config.models {
        let Some(algorithm) = model.algorithm else {
            continue;
        };
        let known: Vec<&str> = algorithm.defaults().iter().map(|(k, _)| *k).collect();
        let tuned = model.tune.iter().flat_map(|t| {
            let grid = t.grid.keys().map(|k| ("grid", k));
            grid.chain(t.random.keys().map(|k| ("random", k)))
        });
        let set = model.params.keys().map(|k| ("params", k));
        for (section, key) in set.chain(tuned) {
            if known.contains(&key.as_str()) {
                continue;
            }
            let path: &[&str] = match section {
                "params" => &["models", name, "params", key],
                _ => &["models", name, "tune", section, key],
            };
            let takes = match known.is_empty() {
                true => "it takes no parameters".to_string(),
                false => format!("it takes {}", known.join(", ")),
            };
            let message = format!(
                "model `{name}`: `{key}` is not a parameter of {}; {takes}",
                algorithm.name()
            );
            return Err(unknown_at(file, text, path, message, key, &known));
        }
    }
    Ok(())
}

/// The message without serde's own " at line N, column M": we print the
/// position in front, where editors and CI annotations look for it.
fn without_position(message: &str) -> String {
    static POSITION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\s*,?\s*at line \d+,? column \d+\s*$").expect("valid regex")
    });
    POSITION.replace(message, "").into_owned()
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).trim().to_string()
}

/// The JSON Schema of `.github/dslp.yml`, for editors.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(RepoConfig))
        .unwrap_or_else(|_| serde_json::json!({}));
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "title".into(),
            "dslp-bot repository config (.github/dslp.yml)".into(),
        );
    }
    schema
}

/// Every watched model is a declared one.
fn check_monitors(config: &RepoConfig, text: &str, file: &str) -> Result<(), ConfigError> {
    for name in config.monitor.keys() {
        if config.models.contains_key(name) {
            continue;
        }
        let known: Vec<&str> = config.models.keys().map(String::as_str).collect();
        let message = format!("monitor `{name}`: no model of that name under `models:`");
        return Err(unknown_at(
            file,
            text,
            &["monitor", name],
            message,
            name,
            &known,
        ));
    }
    Ok(())
}

/// An unknown name at `path` of the config: the message, with the known
/// name it is closest to.
fn unknown_at(
    file: &str,
    text: &str,
    path: &[&str],
    message: String,
    name: &str,
    known: &[&str],
) -> ConfigError {
    let (line, column) = words::locate(text, path).unwrap_or((1, 1));
    let hint = words::did_you_mean(name, known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    ConfigError {
        file: file.to_string(),
        line,
        column,
        message: format!("{message}{hint}"),
    }
}

pub mod monitor;
#[cfg(test)]
mod tests;
mod words;
pub use words::did_you_mean;
