//! Webhook intake load bench: `dslp serve` against probot, on loopback, in
//! one run. Each server is pinned to core 0 and this load generator to
//! core 1. The deliveries are GitHub's example payloads, signed as GitHub
//! signs them, each with a unique `X-GitHub-Delivery`.
//!
//! For each server it reports:
//! - idle resident memory;
//! - latency at a fixed 500 deliveries/s, measured from each delivery's
//!   scheduled send time, so a stall is not hidden: once after the warm-up
//!   (steady), and once right after the saturated run, while a server that
//!   writes is still putting that burst on disk;
//! - saturated throughput (closed loop, 64 connections) with p50/p99/p99.9;
//! - CPU time per delivery and peak resident memory.
//!
//! Each server runs with its default log level (info); probot is also
//! measured at `warn`, which spares it a log line per delivery.
//!
//! For `dslp serve`, it also checks that every delivery answered 2xx is in
//! its store, and it measures the disk alone, before and after: a 1 KiB
//! write and `fdatasync` at 500/s from core 0, in the directory of the
//! store. That is what one durable answer costs at least on this machine,
//! and it moves from run to run on a shared virtual disk. It also measures
//! loopback alone at 500/s: a server on core 0 that reads each request and
//! answers 202 with no other work, which is what crossing from core 1 to
//! core 0 and back costs (on a virtual machine, mostly waking a halted
//! vCPU).
//!
//!     cargo bench --bench serve            # installs probot@14.3.2 with npm if missing
//!     cargo bench --bench serve -- --no-probot
//!     DSLP_BENCH_BIN=/path/to/another/dslp cargo bench --bench serve -- --no-probot
//!     cargo bench --bench serve -- --postgres-jobs   # only jobs/s on PostgreSQL, 1 and 3 replicas
//!     cargo bench --bench serve -- --no-probot --no-postgres   # SQLite's intake alone
//!
//! With PostgreSQL installed (`.ci/run` installs it) it also measures
//! `dslp serve` on PostgreSQL: the same intake figures, and jobs ended per
//! second by 1 and by 3 replicas sharing one database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "common/pg_jobs.rs"]
mod pg_jobs;
#[path = "../tests/it/postgres.rs"]
mod postgres;

const SECRET: &str = "bench webhook secret";
const CONNECTIONS: usize = 64;
const SATURATE_FOR: Duration = Duration::from_secs(8);
const FIXED_RATE: u64 = 500;
const FIXED_FOR: Duration = Duration::from_secs(10);
const PROBOT_VERSION: &str = "14.3.2";

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example payloads with an installation, and their signatures.
fn deliveries() -> Vec<(String, Vec<u8>, String)> {
    let dir = manifest().join("fixtures/github/webhooks");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let event = name.split('.').next().unwrap().to_string();
        let mut payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if payload.get("installation").is_none_or(|v| v.is_null()) {
            payload["installation"] = serde_json::json!({"id": 1});
        }
        let body = payload.to_string().into_bytes();
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(&body);
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        out.push((event, body, signature));
    }
    out.sort();
    out
}

