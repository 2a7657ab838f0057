//! `dslp serve`'s configuration, parsed once at start from flags or the
//! environment names GitHub App operators know from probot. A `.env` file
//! in the working directory is read first when present.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::app::auth::AppKey;
use crate::evidence::FileLimits;
use crate::handler::Limits;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The GitHub App's id (its settings page shows it).
    #[arg(long, env = "APP_ID")]
    pub app_id: Option<u64>,
    /// The App's private key, PEM text (`\n` escapes are accepted).
    #[arg(long, env = "PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<String>,
    /// A file holding the App's private key (GitHub's .pem download).
    #[arg(long, env = "PRIVATE_KEY_PATH")]
    pub private_key_path: Option<PathBuf>,
    /// The webhook secret; several, comma-separated, while rotating it.
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    #[arg(long, env = "WEBHOOK_PATH", default_value = "/api/github/webhooks")]
    pub webhook_path: String,
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// trace, debug, info, warn, error, fatal or silent (probot's names),
    /// or a tracing filter such as `dslp_bot=debug`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// GitHub's REST API: GitHub Enterprise Server's `https://HOST/api/v3`, or a test server.
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// Where deliveries, jobs and runs are kept.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://dslp-bot.db")]
    pub database_url: String,
    /// Size of the intake journal beside the database, in MiB: deliveries
    /// are synced there before they are answered (it is filled with zeros
    /// when created, so a sync changes no file metadata).
    #[arg(long, env = "DSLP_INTAKE_JOURNAL_MB", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub intake_journal_mb: u64,
    /// Where pull requests are fetched to.
    #[arg(long, env = "DSLP_DATA_DIR", default_value = "dslp-data")]
    pub data_dir: PathBuf,
    /// Jobs run at once (each is one pull request, issue or branch); 0 only
    /// takes and queues deliveries (for measuring the intake alone).
    #[arg(long, env = "DSLP_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// The longest a fetch or an evidence run may take, in seconds.
    #[arg(long, env = "DSLP_JOB_TIME_LIMIT", default_value_t = 1800)]
    pub job_time_limit: u64,
    /// Attempts before a job is given up (and its check run fails).
    #[arg(long, env = "DSLP_MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: u32,
    /// With PostgreSQL: how long a claimed job stays this replica's
    /// without a renewal, in seconds. A replica renews its jobs' leases
    /// every third of it; a job whose replica died is queued again once
    /// its lease runs out, and another replica finishes it.
    #[arg(long, env = "DSLP_JOB_LEASE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub job_lease_seconds: u64,
    /// `compute: actions`: seconds a dispatched evaluation's run has to
    /// end before its `dslp/compute` check fails.
    #[arg(long, env = "DSLP_COMPUTE_DEADLINE_SECONDS", default_value_t = 7200, value_parser = clap::value_parser!(u64).range(1..))]
    pub compute_deadline_seconds: u64,
    /// How often the App looks at a dispatched run, in seconds (tests shorten it).
    #[arg(
        long,
        env = "DSLP_COMPUTE_POLL_SECONDS",
        default_value_t = 60,
        hide = true
    )]
    pub compute_poll_seconds: u64,
    /// How often to look for monitoring schedules that came due, in milliseconds.
    #[arg(long, env = "DSLP_SCHEDULE_TICK_MS", default_value_t = 60_000)]
    pub schedule_tick_ms: u64,
    /// How often to look for deliveries that never reached us, in seconds (0: never).
    #[arg(long, env = "DSLP_REDELIVER_EVERY", default_value_t = 600)]
    pub redeliver_every: u64,
    /// The most rows per dataset file a pull request from a fork may make dslp-bot read.
    #[arg(long, env = "DSLP_FORK_MAX_ROWS", default_value_t = 1_000_000)]
    pub fork_max_rows: u64,
    /// The most megabytes per dataset file for a pull request from a fork.
    #[arg(long, env = "DSLP_FORK_MAX_MB", default_value_t = 200)]
    pub fork_max_mb: u64,
    /// The most seconds a fork's fetch or evidence run may take.
    #[arg(long, env = "DSLP_FORK_TIME_LIMIT", default_value_t = 300)]
    pub fork_time_limit: u64,
    /// The most columns per dataset file for a pull request from a fork,
    /// counted in the file's header before anything is parsed.
    #[arg(long, env = "DSLP_FORK_MAX_COLUMNS", default_value_t = 1000)]
    pub fork_max_columns: u64,
    /// The memory (address space) one evaluation may take, in MiB; past it
    /// the evaluation is stopped and its check fails, saying so.
    #[arg(long, env = "DSLP_JOB_MEMORY_MB", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(64..))]
    pub job_memory_mb: u64,
    /// The memory one evaluation of a fork's pull request may take, in MiB.
    #[arg(long, env = "DSLP_FORK_MEMORY_MB", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(64..))]
    pub fork_memory_mb: u64,
    /// On installation, open one pull request adding the issue forms and
    /// `.github/dslp.yml` where they are missing.
    #[arg(long, env = "DSLP_SETUP_PR", default_value_t = false, action = clap::ArgAction::Set)]
    pub setup_pr: bool,
    /// On installation, require the `dslp` check on the default branch:
    /// act (only on an unprotected branch, when permitted), suggest, or off.
    #[arg(long, env = "DSLP_PROTECT", value_enum, default_value = "suggest")]
    pub protect: crate::config::Mode,
    /// On installation, keep the App's rulesets (DSLP branch names, the
    /// `dslp` check on the default branch) where rulesets are available:
    /// act, suggest, or off.
    #[arg(long, env = "DSLP_RULESETS", value_enum, default_value = "off")]
    pub rulesets: crate::config::Mode,
    /// On installation, the organisation's DSLP issue types (Ask, Data,
    /// Explore, Experiment, Model): act (creates the missing ones; needs
    /// the organisation permission Issue types: write), suggest (names
    /// them and how), or off.
    #[arg(long, env = "DSLP_ISSUE_TYPES", value_enum, default_value = "suggest")]
    pub issue_types: crate::config::Mode,
    /// How long answered deliveries may wait, in milliseconds, before they
    /// are committed to the queue (tests lengthen it).
    #[arg(long, env = "DSLP_COMMIT_EVERY_MS", default_value_t = 50, hide = true)]
    pub commit_every_ms: u64,
    /// First retry delay in milliseconds, for GitHub calls and jobs (tests shorten it).
    #[arg(long, env = "DSLP_RETRY_BASE_MS", default_value_t = 500, hide = true)]
    pub retry_base_ms: u64,
}

