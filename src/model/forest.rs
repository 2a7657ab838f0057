//! Forests of binned trees: regression trees and forests (squared error)
//! and classification forests. Gini's impurity decrease is the squared
//! error's summed over the classes' 0/1 indicators, so one grower serves
//! both: it sums a target per bin, one channel for a number (or the
//! positive class of two), one per class otherwise, and a leaf's values
//! are the channels' means (the classes' shares).
//!
//! Each tree grows depth first on a bootstrap sample, drawing
//! `max_features` features at each node (scikit-learn's forests, which
//! draw on past a feature that is constant in the node until one is not).
//! A node with many rows sums its target per bin (at most 256 bins); a
//! small one sorts its rows by bin: cost follows the node's rows, not the
//! bins.

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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

/// What a forest learns from each row.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// A number (or 1.0 for a binary task's positive class).
    Values(&'a [f64]),
    /// A class index below `classes`, each class weighing `weights[class]`
    /// (1 when unweighted).
    Classes {
        labels: &'a [usize],
        weights: &'a [f64],
    },
}

/// A tree whose leaves hold several values (a class's share each): a
/// leaf's `value` is its ordinal, and its values are at `values[ordinal *
/// width..]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WideTree {
    pub tree: HistTree,
    pub values: Vec<f64>,
}

/// Grows the forest on `x` and `target`: trees with one value per leaf for
/// [`Target::Values`], with one per class for [`Target::Classes`].
pub fn fit(x: ArrayView2<f64>, target: Target<'_>, params: ForestParams) -> Vec<WideTree> {
    let all: Vec<usize> = (0..x.nrows()).collect();
    let binned = Binned::fit(x, &all, 255, &mut SeededRng::new(params.seed));
    let n = x.nrows();
    // scikit-learn's forests weigh classes in the bootstrap, drawing rows in
    // proportion to their weight, and grow unweighted trees on the draw; a
    // tree without a bootstrap weighs them in its impurity.
    let mut sampler = None;
    let channels = match target {
        Target::Values(values) => Channels::Values(values.iter().map(|v| *v as f32).collect()),
        Target::Classes { labels, weights } => {
            let mut weights = weights.to_vec();
            if params.bootstrap && weights.iter().any(|w| *w != weights[0]) {
                sampler = Some(ClassSampler::new(labels, &weights));
                weights.iter_mut().for_each(|w| *w = 1.0);
            }
            Channels::Classes {
                labels: labels.iter().map(|l| *l as u32).collect(),
                weights,
            }
        }
    };
    let mut seeds = SeededRng::new(params.seed);
    let seeds: Vec<u64> = (0..params.trees.max(1)).map(|_| seeds.next_u64()).collect();
    seeds
        .into_par_iter()
        .map(|seed| {
            let mut rng = SeededRng::new(seed);
            let mut rows: Vec<u32> = match (params.bootstrap, &sampler) {
                (true, Some(sampler)) => (0..n).map(|_| sampler.draw(&mut rng)).collect(),
                (true, None) => (0..n).map(|_| (rng.next_u64() % n as u64) as u32).collect(),
                (false, _) => (0..n as u32).collect(),
            };
            let grower = Grower {
                binned: &binned,
                channels: &channels,
                params,
                scratch: Default::default(),
            };
            let mut grown = WideTree {
                tree: HistTree { nodes: Vec::new() },
                values: Vec::new(),
            };
            grower.grow(&mut grown, &mut rows, 0, &mut rng);
            grown.tree.nodes.shrink_to_fit();
            if channels.width() == 1 {
                // One value per leaf goes in the leaf now, not at the end
                // with every tree's values alive at once.
                narrow_leaves(&mut grown);
            }
            grown
        })
        .collect()
}

/// Draws rows with probability in proportion to their class's weight:
/// a class in proportion to its rows times its weight, then one of its rows.
struct ClassSampler {
    rows: Vec<Vec<u32>>,
    /// The running total of each class's rows times its weight.
    cumulative: Vec<f64>,
}

impl ClassSampler {
    fn new(labels: &[usize], weights: &[f64]) -> ClassSampler {
        let mut rows = vec![Vec::new(); weights.len()];
        for (r, class) in labels.iter().enumerate() {
            rows[*class].push(r as u32);
        }
        let mut total = 0.0;
        let cumulative = rows
            .iter()
            .zip(weights)
            .map(|(r, w)| {
                total += r.len() as f64 * w;
                total
            })
            .collect();
        ClassSampler { rows, cumulative }
    }

