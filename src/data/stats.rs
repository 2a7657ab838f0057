//! Statistics with the conventions of numpy and scipy, on f64.

/// Sorts finite-or-infinite f64 values ascending (no NaN). An LSD radix
/// sort on the order-preserving bit pattern: sorting is the bulk of the work
/// at 10⁷ rows, and this is several times faster than a comparison sort.
pub fn sort_f64(values: &mut Vec<f64>) {
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
        if counts.iter().any(|c| *c == items.len()) {
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
    let (a, b) = (sorted[below], sorted[above]);
    // numpy's _lerp: a + (b - a)·t, computed from the nearer end when t ≥ ½.
    let difference = b - a;
    Some(if weight >= 0.5 {
        b - difference * (1.0 - weight)
    } else {
        a + difference * weight
    })
}

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

/// Share used in place of an empty bin, so that PSI stays finite.
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

    #[test]
    fn psi_is_zero_for_equal_shares_and_finite_for_empty_bins() {
        assert_eq!(psi(&[10, 20, 30], &[1, 2, 3]), Some(0.0));
        let shifted = psi(&[50, 50, 0], &[0, 50, 50]).unwrap();
        assert!(shifted.is_finite() && shifted > 1.0);
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
