//! The `dslp` command line.

mod check;
mod common;
mod data;
mod demo;
mod init;
mod issues_file;
mod lint;
mod model;
mod monitor;
mod output;
mod predict;
mod release;
mod release_asset;
mod stats;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::config;
pub use common::exit;
pub use output::Format;

#[derive(Debug, Parser)]
#[command(
    name = "dslp",
    version,
    about = "dslp-bot: the Data Science Lifecycle Process (DSLP) on GitHub",
    long_about = "dslp-bot checks issues, branches and pull requests against the Data Science Lifecycle Process.\n\nExit codes: 0 clean, 1 findings at error level, 2 usage, input or config error."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The product on a demo project with a history: a churn project on `main`, an experiment branch, its check.
    Demo(demo::DemoArgs),
    /// Install the DSLP issue forms, a commented .github/dslp.yml and the workflow into a repository.
    Init(init::InitArgs),
    /// Check an issue, an issue export, a branch or the config against DSLP.
    #[command(subcommand)]
    Lint(lint::LintCommand),
    /// Data evidence: data tests, profile, drift and leakage of the declared datasets.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train and evaluate the declared models, and judge them by their gates.
    Train(model::TrainArgs),
    /// Data tests, training and gates for the current branch versus its base: GO, NO-GO or NEUTRAL.
    Check(check::CheckArgs),
    /// Score a file with a saved model (`dslp train --output DIR` writes NAME.model.json).
    Predict(predict::PredictArgs),
    /// Compare fresh inputs (and outcomes) with a saved model's reference profile: drift and performance.
    Monitor(monitor::MonitorArgs),
    /// Train a model and write a versioned release of it (assets and notes), the version decided by DSLP's rules.
    Release(release::ReleaseArgs),
    /// Run as a GitHub Action: read the runner's event, check, and report on GitHub.
    Action(crate::action::ActionArgs),
    /// Run the GitHub App: a webhook server with a durable queue (reads .env when present).
    Serve(crate::app::settings::ServeArgs),
    /// The repository config.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The App's store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Team metrics from an issue export: days to close per kind of issue,
    /// the experiment success rate, and where the time goes.
    Stats(stats::StatsArgs),
    /// List the DSLP labels with their colours and descriptions.
    Labels {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List the rules dslp-bot enforces (DSLP.md §8).
    Rules {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Print a shell completion script: `dslp completions bash > /etc/bash_completion.d/dslp`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Ask a running `dslp serve` on this machine whether it is healthy
    /// (`/healthz` on PORT): exit 0 if so, 1 with the reason if not. For the
    /// container's HEALTHCHECK, which has no curl.
    #[command(hide = true)]
    Healthcheck {
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
    },
    /// The App's sandboxed evaluation: a job on stdin, its evidence on stdout.
    #[command(name = "__evaluate", hide = true)]
    Evaluate,
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copy a stopped App's deliveries, queue, runs ledger and schedules
    /// into a new, empty store: `dslp store copy sqlite://dslp-bot.db
    /// postgres://dslp@db.internal/dslp` moves one replica to PostgreSQL.
    Copy {
        /// The store to copy (a `DATABASE_URL`).
        from: String,
        /// The new store; created and migrated, and it must be empty.
        to: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the JSON Schema of .github/dslp.yml, for editors.
    Schema,
}

/// Runs the CLI and returns the process exit code.
pub fn run() -> i32 {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        crate::app::settings::load_dotenv();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                exit::USAGE
            } else {
                exit::CLEAN
            };
            let _ = error.print();
            return code;
        }
    };
    if !matches!(
        cli.command,
        Command::Serve(_) | Command::Action(_) | Command::Evaluate | Command::Healthcheck { .. }
    ) {
        quiet_on_closed_pipe();
    }
    match dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            exit::USAGE
        }
    }
}

fn copy_store(from: &str, to: &str) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        crate::github::octo::install_tls_provider();
        let source = crate::app::store::Store::inspect(from).await?;
        let target = crate::app::store::Store::inspect(to).await?;
        let copied = source.copy_to(&target).await?;
        println!(
            "copied {} deliveries, {} jobs, {} runs and {} schedules",
            copied.deliveries, copied.jobs, copied.runs, copied.schedules
        );
        source.close().await;
        target.close().await;
        Ok(exit::CLEAN)
    })
}

/// `dslp rules | head -1`: end quietly when the reader has gone, as Unix
/// tools do (Rust ignores SIGPIPE, and `println!` would panic). Not for the
/// long-running commands, whose writes to a closed socket or child must
/// stay errors they handle.
fn quiet_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal, before any
    // thread that could be writing exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Init(args) => init::run(args),
        Command::Lint(command) => lint::run(command),
        Command::Data(command) => data::run(command),
        Command::Train(args) => model::train(args),
        Command::Check(args) => check::check(args),
        Command::Predict(args) => predict::run(args),
        Command::Monitor(args) => monitor::run(args),
        Command::Release(args) => release::run(args),
        Command::Action(args) => crate::action::run(args),
        Command::Evaluate => Ok(crate::handler::sandbox::child_main()),
        Command::Healthcheck { port } => Ok(healthcheck(port)),
        Command::Serve(args) => crate::app::server::run(args),
        Command::Config(ConfigCommand::Schema) => {
            println!("{}", output::json(&config::json_schema()));
            Ok(exit::CLEAN)
        }
        Command::Store(StoreCommand::Copy { from, to }) => copy_store(&from, &to),
        Command::Stats(args) => stats::run(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "dslp", &mut std::io::stdout());
            Ok(exit::CLEAN)
        }
        Command::Labels { format } => {
            print_labels(format);
            Ok(exit::CLEAN)
        }
        Command::Rules { format } => {
            print_rules(format);
            Ok(exit::CLEAN)
        }
    }
}

fn healthcheck(port: u16) -> i32 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(4)))
        .http_status_as_error(false)
        .build()
        .into();
    match agent
        .get(&format!("http://127.0.0.1:{port}/healthz"))
        .call()
    {
        Ok(response) if response.status() == 200 => exit::CLEAN,
        Ok(mut response) => {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            eprintln!("unhealthy ({}): {body}", response.status());
            exit::FINDINGS
        }
        Err(e) => {
            eprintln!("no answer on port {port}: {e}");
            exit::FINDINGS
        }
    }
}

fn print_labels(format: Format) {
    use crate::lifecycle::labels::DSLP_LABELS;
    match format {
        Format::Json => println!("{}", output::json(&DSLP_LABELS)),
        Format::Text => {
            for label in DSLP_LABELS {
                println!("{:<22} #{}  {}", label.name, label.color, label.description);
            }
        }
    }
}

fn print_rules(format: Format) {
    use crate::lifecycle::RuleId;
    match format {
        Format::Json => {
            let rules: Vec<_> = RuleId::ALL
                .iter()
                .map(|r| serde_json::json!({"id": r.as_str(), "title": r.title()}))
                .collect();
            println!("{}", output::json(&rules));
        }
        Format::Text => {
            for rule in RuleId::ALL {
                println!("{:<4} {}", rule, rule.title());
            }
        }
    }
}