    fn draw(&self, rng: &mut SeededRng) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let at = rng.next_f64() * total;
        // A class with no rows has no span of its own, so is never chosen.
        let rows = match self.cumulative.iter().position(|c| at < *c) {
            Some(class) => &self.rows[class],
            None => self
                .rows
                .iter()
                .rfind(|r| !r.is_empty())
                .expect("rows to draw"),
        };
        rows[(rng.next_u64() % rows.len() as u64) as usize]
    }
}

/// Trees of one value per leaf (grown on [`Target::Values`]), that value
/// in the leaf itself.
pub fn narrow(trees: Vec<WideTree>) -> Vec<HistTree> {
    trees
        .into_iter()
        .map(|mut wide| {
            narrow_leaves(&mut wide);
            wide.tree
        })
        .collect()
}

/// Puts each leaf's one value in the leaf (once: the values go).
fn narrow_leaves(wide: &mut WideTree) {
    if wide.values.is_empty() {
        return;
    }
    for node in &mut wide.tree.nodes {
        if let HistNode::Leaf { value } = node {
            *value = wide.values[*value as usize];
        }
    }
    wide.values = Vec::new();
}

/// Each row's mean over `trees` of its leaf's `width` values.
pub fn mean_of_wide(trees: &[WideTree], x: ArrayView2<f64>, width: usize) -> Vec<Vec<f64>> {
    mean_over_trees(trees, x, width, |wide, rows, totals| {
        let mut leaves = Vec::with_capacity(rows.len());
        wide.tree.leaves(rows, &mut leaves);
        for (leaf, total) in leaves.into_iter().zip(totals) {
            let HistNode::Leaf { value } = wide.tree.nodes[leaf] else {
                unreachable!("a row ends at a leaf")
            };
            let at = value as usize * width;
            for (t, v) in total.iter_mut().zip(&wide.values[at..at + width]) {
                *t += v;
            }
        }
    })
}

/// The mean of the trees' predictions for every row.
pub fn mean_prediction(trees: &[HistTree], x: ArrayView2<f64>) -> Vec<f64> {
    mean_over_trees(trees, x, 1, |tree, rows, totals| {
        let mut leaves = Vec::with_capacity(rows.len());
        tree.leaves(rows, &mut leaves);
        for (leaf, total) in leaves.into_iter().zip(totals) {
            if let HistNode::Leaf { value } = tree.nodes[leaf] {
                total[0] += value;
            }
        }
    })
    .into_iter()
    .map(|v| v[0])
    .collect()
}

/// The mean over `trees` of each row's `width` outputs (`add` adds one
/// tree's outputs for a block of rows to their totals), rows in parallel
/// blocks and, within a block, tree after tree: one tree's nodes stay in
/// cache while it scores the block, where row after row would fetch every
/// tree anew.
pub fn mean_over_trees<T: Sync>(
    trees: &[T],
    x: ArrayView2<f64>,
    width: usize,
    add: impl Fn(&T, &[Vec<f64>], &mut [Vec<f64>]) + Sync,
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
                add(tree, &rows, &mut out);
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

/// The target as the grower sums it.
enum Channels {
    Values(Vec<f32>),
    Classes { labels: Vec<u32>, weights: Vec<f64> },
}

impl Channels {
    fn width(&self) -> usize {
        match self {
            Channels::Values(_) => 1,
            Channels::Classes { weights, .. } => weights.len(),
        }
    }

    /// Adds row `r`'s target to `sums` (one entry per channel).
    #[inline]
    fn add(&self, r: u32, sums: &mut [f64]) {
        match self {
            Channels::Values(y) => sums[0] += y[r as usize] as f64,
            Channels::Classes { labels, weights } => {
                let class = labels[r as usize] as usize;
                sums[class] += weights[class];
            }
        }
    }

    /// The weight of `count` rows summing to `sums`: their count for a
    /// number, their classes' weights for classes.
    fn weight(&self, sums: &[f64], count: usize) -> f64 {
        match self {
            Channels::Values(_) => count as f64,
            Channels::Classes { .. } => sums.iter().sum(),
        }
    }

    /// Whether the rows all have one target (one class): nothing to split,
    /// as scikit-learn stops at a node without impurity.
    fn pure(&self, rows: &[u32], sums: &[f64]) -> bool {
        match self {
            Channels::Values(y) => {
                let first = y[rows[0] as usize];
                rows.iter().all(|r| y[*r as usize] == first)
            }
            Channels::Classes { .. } => sums.iter().filter(|s| **s > 0.0).count() <= 1,
        }
    }

    /// Σ sums² / weight: the larger it is summed over a split's sides, the
    /// lower their squared error (Gini impurity for classes).
    fn score(&self, sums: &[f64], count: usize) -> f64 {
        let weight = self.weight(sums, count);
        if weight <= 0.0 {
            return 0.0;
        }
        sums.iter().map(|s| s * s).sum::<f64>() / weight
    }
}

struct Grower<'a> {
    binned: &'a Binned,
    channels: &'a Channels,
    params: ForestParams,
    scratch: std::cell::RefCell<Scratch>,
}