fn request(event: &str, body: &[u8], signature: &str, id: u64) -> Vec<u8> {
    let mut bytes = format!(
        "POST /api/github/webhooks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nUser-Agent: GitHub-Hookshot/bench\r\nX-GitHub-Event: {event}\r\nX-GitHub-Delivery: bench-{id}\r\nX-GitHub-Hook-ID: 1\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Where the HTTP head at the start of `buffer` ends, and the head in
/// lower case; `None` until all of it is there.
fn http_head(buffer: &[u8]) -> Option<(usize, String)> {
    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some((
        end,
        String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase(),
    ))
}

/// The Content-Length of a lower-case HTTP head.
fn content_length(head: &str) -> Option<usize> {
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Reads one HTTP/1.1 response (Content-Length or chunked); answers its status.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<u16> {
    buffer.clear();
    let mut chunk = [0u8; 8192];
    let (header_end, head) = loop {
        if let Some(head) = http_head(buffer) {
            break head;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if let Some(length) = content_length(&head) {
        while buffer.len() < header_end + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
    } else if head.contains("transfer-encoding: chunked") {
        while !buffer[header_end..].windows(5).any(|w| w == b"0\r\n\r\n") {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
    }
    Ok(status)
}

struct Load {
    accepted: u64,
    failed: u64,
    latencies_us: Vec<u64>,
    took: Duration,
}

/// p50, p99 and p99.9 of sorted latencies in µs, in ms.
fn tail(sorted: &[u64]) -> [f64; 3] {
    [0.50, 0.99, 0.999].map(|p| percentile(sorted, p))
}

fn describe_tail([p50, p99, p999]: [f64; 3]) -> String {
    format!("p50 {p50:>6.3} ms p99 {p99:>6.3} ms p99.9 {p999:>6.3} ms")
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

/// One keep-alive connection of the load, and what it saw.
struct Lane {
    stream: TcpStream,
    buffer: Vec<u8>,
    accepted: u64,
    failed: u64,
    latencies_us: Vec<u64>,
}

type Deliveries = Arc<Vec<(String, Vec<u8>, String)>>;

impl Lane {
    async fn open(port: u16) -> Lane {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Lane {
            stream,
            buffer: Vec::with_capacity(16 * 1024),
            accepted: 0,
            failed: 0,
            latencies_us: Vec::new(),
        }
    }

    /// Sends the next delivery and reads the answer; its latency counts
    /// from `since`. False when the connection can no longer be written.
    async fn send(&mut self, next_id: &AtomicU64, deliveries: &Deliveries, since: Instant) -> bool {
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let (event, body, signature) = &deliveries[id as usize % deliveries.len()];
        if self
            .stream
            .write_all(&request(event, body, signature, id))
            .await
            .is_err()
        {
            self.failed += 1;
            return false;
        }
        match read_response(&mut self.stream, &mut self.buffer).await {
            Ok(status) if (200..300).contains(&status) => self.accepted += 1,
            _ => self.failed += 1,
        }
        self.latencies_us.push(since.elapsed().as_micros() as u64);
        true
    }
}

/// The lanes' figures together.
async fn gather(lanes: Vec<tokio::task::JoinHandle<Lane>>, took: impl Fn() -> Duration) -> Load {
    let mut load = Load {
        accepted: 0,
        failed: 0,
        latencies_us: Vec::new(),
        took: Duration::ZERO,
    };
    for lane in lanes {
        let lane = lane.await.unwrap();
        load.accepted += lane.accepted;
        load.failed += lane.failed;
        load.latencies_us.extend(lane.latencies_us);
    }
    load.took = took();
    load.latencies_us.sort_unstable();
    load
}

/// Closed loop: each connection sends its next delivery when the last is answered.
async fn saturate(
    port: u16,
    next_id: Arc<AtomicU64>,
    deliveries: Deliveries,
    duration: Duration,
) -> Load {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let lanes: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (next_id, deliveries) = (next_id.clone(), deliveries.clone());
            tokio::spawn(async move {
                let mut lane = Lane::open(port).await;
                while Instant::now() < deadline {
                    if !lane.send(&next_id, &deliveries, Instant::now()).await {
                        break;
                    }
                }
                lane
            })
        })
        .collect();
    gather(lanes, || started.elapsed()).await
}

/// Open loop at a fixed rate: latency counts from the scheduled send time.
async fn fixed_rate(port: u16, next_id: Arc<AtomicU64>, deliveries: Deliveries) -> Load {
    let total = FIXED_RATE * FIXED_FOR.as_secs();
    let interval = Duration::from_nanos(1_000_000_000 / FIXED_RATE);
    let start = Instant::now() + Duration::from_millis(100);
    // Enough connections that one slow answer does not hold the next send.
    let lanes = 16u64;
    let tasks: Vec<_> = (0..lanes)
        .map(|first| {
            let (next_id, deliveries) = (next_id.clone(), deliveries.clone());
            tokio::spawn(async move {
                let mut lane = Lane::open(port).await;
                for i in (first..total).step_by(lanes as usize) {
                    let scheduled = start + interval * i as u32;
                    // tokio's timer ticks in milliseconds: sleep to just
                    // before the time, then yield until it, so the
                    // generator's own lateness is not counted as latency.
                    if let Some(early) = scheduled.checked_sub(Duration::from_millis(2)) {
                        tokio::time::sleep_until(early.into()).await;
                    }
                    while Instant::now() < scheduled {
                        tokio::task::yield_now().await;
                    }
                    lane.send(&next_id, &deliveries, scheduled).await;
                }
                lane
            })
        })
        .collect();
    gather(tasks, || FIXED_FOR).await
}

fn status_kib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

async fn wait_ready(port: u16, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await {
            let _ = stream
                .write_all(
                    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await;
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer).await;
            if !answer.is_empty() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server on port {port} did not start");
}

struct Figures {
    name: &'static str,
    idle_mib: f64,
    saturated: Load,
    /// At the fixed rate after the warm-up, and again right after saturation.
    steady: Load,
    after_burst: Load,
    cpu_per_delivery_us: f64,
    peak_mib: f64,
    /// Every 2xx answer, the warm-up's included.
    answered: u64,
}

async fn measure(name: &'static str, mut child: Child, port: u16, ready_path: &str) -> Figures {
    let pid = child.id();
    wait_ready(port, ready_path).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_mib = status_kib(pid, "VmRSS:") / 1024.0;
    let deliveries = Arc::new(deliveries());
    let next_id = Arc::new(AtomicU64::new(0));
    let warm_up = saturate(
        port,
        next_id.clone(),
        deliveries.clone(),
        Duration::from_secs(2),
    )
    .await;
    let steady = fixed_rate(port, next_id.clone(), deliveries.clone()).await;
    let cpu_before = cpu_seconds(pid);
    let saturated = saturate(port, next_id.clone(), deliveries.clone(), SATURATE_FOR).await;
    let cpu = cpu_seconds(pid) - cpu_before;
    let cpu_per_delivery_us = cpu / (saturated.accepted.max(1) as f64) * 1e6;
    let after_burst = fixed_rate(port, next_id.clone(), deliveries.clone()).await;
    let peak_mib = status_kib(pid, "VmHWM:") / 1024.0;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();
    let answered = warm_up.accepted + steady.accepted + saturated.accepted + after_burst.accepted;
    Figures {
        name,
        idle_mib,
        saturated,
        steady,
        after_burst,
        cpu_per_delivery_us,
        peak_mib,
        answered,
    }
}

fn pinned(core: u32, program: &Path) -> Command {
    let mut command = Command::new("taskset");
    command.arg("-c").arg(core.to_string()).arg(program);
    command
}

fn print(f: &Figures) {
    let s = &f.saturated;
    let rate = s.accepted as f64 / s.took.as_secs_f64();
    let at_rate = |load: &Load| {
        format!(
            "{} ({} failed)",
            describe_tail(tail(&load.latencies_us)),
            load.failed
        )
    };
    println!(
        "{:<12} idle {:>6.1} MiB | saturated {:>8.0}/s ({} ok, {} failed) {} | CPU {:>6.1} µs/delivery | peak {:>6.1} MiB",
        f.name,
        f.idle_mib,
        rate,
        s.accepted,
        s.failed,
        describe_tail(tail(&s.latencies_us)),
        f.cpu_per_delivery_us,
        f.peak_mib,
    );
    println!(
        "{:<12}   at {FIXED_RATE}/s, steady: {}",
        "",
        at_rate(&f.steady)
    );
    println!(
        "{:<12}   at {FIXED_RATE}/s, right after saturation: {}",
        "",
        at_rate(&f.after_burst)
    );
}

/// Runs [`disk_probe`] on core 0 in a child process; its p50, p99 and
/// p99.9 in ms.
fn disk_floor(dir: &Path) -> [f64; 3] {
    let output = pinned(0, &std::env::current_exe().unwrap())
        .arg("--disk-probe")
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("the disk probe");
    let text = String::from_utf8_lossy(&output.stdout);
    let figures: Vec<f64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    match figures.as_slice() {
        [p50, p99, p999] => [*p50, *p99, *p999],
        _ => panic!("the disk probe printed `{text}`"),
    }
}

/// The disk alone, at the fixed rate: a 1 KiB write into a preallocated
/// file and `fdatasync`, timed from the write. Prints p50 p99 p99.9 (ms).
fn disk_probe(dir: &Path) {
    use std::os::unix::fs::FileExt;
    const SIZE: usize = 4 << 20;
    const RECORD: usize = 1024;
    let path = dir.join("disk-probe");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    file.write_all_at(&vec![0; SIZE], 0).unwrap();
    file.sync_all().unwrap();
    let record = [7u8; RECORD];
    let total = FIXED_RATE * FIXED_FOR.as_secs();
    let interval = Duration::from_nanos(1_000_000_000 / FIXED_RATE);
    let start = Instant::now() + Duration::from_millis(100);
    let mut latencies_us = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = start + interval * i as u32;
        std::thread::sleep(scheduled.saturating_duration_since(Instant::now()));
        let began = Instant::now();
        let offset = (i as usize * RECORD) % SIZE;
        file.write_all_at(&record, offset as u64).unwrap();
        file.sync_data().unwrap();
        latencies_us.push(began.elapsed().as_micros() as u64);
    }
    std::fs::remove_file(&path).unwrap();
    latencies_us.sort_unstable();
    let [p50, p99, p999] = tail(&latencies_us);
    println!("{p50} {p99} {p999}");
}

/// Loopback alone: a server pinned to core 0 that reads each request and
/// answers 202 at once, measured at the fixed rate like the servers.
/// Its p50, p99 and p99.9 in ms.
fn loopback_floor(runtime: &tokio::runtime::Runtime) -> [f64; 3] {
    let port = free_port();
    let mut child = pinned(0, &std::env::current_exe().unwrap())
        .arg("--answer-probe")
        .arg(port.to_string())
        .spawn()
        .expect("the loopback probe");
    let load = runtime.block_on(async {
        wait_ready(port, "/").await;
        let deliveries = Arc::new(deliveries());
        let next_id = Arc::new(AtomicU64::new(0));
        // Warmed up as the servers are.
        saturate(
            port,
            next_id.clone(),
            deliveries.clone(),
            Duration::from_secs(2),
        )
        .await;
        fixed_rate(port, next_id, deliveries).await
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(load.failed, 0, "the loopback probe failed requests");
    tail(&load.latencies_us)
}

/// Appends what the next read brings; false once the connection ended.
fn read_more(stream: &mut std::net::TcpStream, buffer: &mut Vec<u8>, chunk: &mut [u8]) -> bool {
    use std::io::Read;
    match stream.read(chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// Answers every HTTP/1.1 request on `port` with 202, a thread per
/// connection, doing nothing else.
fn answer_probe(port: u16) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut buffer = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            let mut close = false;
            while !close {
                // One request: the head, then Content-Length bytes.
                let (head_end, length) = loop {
                    if let Some((end, head)) = http_head(&buffer) {
                        close = head.contains("connection: close");
                        break (end, content_length(&head).unwrap_or(0));
                    }
                    if !read_more(&mut stream, &mut buffer, &mut chunk) {
                        return;
                    }
                };
                while buffer.len() < head_end + length {
                    if !read_more(&mut stream, &mut buffer, &mut chunk) {
                        return;
                    }
                }
                buffer.drain(..head_end + length);
                if stream
                    .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                    .is_err()
                {
                    return;
                }
            }
        });
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `dslp serve` on core 0 with no workers: the intake and its store alone.
fn intake_only(bin: &Path, key: &Path, dir: &Path, port: u16, database_url: &str) -> Child {
    pinned(0, bin)
        .arg("serve")
        .current_dir(dir)
        .env("APP_ID", "1")
        .env("PRIVATE_KEY_PATH", key)
        .env("WEBHOOK_SECRET", SECRET)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DATABASE_URL", database_url)
        .env("DSLP_WORKERS", "0")
        .env("DSLP_REDELIVER_EVERY", "0")
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dslp serve")
}

fn probot_dir() -> Option<PathBuf> {
    let dir = manifest().join("target/bench-probot");
    if !dir.join("node_modules/probot/package.json").exists() {
        std::fs::create_dir_all(&dir).ok()?;
        println!(
            "installing probot@{PROBOT_VERSION} with npm into {}",
            dir.display()
        );
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                &format!("probot@{PROBOT_VERSION}"),
            ])
            .current_dir(&dir)
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
    }
    // An app that takes every event and does nothing with it: the receipt
    // (verify, parse, dispatch) is what is compared.
    std::fs::write(
        dir.join("app.mjs"),
        "export default (app) => { app.onAny(async () => {}); };\n",
    )
    .ok()?;
    Some(dir)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--disk-probe") {
        return disk_probe(Path::new(&args[at + 1]));
    }
    if let Some(at) = args.iter().position(|a| a == "--answer-probe") {
        return answer_probe(args[at + 1].parse().unwrap());
    }
    if args.iter().any(|a| a == "--postgres-jobs") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dslp_bin = std::env::var_os("DSLP_BENCH_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dslp")));
        let key = manifest().join("fixtures/github/test-app-key.pem");
        return pg_jobs::print(&pg_jobs::rounds(&runtime, &dslp_bin, &key));
    }
    // The load generator runs on core 1; the servers on core 0.
    let _ = Command::new("taskset")
        .args(["-p", "-c", "1", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let with_probot = !std::env::args().any(|a| a == "--no-probot");
    let key = manifest().join("fixtures/github/test-app-key.pem");
    let scratch = tempfile::tempdir().unwrap();
    let mut all = Vec::new();

    let loopback = loopback_floor(&runtime);
    let disk_before = disk_floor(scratch.path());
    let port = free_port();
    let database = scratch.path().join("bench.db");
    // DSLP_BENCH_BIN measures another build of dslp, to compare two.
    let dslp_bin = std::env::var_os("DSLP_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dslp")));
    let sqlite = format!("sqlite://{}", database.display());
    let dslp = intake_only(&dslp_bin, &key, scratch.path(), port, &sqlite);
    let figures = runtime.block_on(measure("dslp serve", dslp, port, "/healthz"));
    let answered = figures.answered;
    let stored = runtime.block_on(async {
        let store = dslp_bot::app::store::Store::inspect(&sqlite).await.unwrap();
        store.delivery_count().await.unwrap()
    });
    all.push(figures);
    let postgres = match args.iter().any(|a| a == "--no-postgres") {
        true => None,
        false => runtime.block_on(postgres::fresh_database()),
    };
    let mut stored_pg = None;
    if let Some(url) = &postgres {
        let port = free_port();
        let dslp = intake_only(&dslp_bin, &key, scratch.path(), port, url);
        let figures = runtime.block_on(measure("dslp/postgres", dslp, port, "/healthz"));
        let count = runtime.block_on(async {
            let store = dslp_bot::app::store::Store::inspect(url).await.unwrap();
            store.delivery_count().await.unwrap()
        });
        stored_pg = Some((figures.answered, count));
        all.push(figures);
    }
    let jobs = postgres
        .as_ref()
        .map(|_| pg_jobs::rounds(&runtime, &dslp_bin, &key));
    let disk_after = disk_floor(scratch.path());

    if with_probot {
        match probot_dir() {
            Some(dir) => {
                for (name, level) in [("probot", "info"), ("probot/warn", "warn")] {
                    let port = free_port();
                    let probot = pinned(0, Path::new("node"))
                        .arg(dir.join("node_modules/probot/bin/probot.js"))
                        .arg("run")
                        .arg("./app.mjs")
                        .current_dir(&dir)
                        .env("APP_ID", "1")
                        .env("PRIVATE_KEY", std::fs::read_to_string(&key).unwrap())
                        .env("WEBHOOK_SECRET", SECRET)
                        .env("HOST", "127.0.0.1")
                        .env("PORT", port.to_string())
                        .env("LOG_LEVEL", level)
                        .env("NODE_ENV", "production")
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("node");
                    all.push(runtime.block_on(measure(name, probot, port, "/")));
                }
            }
            None => println!("probot could not be installed; its figures are missing"),
        }
    }
    println!();
    println!(
        "2 cores; each server pinned to core 0, the load generator to core 1; {CONNECTIONS} connections when saturating"
    );
    for figures in &all {
        print(figures);
    }
    println!(
        "the disk alone, a 1 KiB write + fdatasync at {FIXED_RATE}/s on core 0: before dslp serve {}; after {}",
        describe_tail(disk_before),
        describe_tail(disk_after)
    );
    println!(
        "loopback alone, a server on core 0 that answers 202 at once, at {FIXED_RATE}/s: {}",
        describe_tail(loopback)
    );
    if let Some((answered, stored)) = stored_pg {
        println!(
            "dslp/postgres: {answered} deliveries answered 2xx, {stored} in PostgreSQL after the load stopped{}",
            if stored as u64 == answered {
                " (none lost)"
            } else {
                " (LOST DELIVERIES)"
            }
        );
    }
    match &jobs {
        Some(rates) => pg_jobs::print(rates),
        None => println!("PostgreSQL is not installed: its figures are missing"),
    }
    println!(
        "dslp serve: {answered} deliveries answered 2xx, {stored} in its store after the load stopped{}",
        if stored as u64 == answered {
            " (none lost)"
        } else {
            " (LOST DELIVERIES)"
        }
    );
}
