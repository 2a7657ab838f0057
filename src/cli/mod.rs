//! The `dslp` command line.

mod data;
mod init;
mod issues_file;
mod lint;
mod model;
mod output;
mod stats;

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::config::{self, RepoConfig};
use crate::lifecycle::Rulebook;
use crate::lifecycle::links::RepoName;
pub use output::Format;

/// Exit codes, as the README documents them.
pub mod exit {
    /// No findings at error level.
    pub const CLEAN: i32 = 0;
    /// At least one finding at error level.
    pub const FINDINGS: i32 = 1;
    /// Wrong usage, unreadable input, or an invalid config.
    pub const USAGE: i32 = 2;
}

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
    Check(model::CheckArgs),
    /// Run as a GitHub Action: read the runner's event, check, and report on GitHub.
    Action(crate::action::ActionArgs),
    /// Run the GitHub App: a webhook server with a durable queue (reads .env when present).
    Serve(crate::app::settings::ServeArgs),
    /// The repository config.
    #[command(subcommand)]
    Config(ConfigCommand),
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
    /// The App's sandboxed evaluation: a job on stdin, its evidence on stdout.
    #[command(name = "__evaluate", hide = true)]
    Evaluate,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the JSON Schema of .github/dslp.yml, for editors.
    Schema,
}

/// Options shared by the commands that apply the repository's rules.
#[derive(Debug, clap::Args)]
pub struct RepoArgs {
    /// The repository config; by default .github/dslp.yml in the current directory, if present.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// A JSON export of the repository's issues, so links can be checked
    /// (`gh issue list --state all --limit 1000 --json number,title,body,labels,state`).
    #[arg(long, value_name = "FILE")]
    issues: Option<PathBuf>,
    /// The repository as owner/name, to tell its own links from other repositories'.
    #[arg(long, value_name = "OWNER/NAME", value_parser = parse_repo)]
    repo: Option<RepoName>,
}

fn parse_repo(text: &str) -> Result<RepoName, String> {
    RepoName::parse(text).ok_or_else(|| format!("`{text}` is not owner/name"))
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
    match dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            exit::USAGE
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Lint(command) => lint::run(command),
        Command::Data(command) => data::run(command),
        Command::Train(args) => model::train(args),
        Command::Check(args) => model::check(args),
        Command::Action(args) => crate::action::run(args),
        Command::Evaluate => Ok(crate::handler::sandbox::child_main()),
        Command::Serve(args) => crate::app::server::run(args),
        Command::Config(ConfigCommand::Schema) => {
            println!("{}", output::json(&config::json_schema()));
            Ok(exit::CLEAN)
        }
        Command::Stats(args) => stats::run(args),
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

/// Reads a file, or standard input for `-`.
fn read_input(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads and validates a config; `shown` is how messages name it.
fn read_config(path: &Path) -> Result<(String, RepoConfig)> {
    let text = read_input(path)
        .map_err(|e| anyhow::anyhow!("{e:#}; `dslp init` writes a commented .github/dslp.yml"))?;
    let shown = path.display().to_string();
    let config = RepoConfig::parse(&text, &shown)?;
    config.rulebook(&shown)?;
    Ok((shown, config))
}

/// The rulebook from `--config`, or from .github/dslp.yml when present.
fn load_rulebook(explicit: Option<&Path>) -> Result<Rulebook> {
    let default = Path::new(config::CONFIG_PATH);
    let path = match explicit {
        Some(path) => path,
        None if default.exists() => default,
        None => return Ok(Rulebook::default()),
    };
    let (shown, config) = read_config(path)?;
    Ok(config.rulebook(&shown)?)
}

/// The repository root (as given, else the git work tree around the
/// current directory, else the current directory) and its config (as
/// given, else the root's .github/dslp.yml).
fn load_repository(
    root: Option<&Path>,
    config: Option<&Path>,
) -> Result<(PathBuf, String, RepoConfig)> {
    let root = match root {
        Some(root) if !root.is_dir() => anyhow::bail!("{} is not a directory", root.display()),
        Some(root) => root.to_path_buf(),
        None => {
            let here = std::env::current_dir().context("reading the current directory")?;
            git2::Repository::discover(&here)
                .ok()
                .and_then(|repo| repo.workdir().map(Path::to_path_buf))
                .unwrap_or(here)
        }
    };
    let path = config
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join(config::CONFIG_PATH));
    let (shown, config) = read_config(&path)?;
    Ok((root, shown, config))
}
