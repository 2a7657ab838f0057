//! `datasets:` in `.github/dslp.yml`: where each dataset is and what it
//! must satisfy.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Declares a validated newtype over a config value, so that a bad value is
/// reported at its line and column while the config is read.
macro_rules! validated {
    ($(#[$doc:meta])* $name:ident($inner:ty), $schema:tt, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);


        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <$inner>::deserialize(deserializer)?;
                let check: fn(&$inner) -> Result<(), String> = $check;
                check(&value).map_err(serde::de::Error::custom)?;
                Ok($name(value))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}

/// Whether `path` is a URI rather than a file of the repository.
pub fn is_uri(path: &str) -> bool {
    [
        "s3://", "gs://", "az://", "azure://", "abfs://", "abfss://", "https://", "http://",
    ]
    .iter()
    .any(|scheme| path.starts_with(scheme))
}

validated!(
    /// A path relative to the repository root that stays inside it.
    RepoPath(String),
    { "type": "string", "description": "A path relative to the repository root" },
    |path| {
        let p = std::path::Path::new(path);
        if path.is_empty() {
            return Err("the path is empty".into());
        }
        if is_uri(path) {
            return Ok(());
        }
        let drive_letter = path.as_bytes().get(1) == Some(&b':');
        if p.is_absolute() || path.starts_with('/') || path.starts_with('\\') || drive_letter {
            return Err(format!("`{path}` is absolute; dataset paths are relative to the repository root"));
        }
        let mut depth = 0i32;
        for part in p.components() {
            match part {
                std::path::Component::ParentDir => depth -= 1,
                std::path::Component::Normal(_) => depth += 1,
                _ => {}
            }
            if depth < 0 {
                return Err(format!("`{path}` leads outside the repository; datasets must live inside it"));
            }
        }
        Ok(())
    }
);

validated!(
    /// A sha256, 64 hex digits.
    Sha256Pin(String),
    { "type": "string", "pattern": "^[0-9a-fA-F]{64}$" },
    |value| {
        match value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            true => Ok(()),
            false => Err(format!("`{value}` is not a sha256 (64 hex digits)")),
        }
    }
);

validated!(
    /// A share between 0 and 1.
    Fraction(f64),
    { "type": "number", "minimum": 0, "maximum": 1 },
    |value| {
        if (0.0..=1.0).contains(value) { Ok(()) } else { Err(format!("{value} is not a fraction between 0 and 1")) }
    }
);

validated!(
    /// A regular expression that every value must match in full.
    ValuePattern(String),
    { "type": "string", "format": "regex" },
    |pattern| regex::Regex::new(pattern).map(|_| ()).map_err(|e| format!("invalid regex: {e}"))
);

/// One dataset's declaration.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// The file, relative to the repository root (in git, Git LFS or DVC),
    /// or a URI: `s3://`, `gs://`, `az://`, `https://`.
    pub path: RepoPath,
    /// For a URI: the sha256 its object must have (a pull request that
    /// changes the data changes this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Pin>,
    /// csv, parquet or ndjson; by default from the file extension.
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// An explicit train/test split, checked for leakage.
    #[serde(default)]
    pub split: Option<SplitSpec>,
    /// The label column, for the single-feature leakage check.
    #[serde(default)]
    pub target: Option<String>,
    /// Expectations per column; columns not named here are profiled only.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnSpec>,
    /// Row-count bounds.
    #[serde(default)]
    pub rows: Option<RowBounds>,
    /// Whole-row duplicates: `forbid`, or `{ max_fraction: 0.01 }`.
    #[serde(default)]
    pub duplicates: Option<DuplicatePolicy>,
    /// Limits on drift versus the base revision of the same file.
    #[serde(default)]
    pub drift: Option<DriftLimits>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Parquet,
    Ndjson,
}

impl FileFormat {
    /// The format a file name implies.
    pub fn from_path(path: &str) -> Option<FileFormat> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".tsv") {
            Some(FileFormat::Csv)
        } else if lower.ends_with(".parquet") || lower.ends_with(".pq") {
            Some(FileFormat::Parquet)
        } else if lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
            Some(FileFormat::Ndjson)
        } else {
            None
        }
    }
}

/// A train/test split: a column naming each row's part, or two files.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum SplitSpec {
    Column {
        /// The column holding each row's part.
        column: String,
        /// The value marking training rows.
        #[serde(default = "default_train")]
        train: String,
        /// The value marking test rows.
        #[serde(default = "default_test")]
        test: String,
    },
    Files {
        /// The training file, relative to the repository root.
        train_path: RepoPath,
        /// The test file, relative to the repository root.
        test_path: RepoPath,
    },
}

fn default_train() -> String {
    "train".into()
}

fn default_test() -> String {
    "test".into()
}

/// The kinds of values a column may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Int,
    Float,
    String,
    Bool,
    Date,
    Datetime,
    Category,
}

impl ColumnType {
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Float)
    }
}

/// What one column must satisfy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    #[serde(default, rename = "type")]
    pub column_type: Option<ColumnType>,
    /// `false` forbids nulls.
    #[serde(default)]
    pub nullable: Option<bool>,
    /// The largest share of nulls allowed, 0 to 1.
    #[serde(default)]
    pub max_null_fraction: Option<Fraction>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// The only values allowed.
    #[serde(default)]
    pub values: Option<Vec<String>>,
    /// A regular expression every value must match in full.
    #[serde(default)]
    pub regex: Option<ValuePattern>,
    /// No value may appear twice.
    #[serde(default)]
    pub unique: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowBounds {
    #[serde(default)]
    pub min: Option<u64>,
    #[serde(default)]
    pub max: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DuplicatePolicy {
    /// `forbid` or `allow`.
    Rule(DuplicateRule),
    Limit {
        /// The largest share of duplicate rows allowed, 0 to 1.
        max_fraction: Fraction,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DuplicateRule {
    Forbid,
    Allow,
}

/// A warn and a fail threshold; either may be left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default)]
    pub warn: Option<f64>,
    #[serde(default)]
    pub fail: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftLimits {
    /// Population stability index per column.
    #[serde(default)]
    pub psi: Option<Thresholds>,
    /// Two-sample Kolmogorov–Smirnov statistic per numeric column.
    #[serde(default)]
    pub ks: Option<Thresholds>,
    /// Levels of a categorical column that are new in the head: warn (default) or fail.
    #[serde(default)]
    pub new_categories: Option<NewCategories>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NewCategories {
    Warn,
    Fail,
    Off,
}
