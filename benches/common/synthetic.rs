//! The synthetic dataset the benchmarks share: about ten mixed columns
//! (an id, normal and skewed floats with nulls, a bounded int with a few
//! out-of-range values, small and large categoricals with a few invalid
//! levels, a bool, a score, a binary target, a split), ~1 % duplicate rows,
//! and a drifted head version.

use std::io::{BufWriter, Write};
use std::path::Path;

/// A small deterministic generator (xorshift64*), so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

const PLANS: [&str; 3] = ["monthly", "yearly", "two-year"];

/// Writes `rows` rows; `drift` shifts the head's distributions.
pub fn generate(path: &Path, rows: u64, seed: u64, drift: bool) -> std::io::Result<()> {
    let mut rng = Rng(seed);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "id,income,spend,age,plan,city,active,score,churned,split"
    )?;
    let mut recent: Vec<String> = Vec::with_capacity(64);
    for i in 0..rows {
        // About 1 % of rows repeat a recent row exactly.
        if i > 100 && rng.unit() < 0.01 {
            let line = recent[(rng.next() % recent.len() as u64) as usize].clone();
            out.write_all(line.as_bytes())?;
            continue;
        }
        let shift = if drift { 0.3 } else { 0.0 };
        let income = if rng.unit() < 0.02 {
            String::new()
        } else {
            format!("{:.3}", 50.0 + 15.0 * (rng.normal() + shift))
        };
        let spend = if rng.unit() < 0.01 {
            String::new()
        } else {
            format!("{:.2}", (rng.normal() * 0.8 + 3.0 + shift).exp())
        };
        let age = if rng.unit() < 0.0005 {
            150
        } else {
            18 + rng.next() % 70
        };
        let plan = if rng.unit() < 0.0002 {
            "weekly"
        } else {
            PLANS[(rng.next() % if drift && rng.unit() < 0.2 { 1 } else { 3 }) as usize]
        };
        let city = if rng.unit() < 0.0002 {
            "town_x".to_string()
        } else {
            format!("city_{:04}", rng.next() % 2000)
        };
        let active = if rng.unit() < 0.7 { "true" } else { "false" };
        let score = rng.next() % 1000;
        // A logistic dependence on several features, so a model has something to learn.
        let income_z = income
            .parse::<f64>()
            .map(|v| (v - 50.0) / 15.0)
            .unwrap_or(0.0);
        let spend_log = spend.parse::<f64>().map(|v| v.ln() - 3.0).unwrap_or(0.0);
        let logit = -1.6 - 0.6 * income_z
            + 0.8 * spend_log
            + 0.012 * (age as f64 - 50.0)
            + if plan == "monthly" { 0.9 } else { 0.0 }
            - if active == "true" { 0.5 } else { 0.0 }
            + 0.0015 * (score as f64 - 500.0);
        let churned = (rng.unit() < 1.0 / (1.0 + (-logit).exp())) as u8;
        let split = if rng.unit() < 0.8 { "train" } else { "test" };
        let line = format!(
            "ID{i:09},{income},{spend},{age},{plan},{city},{active},{score},{churned},{split}\n"
        );
        out.write_all(line.as_bytes())?;
        if recent.len() < 64 {
            recent.push(line);
        } else {
            recent[(i % 64) as usize] = line;
        }
    }
    out.flush()
}