/// A split: the feature, the last bin on the left, and its score.
struct Best {
    feature: usize,
    bin: usize,
    score: f64,
}

/// Rows of one bin: the bin and how many (their sums are kept beside).
struct Group {
    bin: u8,
    count: u32,
}

impl Grower<'_> {
    fn grow(
        &self,
        grown: &mut WideTree,
        rows: &mut [u32],
        depth: usize,
        rng: &mut SeededRng,
    ) -> usize {
        let index = grown.tree.nodes.len();
        let n = rows.len();
        let width = self.channels.width();
        let mut sums = vec![0.0; width];
        for r in rows.iter() {
            self.channels.add(*r, &mut sums);
        }
        // A split node's values are never read: only leaves keep theirs.
        let leaf = |grown: &mut WideTree| {
            let weight = self.channels.weight(&sums, n).max(f64::MIN_POSITIVE);
            grown.tree.nodes[index] = HistNode::Leaf {
                value: (grown.values.len() / width) as f64,
            };
            grown.values.extend(sums.iter().map(|s| s / weight));
            index
        };
        grown.tree.nodes.push(HistNode::Leaf { value: f64::NAN });
        let p = self.params;
        if p.max_depth.is_some_and(|d| depth >= d)
            || n < p.min_samples_split.max(2)
            || n < 2 * p.min_samples_leaf.max(1)
            || self.channels.pure(rows, &sums)
        {
            return leaf(grown);
        }
        let parent = self.channels.score(&sums, n);
        let Some(best) = self
            .best_split(rows, &sums, rng)
            .filter(|b| b.score > parent + 1e-9 * parent.abs().max(1.0))
        else {
            return leaf(grown);
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
        let left = self.grow(grown, left_rows, depth + 1, rng);
        let right = self.grow(grown, right_rows, depth + 1, rng);
        grown.tree.nodes[index] = HistNode::Split {
            feature: best.feature as u32,
            threshold: self.binned.thresholds[best.feature][best.bin],
            left: left as u32,
            right: right as u32,
        };
        index
    }

    /// The best split over `max_features` features drawn at random; a
    /// feature constant in the node counts as drawn but the draw goes on
    /// until one that is not has been seen (scikit-learn's rule).
    fn best_split(&self, rows: &[u32], sums: &[f64], rng: &mut SeededRng) -> Option<Best> {
        let columns = self.binned.columns.len();
        let mut features: Vec<usize> = (0..columns).collect();
        let wanted = self.params.max_features.max(1);
        // In a random order even when every feature is visited: features
        // that split a small node equally well are many, and the first in
        // column order would win every such tie.
        rng.shuffle(&mut features);
        let (mut visited, mut varied) = (0, 0);
        let mut best: Option<Best> = None;
        for feature in features {
            if visited >= wanted && varied > 0 {
                break;
            }
            visited += 1;
            let Some(found) = self.best_bin(rows, feature, sums) else {
                continue; // constant in this node
            };
            varied += 1;
            if let Some(split) = found
                && best.as_ref().is_none_or(|b| split.score > b.score)
            {
                best = Some(split);
            }
        }
        best
    }

    /// The best split of one feature, from per-bin sums and counts filled
    /// bin by bin (many rows) or by sorting (few); `None` when the feature
    /// is constant in the node, `Some(None)` when no split keeps
    /// `min_samples_leaf` rows on each side.
    fn best_bin(&self, rows: &[u32], feature: usize, sums: &[f64]) -> Option<Option<Best>> {
        let column = &self.binned.columns[feature];
        // Cheaper than filling bins, and one-hot columns are constant in
        // most small nodes.
        let first = column[rows[0] as usize];
        if rows.iter().all(|r| column[*r as usize] == first) {
            return None;
        }
        let mut scratch = self.scratch.borrow_mut();
        let scratch = &mut *scratch;
        self.groups(rows, column, scratch);
        let width = sums.len();
        let n = rows.len();
        let leaf = self.params.min_samples_leaf.max(1);
        let (left, right) = (&mut scratch.left, &mut scratch.right);
        left.clear();
        left.resize(width, 0.0);
        right.clear();
        right.resize(width, 0.0);
        let mut left_n = 0usize;
        let mut best: Option<Best> = None;
        let groups = &scratch.groups;
        for (g, group) in groups.iter().enumerate().take(groups.len() - 1) {
            for (l, s) in left
                .iter_mut()
                .zip(&scratch.group_sums[g * width..(g + 1) * width])
            {
                *l += s;
            }
            left_n += group.count as usize;
            let right_n = n - left_n;
            if left_n < leaf || right_n < leaf {
                continue;
            }
            for ((r, s), l) in right.iter_mut().zip(sums).zip(left.iter()) {
                *r = s - l;
            }
            let score = self.channels.score(left, left_n) + self.channels.score(right, right_n);
            if best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Best {
                    feature,
                    bin: group.bin as usize,
                    score,
                });
            }
        }
        Some(best)
    }

    /// The node's rows grouped by their bin of `column`, in bin order, with
    /// each group's sums (`width` per group), into `scratch`.
    fn groups(&self, rows: &[u32], column: &[u8], scratch: &mut Scratch) {
        let width = self.channels.width();
        let Scratch {
            groups,
            group_sums,
            bins,
            pairs,
            ..
        } = scratch;
        groups.clear();
        group_sums.clear();
        if rows.len() >= SMALL {
            let mut counts = [0u32; 256];
            bins.clear();
            bins.resize(256 * width, 0.0);
            match self.channels {
                // The common case without the per-channel indexing.
                Channels::Values(y) => {
                    for r in rows {
                        let bin = column[*r as usize] as usize;
                        bins[bin] += y[*r as usize] as f64;
                        counts[bin] += 1;
                    }
                }
                channels => {
                    for r in rows {
                        let bin = column[*r as usize] as usize;
                        channels.add(*r, &mut bins[bin * width..(bin + 1) * width]);
                        counts[bin] += 1;
                    }
                }
            }
            for bin in (0..256).filter(|b| counts[*b] > 0) {
                groups.push(Group {
                    bin: bin as u8,
                    count: counts[bin],
                });
                group_sums.extend_from_slice(&bins[bin * width..(bin + 1) * width]);
            }
        } else {
            pairs.clear();
            pairs.extend(rows.iter().map(|r| (column[*r as usize], *r)));
            pairs.sort_unstable_by_key(|p| p.0);
            for (bin, r) in pairs.iter() {
                if groups.last().is_none_or(|g: &Group| g.bin != *bin) {
                    groups.push(Group {
                        bin: *bin,
                        count: 0,
                    });
                    group_sums.extend(std::iter::repeat_n(0.0, width));
                }
                groups.last_mut().expect("pushed").count += 1;
                let at = group_sums.len() - width;
                self.channels.add(*r, &mut group_sums[at..]);
            }
        }
    }
}