/// Written by hand: the key and the secrets are never printed.
impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeArgs")
            .field("app_id", &self.app_id)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .field("private_key_path", &self.private_key_path)
            .field("webhook_secret", &"<redacted>")
            .field("webhook_path", &self.webhook_path)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("github_api_url", &self.github_api_url)
            .field("database_url", &self.database_url)
            .finish_non_exhaustive()
    }
}

impl ServeArgs {
    /// Every setting the App cannot start without that is missing, named
    /// with its environment variable and its flag, in one message.
    pub fn require(&self) -> Result<()> {
        let key = self
            .private_key
            .as_ref()
            .is_some_and(|k| !k.trim().is_empty())
            || self.private_key_path.is_some();
        let missing: Vec<&str> = [
            (
                self.app_id.is_none(),
                "APP_ID (--app-id): the App's id, on its settings page",
            ),
            (
                self.webhook_secret.is_none(),
                "WEBHOOK_SECRET (--webhook-secret): the secret you gave GitHub for the webhook",
            ),
            (
                !key,
                "PRIVATE_KEY (the PEM text) or PRIVATE_KEY_PATH (the .pem file GitHub gave you)",
            ),
        ]
        .into_iter()
        .filter_map(|(absent, what)| absent.then_some(what))
        .collect();
        if !missing.is_empty() {
            bail!(
                "dslp serve needs {} more setting{}, in the environment or a .env file (README: Run it):\n  {}",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                missing.join("\n  ")
            );
        }
        Ok(())
    }

    pub fn secrets(&self) -> Result<Vec<String>> {
        let secrets: Vec<String> = self
            .webhook_secret
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if secrets.is_empty() {
            bail!("WEBHOOK_SECRET is empty: set the secret you gave GitHub in the App's settings");
        }
        Ok(secrets)
    }

