//! Histogram trees, as LightGBM and scikit-learn's `HistGradientBoosting`
//! grow them: every feature is binned once (≤ 255 bins, thresholds at
//! midpoints of distinct values or of quantiles), a node's split is found by
//! scanning per-bin sums of gradients and hessians, and a child's histogram
//! is its parent's minus its sibling's. Trees grow best-first (the leaf with
//! the largest gain splits next) up to `max_leaf_nodes`.
//! These are gradient boosting's trees; single trees and forests grow in
//! `forest.rs`.

use std::collections::BinaryHeap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::SeededRng;
pub use super::binning::{Binned, Sparse};

/// scikit-learn's `min_hessian_to_split`.
const MIN_HESSIAN: f64 = 1e-3;

#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    g: f64,
    h: f64,
    n: usize,
}

type Histogram = Vec<[Bin; 256]>;

/// How a tree may grow.
#[derive(Debug, Clone, Copy)]
pub struct GrowParams {
    pub max_leaf_nodes: Option<usize>,
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    pub min_samples_split: usize,
    pub l2: f64,
    /// Features drawn at random for each split (a forest's trees); all when `None`.
    pub max_features: Option<usize>,
    /// Scales every leaf value (boosting's learning rate).
    pub shrinkage: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum HistNode {
    /// Rows with `x[feature] <= threshold` go left.
    // u32 indices: a node takes 24 bytes, not 40; a forest of deep trees
    // is mostly nodes.
    Split {
        feature: u32,
        threshold: f64,
        left: u32,
        right: u32,
    },
    Leaf {
        value: f64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistTree {
    pub nodes: Vec<HistNode>,
}

impl HistTree {
    pub fn predict(&self, row: &[f64]) -> f64 {
        let mut at = 0;
        loop {
            match &self.nodes[at] {
                HistNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    at = if row[*feature as usize] <= *threshold {
                        *left as usize
                    } else {
                        *right as usize
                    }
                }
                HistNode::Leaf { value } => return *value,
            }
        }
    }
}

impl HistTree {
    /// The node index of the leaf each row reaches, into `leaves`. Rows go
    /// down in groups of eight, a level at a time: their node loads do not
    /// wait on one another, so a deep tree's cache misses overlap where one
    /// row's path would take them one after another.
    pub fn leaves(&self, rows: &[Vec<f64>], leaves: &mut Vec<usize>) {
        const LANES: usize = 8;
        leaves.clear();
        for group in rows.chunks(LANES) {
            let mut at = [0usize; LANES];
            loop {
                let mut moved = false;
                for (lane, row) in group.iter().enumerate() {
                    if let HistNode::Split {
                        feature,
                        threshold,
                        left,
                        right,
                    } = &self.nodes[at[lane]]
                    {
                        at[lane] = if row[*feature as usize] <= *threshold {
                            *left as usize
                        } else {
                            *right as usize
                        };
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
            leaves.extend_from_slice(&at[..group.len()]);
        }
    }
}

/// A leaf of a grown tree and the positions of its rows in the row array.
pub struct LeafRows {
    pub value: f64,
    pub start: usize,
    pub end: usize,
}

/// A leaf waiting to split: its rows, sums, histogram and best split.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    sums: Sums,
    histogram: Histogram,
    split: Option<Split>,
}

#[derive(Debug, Clone, Copy)]
struct Split {
    feature: usize,
    bin: usize,
    gain: f64,
    left: Sums,
}

/// Orders open leaves by their split's gain for the best-first heap.
struct ByGain(f64, usize);

impl PartialEq for ByGain {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for ByGain {}
impl PartialOrd for ByGain {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByGain {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Equal gains: the earlier leaf first, so growth is deterministic.
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

/// Everything a tree is grown from.
pub struct Grower<'a> {
    pub columns: &'a [Vec<u8>],
    pub thresholds: &'a [Vec<f64>],
    /// In `f32`, as scikit-learn keeps them: half the memory traffic of the
    /// histogram loop; sums are `f64`.
    pub gradients: &'a [f32],
    pub hessians: &'a [f32],
    pub params: GrowParams,
    /// For rows without repeats (not a bootstrap sample): the sparse
    /// columns, visited by their uncommon rows.
    pub sparse: Option<&'a Sparse>,
}

/// Which node each row is in, for the sparse columns' visits.
struct Membership(Option<Vec<u32>>);

impl Membership {
    fn assign(&mut self, rows: &[u32], node: usize) {
        if let Some(of) = &mut self.0 {
            rows.iter().for_each(|r| of[*r as usize] = node as u32);
        }
    }
}

impl Grower<'_> {
    /// Grows one tree on `rows` (repeats allowed: a bootstrap sample); `rows`
    /// is reordered so that each leaf's rows are contiguous.
    pub fn grow(&self, rows: &mut [u32], rng: &mut SeededRng) -> (HistTree, Vec<LeafRows>) {
        let mut tree = HistTree {
            nodes: vec![HistNode::Leaf { value: 0.0 }],
        };
        let mut sums = Sums {
            n: rows.len(),
            ..Sums::default()
        };
        for r in rows.iter() {
            sums.g += self.gradients[*r as usize] as f64;
            sums.h += self.hessians[*r as usize] as f64;
        }
        let total = self.columns.first().map_or(0, Vec::len);
        let mut members = Membership(self.sparse.map(|_| vec![u32::MAX; total]));
        members.assign(rows, 0);
        let histogram = self.histogram(rows, 0, sums, &members);
        let root = self.open((0, 0, rows.len()), 0, sums, histogram, rng);
        let mut open = vec![Some(root)];
        let mut heap = BinaryHeap::new();
        let mut done = Vec::new();
        self.queue(&mut heap, &mut done, &mut open, 0);
        let mut leaves = 1;
        while let Some(ByGain(_, slot)) = heap.pop() {
            if self.params.max_leaf_nodes.is_some_and(|m| leaves >= m) {
                done.push(slot);
                continue;
            }
            let Some(parent) = open[slot].take() else {
                continue;
            };
            let (left, right) = self.split(parent, rows, &mut tree, &mut members, rng);
            leaves += 1;
            for child in [left, right] {
                open.push(Some(child));
                let slot = open.len() - 1;
                self.queue(&mut heap, &mut done, &mut open, slot);
            }
        }
        let mut out = Vec::with_capacity(done.len());
        for slot in done {
            if let Some(leaf) = open[slot].take() {
                let value =
                    -self.params.shrinkage * leaf.sums.g / (leaf.sums.h + self.params.l2 + 1e-15);
                tree.nodes[leaf.node] = HistNode::Leaf { value };
                out.push(LeafRows {
                    value,
                    start: leaf.start,
                    end: leaf.end,
                });
            }
        }
        (tree, out)
    }

    fn queue(
        &self,
        heap: &mut BinaryHeap<ByGain>,
        done: &mut Vec<usize>,
        open: &mut [Option<Open>],
        slot: usize,
    ) {
        match open[slot].as_ref().and_then(|o| o.split) {
            Some(split) => heap.push(ByGain(split.gain, slot)),
            None => done.push(slot),
        }
    }

    /// A new leaf (`node`, and its rows' `start..end`) with its best split.
    fn open(
        &self,
        (node, start, end): (usize, usize, usize),
        depth: usize,
        sums: Sums,
        histogram: Histogram,
        rng: &mut SeededRng,
    ) -> Open {
        let splittable = self.params.max_depth.is_none_or(|d| depth < d)
            && sums.n >= (2 * self.params.min_samples_leaf).max(self.params.min_samples_split)
            && sums.h >= 2.0 * MIN_HESSIAN;
        let split = if splittable {
            self.best_split(&histogram, sums, rng)
        } else {
            None
        };
        Open {
            node,
            start,
            end,
            depth,
            sums,
            histogram,
            split,
        }
    }

    /// Splits an open leaf: partitions its rows, builds the smaller child's
    /// histogram and subtracts it from the parent's for the other.
    fn split(
        &self,
        parent: Open,
        rows: &mut [u32],
        tree: &mut HistTree,
        members: &mut Membership,
        rng: &mut SeededRng,
    ) -> (Open, Open) {
        let split = parent.split.expect("only leaves with a split are queued");
        let column = &self.columns[split.feature];
        let range = &mut rows[parent.start..parent.end];
        let mut middle = 0;
        for i in 0..range.len() {
            if (column[range[i] as usize] as usize) <= split.bin {
                range.swap(i, middle);
                middle += 1;
            }
        }
        let middle = parent.start + middle;
        let (left_node, right_node) = (tree.nodes.len(), tree.nodes.len() + 1);
        tree.nodes.push(HistNode::Leaf { value: 0.0 });
        tree.nodes.push(HistNode::Leaf { value: 0.0 });
        tree.nodes[parent.node] = HistNode::Split {
            feature: split.feature as u32,
            threshold: self.thresholds[split.feature][split.bin],
            left: left_node as u32,
            right: right_node as u32,
        };
        members.assign(&rows[parent.start..middle], left_node);
        members.assign(&rows[middle..parent.end], right_node);
        let left_sums = split.left;
        let right_sums = Sums {
            g: parent.sums.g - left_sums.g,
            h: parent.sums.h - left_sums.h,
            n: parent.sums.n - left_sums.n,
        };
        let left_smaller = middle - parent.start <= parent.end - middle;
        let small = if left_smaller {
            self.histogram(&rows[parent.start..middle], left_node, left_sums, members)
        } else {
            self.histogram(&rows[middle..parent.end], right_node, right_sums, members)
        };
        let mut large = parent.histogram;
        large.par_iter_mut().zip(&small).for_each(|(l, s)| {
            for (a, b) in l.iter_mut().zip(s) {
                a.g -= b.g;
                a.h -= b.h;
                a.n -= b.n;
            }
        });
        let (left_h, right_h) = if left_smaller {
            (small, large)
        } else {
            (large, small)
        };
        let depth = parent.depth + 1;
        let left = self.open(
            (left_node, parent.start, middle),
            depth,
            left_sums,
            left_h,
            rng,
        );
        let right = self.open(
            (right_node, middle, parent.end),
            depth,
            right_sums,
            right_h,
            rng,
        );
        (left, right)
    }

    /// Per-feature sums of gradients and hessians over `rows` (node `node`,
    /// whose totals are `sums`), features in parallel. A sparse column with
    /// fewer uncommon rows than the node has rows is read through those.
    fn histogram(&self, rows: &[u32], node: usize, sums: Sums, members: &Membership) -> Histogram {
        let (g, h): (Vec<f32>, Vec<f32>) = rows
            .iter()
            .map(|r| (self.gradients[*r as usize], self.hessians[*r as usize]))
            .unzip();
        (0..self.columns.len())
            .into_par_iter()
            .map(|f| {
                let column = &self.columns[f];
                let sparse = self
                    .sparse
                    .zip(members.0.as_ref())
                    .and_then(|(sparse, of)| {
                        let others = sparse.others[f].as_ref().filter(|o| o.len() < rows.len())?;
                        Some((sparse.common[f], others, of))
                    });
                if let Some((common, others, of)) = sparse {
                    return self.sparse_bins(column, common, others, of, node as u32, sums);
                }
                let mut bins = [Bin::default(); 256];
                for ((r, g), h) in rows.iter().zip(&g).zip(&h) {
                    let bin = &mut bins[column[*r as usize] as usize];
                    bin.g += *g as f64;
                    bin.h += *h as f64;
                    bin.n += 1;
                }
                bins
            })
            .collect()
    }

    /// A sparse column's bins in a node: its uncommon rows that are in the
    /// node, and the common bin as the node's totals minus the rest.
    fn sparse_bins(
        &self,
        column: &[u8],
        common: u8,
        others: &[u32],
        of: &[u32],
        node: u32,
        sums: Sums,
    ) -> [Bin; 256] {
        let mut bins = [Bin::default(); 256];
        for r in others
            .iter()
            .map(|r| *r as usize)
            .filter(|r| of[*r] == node)
        {
            let bin = &mut bins[column[r] as usize];
            bin.g += self.gradients[r] as f64;
            bin.h += self.hessians[r] as f64;
            bin.n += 1;
        }
        let (g, h, n) = bins
            .iter()
            .fold((0.0, 0.0, 0u32), |(g, h, n), b| (g + b.g, h + b.h, n + b.n));
        bins[common as usize] = Bin {
            g: sums.g - g,
            h: sums.h - h,
            n: sums.n as u32 - n,
        };
        bins
    }

    /// The split with the largest gain `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)`
    /// over the allowed features, respecting the leaf-size limits.
    fn best_split(&self, histogram: &Histogram, sums: Sums, rng: &mut SeededRng) -> Option<Split> {
        let mut features: Vec<usize> = (0..histogram.len()).collect();
        if let Some(k) = self.params.max_features.filter(|k| *k < features.len()) {
            rng.shuffle(&mut features);
            features.truncate(k);
            features.sort_unstable();
        }
        let l2 = self.params.l2;
        let parent = sums.g * sums.g / (sums.h + l2);
        let mut best: Option<Split> = None;
        for f in features {
            let bins = self.thresholds[f].len() + 1;
            let mut left = Sums::default();
            for (b, bin) in histogram[f].iter().enumerate().take(bins - 1) {
                left.g += bin.g;
                left.h += bin.h;
                left.n += bin.n as usize;
                let right = Sums {
                    g: sums.g - left.g,
                    h: sums.h - left.h,
                    n: sums.n - left.n,
                };
                if left.n < self.params.min_samples_leaf || left.h < MIN_HESSIAN {
                    continue;
                }
                if right.n < self.params.min_samples_leaf || right.h < MIN_HESSIAN {
                    break;
                }
                let gain =
                    left.g * left.g / (left.h + l2) + right.g * right.g / (right.h + l2) - parent;
                // Rounding alone must not split rows that are all alike.
                let real = gain > 0.0 && gain > 1e-10 * parent.abs();
                if real && best.is_none_or(|s| gain > s.gain) {
                    best = Some(Split {
                        feature: f,
                        bin: b,
                        gain,
                        left,
                    });
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Visiting a sparse column by its uncommon rows grows the tree the
    /// dense visit grows: the same splits, the same leaves.
    #[test]
    fn sparse_columns_grow_the_same_tree() {
        let n = 5000;
        let x = ndarray::Array2::from_shape_fn((n, 3), |(i, j)| match j {
            0 => ((i * 7919) % 1000) as f64,
            1 => ((i * 31) % 20 == 0) as u8 as f64,
            _ => ((i * 17) % 50 == 3) as u8 as f64,
        });
        let g: Vec<f32> = (0..n)
            .map(|i| (x[[i, 1]] * 2.0 - x[[i, 2]] + (x[[i, 0]] / 500.0) - 0.7) as f32)
            .collect();
        let h = vec![0.25f32; n];
        let all: Vec<usize> = (0..n).collect();
        let binned = Binned::fit(x.view(), &all, 255, &mut SeededRng::new(0));
        let sparse = binned.sparse(0.2);
        assert!(sparse.others[1].is_some() && sparse.others[2].is_some());
        assert!(sparse.others[0].is_none());
        let grow = |sparse: Option<&Sparse>| {
            let grower = Grower {
                columns: &binned.columns,
                thresholds: &binned.thresholds,
                gradients: &g,
                hessians: &h,
                params: GrowParams {
                    max_leaf_nodes: Some(31),
                    max_depth: None,
                    min_samples_leaf: 20,
                    min_samples_split: 2,
                    l2: 0.0,
                    max_features: None,
                    shrinkage: 0.1,
                },
                sparse,
            };
            let mut rows: Vec<u32> = (0..n as u32).collect();
            grower.grow(&mut rows, &mut SeededRng::new(1)).0
        };
        let (dense, visited) = (grow(None), grow(Some(&sparse)));
        let splits_on = |f: usize| {
            dense
                .nodes
                .iter()
                .any(|n| matches!(n, HistNode::Split { feature, .. } if *feature as usize == f))
        };
        assert!(splits_on(1) && splits_on(2), "{dense:?}");
        assert_eq!(dense.nodes.len(), visited.nodes.len());
        for (a, b) in dense.nodes.iter().zip(&visited.nodes) {
            match (a, b) {
                (HistNode::Leaf { value: a }, HistNode::Leaf { value: b }) => {
                    assert!((a - b).abs() < 1e-12, "{a} {b}")
                }
                (
                    HistNode::Split {
                        feature: f,
                        threshold: t,
                        ..
                    },
                    HistNode::Split {
                        feature: g,
                        threshold: u,
                        ..
                    },
                ) => assert_eq!((f, t), (g, u)),
                _ => panic!("{a:?} against {b:?}"),
            }
        }
    }
}