/// A tree's working buffers, reused from node to node.
#[derive(Default)]
struct Scratch {
    groups: Vec<Group>,
    group_sums: Vec<f64>,
    bins: Vec<f64>,
    pairs: Vec<(u8, u32)>,
    left: Vec<f64>,
    right: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Rows walked down in lockstep reach the leaves a row walked alone
    /// reaches: the forest's mean is the same to the bit.
    #[test]
    fn lockstep_scoring_is_row_by_row_scoring() {
        let mut rng = SeededRng::new(7);
        let x = Array2::from_shape_fn((3000, 4), |_| (rng.next_u64() % 1000) as f64 / 10.0);
        let y: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| (r[0] + r[1] > 100.0) as u8 as f64)
            .collect();
        let params = ForestParams {
            trees: 5,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: 2,
            seed: 3,
            bootstrap: true,
        };
        let trees = narrow(fit(x.view(), Target::Values(&y), params));
        let fast = mean_prediction(&trees, x.view());
        for (r, got) in fast.iter().enumerate() {
            let row = x.row(r).to_vec();
            let slow = trees.iter().map(|t| t.predict(&row)).sum::<f64>() / trees.len() as f64;
            assert_eq!(*got, slow, "row {r}");
        }
        let labels: Vec<usize> = y.iter().map(|v| *v as usize).collect();
        let target = Target::Classes {
            labels: &labels,
            weights: &[1.0, 1.0],
        };
        let wide = fit(x.view(), target, params);
        let shares = mean_of_wide(&wide, x.view(), 2);
        // Two classes' shares from one-per-class leaves equal the positive
        // class's mean from the 0/1 target: Gini is the squared error there.
        for (pair, positive) in shares.iter().zip(&fast) {
            assert!((pair[0] + pair[1] - 1.0).abs() < 1e-12);
            assert!(
                (pair[1] - positive).abs() < 1e-12,
                "{pair:?} against {positive}"
            );
        }
    }
}
