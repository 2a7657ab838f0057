//! `dslp demo`: the product on a project with a history, no GitHub needed.
//! A churn project is committed to `main`; Experiment #6's branch
//! regularises more strongly and brings a month of price rises; `check`
//! judges the branch as its pull request would be judged.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::check::{judge, text};
use super::issues_file::parse_export;
use crate::config::RepoConfig;
use crate::lifecycle::IssueDirectory;

const CONFIG: &str = include_str!("../../fixtures/demo/.github/dslp.yml");
const DATA: &str = include_str!("../../fixtures/demo/data/churn.csv");
const ISSUES: &str = include_str!("../../fixtures/demo/issues.json");
pub const BRANCH: &str = "experiment/6-boosting";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Build the demo repository here and keep it (it must not exist yet);
    /// by default a temporary directory, removed afterwards.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// List every check and gate, the passing ones too.
    #[arg(long, short)]
    verbose: bool,
    /// No progress on standard error.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: DemoArgs) -> Result<i32> {
    crate::progress::enable(!args.quiet);
    let temporary;
    let root = match &args.dir {
        Some(dir) => {
            anyhow::ensure!(
                !dir.exists(),
                "{} exists; name a new directory for the demo",
                dir.display()
            );
            dir.clone()
        }
        None => {
            temporary = tempfile::Builder::new().prefix("dslp-demo-").tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    build(&root).context("building the demo repository")?;
    let config = RepoConfig::parse(
        &std::fs::read_to_string(root.join(crate::config::CONFIG_PATH))?,
        crate::config::CONFIG_PATH,
    )?;
    let issues = parse_export(ISSUES, "the demo's issues")?;
    let directory = IssueDirectory::complete(None, issues);
    let checked = judge(
        &root,
        &config,
        BRANCH.into(),
        Some("main".into()),
        &directory,
        false,
    )?;
    let kept = match &args.dir {
        Some(dir) => format!("kept in {}", dir.display()),
        None => "in a temporary directory".into(),
    };
    println!(
        "The demo: a churn project ({kept}). `main` holds the data and a logistic regression;\n`{BRANCH}`, the branch of Experiment #6, regularises more strongly and\nbrings a month of price rises. `dslp check` on that branch says:\n"
    );
    print!("{}", text(&checked, args.verbose));
    println!(
        "\nIn your own repository: `dslp init`, declare `datasets:` and `models:` in .github/dslp.yml,\nthen `dslp check` on a branch (README: A quick tour of the CLI)."
    );
    Ok(super::common::exit::CLEAN)
}

/// `main` with the project, then the experiment branch checked out.
fn build(root: &Path) -> Result<()> {
    std::fs::create_dir_all(root.join(".github"))?;
    std::fs::create_dir_all(root.join("data"))?;
    let repo = git2::Repository::init_opts(
        root,
        git2::RepositoryInitOptions::new().initial_head("main"),
    )?;
    write(root, CONFIG, DATA)?;
    let base = commit(
        &repo,
        None,
        "Churn project: the data and a logistic regression",
    )?;
    let experiment_config = CONFIG.replace("params: { c: 1.0 }", "params: { c: 0.01 }");
    write(root, &experiment_config, &price_rises(DATA))?;
    let parent = repo.find_commit(base)?;
    repo.branch(BRANCH, &parent, false)?;
    repo.set_head(&format!("refs/heads/{BRANCH}"))?;
    commit(
        &repo,
        Some(&parent),
        "Stronger regularisation; November's price rises (#6)",
    )?;
    Ok(())
}

fn write(root: &Path, config: &str, data: &str) -> Result<()> {
    std::fs::write(root.join(crate::config::CONFIG_PATH), config)?;
    std::fs::write(root.join("data/churn.csv"), data)?;
    Ok(())
}

/// Commits the work tree on HEAD, at a fixed time so the demo's commits
/// (and so its output) are the same on every machine.
fn commit(
    repo: &git2::Repository,
    parent: Option<&git2::Commit>,
    message: &str,
) -> Result<git2::Oid> {
    let mut index = repo.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let when = git2::Time::new(1_764_547_200, 0);
    let who = git2::Signature::new("dslp demo", "demo@dslp.invalid", &when)?;
    let parents: Vec<&git2::Commit> = parent.into_iter().collect();
    Ok(repo.commit(Some("HEAD"), &who, &who, message, &tree, &parents)?)
}

/// The demo data after a month of price rises: monthly-plan charges up 25 %.
fn price_rises(data: &str) -> String {
    let mut lines = data.lines();
    let mut out = format!("{}\n", lines.next().unwrap_or_default());
    for line in lines {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        if cells.get(1).is_some_and(|plan| plan == "monthly")
            && let Some(charge) = cells.get(3).and_then(|c| c.parse::<f64>().ok())
        {
            cells[3] = format!("{:.2}", charge * 1.25);
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
