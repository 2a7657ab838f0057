#![allow(dead_code)] // each bench uses its own part
//! A table like a team's, not like the code: a 50-level text column with
//! Zipf-skewed levels and nulls, a 5-level one, two booleans, skewed and
//! heavy-tailed numbers with nulls, a count, a binary target that depends
//! on all of them (the 50 levels included), a revenue for regression, and
//! a train/test split. `drift` gives the head version: more of the top
//! regions, spend up, a new segment.

use std::io::{BufWriter, Write};
use std::path::Path;

/// splitmix64, so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

pub const HEADER: &str = "customer,region,segment,tenure_days,monthly_spend,sessions,discount,is_promo,has_app,nps,churned,revenue,split";
pub const NUMERIC: [&str; 5] = [
    "tenure_days",
    "monthly_spend",
    "sessions",
    "discount",
    "nps",
];
pub const CATEGORICAL: [&str; 4] = ["region", "segment", "is_promo", "has_app"];
const SEGMENTS: [&str; 5] = ["consumer", "smb", "enterprise", "education", "public"];

/// Writes `rows` rows to `path`.
pub fn generate(path: &Path, rows: u64, seed: u64, drift: bool) -> std::io::Result<()> {
    let mut rng = Rng(seed);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "{HEADER}")?;
    // Zipf weights over 50 regions, and each region's own effect.
    let weights: Vec<f64> = (1..=50).map(|r| 1.0 / (r as f64).powf(1.1)).collect();
    let total: f64 = weights.iter().sum();
    let effects: Vec<f64> = (0..50).map(|_| rng.normal() * 0.6).collect();
    for i in 0..rows {
        let region = {
            let mut u = rng.unit() * total * if drift { 0.8 } else { 1.0 };
            let mut r = 0;
            while r < 49 && u > weights[r] {
                u -= weights[r];
                r += 1;
            }
            r
        };
        let region_cell = if rng.unit() < 0.02 {
            String::new()
        } else {
            format!("region_{region:02}")
        };
        let segment = if drift && rng.unit() < 0.01 {
            5
        } else {
            (rng.next() % 100 % 7).min(4) as usize
        };
        let segment_cell = SEGMENTS.get(segment).copied().unwrap_or("nonprofit");
        let tenure = (-(rng.unit().max(1e-12)).ln() * 400.0) as u64;
        let spend = (rng.normal() * 0.9 + 3.5 + if drift { 0.15 } else { 0.0 }).exp();
        let spend_cell = if rng.unit() < 0.03 {
            String::new()
        } else {
            format!("{spend:.2}")
        };
        let sessions = (spend.ln() * 3.0 + rng.normal() * 2.0).max(0.0) as u64;
        let discount = rng.unit() * 0.4;
        let discount_cell = if rng.unit() < 0.3 {
            String::new()
        } else {
            format!("{discount:.3}")
        };
        let promo = rng.unit() < 0.25;
        let app = rng.unit() < 0.6;
        let nps = (rng.normal() * 3.0 + 7.0).clamp(0.0, 10.0);
        let z = -1.2 + effects[region] - 0.0012 * tenure as f64 + 0.25 * (spend.ln() - 3.5)
            - 0.08 * sessions as f64
            + 1.5 * discount
            + if promo { 0.4 } else { 0.0 }
            - if app { 0.5 } else { 0.0 }
            - 0.15 * (nps - 7.0)
            + [0.0, 0.3, -0.4, 0.2, -0.2, 0.5][segment];
        let churned = (rng.unit() < 1.0 / (1.0 + (-z).exp())) as u8;
        let revenue = spend * (1.0 + tenure as f64 / 365.0) * (1.0 + effects[region] * 0.3)
            + rng.normal() * 20.0;
        let split = if rng.unit() < 0.8 { "train" } else { "test" };
        writeln!(
            out,
            "C{i:08},{region_cell},{segment_cell},{tenure},{spend_cell},{sessions},{discount_cell},{promo},{app},{nps:.1},{churned},{revenue:.2},{split}"
        )?;
    }
    out.flush()
}
