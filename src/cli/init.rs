//! `dslp init`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::common::exit;
use super::output::{self, Format};
use crate::lifecycle::labels::DSLP_LABELS;
use crate::scaffold::{self, Outcome};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The repository to set up.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Overwrite files that differ from dslp-bot's versions.
    #[arg(long)]
    force: bool,
    /// Release merged model branches (`automations.release: act`), and give
    /// the workflow's token `contents: write` for it.
    #[arg(long)]
    release: bool,
    /// Where the dslp-bot App evaluates pull requests: `actions` writes
    /// `compute: actions` and `.github/workflows/dslp-compute.yml`, the
    /// workflow the App dispatches to the repository's runners.
    #[arg(long, value_enum, default_value = "app")]
    compute: crate::config::Compute,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: InitArgs) -> Result<i32> {
    if !args.path.is_dir() {
        anyhow::bail!("{} is not a directory", args.path.display());
    }
    let main_branch = current_branch(&args.path);
    let files = scaffold::files(main_branch.as_deref(), args.release, args.compute);
    let installed = scaffold::install(&args.path, &files, args.force)
        .with_context(|| format!("setting up {}", args.path.display()))?;
    match args.format {
        Format::Json => println!(
            "{}",
            output::json(&serde_json::json!({ "files": installed, "labels": DSLP_LABELS }))
        ),
        Format::Text => {
            if main_branch.is_none() {
                println!(
                    "note: {} is not a git repository (or has no branch yet); files written anyway",
                    args.path.display()
                );
            }
            for file in &installed {
                let word = match file.outcome {
                    Outcome::Created => "created    ",
                    Outcome::Unchanged => "unchanged  ",
                    Outcome::Kept => "kept       ",
                    Outcome::Overwritten => "overwritten",
                };
                println!("{word} {}", file.path.display());
            }
            if installed.iter().any(|f| f.outcome == Outcome::Kept) {
                println!(
                    "\nKept files differ from dslp-bot's versions and were left as they are; `dslp init --force` replaces them."
                );
            }
            println!(
                "\nCreate the DSLP labels (GitHub only attaches labels that exist), for example with the GitHub CLI:"
            );
            for label in DSLP_LABELS {
                println!(
                    "  gh label create '{}' --color {} --description \"{}\" --force",
                    label.name, label.color, label.description
                );
            }
        }
    }
    Ok(exit::CLEAN)
}

/// The branch HEAD names, when `path` is inside a git repository. An unborn
/// HEAD (no commit yet) still names its branch.
fn current_branch(path: &std::path::Path) -> Option<String> {
    let repo = git2::Repository::discover(path).ok()?;
    let head = repo.find_reference("HEAD").ok()?;
    let target = head.symbolic_target().ok()??;
    target.strip_prefix("refs/heads/").map(str::to_string)
}
