//! `dslp stats`: team metrics from an issue export.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use super::common::exit;
use super::issues_file::parse_dated_export;
use crate::lifecycle::stats::{self, Dated};

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum StatsFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// `gh issue list --state all --limit 1000 --json number,title,labels,state,createdAt,closedAt > issues.json`
    file: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: StatsFormat,
    /// Count open issues' time until this moment (`2026-11-22T00:00:00Z`) instead of now.
    #[arg(long, value_name = "TIMESTAMP")]
    now: Option<String>,
}

pub fn run(args: StatsArgs) -> Result<i32> {
    let source = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {source}"))?;
    let issues = parse_dated_export(&text, &source)?;
    let now = match &args.now {
        Some(text) => crate::timestamp::unix_seconds(text).ok_or_else(|| {
            anyhow!("--now `{text}` is not a timestamp like 2026-11-22T00:00:00Z")
        })?,
        None => crate::timestamp::now(),
    };
    let undated = issues.iter().filter(|d| d.created.is_none()).count();
    let dated: Vec<Dated<'_>> = issues
        .iter()
        .map(|d| Dated {
            issue: &d.issue,
            created: d.created,
            closed: d.closed,
        })
        .collect();
    let figures = stats::team_stats(&dated, now);
    match args.format {
        StatsFormat::Json => println!("{}", serde_json::to_string_pretty(&figures)?),
        StatsFormat::Markdown => print!("{}", stats::markdown(&figures)),
        StatsFormat::Text => {
            println!("{} issues in {source}", issues.len());
            print!("{}", stats::markdown(&figures));
        }
    }
    if undated > 0 && !issues.is_empty() {
        eprintln!(
            "warning: {undated} issue{} had no createdAt; export with `--json number,title,labels,state,createdAt,closedAt` for the timings",
            if undated == 1 { "" } else { "s" }
        );
    }
    Ok(exit::CLEAN)
}