    pub fn app_key(&self) -> Result<AppKey> {
        let pem = match (&self.private_key, &self.private_key_path) {
            (Some(text), _) if !text.trim().is_empty() => text.replace("\\n", "\n").into_bytes(),
            (_, Some(path)) => std::fs::read(path)
                .with_context(|| format!("reading PRIVATE_KEY_PATH {}", path.display()))?,
            _ => bail!(
                "no private key: set PRIVATE_KEY (the PEM text) or PRIVATE_KEY_PATH (the .pem file GitHub gave you)"
            ),
        };
        AppKey::from_pem(self.app_id.unwrap_or_default(), &pem)
    }

    /// The tracing filter `LOG_LEVEL` asks for. At `info` and above,
    /// octocrab's own error lines are left out: each failed call is logged
    /// once, by the retry that handles it.
    pub fn log_filter(&self) -> Result<tracing_subscriber::EnvFilter> {
        let level = self.log_level.trim().to_ascii_lowercase();
        let directives = match level.as_str() {
            "trace" | "debug" => level,
            "info" | "warn" | "error" => format!("{level},octocrab=off"),
            "fatal" => "error,octocrab=off".to_string(),
            "silent" => "off".to_string(),
            _ if level.contains(['=', ',']) => self.log_level.trim().to_string(),
            _ => bail!(
                "LOG_LEVEL `{}` is not a level: use trace, debug, info, warn, error, fatal or silent, or a tracing filter such as `dslp_bot=debug`",
                self.log_level
            ),
        };
        tracing_subscriber::EnvFilter::try_new(&directives)
            .with_context(|| format!("LOG_LEVEL `{}` is not a tracing filter", self.log_level))
    }

    pub fn job_time_limit(&self) -> Duration {
        Duration::from_secs(self.job_time_limit.max(1))
    }

    /// The limits every job, and a fork's, runs under.
    pub fn limits(&self) -> Limits {
        Limits {
            evidence_time: self.job_time_limit(),
            memory_bytes: self.job_memory_mb << 20,
            fork_files: FileLimits {
                rows: self.fork_max_rows,
                bytes: self.fork_max_mb.saturating_mul(1_000_000),
                columns: self.fork_max_columns,
            },
            fork_time: Duration::from_secs(self.fork_time_limit.max(1)),
            fork_memory_bytes: self.fork_memory_mb << 20,
        }
    }

    pub fn retry_base(&self) -> Duration {
        Duration::from_millis(self.retry_base_ms)
    }
}

/// Reads `.env` into the environment when there is one; flags still win.
pub fn load_dotenv() {
    match dotenvy::dotenv() {
        Ok(path) => eprintln!("dslp serve: read {}", path.display()),
        Err(e) if e.not_found() => {}
        Err(e) => eprintln!("dslp serve: .env could not be read: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn with_log_level(level: &str) -> ServeArgs {
        let flags = [
            "dslp",
            "--app-id",
            "1",
            "--webhook-secret",
            "s",
            "--log-level",
            level,
        ];
        Serve::parse_from(flags).args
    }

    #[test]
    fn log_levels_take_probots_names_or_a_filter_and_a_typo_is_refused() {
        let info = with_log_level("info").log_filter().unwrap().to_string();
        assert!(
            info.contains("octocrab=off") && info.contains("info"),
            "{info}"
        );
        let fatal = with_log_level("FATAL").log_filter().unwrap().to_string();
        assert!(fatal.contains("error"), "{fatal}");
        let debug = with_log_level("debug").log_filter().unwrap().to_string();
        assert!(!debug.contains("octocrab"), "{debug}");
        let custom = with_log_level("dslp_bot=debug,octocrab=warn");
        assert!(custom.log_filter().is_ok());

        let typo = with_log_level("verbose")
            .log_filter()
            .unwrap_err()
            .to_string();
        assert!(
            typo.contains("LOG_LEVEL `verbose` is not a level"),
            "{typo}"
        );
        let bad_filter = with_log_level("dslp_bot=loud").log_filter().unwrap_err();
        assert!(
            format!("{bad_filter:#}").contains("not a tracing filter"),
            "{bad_filter:#}"
        );
    }
}
