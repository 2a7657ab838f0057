//! Jobs completed per second by `dslp serve` replicas sharing one
//! PostgreSQL database: the store's claim, lease and end are the work.
//!
//! Each job's payload is one the worker rejects at once as unreadable (a
//! permanent error: no retry, no GitHub call), so a job costs exactly its
//! claim (with the lease and the installation's turn) and its end. The
//! jobs are inserted in one transaction once the replicas are up, spread
//! over 20 installations and 500 keys; the clock runs from that commit
//! until the last job has ended.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Row;

pub const JOBS: i64 = 3000;

/// A replica on every core (the bench itself is pinned to one).
fn replica(bin: &Path, key: &Path, url: &str, dir: &Path, port: u16) -> Child {
    // Not available_parallelism: it counts the cores this process may use.
    // SAFETY: sysconf has no preconditions.
    let cores = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1);
    let all_cores = (0..cores)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",");
    Command::new("taskset")
        .args(["-c", &all_cores])
        .arg(bin)
        .arg("serve")
        .current_dir(dir)
        .env("APP_ID", "1")
        .env("PRIVATE_KEY_PATH", key)
        .env("WEBHOOK_SECRET", "bench")
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DATABASE_URL", url)
        .env("DSLP_REDELIVER_EVERY", "0")
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dslp serve")
}

async fn ended(pool: &sqlx::PgPool) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM jobs WHERE state IN ('done', 'failed')")
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0)
}

/// Jobs per second, and the share of the machine's CPUs busy meanwhile.
pub async fn jobs_per_second(bin: &Path, key: &Path, url: &str, replicas: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let mut children = Vec::new();
    for _ in 0..replicas {
        let port = super::free_port();
        children.push(replica(bin, key, url, dir.path(), port));
        super::wait_ready(port, "/healthz").await;
    }
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let cpu_before = cpu_times();
    let started = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO jobs (delivery_id, key, kind, event, payload, installation_id, state, attempts, next_attempt_at, created_at, updated_at)
         SELECT 'bench-' || i, 'o/r#' || (i % 500), 'other', 'issues', 'not an event'::bytea, i % 20, 'queued', 0, 0, 0, 0
         FROM generate_series(1, $1) AS i",
    )
    .bind(JOBS)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("NOTIFY dslp_jobs")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let deadline = started + Duration::from_secs(300);
    while ended(&pool).await < JOBS {
        assert!(
            Instant::now() < deadline,
            "the replicas did not end the jobs"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = started.elapsed();
    let busy = busy_share(cpu_before, cpu_times());
    for mut child in children {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }
    pool.close().await;
    (JOBS as f64 / took.as_secs_f64(), busy)
}

/// (busy, all) jiffies of the machine's CPUs so far.
fn cpu_times() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let all: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (all - idle, all)
}

/// The share of all CPUs busy between two readings.
fn busy_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    (after.0 - before.0) as f64 / (after.1 - before.1).max(1) as f64
}

/// Interleaved rounds, one replica then three, each on a fresh database.
pub fn rounds(runtime: &tokio::runtime::Runtime, bin: &Path, key: &Path) -> [Vec<(f64, f64)>; 2] {
    let mut rates: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..3 {
        for (slot, replicas) in [(0, 1), (1, 3)] {
            let rate = runtime.block_on(async {
                let url = super::postgres::fresh_database().await.expect("PostgreSQL");
                jobs_per_second(bin, key, &url, replicas).await
            });
            rates[slot].push(rate);
        }
    }
    rates
}

pub fn print([one, three]: &[Vec<(f64, f64)>; 2]) {
    let range = |values: &mut dyn Iterator<Item = f64>, scale: f64, unit: &str| {
        let values: Vec<f64> = values.map(|v| v * scale).collect();
        let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = values.iter().cloned().fold(0.0, f64::max);
        format!("{min:.0}–{max:.0}{unit}")
    };
    let ratios: Vec<String> = one
        .iter()
        .zip(three)
        .map(|(a, b)| format!("{:.2}", b.0 / a.0))
        .collect();
    println!(
        "jobs ended per second on one PostgreSQL ({JOBS} trivial jobs, {} rounds, interleaved, unpinned): \
         1 replica {} (CPUs {} busy); 3 replicas {} (CPUs {} busy); 3 vs 1 in the same round: {}",
        one.len(),
        range(&mut one.iter().map(|r| r.0), 1.0, "/s"),
        range(&mut one.iter().map(|r| r.1), 100.0, " %"),
        range(&mut three.iter().map(|r| r.0), 1.0, "/s"),
        range(&mut three.iter().map(|r| r.1), 100.0, " %"),
        ratios.join(", ")
    );
}
