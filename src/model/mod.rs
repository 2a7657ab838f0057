//! Model evidence: declarative training and evaluation with linfa, metrics
//! with scikit-learn's conventions, gates and the verdict.
//!
//! Training is declarative: the config names an algorithm and its
//! parameters; no code from the repository is ever run.

pub mod algorithms;
pub mod artifact;
pub mod binning;
pub mod boosting;
pub mod curves;
pub mod design;
pub mod evaluation;
pub mod features;
pub mod forest;
pub mod gates;
pub mod histogram;
pub mod importance;
pub mod lbfgs;
pub mod logistic;
pub mod metrics;
pub mod monitor;
pub mod predict;
pub mod problem;
pub mod reference;
pub mod release;
pub mod schema;
pub mod segments;
pub mod spec;
pub mod stamp;
pub mod training;
pub mod tree;
pub mod tune;

use std::fmt;

/// Why a model could not be trained or evaluated: one clear sentence that
/// goes into the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    pub message: String,
}

impl ModelError {
    pub fn new(message: impl Into<String>) -> ModelError {
        ModelError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModelError {}

/// A deterministic generator for splits, folds and random search
/// (SplitMix64): the same seed gives the same rows on every machine.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Holds out `share` of each group at random (stratified when the
    /// groups are classes): (kept, held out), each in row order.
    pub fn hold_out(&mut self, groups: Vec<Vec<usize>>, share: f64) -> (Vec<usize>, Vec<usize>) {
        let (mut kept, mut held) = (Vec::new(), Vec::new());
        for mut group in groups {
            self.shuffle(&mut group);
            let take = ((group.len() as f64 * share).round() as usize).min(group.len());
            held.extend_from_slice(&group[..take]);
            kept.extend_from_slice(&group[take..]);
        }
        kept.sort_unstable();
        held.sort_unstable();
        (kept, held)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}
