//! Statistics with the conventions of numpy and scipy, on f64.

/// Sorts finite-or-infinite f64 values ascending (no NaN). An LSD radix
/// sort on the order-preserving bit pattern: sorting is the bulk of the work
/// at 10⁷ rows, and this is several times faster than a comparison sort.
pub fn sort_f64(values: &mut [f64]) {
    if values.len() < 2048 {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    let mut keys: Vec<u64> = values.iter().map(|v| ordered_bits(*v)).collect();
    radix_sort_u64(&mut keys);
    for (slot, key) in values.iter_mut().zip(keys) {
        *slot = from_ordered_bits(key);
    }
}

fn ordered_bits(value: f64) -> u64 {
    // -0.0 and 0.0 compare equal in f64; give them one key.
    let bits = if value == 0.0 { 0 } else { value.to_bits() };
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn from_ordered_bits(key: u64) -> f64 {
    let bits = if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    };
    f64::from_bits(bits)
}

/// LSD radix sort with 16-bit digits; passes whose digit is constant are skipped.
pub fn radix_sort_u64(keys: &mut Vec<u64>) {
    radix_sort_by_key(keys, |k| *k);
}

/// LSD radix sort of `items` by a u64 key, stable.
pub fn radix_sort_by_key<T: Copy>(items: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    if items.len() < 2 {
        return;
    }
    let mut scratch: Vec<T> = items.clone();
    let mut counts = vec![0usize; 1 << 16];
    for pass in 0..4 {
        let shift = pass * 16;
        counts.iter_mut().for_each(|c| *c = 0);
        for item in items.iter() {
            counts[((key(item) >> shift) & 0xffff) as usize] += 1;
        }
        if counts.contains(&items.len()) {
            continue;
        }
        let mut total = 0;
        for count in counts.iter_mut() {
            let here = *count;
            *count = total;
            total += here;
        }
        for item in items.iter() {
            let digit = ((key(item) >> shift) & 0xffff) as usize;
            scratch[counts[digit]] = *item;
            counts[digit] += 1;
        }
        std::mem::swap(items, &mut scratch);
    }
}

/// The q-quantile (0 ≤ q ≤ 1) of sorted values, interpolated linearly as
/// `numpy.quantile(..., method="linear")`, numpy's default.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let weight = position - below as f64;
    Some(lerp(sorted[below], sorted[above], weight))
}

/// The least share a bin counts with: every share below it (an empty bin's
/// included) is raised to it, so that PSI stays finite and one stray row
/// cannot dominate.
pub const PSI_EPSILON: f64 = 1e-4;

/// Population stability index of two distributions over the same bins:
/// Σ (head − base) · ln(head / base), each share at least [`PSI_EPSILON`].
pub fn psi(base_counts: &[u64], head_counts: &[u64]) -> Option<f64> {
    let base_total: u64 = base_counts.iter().sum();
    let head_total: u64 = head_counts.iter().sum();
    if base_total == 0 || head_total == 0 || base_counts.len() != head_counts.len() {
        return None;
    }
    let share = |count: u64, total: u64| (count as f64 / total as f64).max(PSI_EPSILON);
    Some(
        base_counts
            .iter()
            .zip(head_counts)
            .map(|(b, h)| {
                let (b, h) = (share(*b, base_total), share(*h, head_total));
                (h - b) * (h / b).ln()
            })
            .sum(),
    )
}

/// More distinct values than this and a sample is sorted rather than counted
/// in a hash map (which stays in cache only while it is small).
const MAX_COUNTED: usize = 1 << 20;

/// A numeric sample as its distinct values, ascending, with how often each
/// occurs: everything quantiles, moments, KS and PSI bins need, and a few
/// kilobytes for columns that hold few distinct values, where a sorted copy
/// of every row would take 80 MB at 10⁷ rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueCounts {
    pub values: Vec<f64>,
    /// Rows up to and including each value: `ends[i]` counts every row
    /// whose value is at most `values[i]`.
    pub ends: Vec<u64>,
    /// The mean of the values in row order, with compensated summation so
    /// it agrees with numpy's pairwise sum.
    pub mean: Option<f64>,
}

