//! The reproducibility stamp: everything needed to get the same numbers again.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Library versions, read from Cargo.lock when dslp-bot was built.
pub const DSLP_BOT_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const LINFA_VERSION: &str = env!("DSLP_LINFA_VERSION");
pub const POLARS_VERSION: &str = env!("DSLP_POLARS_VERSION");

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Stamp {
    pub head_commit: Option<String>,
    pub base_commit: Option<String>,
    /// sha256 of each dataset file, by path.
    pub datasets: BTreeMap<String, String>,
    /// sha256 of the model's and its dataset's declarations.
    pub config_hash: String,
    pub params: BTreeMap<String, f64>,
    /// The holdout split's seed.
    pub seed: Option<u64>,
    /// The tuning's seed: its folds and its random search's candidates.
    #[serde(default)]
    pub tune_seed: Option<u64>,
    pub versions: BTreeMap<String, String>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A hash of serialisable declarations, stable across runs.
pub fn hash_of(value: &impl Serialize) -> String {
    sha256_hex(&serde_json::to_vec(value).unwrap_or_default())
}

pub fn versions() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("dslp-bot".to_string(), DSLP_BOT_VERSION.to_string()),
        ("linfa".to_string(), LINFA_VERSION.to_string()),
        ("polars".to_string(), POLARS_VERSION.to_string()),
    ])
}
