//! Where an evaluation runs. The App gathers each pull request's evidence
//! in a child process of its own binary, under a wall-clock deadline, a
//! CPU limit and an address-space limit, so that no pull request can keep
//! a core busy after its time, take the App's memory, or crash it: a
//! thread cannot be stopped from outside, a process can. The CLI and the
//! Action run it in their own process, which is itself the job.
//!
//! The child reads an [`EvaluationJob`] on its standard input and writes
//! its [`ChildReport`] on its standard output, both as MessagePack, which
//! keeps every `f64` bit for bit (NaN included).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{CONFIG_PATH, RepoConfig};
use crate::data::source::Sources;
use crate::evidence::{self, Evidence, Request};

/// The hidden subcommand the child runs.
pub const CHILD_COMMAND: &str = "__evaluate";

/// What to gather, as it crosses to the child.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluationJob {
    pub root: PathBuf,
    /// The config's text; the child parses it again.
    pub config: String,
    pub base: Option<String>,
    pub run_data_tests: bool,
    pub run_training: bool,
    /// Keep the trained models (for a release).
    #[serde(default)]
    pub keep_artifacts: bool,
    /// Where data beyond the working tree comes from; its token crosses
    /// on the child's standard input, never its command line.
    pub sources: Sources,
}

/// What the child sends back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildReport {
    pub evidence: Evidence,
    /// The child's peak resident memory, bytes (`VmHWM`).
    pub peak_rss_bytes: u64,
}

/// The limits one evaluation runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    pub wall: Duration,
    /// Address space, bytes.
    pub memory_bytes: u64,
    /// Whether the limits are a fork's, to name the right settings.
    pub fork: bool,
}

/// Where evaluations run.
#[derive(Debug, Clone)]
pub enum Sandbox {
    /// In this process, on the blocking pool (the CLI, the Action).
    InProcess,
    /// In a child process of `program` (the App: its own binary).
    Child { program: PathBuf },
}

/// Why an evaluation gave no evidence, in words for the check run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    /// A limit was reached; the message names it and the setting.
    #[error("{0}")]
    Limit(String),
    /// The evaluation stopped for another reason.
    #[error("{0}")]
    Stopped(String),
}

impl Sandbox {
    /// Gathers the evidence for `job` under `limits`.
    pub async fn evaluate(
        &self,
        job: EvaluationJob,
        limits: JobLimits,
    ) -> Result<Evidence, EvaluationError> {
        match self {
            Sandbox::InProcess => in_process(job, limits).await,
            Sandbox::Child { program } => in_child(program, &job, limits).await,
        }
    }
}

async fn in_process(job: EvaluationJob, limits: JobLimits) -> Result<Evidence, EvaluationError> {
    let work = tokio::task::spawn_blocking(move || gather(&job));
    match tokio::time::timeout(limits.wall, work).await {
        Ok(Ok(evidence)) => evidence.map_err(|e| EvaluationError::Stopped(format!("{e:#}"))),
        Ok(Err(joined)) => Err(EvaluationError::Stopped(format!(
            "the evaluation stopped: {joined}"
        ))),
        Err(_) => Err(time_limit(limits)),
    }
}

fn gather(job: &EvaluationJob) -> Result<Evidence> {
    let config = RepoConfig::parse(&job.config, CONFIG_PATH)?;
    Ok(evidence::gather(&Request {
        root: &job.root,
        config: &config,
        base: job.base.as_deref(),
        models: &[],
        datasets: &[],
        run_data_tests: job.run_data_tests,
        run_training: job.run_training,
        keep_artifacts: job.keep_artifacts,
        sources: &job.sources,
    }))
}

/// The child's side: reads the job, gathers, writes the report. Answers
/// the exit code.
pub fn child_main() -> i32 {
    let run = || -> Result<()> {
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .context("reading the job")?;
        let job: EvaluationJob = rmp_serde::from_slice(&input).context("decoding the job")?;
        let report = ChildReport {
            evidence: gather(&job)?,
            peak_rss_bytes: peak_rss_bytes(),
        };
        let bytes = rmp_serde::to_vec_named(&report).context("encoding the evidence")?;
        std::io::stdout()
            .write_all(&bytes)
            .context("writing the evidence")?;
        Ok(())
    };
    match run() {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("{error:#}");
            3
        }
    }
}

/// `VmHWM` of this process, bytes (0 where unknown).
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

/// CPU seconds a child may use: its wall time on every core.
fn cpu_seconds(limits: JobLimits) -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    limits.wall.as_secs().max(1) * cores
}