impl ValueCounts {
    /// The non-NaN values `sample()` yields (it is called up to three times).
    pub fn of<I: Iterator<Item = f64>>(sample: impl Fn() -> I) -> ValueCounts {
        let mut counts: ahash::HashMap<u64, u64> = ahash::HashMap::default();
        let mut pairs: Vec<(u64, u64)> = Vec::new();
        let mut counted = true;
        for value in sample().filter(|v| !v.is_nan()) {
            *counts.entry(ordered_bits(value)).or_insert(0) += 1;
            if counts.len() > MAX_COUNTED {
                counted = false;
                break;
            }
        }
        if counted {
            pairs.extend(counts);
            pairs.sort_unstable_by_key(|(key, _)| *key);
        } else {
            drop(counts);
            let mut keys: Vec<u64> = sample().filter(|v| !v.is_nan()).map(ordered_bits).collect();
            radix_sort_u64(&mut keys);
            for key in keys {
                match pairs.last_mut() {
                    Some((last, n)) if *last == key => *n += 1,
                    _ => pairs.push((key, 1)),
                }
            }
        }
        let mut total = 0u64;
        let (values, ends) = pairs
            .into_iter()
            .map(|(key, n)| {
                total += n;
                (from_ordered_bits(key), total)
            })
            .unzip();
        ValueCounts {
            values,
            ends,
            mean: compensated_mean(sample().filter(|v| !v.is_nan())),
        }
    }

    /// How many values the sample holds.
    pub fn len(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn distinct(&self) -> u64 {
        self.values.len() as u64
    }

    /// The value at a 0-based position of the sorted sample.
    fn at(&self, position: u64) -> f64 {
        self.values[self.ends.partition_point(|end| *end <= position)]
    }

    fn count(&self, i: usize) -> u64 {
        self.ends[i] - if i == 0 { 0 } else { self.ends[i - 1] }
    }

    /// As [`quantile_sorted`] on the sorted sample.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let position = q.clamp(0.0, 1.0) * (n - 1) as f64;
        let below = position.floor() as u64;
        let (a, b) = (self.at(below), self.at((below + 1).min(n - 1)));
        Some(lerp(a, b, position - below as f64))
    }

    /// Sample standard deviation (ddof = 1) about [`Self::mean`].
    pub fn std(&self) -> Option<f64> {
        let (n, mean) = (self.len(), self.mean?);
        (n > 1).then(|| {
            let squares: f64 = (0..self.values.len())
                .map(|i| {
                    let d = self.values[i] - mean;
                    d * d * self.count(i) as f64
                })
                .sum();
            (squares / (n - 1) as f64).sqrt()
        })
    }

    /// Rows per bin (-∞, e₁], (e₁, e₂], …, (eₖ, ∞).
    pub fn bin_counts(&self, edges: &[f64]) -> Vec<u64> {
        let mut counts = Vec::with_capacity(edges.len() + 1);
        let mut below = 0u64;
        for edge in edges {
            let i = self.values.partition_point(|v| v <= edge);
            let upto = if i == 0 { 0 } else { self.ends[i - 1] };
            counts.push(upto - below);
            below = upto;
        }
        counts.push(self.len() - below);
        counts
    }

    /// The inner edges of ten bins on the deciles (numpy-linear), equal
    /// edges merged.
    pub fn decile_edges(&self) -> Vec<f64> {
        let mut edges: Vec<f64> = (1..10)
            .filter_map(|k| self.quantile(k as f64 / 10.0))
            .collect();
        edges.dedup();
        edges
    }

    /// The two-sample Kolmogorov–Smirnov statistic: the largest distance
    /// between the two empirical CDFs, as `scipy.stats.ks_2samp`'s.
    pub fn ks(&self, other: &ValueCounts) -> Option<f64> {
        if self.is_empty() || other.is_empty() {
            return None;
        }
        let (n, m) = (self.len() as f64, other.len() as f64);
        let (mut i, mut j) = (0usize, 0usize);
        let mut largest = 0.0f64;
        while i < self.values.len() && j < other.values.len() {
            let x = self.values[i].min(other.values[j]);
            if self.values[i] <= x {
                i += 1;
            }
            if other.values[j] <= x {
                j += 1;
            }
            let below = |c: &ValueCounts, k: usize| if k == 0 { 0 } else { c.ends[k - 1] };
            largest = largest.max((below(self, i) as f64 / n - below(other, j) as f64 / m).abs());
        }
        Some(largest)
    }
}

