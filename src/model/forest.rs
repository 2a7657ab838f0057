//! Forests of binned trees: regression trees and forests (squared error)
//! and binary classification forests, where Gini's impurity decrease for two classes is
//! the squared-error decrease of the 0/1 target, so one grower serves both
//! and a leaf's value is the mean (the positive class's share).
//!
//! Each tree grows depth first on a bootstrap sample, drawing
//! `max_features` features at each node (scikit-learn's forests). A node
//! with many rows sums its target per bin (at most 256 bins); a small one
//! sorts its rows by bin: cost follows the node's rows, not the bins.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::SeededRng;
use super::binning::Binned;
use super::histogram::{HistNode, HistTree};

/// Below this many rows a node sorts instead of filling 256 bins.
const SMALL: usize = 128;

#[derive(Debug, Clone, Copy)]
pub struct ForestParams {
    pub trees: usize,
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    /// Features drawn at each node (all when at least the feature count).
    pub max_features: usize,
    pub seed: u64,
    /// Each tree on a bootstrap sample (a forest), or on every row (one tree).
    pub bootstrap: bool,
}

/// Grows the forest on `x` and the target `y` (0/1 for a binary class).
pub fn fit(x: ArrayView2<f64>, y: &[f64], params: ForestParams) -> Vec<HistTree> {
    let all: Vec<usize> = (0..x.nrows()).collect();
    let binned = Binned::fit(x, &all, 255, &mut SeededRng::new(params.seed));
    let y: Vec<f32> = y.iter().map(|v| *v as f32).collect();
    let mut seeds = SeededRng::new(params.seed);
    let seeds: Vec<u64> = (0..params.trees.max(1)).map(|_| seeds.next_u64()).collect();
    let n = x.nrows();
    seeds
        .into_par_iter()
        .map(|seed| {
            let mut rng = SeededRng::new(seed);
            let mut rows: Vec<u32> = match params.bootstrap {
                true => (0..n).map(|_| (rng.next_u64() % n as u64) as u32).collect(),
                false => (0..n as u32).collect(),
            };
            let grower = Grower {
                binned: &binned,
                y: &y,
                params,
            };
            let mut tree = HistTree { nodes: Vec::new() };
            grower.grow(&mut tree, &mut rows, 0, &mut rng);
            tree
        })
        .collect()
}

/// The mean of the trees' predictions for every row.
pub fn mean_prediction(trees: &[HistTree], x: ArrayView2<f64>) -> Vec<f64> {
    mean_over_trees(trees, x, 1, |tree, row, out| out[0] += tree.predict(row))
        .into_iter()
        .map(|v| v[0])
        .collect()
}

/// The mean over `trees` of each row's `width` outputs (`add` adds one
/// tree's to a row's totals), rows in parallel blocks and, within a block,
/// tree after tree: one tree's nodes stay in cache while it scores the
/// block, where row after row would fetch every tree anew.
pub fn mean_over_trees<T: Sync>(
    trees: &[T],
    x: ArrayView2<f64>,
    width: usize,
    add: impl Fn(&T, &[f64], &mut [f64]) + Sync,
) -> Vec<Vec<f64>> {
    const BLOCK: usize = 1024;
    let n = x.nrows();
    let starts: Vec<usize> = (0..n).step_by(BLOCK).collect();
    let blocks: Vec<Vec<Vec<f64>>> = starts
        .into_par_iter()
        .map(|start| {
            let rows: Vec<Vec<f64>> = (start..(start + BLOCK).min(n))
                .map(|r| x.row(r).to_vec())
                .collect();
            let mut out = vec![vec![0.0; width]; rows.len()];
            for tree in trees {
                for (row, total) in rows.iter().zip(&mut out) {
                    add(tree, row, total);
                }
            }
            let count = trees.len().max(1) as f64;
            for total in &mut out {
                total.iter_mut().for_each(|t| *t /= count);
            }
            out
        })
        .collect();
    blocks.into_iter().flatten().collect()
}

struct Grower<'a> {
    binned: &'a Binned,
    y: &'a [f32],
    params: ForestParams,
}

