//! The vocabulary the intake and the store share: a delivery to record,
//! the job it makes, how recording went, and the store's health.

/// A verified delivery, ready to be recorded (and queued when it has work).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub event: String,
    pub action: Option<String>,
    pub installation: Option<u64>,
    pub job: Option<NewJob>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    /// One job per key runs at a time (`owner/name#12`, `owner/name@branch`).
    pub key: String,
    /// A newer evaluation of a pull request supersedes a queued older one.
    pub evaluates: bool,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Committed; a job was queued if it had one.
    New,
    /// This delivery id was recorded before: nothing was done again.
    Duplicate,
}

/// The part of the store that met a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Recorder,
    Committer,
}

/// What the store's threads last met: nothing while they record, or why
/// they cannot. `/healthz` reads it, so that a load balancer stops sending
/// to a replica whose store refuses deliveries.
#[derive(Debug, Default)]
pub struct Health {
    problems: std::sync::Mutex<[Option<String>; 2]>,
}

impl Health {
    /// Records how `part`'s last attempt ended.
    pub(crate) fn set(&self, part: Part, problem: Option<String>) {
        let mut problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        problems[part as usize] = problem;
    }

    /// Why the store cannot record, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        problems.iter().flatten().next().cloned()
    }
}
