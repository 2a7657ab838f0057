//! The feature matrix as the linear models read it: each column dense, or,
//! when mostly zeros (one-hot levels), as its non-zero rows only, as
//! scikit-learn's `OneHotEncoder` hands a sparse matrix to its solvers.
//! The products a solver needs, `Xw` and `Xᵀr`, run in parallel.

use ndarray::ArrayView2;
use rayon::prelude::*;

/// A column stored sparse below this share of non-zeros.
const SPARSE_BELOW: f64 = 0.3;
/// Rows per parallel task.
const CHUNK: usize = 1 << 14;

enum Column {
    Dense(Vec<f64>),
    Sparse { rows: Vec<u32>, values: Vec<f64> },
}

/// The columns of a matrix, each in the cheaper of the two forms.
pub struct Design {
    rows: usize,
    columns: Vec<Column>,
}

impl Design {
    pub fn new(x: ArrayView2<f64>) -> Design {
        let rows = x.nrows();
        let columns = (0..x.ncols())
            .into_par_iter()
            .map(|j| {
                let column = x.column(j);
                let nonzero = column.iter().filter(|v| **v != 0.0).count();
                if (nonzero as f64) < SPARSE_BELOW * rows as f64 {
                    let (rows, values) = column
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| **v != 0.0)
                        .map(|(i, v)| (i as u32, *v))
                        .unzip();
                    Column::Sparse { rows, values }
                } else {
                    Column::Dense(column.to_vec())
                }
            })
            .collect();
        Design { rows, columns }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.columns.len()
    }

    /// `Xw` for each of `k` weight vectors at once: `w` is `cols × k`
    /// (row-major), the answer `rows × k`, each row starting at `bias`.
    pub fn times(&self, w: &[f64], k: usize, bias: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.rows * k];
        out.par_chunks_mut(CHUNK * k)
            .enumerate()
            .for_each(|(chunk, block)| {
                let start = chunk * CHUNK;
                let end = start + block.len() / k;
                for row in block.chunks_mut(k) {
                    row.copy_from_slice(bias);
                }
                for (j, column) in self.columns.iter().enumerate() {
                    let wj = &w[j * k..(j + 1) * k];
                    match column {
                        Column::Dense(values) => {
                            for (row, v) in block.chunks_mut(k).zip(&values[start..end]) {
                                for (o, wc) in row.iter_mut().zip(wj) {
                                    *o += v * wc;
                                }
                            }
                        }
                        Column::Sparse { rows, values } => {
                            let (from, to) = range(rows, start, end);
                            for (r, v) in rows[from..to].iter().zip(&values[from..to]) {
                                let at = (*r as usize - start) * k;
                                for (o, wc) in block[at..at + k].iter_mut().zip(wj) {
                                    *o += v * wc;
                                }
                            }
                        }
                    }
                }
            });
        out
    }

    /// `Xᵀr` for `r` of `rows × k` (row-major): `cols × k`.
    pub fn transpose_times(&self, r: &[f64], k: usize) -> Vec<f64> {
        let per_column: Vec<Vec<f64>> = self
            .columns
            .par_iter()
            .map(|column| {
                let mut sum = vec![0.0; k];
                match column {
                    Column::Dense(values) => {
                        for (v, row) in values.iter().zip(r.chunks(k)) {
                            for (s, rc) in sum.iter_mut().zip(row) {
                                *s += v * rc;
                            }
                        }
                    }
                    Column::Sparse { rows, values } => {
                        for (i, v) in rows.iter().zip(values) {
                            let row = &r[*i as usize * k..(*i as usize + 1) * k];
                            for (s, rc) in sum.iter_mut().zip(row) {
                                *s += v * rc;
                            }
                        }
                    }
                }
                sum
            })
            .collect();
        per_column.concat()
    }
}

/// The positions in sorted `rows` of the rows in `start..end`.
fn range(rows: &[u32], start: usize, end: usize) -> (usize, usize) {
    let from = rows.partition_point(|r| (*r as usize) < start);
    let to = rows.partition_point(|r| (*r as usize) < end);
    (from, to)
}

/// The dense matrix again, for tests.
#[cfg(test)]
pub fn dense(design: &Design) -> ndarray::Array2<f64> {
    let mut x = ndarray::Array2::zeros((design.rows, design.cols()));
    for (j, column) in design.columns.iter().enumerate() {
        match column {
            Column::Dense(values) => {
                for (i, v) in values.iter().enumerate() {
                    x[[i, j]] = *v;
                }
            }
            Column::Sparse { rows, values } => {
                for (i, v) in rows.iter().zip(values) {
                    x[[*i as usize, j]] = *v;
                }
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn products_equal_the_dense_ones() {
        // Columns: dense numeric, a one-hot pair (sparse), all zeros.
        let mut x = Array2::<f64>::zeros((40_000, 4));
        for i in 0..40_000 {
            x[[i, 0]] = (i as f64 * 0.37).sin();
            x[[i, 1 + (i % 7 == 0) as usize]] = if i % 7 == 0 || i % 5 == 0 { 1.0 } else { 0.0 };
        }
        let design = Design::new(x.view());
        assert!(matches!(design.columns[1], Column::Sparse { .. }));
        assert!(matches!(design.columns[0], Column::Dense(_)));
        assert_eq!(dense(&design), x);
        let w = array![[0.5, -1.0], [2.0, 0.25], [-3.0, 1.5], [7.0, 7.0]];
        let bias = [0.1, -0.2];
        let got = design.times(w.as_slice().unwrap(), 2, &bias);
        let want = x.dot(&w) + &ndarray::arr1(&bias);
        for (g, e) in got.iter().zip(want.iter()) {
            assert!((g - e).abs() < 1e-12);
        }
        let r = Array2::from_shape_fn((40_000, 2), |(i, c)| ((i * (c + 3)) as f64).cos());
        let got = design.transpose_times(r.as_slice().unwrap(), 2);
        let want = x.t().dot(&r);
        for (g, e) in got.iter().zip(want.iter()) {
            assert!((g - e).abs() < 1e-8, "{g} {e}");
        }
    }
}
