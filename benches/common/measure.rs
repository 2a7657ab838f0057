#![allow(dead_code)] // each bench uses its own part
//! What the benches measure about their own process.

/// The process's peak resident memory so far (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// How a size bench was invoked: as the parent, with the sizes to run (the
/// defaults when none are given), or as the child measuring one directory.
pub enum Invocation {
    Sizes(Vec<u64>),
    Child(std::path::PathBuf),
}

pub fn invocation(default_sizes: &[u64]) -> Invocation {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [flag, dir] = args.as_slice()
        && flag == "--run"
    {
        return Invocation::Child(dir.into());
    }
    let given: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    Invocation::Sizes(if given.is_empty() {
        default_sizes.to_vec()
    } else {
        given
    })
}

/// Where the benches keep their generated data.
pub fn data_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}

/// One process, measured from outside: wall seconds, peak RSS (wait4's
/// `ru_maxrss`, the whole process) and what it printed.
pub struct Measured {
    pub wall: f64,
    pub peak_mib: f64,
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
}

pub fn run_measured(command: &mut std::process::Command) -> Measured {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the measured program starts");
    let pid = child.id() as libc::pid_t;
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut err_pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err_pipe.read_to_string(&mut text);
        text
    });
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout);
    stderr.push_str(&reader.join().unwrap_or_default());
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits once for our own child, with valid out-pointers.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    Measured {
        wall: started.elapsed().as_secs_f64(),
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        stdout,
        stderr,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    }
}

/// `min–max` of some figures.
pub fn range(values: &[f64]) -> String {
    let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.2}–{max:.2}")
}

/// The Python the benches compare with: `DSLP_BENCH_PYTHON`, else
/// target/bench-venv's, else `python3`.
pub fn python() -> std::path::PathBuf {
    if let Some(given) = std::env::var_os("DSLP_BENCH_PYTHON") {
        return given.into();
    }
    let venv = data_root().join("../bench-venv/bin/python");
    match venv.is_file() {
        true => venv,
        false => "python3".into(),
    }
}
