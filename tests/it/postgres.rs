//! A real PostgreSQL for the tests: one cluster per test process, made by
//! `initdb` in a temporary directory and served on a free loopback port,
//! started at first use (about two seconds) and stopped when the process
//! ends. Each test gets a database of its own. `.ci/run` installs Debian's
//! `postgresql`; without it these tests fail under `DSLP_REQUIRE_TOOLS=1`
//! and say they were skipped otherwise.
//!
//! `initdb` refuses to run as root: as root the cluster runs as the
//! `postgres` user the package creates.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub struct Cluster {
    pub port: u16,
    /// Its data, socket and log (`postgres.log`).
    pub dir: PathBuf,
}

/// The directory holding `initdb` and `postgres`, if installed.
fn binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DSLP_POSTGRES_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort_by_key(|bin| {
        let version = bin.parent().and_then(|v| v.file_name());
        version.and_then(|v| v.to_str()?.parse::<u32>().ok())
    });
    versions.pop()
}

/// The uid and gid the cluster runs as: `postgres`'s when we are root.
fn owner() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"))?;
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
}

fn as_owner(command: &mut Command, owner: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
    command
}

/// Clusters of test processes that are gone (killed before their end).
fn remove_stale(parent: &Path) {
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("dslp-pg-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start(bin: &Path) -> Cluster {
    let parent = std::env::temp_dir();
    remove_stale(&parent);
    let dir = parent.join(format!("dslp-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let owner = owner();
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
    }
    let data = dir.join("data");
    let out = as_owner(&mut Command::new(bin.join("initdb")), owner)
        .args([
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        ])
        .output()
        .expect("initdb runs");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let log = std::fs::File::create(dir.join("postgres.log")).unwrap();
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(dir.join("postgres.log"), Some(uid), Some(gid)).unwrap();
    }
    let mut command = Command::new(bin.join("postgres"));
    as_owner(&mut command, owner)
        .args(["-D", data.to_str().unwrap(), "-p", &port.to_string()])
        .args([
            "-k",
            dir.to_str().unwrap(),
            "-c",
            "listen_addresses=127.0.0.1",
        ])
        .args(["-c", "max_connections=400", "-c", "shared_buffers=64MB"])
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: prctl and sched_setaffinity are async-signal-safe. The
    // cluster stops when the thread that started it ends: a thread kept
    // for the process's life. It may run on every core, whatever core the
    // process that starts it is pinned to (the serve bench pins itself).
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
            let mut all: libc::cpu_set_t = std::mem::zeroed();
            for cpu in 0..libc::CPU_SETSIZE as usize {
                libc::CPU_SET(cpu, &mut all);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &all);
            Ok(())
        });
    }
    let (started, spawned) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-keeper".into())
        .spawn(move || {
            let mut child = command.spawn().expect("postgres starts");
            started.send(()).unwrap();
            let _ = child.wait();
            // The keeper outlives every test; parked, it keeps the cluster.
            loop {
                std::thread::park();
            }
        })
        .unwrap();
    spawned.recv().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "postgres did not start: {}",
            std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Cluster { port, dir }
}

/// The test process's cluster, started at first use; `None` (after saying
/// so) where PostgreSQL is not installed and not required.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| match binaries() {
            Some(bin) => Some(start(&bin)),
            None => {
                assert!(
                    std::env::var_os("DSLP_REQUIRE_TOOLS").is_none(),
                    "PostgreSQL is needed by this test and is not installed; .ci/run installs it"
                );
                eprintln!("SKIPPED: PostgreSQL is not installed (.ci/run installs it)");
                None
            }
        })
        .as_ref()
}

/// A new, empty database on the test cluster: its URL.
pub async fn fresh_database() -> Option<String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let cluster = cluster()?;
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let mut last = None;
    // The server may still be finishing its start: a few tries.
    for _ in 0..50 {
        match <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
            Ok(mut connection) => {
                // The name is ours: digits and an underscore.
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut connection)
                    .await
                    .unwrap();
                return Some(format!(
                    "postgres://postgres@127.0.0.1:{}/{name}",
                    cluster.port
                ));
            }
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(cluster.dir.join("postgres.log")).unwrap_or_default();
    panic!("connecting to the test cluster: {last:?}\n{log}");
}