/// A split: the feature, the last bin on the left, and its score.
struct Best {
    feature: usize,
    bin: usize,
    score: f64,
}

impl Grower<'_> {
    fn grow(
        &self,
        tree: &mut HistTree,
        rows: &mut [u32],
        depth: usize,
        rng: &mut SeededRng,
    ) -> usize {
        let index = tree.nodes.len();
        let n = rows.len();
        let sum: f64 = rows.iter().map(|r| self.y[*r as usize] as f64).sum();
        tree.nodes.push(HistNode::Leaf {
            value: sum / n.max(1) as f64,
        });
        let p = self.params;
        if p.max_depth.is_some_and(|d| depth >= d)
            || n < p.min_samples_split.max(2)
            || n < 2 * p.min_samples_leaf.max(1)
        {
            return index;
        }
        let columns = self.binned.columns.len();
        let mut features: Vec<usize> = (0..columns).collect();
        if p.max_features < columns {
            rng.shuffle(&mut features);
            features.truncate(p.max_features.max(1));
        }
        // Maximising S_L²/n_L + S_R²/n_R minimises the squared error.
        let parent = sum * sum / n as f64;
        let best = features
            .iter()
            .filter_map(|f| self.best_bin(rows, *f, sum))
            .fold(None, |best: Option<Best>, b| match best {
                Some(best) if best.score >= b.score => Some(best),
                _ => Some(b),
            });
        let Some(best) = best.filter(|b| b.score > parent + 1e-9 * parent.abs().max(1.0)) else {
            return index;
        };
        let column = &self.binned.columns[best.feature];
        let mut middle = 0;
        for i in 0..n {
            if (column[rows[i] as usize] as usize) <= best.bin {
                rows.swap(i, middle);
                middle += 1;
            }
        }
        let (left_rows, right_rows) = rows.split_at_mut(middle);
        let left = self.grow(tree, left_rows, depth + 1, rng);
        let right = self.grow(tree, right_rows, depth + 1, rng);
        tree.nodes[index] = HistNode::Split {
            feature: best.feature,
            threshold: self.binned.thresholds[best.feature][best.bin],
            left,
            right,
        };
        index
    }

    /// The best split of one feature: per-bin sums and counts, by filling
    /// bins (many rows) or sorting (few).
    fn best_bin(&self, rows: &[u32], feature: usize, sum: f64) -> Option<Best> {
        let column = &self.binned.columns[feature];
        let mut groups: Vec<(u8, f64, u32)> = Vec::new();
        if rows.len() >= SMALL {
            let mut bins = [(0.0f64, 0u32); 256];
            for r in rows {
                let bin = &mut bins[column[*r as usize] as usize];
                bin.0 += self.y[*r as usize] as f64;
                bin.1 += 1;
            }
            groups.extend(
                (0..256)
                    .filter(|b| bins[*b].1 > 0)
                    .map(|b| (b as u8, bins[b].0, bins[b].1)),
            );
        } else {
            let mut pairs: Vec<(u8, f32)> = rows
                .iter()
                .map(|r| (column[*r as usize], self.y[*r as usize]))
                .collect();
            pairs.sort_unstable_by_key(|p| p.0);
            for (bin, y) in pairs {
                match groups.last_mut() {
                    Some(last) if last.0 == bin => {
                        last.1 += y as f64;
                        last.2 += 1;
                    }
                    _ => groups.push((bin, y as f64, 1)),
                }
            }
        }
        let n = rows.len();
        let leaf = self.params.min_samples_leaf.max(1);
        let (mut left_sum, mut left_n) = (0.0, 0usize);
        let mut best: Option<Best> = None;
        for (bin, s, count) in groups.iter().take(groups.len().saturating_sub(1)) {
            left_sum += s;
            left_n += *count as usize;
            let right_n = n - left_n;
            if left_n < leaf || right_n < leaf {
                continue;
            }
            let right_sum = sum - left_sum;
            let score =
                left_sum * left_sum / left_n as f64 + right_sum * right_sum / right_n as f64;
            if best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Best {
                    feature,
                    bin: *bin as usize,
                    score,
                });
            }
        }
        best
    }
}