/// numpy's `_lerp`: a + (b − a)·t, computed from the nearer end when t ≥ ½.
fn lerp(a: f64, b: f64, weight: f64) -> f64 {
    let difference = b - a;
    if weight >= 0.5 {
        b - difference * (1.0 - weight)
    } else {
        a + difference * weight
    }
}

/// The mean with Neumaier's compensated sum, close to the exact mean as
/// numpy's pairwise summation is.
fn compensated_mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut compensation, mut n) = (0.0f64, 0.0f64, 0u64);
    for value in values {
        let t = sum + value;
        compensation += if sum.abs() >= value.abs() {
            (sum - t) + value
        } else {
            (value - t) + sum
        };
        sum = t;
        n += 1;
    }
    (n > 0).then(|| (sum + compensation) / n as f64)
}

/// ROC-AUC of `score` for the `true` class from per-value class counts:
/// (score, negatives, positives). Equal to [`roc_auc`] on the same rows.
pub fn roc_auc_counted<I: Iterator<Item = (f64, bool)>>(scored: impl Fn() -> I) -> Option<f64> {
    let mut counts: ahash::HashMap<u64, [u64; 2]> = ahash::HashMap::default();
    for (score, positive) in scored() {
        counts.entry(ordered_bits(score)).or_insert([0, 0])[positive as usize] += 1;
        if counts.len() > MAX_COUNTED {
            return roc_auc(&scored().collect::<Vec<_>>());
        }
    }
    let mut groups: Vec<(u64, [u64; 2])> = counts.into_iter().collect();
    groups.sort_unstable_by_key(|(key, _)| *key);
    let positives: u64 = groups.iter().map(|(_, c)| c[1]).sum();
    let negatives: u64 = groups.iter().map(|(_, c)| c[0]).sum();
    if positives == 0 || negatives == 0 {
        return None;
    }
    let (mut rank_sum, mut start) = (0.0f64, 0u64);
    for (_, [neg, pos]) in groups {
        let end = start + neg + pos;
        rank_sum += (start + end + 1) as f64 / 2.0 * pos as f64;
        start = end;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// ROC-AUC of `score` for the `true` class, ties at half credit (the
/// Mann–Whitney U, equal to scikit-learn's trapezoidal `roc_auc_score`).
/// Radix-sorted, since leakage checks run it on 10⁷ rows.
pub fn roc_auc(pairs: &[(f64, bool)]) -> Option<f64> {
    let positives = pairs.iter().filter(|(_, p)| *p).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut sorted = pairs.to_vec();
    radix_sort_by_key(&mut sorted, |(score, _)| ordered_bits(*score));
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < sorted.len() {
        let mut end = start;
        while end < sorted.len() && sorted[end].0 == sorted[start].0 {
            end += 1;
        }
        let average_rank = (start + end + 1) as f64 / 2.0;
        rank_sum += average_rank * sorted[start..end].iter().filter(|(_, p)| *p).count() as f64;
        start = end;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The sorted-sample forms, which the counted ones must equal.

    /// Mean and sample standard deviation (ddof = 1, as pandas' describe).
    pub fn mean_std(values: &[f64]) -> (Option<f64>, Option<f64>) {
        if values.is_empty() {
            return (None, None);
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.len() > 1).then(|| {
            let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (squares / (n - 1.0)).sqrt()
        });
        (Some(mean), std)
    }

    /// The two-sample Kolmogorov–Smirnov statistic of two sorted samples:
    /// the largest distance between their empirical CDFs, as
    /// `scipy.stats.ks_2samp(...).statistic`.
    pub fn ks_statistic(a: &[f64], b: &[f64]) -> Option<f64> {
        if a.is_empty() || b.is_empty() {
            return None;
        }
        let (n, m) = (a.len() as f64, b.len() as f64);
        let (mut i, mut j) = (0usize, 0usize);
        let mut largest = 0.0f64;
        while i < a.len() && j < b.len() {
            let x = a[i].min(b[j]);
            while i < a.len() && a[i] <= x {
                i += 1;
            }
            while j < b.len() && b[j] <= x {
                j += 1;
            }
            largest = largest.max((i as f64 / n - j as f64 / m).abs());
        }
        Some(largest)
    }

    /// The inner edges of ten bins on the base sample's deciles, duplicates
    /// removed (a column with many equal values has fewer distinct bins).
    pub fn decile_edges(sorted_base: &[f64]) -> Vec<f64> {
        let mut edges: Vec<f64> = (1..10)
            .filter_map(|k| quantile_sorted(sorted_base, k as f64 / 10.0))
            .collect();
        edges.dedup();
        edges
    }

    /// Counts of sorted values per bin: (-∞, e₁], (e₁, e₂], …, (eₖ, ∞).
    pub fn bin_counts(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
        let mut counts = Vec::with_capacity(edges.len() + 1);
        let mut start = 0;
        for edge in edges {
            let end = start + sorted[start..].partition_point(|v| v <= edge);
            counts.push((end - start) as u64);
            start = end;
        }
        counts.push((sorted.len() - start) as u64);
        counts
    }

    #[test]
    fn radix_sort_matches_comparison_sort_with_negatives_zeros_and_infinities() {
        let mut state = 0x2545f4914f6cdd1du64;
        let mut values: Vec<f64> = (0..10_000)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                match i % 97 {
                    0 => -0.0,
                    1 => 0.0,
                    2 => f64::INFINITY,
                    3 => f64::NEG_INFINITY,
                    _ => (state as i64) as f64 / 1e9,
                }
            })
            .collect();
        let mut expected = values.clone();
        expected.sort_by(f64::total_cmp);
        sort_f64(&mut values);
        for (a, b) in values.iter().zip(&expected) {
            assert!(a == b, "{a} != {b}");
        }
    }

    #[test]
    fn auc_counts_ties_at_half() {
        assert_eq!(roc_auc(&[(0.1, false), (0.9, true)]), Some(1.0));
        assert_eq!(roc_auc(&[(0.5, false), (0.5, true)]), Some(0.5));
        assert_eq!(
            roc_auc(&[(1.0, true), (0.0, false), (0.5, true), (0.5, false)]),
            Some(0.875)
        );
        assert_eq!(roc_auc(&[(1.0, true)]), None);
    }

    #[test]
    fn quantiles_interpolate_linearly() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&sorted, 0.5), Some(2.5));
        assert_eq!(quantile_sorted(&sorted, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&sorted, 1.0), Some(4.0));
        assert!((quantile_sorted(&sorted, 0.25).unwrap() - 1.75).abs() < 1e-15);
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }

    #[test]
    fn ks_of_identical_and_disjoint_samples() {
        assert_eq!(ks_statistic(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), Some(0.0));
        assert_eq!(ks_statistic(&[1.0, 2.0], &[3.0, 4.0]), Some(1.0));
        assert_eq!(ks_statistic(&[1.0, 2.0, 3.0, 4.0], &[3.0]), Some(0.5));
    }

    /// The reference is numpy's: edges `np.unique(np.quantile(base, deciles))`,
    /// bins closed on the right (`np.searchsorted(edges, x, side="left")`),
    /// every share floored at 1e-4. The head's last bin holds one row of
    /// 20 000 (5e-5, raised to 1e-4): flooring only empty bins would give
    /// 0.05510900214419449 instead.
    #[test]
    fn psi_on_deciles_matches_numpy_with_right_closed_bins() {
        let base: Vec<f64> = (0..1000u64).map(|i| ((i * i) % 7) as f64).collect();
        let mut head: Vec<f64> = (0..20000u64)
            .map(|i| (((i * i) % 7) as f64 + if i % 3 == 0 { 1.0 } else { 0.0 }).min(4.0))
            .collect();
        head[1] = 9.0;
        let (b, h) = (
            ValueCounts::of(|| base.iter().copied()),
            ValueCounts::of(|| head.iter().copied()),
        );
        let edges = b.decile_edges();
        assert_eq!(edges, vec![0.0, 1.0, 2.0, 4.0]);
        assert_eq!(b.bin_counts(&edges), vec![143, 285, 286, 286, 0]);
        assert_eq!(h.bin_counts(&edges), vec![1905, 4761, 5714, 7619, 1]);
        let value = psi(&b.bin_counts(&edges), &h.bin_counts(&edges)).unwrap();
        assert!((value - 0.05507434478516649).abs() < 1e-12, "{value}");
    }

    #[test]
    fn psi_is_zero_for_equal_shares_and_finite_for_empty_bins() {
        assert_eq!(psi(&[10, 20, 30], &[1, 2, 3]), Some(0.0));
        let shifted = psi(&[50, 50, 0], &[0, 50, 50]).unwrap();
        assert!(shifted.is_finite() && shifted > 1.0);
    }

    #[test]
    fn value_counts_agree_with_the_sorted_sample() {
        let mut state = 0x9e3779b97f4a7c15u64;
        let mut draw = |levels: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % levels) as f64 / 8.0 - 3.0
        };
        for levels in [1u64, 7, 500, 1 << 40] {
            let a: Vec<f64> = (0..5000).map(|_| draw(levels)).collect();
            let b: Vec<f64> = (0..3000).map(|_| draw(levels) + 0.25).collect();
            let (mut sa, mut sb) = (a.clone(), b.clone());
            sort_f64(&mut sa);
            sort_f64(&mut sb);
            let (ca, cb) = (
                ValueCounts::of(|| a.iter().copied()),
                ValueCounts::of(|| b.iter().copied()),
            );
            for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0] {
                assert_eq!(ca.quantile(q), quantile_sorted(&sa, q), "q{q}");
            }
            assert_eq!(ca.ks(&cb), ks_statistic(&sa, &sb));
            let edges = decile_edges(&sa);
            assert_eq!(ca.decile_edges(), edges);
            assert_eq!(cb.bin_counts(&edges), bin_counts(&sb, &edges));
            let (mean, std) = mean_std(&sa);
            assert!((ca.mean.unwrap() - mean.unwrap()).abs() < 1e-12);
            if let (Some(x), Some(y)) = (ca.std(), std) {
                assert!((x - y).abs() < 1e-9, "{x} {y}");
            }
            let scored: Vec<(f64, bool)> = a
                .iter()
                .enumerate()
                .map(|(i, v)| (*v, i % 3 == 0))
                .collect();
            let counted = roc_auc_counted(|| scored.iter().copied());
            assert_eq!(
                counted.map(|x| (x * 1e12).round()),
                roc_auc(&scored).map(|x| (x * 1e12).round())
            );
        }
        assert_eq!(
            ValueCounts::of(|| [f64::NAN].into_iter()).quantile(0.5),
            None
        );
    }

    #[test]
    fn past_a_million_distinct_values_the_counts_come_from_sorting() {
        let n = MAX_COUNTED + 5000;
        let values: Vec<f64> = (0..n).map(|i| ((i * 7919) % n) as f64 / 3.0).collect();
        let counts = ValueCounts::of(|| values.iter().copied());
        let mut sorted = values.clone();
        sort_f64(&mut sorted);
        assert_eq!(counts.distinct(), n as u64);
        for q in [0.0, 0.37, 0.5, 1.0] {
            assert_eq!(counts.quantile(q), quantile_sorted(&sorted, q));
        }
        let scored: Vec<(f64, bool)> = values
            .iter()
            .map(|v| (*v, (*v as u64).is_multiple_of(2)))
            .collect();
        let counted = roc_auc_counted(|| scored.iter().copied()).unwrap();
        assert!((counted - roc_auc(&scored).unwrap()).abs() < 1e-12);
    }

    #[test]
    fn bins_cover_every_value_once() {
        let sorted: Vec<f64> = (0..100).map(f64::from).collect();
        let edges = decile_edges(&sorted);
        assert_eq!(edges.len(), 9);
        let counts = bin_counts(&sorted, &edges);
        assert_eq!(counts.iter().sum::<u64>(), 100);
        assert_eq!(counts.len(), 10);
        assert_eq!(decile_edges(&[5.0; 50]), vec![5.0]);
    }
}