async fn in_child(
    program: &std::path::Path,
    job: &EvaluationJob,
    limits: JobLimits,
) -> Result<Evidence, EvaluationError> {
    let started = Instant::now();
    let stopped = |e: anyhow::Error| EvaluationError::Stopped(format!("{e:#}"));
    let input = rmp_serde::to_vec_named(job)
        .context("encoding the job")
        .map_err(stopped)?;
    let mut child = spawn(program, limits).map_err(stopped)?;
    let pid = child.id();
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| stopped(anyhow!("no stdin")))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| stopped(anyhow!("no stdout")))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| stopped(anyhow!("no stderr")))?;
    let run = async {
        let feed = async {
            stdin.write_all(&input).await?;
            drop(stdin);
            Ok::<_, std::io::Error>(())
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (fed, read_out, read_err, status) = tokio::join!(
            feed,
            stdout.read_to_end(&mut out),
            stderr.read_to_end(&mut err),
            child.wait()
        );
        // A child that died early closes its stdin: its status says why.
        let _ = (fed, read_out, read_err);
        status.map(|status| (status, out, err))
    };
    let (status, out, err) = match tokio::time::timeout(limits.wall, run).await {
        Ok(Ok(finished)) => finished,
        Ok(Err(error)) => return Err(EvaluationError::Stopped(format!("the evaluation: {error}"))),
        Err(_) => {
            kill_group(pid);
            return Err(time_limit(limits));
        }
    };
    let report = outcome(status, &out, &err, limits)?;
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        peak_rss_mb = report.peak_rss_bytes >> 20,
        "evaluation done in a child process"
    );
    Ok(report.evidence)
}

fn spawn(program: &std::path::Path, limits: JobLimits) -> Result<tokio::process::Child> {
    let mut command = tokio::process::Command::new(program);
    command
        .arg(CHILD_COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a deadline takes every thread with it.
        .process_group(0)
        .kill_on_drop(true)
        // glibc reserves address space per thread arena; two arenas keep
        // the address-space limit a limit on memory actually used.
        .env("MALLOC_ARENA_MAX", "2");
    let memory = limits.memory_bytes;
    let cpu = cpu_seconds(limits);
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            set_limit(libc::RLIMIT_AS, memory, memory)?;
            // SIGXCPU at the soft limit, SIGKILL a second later.
            set_limit(libc::RLIMIT_CPU, cpu, cpu + 1)?;
            set_limit(libc::RLIMIT_CORE, 0, 0)?;
            Ok(())
        });
    }
    command
        .spawn()
        .with_context(|| format!("starting {} {CHILD_COMMAND}", program.display()))
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: a plain system call with a valid pointer.
    match unsafe { libc::setrlimit(resource, &limit) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        // SAFETY: a plain system call; the group is the child's own.
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
        }
    }
}

/// What the child's end says.
fn outcome(
    status: std::process::ExitStatus,
    out: &[u8],
    err: &[u8],
    limits: JobLimits,
) -> Result<ChildReport, EvaluationError> {
    use std::os::unix::process::ExitStatusExt;
    let said = String::from_utf8_lossy(err);
    if status.success() {
        return rmp_serde::from_slice(out).map_err(|e| {
            EvaluationError::Stopped(format!("the evaluation's answer could not be read: {e}"))
        });
    }
    let out_of_memory = said.contains("memory allocation of") || said.contains("out of memory");
    match status.signal() {
        Some(libc::SIGXCPU) | Some(libc::SIGKILL) if !out_of_memory => {
            Err(EvaluationError::Limit(cpu_limit(limits)))
        }
        _ if out_of_memory => Err(EvaluationError::Limit(memory_limit(limits))),
        _ => {
            let tail: Vec<&str> = said.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(EvaluationError::Stopped(format!(
                "the evaluation stopped ({status}){}",
                match tail.is_empty() {
                    true => String::new(),
                    false => format!(": {}", tail.join(" / ")),
                }
            )))
        }
    }
}

fn time_limit(limits: JobLimits) -> EvaluationError {
    let setting = match limits.fork {
        true => {
            "`DSLP_FORK_TIME_LIMIT` (and `automations.fork_limits.seconds`, which can only lower it)"
        }
        false => "`DSLP_JOB_TIME_LIMIT`",
    };
    EvaluationError::Limit(format!(
        "the data tests and training ran past their time limit of {} s and were stopped; {setting} sets it",
        limits.wall.as_secs()
    ))
}

fn cpu_limit(limits: JobLimits) -> String {
    let setting = match limits.fork {
        true => "`DSLP_FORK_TIME_LIMIT`",
        false => "`DSLP_JOB_TIME_LIMIT`",
    };
    format!(
        "the data tests and training used more than {} s of CPU (the time limit on every core) and were stopped; {setting} sets it",
        cpu_seconds(limits)
    )
}

fn memory_limit(limits: JobLimits) -> String {
    let setting = match limits.fork {
        true => "`DSLP_FORK_MEMORY_MB`",
        false => "`DSLP_JOB_MEMORY_MB`",
    };
    format!(
        "the data tests and training needed more than their memory limit of {} MB and were stopped; {setting} sets it",
        limits.memory_bytes >> 20
    )
}
