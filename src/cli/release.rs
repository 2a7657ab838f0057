//! `dslp release`: train one model and write a versioned release of it —
//! the assets a GitHub Release carries, and its notes — its version decided
//! from the previous release's record by DSLP's rules.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::common::{exit, load_repository};
use crate::data::source::Sources;
use crate::evidence::{self, Request};
use crate::report::release::{Links, Prepared, ReleaseRecord, prepare};

#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// The model to release (a name under `models:`).
    #[arg(long)]
    model: String,
    /// Where the release's files go.
    #[arg(long, value_name = "DIR")]
    output: PathBuf,
    /// The previous release's record (NAME.release.json); none for a first release.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,
    /// The repository root; by default the git work tree around the current directory.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

pub fn run(args: ReleaseArgs) -> Result<i32> {
    let (root, _, config) = load_repository(args.root.as_deref(), None)?;
    if !config.models.contains_key(&args.model) {
        let known: Vec<&str> = config.models.keys().map(String::as_str).collect();
        bail!(
            "no model `{}` in the config; the models are {}",
            args.model,
            known.join(", ")
        );
    }
    let previous = args.previous.as_deref().map(read_record).transpose()?;
    let evidence = evidence::gather(&Request {
        root: &root,
        config: &config,
        base: None,
        models: std::slice::from_ref(&args.model),
        datasets: &[],
        run_data_tests: false,
        run_training: true,
        keep_artifacts: true,
        sources: &Sources::default(),
    });
    let outcome = evidence
        .models
        .iter()
        .find(|m| m.name == args.model)
        .ok_or_else(|| anyhow!("model `{}` was not trained", args.model))?;
    let Some(prepared) =
        prepare(outcome, previous.as_ref(), Links::default()).map_err(|e| anyhow!(e))?
    else {
        let tag = previous.map(|p| p.tag).unwrap_or_default();
        println!("nothing the model is made from changed since {tag}: no new release");
        return Ok(exit::CLEAN);
    };
    write_assets(&args.output, &prepared)?;
    let decision = &prepared.record.decision;
    println!(
        "{} ({})",
        prepared.record.tag,
        decision.summary("first release")
    );
    println!("  assets in {}", args.output.display());
    Ok(exit::CLEAN)
}

fn read_record(path: &Path) -> Result<ReleaseRecord> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| {
        anyhow!(
            "{} is not a release record ({e}): pass the previous release's NAME.release.json",
            path.display()
        )
    })
}

/// The release's files, each under its asset name.
fn write_assets(dir: &Path, prepared: &Prepared) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for asset in &prepared.assets {
        let path = dir.join(&asset.name);
        std::fs::write(&path, &asset.text)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
