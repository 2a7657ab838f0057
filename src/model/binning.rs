//! Binning features for histogram trees as scikit-learn's `_BinMapper`
//! does: at most 255 bins per feature, thresholds at the midpoints between
//! distinct values when there are few, else at midpoint quantiles of (a
//! sample of) the training rows; and the sparse view of columns where one
//! bin holds nearly every row.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::SeededRng;

/// Rows scikit-learn samples to find bin thresholds.
const BINNING_SAMPLE: usize = 200_000;

/// Every feature as bin codes, with the thresholds that map values to bins.
pub struct Binned {
    pub columns: Vec<Vec<u8>>,
    pub thresholds: Vec<Vec<f64>>,
}

impl Binned {
    /// Learns thresholds on `x`'s `train` rows and bins every row.
    pub fn fit(
        x: ArrayView2<f64>,
        train: &[usize],
        max_bins: usize,
        rng: &mut SeededRng,
    ) -> Binned {
        let max_bins = max_bins.clamp(2, 255);
        let mut sample = train.to_vec();
        if sample.len() > BINNING_SAMPLE {
            rng.shuffle(&mut sample);
            sample.truncate(BINNING_SAMPLE);
        }
        let thresholds: Vec<Vec<f64>> = (0..x.ncols())
            .into_par_iter()
            .map(|f| {
                let column = x.column(f);
                let mut values: Vec<f64> = sample.iter().map(|r| column[*r]).collect();
                values.sort_by(f64::total_cmp);
                thresholds(&values, max_bins)
            })
            .collect();
        let columns = (0..x.ncols())
            .into_par_iter()
            .map(|f| {
                let t = &thresholds[f];
                x.column(f).iter().map(|v| bin_of(t, *v)).collect()
            })
            .collect();
        Binned {
            columns,
            thresholds,
        }
    }
}

/// Columns where one bin holds nearly every row (one-hot indicators, rare
/// flags): the rows of the other bins, so a histogram can visit those
/// alone and take the common bin from the node's totals.
pub struct Sparse {
    pub common: Vec<u8>,
    pub others: Vec<Option<Vec<u32>>>,
}

impl Binned {
    /// Columns whose uncommon bins hold less than `share` of the rows.
    pub fn sparse(&self, share: f64) -> Sparse {
        let (common, others) = self
            .columns
            .par_iter()
            .map(|column| {
                let mut counts = [0usize; 256];
                column.iter().for_each(|b| counts[*b as usize] += 1);
                let common = (0..256).max_by_key(|b| (counts[*b], 255 - b)).unwrap_or(0) as u8;
                let rare = column.len() - counts[common as usize];
                let rows = ((rare as f64) < share * column.len() as f64).then(|| {
                    (0..column.len() as u32)
                        .filter(|r| column[*r as usize] != common)
                        .collect()
                });
                (common, rows)
            })
            .unzip();
        Sparse { common, others }
    }
}

/// scikit-learn's `_find_binning_thresholds`: midpoints between distinct
/// values when there are few, else midpoint quantiles. `sorted` is sorted.
fn thresholds(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let mut distinct = sorted.to_vec();
    distinct.dedup();
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    }
    let n = sorted.len();
    let last = n - 1;
    let step = 100.0 / max_bins as f64;
    let mut out: Vec<f64> = (1..max_bins)
        .map(|i| {
            // numpy's percentile at linspace(0, 100, max_bins + 1)[i], method
            // "averaged_inverted_cdf", in numpy's floating point: a whole
            // virtual index averages its two neighbours.
            let virtual_index = n as f64 * ((i as f64 * step) / 100.0) - 1.0;
            let below = virtual_index.floor();
            let j = (below.max(0.0) as usize).min(last);
            let next = (j + 1).min(last);
            if virtual_index - below == 0.0 {
                (sorted[j] + sorted[next]) / 2.0
            } else {
                sorted[next]
            }
        })
        .collect();
    out.dedup();
    out
}

/// The bin of `value`: values `≤ thresholds[b]` and above the one before.
fn bin_of(thresholds: &[f64], value: f64) -> u8 {
    thresholds.partition_point(|t| *t < value) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures are scikit-learn 1.9's `_find_binning_thresholds(v, 255)`
    /// on the same values (n = 1020 has whole ranks, where the two
    /// neighbouring values are averaged).
    #[test]
    fn thresholds_are_scikit_learns() {
        for (n, expected) in [
            (1000, [1.5, 4.0, 199.0, 496.5, 785.0, 994.0]),
            (1020, [1.75, 4.5, 192.25, 490.0, 782.0, 993.75]),
        ] {
            let mut values: Vec<f64> = (0..n)
                .map(|i| ((i * i) % 997) as f64 + 0.5 * (i % 3) as f64)
                .collect();
            values.sort_by(f64::total_cmp);
            let t = thresholds(&values, 255);
            assert_eq!(t.len(), 254);
            let got: Vec<f64> = [0, 1, 50, 127, 200, 253].iter().map(|k| t[*k]).collect();
            assert_eq!(got, expected, "n = {n}");
        }
        // Few distinct values: the midpoints between them.
        assert_eq!(thresholds(&[1.0, 1.0, 2.0, 4.0], 255), vec![1.5, 3.0]);
        assert_eq!(bin_of(&[1.5, 3.0], 1.5), 0);
        assert_eq!(bin_of(&[1.5, 3.0], 1.6), 1);
        assert_eq!(bin_of(&[1.5, 3.0], 9.0), 2);
    }
}
