//! What a job carries besides its event: where files come from, its
//! limits, where evaluations run, the ledger's evaluations; and what it
//! concludes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::automation::SetUp;
use crate::config::RepoConfig;
use crate::data::source::Sources;
use crate::engine::Plan;
use crate::event::IssueAction;
use crate::evidence::{Evidence, FileLimits};
use crate::github::fetch::Fetch;
use crate::lifecycle::Verdict;
use crate::lifecycle::ask::Evaluation;
use crate::lifecycle::links::RepoName;

use super::sandbox::Sandbox;

/// Where the repository's files come from.
#[derive(Clone)]
pub enum Tree {
    /// The Action: the runner's checkout of the event's commit.
    Workspace(PathBuf),
    /// The App: the repository fetched when a pull request needs its files;
    /// the config of other events is read through the API.
    Fetched(Arc<dyn Fetch>),
}

/// Limits on the CPU-heavy part (git, polars, linfa).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub evidence_time: Duration,
    /// The address space an evaluation may take, bytes.
    pub memory_bytes: u64,
    /// The most a pull request from a fork gets; its config can lower these.
    pub fork_files: FileLimits,
    pub fork_time: Duration,
    pub fork_memory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            evidence_time: Duration::from_secs(30 * 60),
            memory_bytes: 4096 << 20,
            fork_files: FileLimits {
                rows: 1_000_000,
                bytes: 200_000_000,
                columns: 1_000,
            },
            fork_time: Duration::from_secs(5 * 60),
            fork_memory_bytes: 2048 << 20,
        }
    }
}

impl Limits {
    /// The limits for a fork's pull request under `config`: the lower of
    /// the server's and the repository's.
    pub(super) fn for_fork(self, config: &RepoConfig) -> Limits {
        let asked = config.automations.fork_limits;
        let time = asked.seconds.map_or(self.fork_time, |s| {
            self.fork_time.min(Duration::from_secs(s))
        });
        Limits {
            evidence_time: self.evidence_time.min(time),
            memory_bytes: self.memory_bytes.min(self.fork_memory_bytes),
            fork_files: FileLimits {
                rows: asked
                    .rows
                    .map_or(self.fork_files.rows, |r| r.min(self.fork_files.rows)),
                bytes: asked.megabytes.map_or(self.fork_files.bytes, |mb| {
                    (mb * 1_000_000).min(self.fork_files.bytes)
                }),
                columns: self.fork_files.columns,
            },
            fork_time: time,
            fork_memory_bytes: self.fork_memory_bytes,
        }
    }
}

/// What a run concluded.
#[derive(Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub summary: String,
    /// The pull requests evaluated, with their evidence, for the runs ledger.
    pub evaluated: Vec<Evaluated>,
    /// What the user should know that did not stop the run (the Action
    /// prints them as `::warning::`, the App logs them).
    pub warnings: Vec<String>,
    /// A push to the default branch: the monitoring schedule it declares.
    pub schedule: Option<ScheduleChange>,
    /// Evaluations the runners made, read back from their check run, for
    /// the runs ledger.
    pub ledgered: Vec<Ledgered>,
    /// A job for the App to queue once this one is done (following a
    /// dispatched evaluation).
    pub follow_up: Option<FollowUp>,
}

/// An evaluation the repository's runners made, as their check run
/// carried it.
#[derive(Debug, Clone)]
pub struct Ledgered {
    pub repo: RepoName,
    pub pull: u64,
    pub head_ref: String,
    pub head_sha: String,
    pub base_sha: String,
    pub record: crate::report::ledger::LedgerRecord,
}

/// A job to queue later: `event` under `key`, not before `after` from now;
/// `id` names it, so that a job repeated after a crash queues it once.
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub id: String,
    pub key: String,
    pub event: crate::event::Event,
    pub after: Duration,
}

/// How the App follows an evaluation it dispatched to Actions runners.
#[derive(Debug, Clone, Copy)]
pub struct Following {
    /// How often it looks at the run.
    pub poll: Duration,
    /// How long the run has to end before the check fails.
    pub deadline: Duration,
}

impl Default for Following {
    fn default() -> Following {
        Following {
            poll: Duration::from_secs(60),
            deadline: Duration::from_secs(2 * 3600),
        }
    }
}

/// What the App's store is to keep of a repository's monitoring schedule,
/// learnt from its default branch's config.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleChange {
    pub repo: RepoName,
    /// How often; `None`: nothing to monitor any more.
    pub every: Option<std::time::Duration>,
    pub clone_url: Option<String>,
}

#[derive(Debug)]
pub struct Evaluated {
    pub repo: RepoName,
    pub pull: u64,
    pub verdict: Verdict,
    pub head_ref: String,
    pub head_sha: String,
    pub base_sha: String,
    pub evidence: Evidence,
}

impl Outcome {
    pub(super) fn neutral(summary: impl Into<String>) -> Outcome {
        Outcome {
            verdict: Verdict::Neutral,
            summary: summary.into(),
            evaluated: Vec::new(),
            warnings: Vec::new(),
            schedule: None,
            ledgered: Vec::new(),
            follow_up: None,
        }
    }

    pub(super) fn of(plan: Plan, warnings: Vec<String>) -> Outcome {
        Outcome {
            verdict: plan.verdict,
            summary: plan.summary,
            evaluated: Vec::new(),
            warnings,
            schedule: None,
            ledgered: Vec::new(),
            follow_up: None,
        }
    }
}

/// What a job knows beyond the event: where files come from, its limits,
/// and the runs ledger's evaluations of the repository (empty for the Action).
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    pub tree: &'a Tree,
    pub limits: Limits,
    /// Where evaluations run.
    pub sandbox: &'a Sandbox,
    /// Where data beyond the working tree comes from: the download cache,
    /// the token for Git LFS.
    pub sources: &'a Sources,
    pub evaluations: &'a [Evaluation],
    /// What to set up when the App is installed.
    pub set_up: SetUp,
    /// How the App follows evaluations it dispatches (`compute: actions`).
    pub following: Following,
}

/// Why an issue is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueTrigger {
    Event(IssueAction),
    /// A comment without commands.
    Comment,
    /// `/dslp rerun`.
    Rerun,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_lowers_the_fork_limits_but_cannot_lift_them() {
        let server = Limits::default();
        let config = |yaml: &str| RepoConfig::parse(yaml, "t.yml").unwrap();
        let lowered = server.for_fork(&config(
            "version: 1\nautomations:\n  fork_limits: { rows: 10, megabytes: 1, seconds: 5 }\n",
        ));
        assert_eq!(lowered.fork_files.rows, 10);
        assert_eq!(lowered.fork_files.bytes, 1_000_000);
        assert_eq!(lowered.evidence_time, Duration::from_secs(5));
        let lifted = server.for_fork(&config(
            "version: 1\nautomations:\n  fork_limits: { rows: 999999999, megabytes: 999999, seconds: 99999 }\n",
        ));
        assert_eq!(lifted.fork_files, server.fork_files);
        assert_eq!(lifted.evidence_time, server.fork_time);
    }
}
