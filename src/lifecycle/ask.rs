//! The Ask kept current: a bot-managed section of the Ask's body, between
//! hidden markers, listing the issues that refer to it by kind and the
//! leaderboard of every experiment evaluated for it. Pure: the shell reads
//! the issues and the runs ledger, this decides the text.

use std::collections::BTreeMap;

use super::BranchKind;
use super::body::IssueBody;
use super::branch::Conventions;
use super::issue::{Issue, IssueDirectory, IssueState, Lookup};
use super::kinds::{ASK_REFERENCE, IssueKind};
use super::labels::{FAILED, ON_HOLD, SUCCEEDED};
use super::links::find_refs;
use crate::lifecycle::Verdict;
use crate::lifecycle::metric::{format_metric, greater_is_better};

pub const SECTION_START: &str =
    "<!-- dslp:ask-section:start (kept current by dslp-bot; edits inside are replaced) -->";
pub const SECTION_END: &str = "<!-- dslp:ask-section:end -->";
const START_PREFIX: &str = "<!-- dslp:ask-section:start";

/// The Asks an issue refers to. An Experiment or Model names its Ask in its
/// `Ask Reference`; a Data or Explore issue refers to one anywhere in its body.
pub fn asks_of(issue: &Issue, directory: &IssueDirectory) -> Vec<u64> {
    let kind = match issue.labelled_kind() {
        Some(IssueKind::Ask) | None => return Vec::new(),
        Some(kind) => kind,
    };
    if issue.is_pull_request {
        return Vec::new();
    }
    let body = IssueBody::parse(&issue.body);
    let text = match kind {
        IssueKind::Experiment | IssueKind::Model => body.field(ASK_REFERENCE).unwrap_or_default(),
        _ => issue.body.clone(),
    };
    let mut asks: Vec<u64> = find_refs(&text)
        .iter()
        .filter_map(|r| match directory.lookup(r) {
            Lookup::Found(target)
                if !target.is_pull_request && target.labelled_kind() == Some(IssueKind::Ask) =>
            {
                target.number
            }
            _ => None,
        })
        .filter(|n| Some(*n) != issue.number)
        .collect();
    asks.sort_unstable();
    asks.dedup();
    asks
}

/// A pull request's state, as the leaderboard shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    Open,
    Merged,
    Closed,
}

impl PullState {
    fn word(self) -> &'static str {
        match self {
            PullState::Open => "open",
            PullState::Merged => "merged",
            PullState::Closed => "closed",
        }
    }
}

/// One evaluation from the runs ledger, as the leaderboard needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The pull request's branch, which names its experiment issue.
    pub head_ref: String,
    pub pull: u64,
    pub verdict: Verdict,
    /// Model name → metric → value.
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// Model name → its parameters.
    pub params: BTreeMap<String, BTreeMap<String, f64>>,
    /// Model name → the hash of its data (first dataset file's sha256).
    pub data_hash: BTreeMap<String, String>,
}

/// One leaderboard row: an experiment, and its latest evaluation if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub experiment: u64,
    pub title: String,
    pub status: Option<&'static str>,
    pub state: IssueState,
    pub pull: Option<(u64, PullState)>,
    pub model: Option<String>,
    pub value: Option<f64>,
    pub verdict: Option<Verdict>,
    pub params: String,
    pub data_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Leaderboard {
    /// The metric rows are ranked by, and whether higher is better.
    pub metric: Option<(String, bool)>,
    pub rows: Vec<Row>,
}

/// The experiment leading an Ask's leaderboard, which a pull request's
/// report compares itself with.
#[derive(Debug, Clone, PartialEq)]
pub struct AskLeader {
    pub ask: u64,
    pub experiment: u64,
    pub title: String,
    pub metric: String,
    pub value: f64,
    /// Its parameters, as the leaderboard shows them (`c=0.25`).
    pub params: String,
}

/// The leader of the Ask that Experiment `experiment` refers to: the first
/// row of its leaderboard with a value.
pub fn leader_for(
    experiment: u64,
    directory: &IssueDirectory,
    conventions: &Conventions,
    evaluations: &[Evaluation],
    pulls: &BTreeMap<u64, PullState>,
) -> Option<AskLeader> {
    let Lookup::Found(issue) = directory.lookup_number(experiment) else {
        return None;
    };
    let ask_number = *asks_of(issue, directory).first()?;
    let Lookup::Found(ask) = directory.lookup_number(ask_number) else {
        return None;
    };
    let board = leaderboard(ask, directory, conventions, evaluations, pulls);
    let (metric, _) = board.metric?;
    let row = board.rows.into_iter().find(|r| r.value.is_some())?;
    Some(AskLeader {
        ask: ask_number,
        experiment: row.experiment,
        title: row.title,
        metric,
        value: row.value?,
        params: row.params,
    })
}

/// The metric the Ask is judged by: the first known metric its text names
/// (`ROC-AUC`, `roc auc` and `roc_auc` alike), else the first one measured.
pub fn primary_metric(ask: &Issue, evaluations: &[Evaluation]) -> Option<String> {
    let measured: Vec<&String> = evaluations
        .iter()
        .flat_map(|e| e.metrics.values().flat_map(|m| m.keys()))
        .collect();
    let text = ask.body.to_ascii_lowercase().replace(['-', ' '], "_");
    // A whole word: `recall` in "recalled" is not the metric.
    let word_at = |metric: &str| {
        text.match_indices(metric).map(|(at, _)| at).find(|&at| {
            let before = text[..at].chars().next_back();
            let after = text[at + metric.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        })
    };
    let mut named: Vec<(usize, &String)> = measured
        .iter()
        .filter_map(|m| word_at(m).map(|at| (at, *m)))
        .collect();
    named.sort();
    named
        .first()
        .map(|(_, m)| (*m).clone())
        .or_else(|| measured.into_iter().min().cloned())
}

fn status_label(issue: &Issue) -> Option<&'static str> {
    [SUCCEEDED, FAILED, ON_HOLD]
        .into_iter()
        .find(|s| issue.labels.iter().any(|l| l == s))
}

/// Every experiment for the Ask, ranked by the primary metric of its latest
/// evaluation; those never evaluated follow, by number. Failed ones stay.
pub fn leaderboard(
    ask: &Issue,
    directory: &IssueDirectory,
    conventions: &Conventions,
    evaluations: &[Evaluation],
    pulls: &BTreeMap<u64, PullState>,
) -> Leaderboard {
    let Some(ask_number) = ask.number else {
        return Leaderboard {
            metric: None,
            rows: Vec::new(),
        };
    };
    let experiments: Vec<&Issue> = directory
        .of_kind(IssueKind::Experiment)
        .filter(|e| asks_of(e, directory).contains(&ask_number))
        .collect();
    let numbers: Vec<u64> = experiments.iter().filter_map(|e| e.number).collect();
    // (experiment, evaluation), for experiment branches of this Ask's experiments.
    let relevant: Vec<(u64, &Evaluation)> = evaluations
        .iter()
        .filter_map(|e| {
            let branch = conventions.classify(&e.head_ref);
            match (branch.kind, branch.number) {
                (Some(BranchKind::Experiment), Some(n)) if numbers.contains(&n) => Some((n, e)),
                _ => None,
            }
        })
        .collect();
    let relevant_evaluations: Vec<Evaluation> =
        relevant.iter().map(|(_, e)| (*e).clone()).collect();
    let metric = primary_metric(ask, &relevant_evaluations);
    let higher = metric.as_deref().map(greater_is_better).unwrap_or(true);
    let ranking = Ranking {
        metric: metric.as_deref(),
        higher,
    };
    let mut rows: Vec<Row> = experiments
        .iter()
        .map(|issue| {
            let number = issue.number.unwrap_or_default();
            // The ledger is oldest first: the last evaluation is the latest.
            let latest = relevant
                .iter()
                .rev()
                .find(|(n, _)| *n == number)
                .map(|(_, e)| *e);
            ranking.row(issue, latest, pulls)
        })
        .collect();
    rows.sort_by(|a, b| match (a.value, b.value) {
        (Some(x), Some(y)) => {
            let order = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
            (if higher { order.reverse() } else { order }).then(a.experiment.cmp(&b.experiment))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.experiment.cmp(&b.experiment),
    });
    Leaderboard {
        metric: metric.map(|m| (m, higher)),
        rows,
    }
}

/// The metric experiments are ranked by, and which way is better.
struct Ranking<'a> {
    metric: Option<&'a str>,
    higher: bool,
}

impl Ranking<'_> {
    /// An experiment's row, from its latest evaluation: the best of its
    /// models by the metric, with its parameters and data.
    fn row(
        &self,
        issue: &Issue,
        latest: Option<&Evaluation>,
        pulls: &BTreeMap<u64, PullState>,
    ) -> Row {
        let (model, value) = match (latest, self.metric) {
            (Some(e), Some(metric)) => self.best(e, metric),
            (Some(e), None) => (e.metrics.keys().next().cloned(), None),
            _ => (None, None),
        };
        let params = match (latest, &model) {
            (Some(e), Some(model)) => e
                .params
                .get(model)
                .map(|p| {
                    p.iter()
                        .map(|(k, v)| format!("{k}={}", format_metric(*v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        Row {
            experiment: issue.number.unwrap_or_default(),
            title: issue.title.clone(),
            status: status_label(issue),
            state: issue.state,
            pull: latest.map(|e| {
                (
                    e.pull,
                    pulls.get(&e.pull).copied().unwrap_or(PullState::Open),
                )
            }),
            data_hash: match (latest, &model) {
                (Some(e), Some(model)) => e.data_hash.get(model).cloned(),
                _ => None,
            },
            verdict: latest.map(|e| e.verdict),
            model,
            value,
            params,
        }
    }

    /// The evaluation's best model by `metric`, and its value.
    fn best(&self, evaluation: &Evaluation, metric: &str) -> (Option<String>, Option<f64>) {
        let mut scored: Vec<(&String, f64)> = evaluation
            .metrics
            .iter()
            .filter_map(|(model, m)| m.get(metric).map(|v| (model, *v)))
            .collect();
        scored.sort_by(|a, b| {
            let order = a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal);
            if self.higher { order.reverse() } else { order }
        });
        match scored.first() {
            Some((model, v)) => (Some((*model).clone()), Some(*v)),
            None => (evaluation.metrics.keys().next().cloned(), None),
        }
    }
}

fn state_word(state: IssueState) -> &'static str {
    match state {
        IssueState::Open => "open",
        IssueState::Closed => "closed",
    }
}

/// The section's text, markers included. `sub_issues` are the Ask's
/// sub-issues in GitHub's tree: linked as well as those that refer to it.
pub fn render(
    ask: &Issue,
    directory: &IssueDirectory,
    board: &Leaderboard,
    sub_issues: &[u64],
) -> String {
    let mut out = format!("{SECTION_START}\n### Linked issues\n\n");
    out.push_str(&linked_issues(ask, directory, sub_issues));
    out.push_str("### Experiment leaderboard\n\n");
    if board.rows.is_empty() {
        out.push_str("No experiment refers to this Ask yet.\n");
    } else {
        out.push_str(&board_table(board));
    }
    out.push_str(SECTION_END);
    out
}

/// The issues that refer to the Ask or are its sub-issues, by kind.
fn linked_issues(ask: &Issue, directory: &IssueDirectory, sub_issues: &[u64]) -> String {
    let ask_number = ask.number.unwrap_or_default();
    let mut out = String::new();
    for kind in [
        IssueKind::Data,
        IssueKind::Explore,
        IssueKind::Experiment,
        IssueKind::Model,
    ] {
        let linked: Vec<&Issue> = directory
            .of_kind(kind)
            .filter(|i| {
                asks_of(i, directory).contains(&ask_number)
                    || i.number.is_some_and(|n| sub_issues.contains(&n))
            })
            .collect();
        if linked.is_empty() {
            continue;
        }
        out.push_str(&format!("**{}**\n\n", kind.label()));
        for issue in linked {
            let status = status_label(issue)
                .map(|s| format!(" · `{s}`"))
                .unwrap_or_default();
            out.push_str(&format!(
                "- #{} {} · {}{status}\n",
                issue.number.unwrap_or_default(),
                issue.title.trim(),
                state_word(issue.state)
            ));
        }
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("No Data, Explore, Experiment or Model issue refers to this Ask yet.\n\n");
    }
    out
}

/// The leaderboard as a table, with the sentence that says how it ranks.
fn board_table(board: &Leaderboard) -> String {
    let mut out = match &board.metric {
        Some((metric, higher)) => format!(
            "Ranked by `{metric}` ({} is better), from dslp-bot's latest evaluation of each experiment's pull request. Failed experiments stay listed, so that no approach is tried twice by accident.\n\n",
            if *higher { "higher" } else { "lower" }
        ),
        None => "No experiment has been evaluated yet; each is listed by number.\n\n".to_string(),
    };
    let metric_name = board.metric.as_ref().map_or("metric", |(m, _)| m.as_str());
    out.push_str(&format!(
        "| Rank | Experiment | Status | Pull request | Model | {metric_name} | Verdict | Key parameters | Data |\n|---|---|---|---|---|---|---|---|---|\n"
    ));
    let mut rank = 0;
    for row in &board.rows {
        let rank_text = match row.value {
            Some(_) => {
                rank += 1;
                rank.to_string()
            }
            None => "–".to_string(),
        };
        out.push_str(&format!("| {rank_text} | {} |\n", row_cells(row)));
    }
    out
}

/// A leaderboard row's cells after its rank.
fn row_cells(row: &Row) -> String {
    let status = row
        .status
        .map(|s| format!("`{s}`"))
        .unwrap_or_else(|| state_word(row.state).to_string());
    let pull = row
        .pull
        .map(|(n, s)| format!("#{n} {}", s.word()))
        .unwrap_or_else(|| "—".into());
    let value = match (row.value, &row.verdict) {
        (Some(v), _) => format_metric(v),
        (None, Some(_)) => "—".into(),
        (None, None) => "not evaluated".into(),
    };
    let data = row
        .data_hash
        .as_deref()
        .map(|h| format!("`{}`", &h[..h.len().min(7)]))
        .unwrap_or_else(|| "—".into());
    format!(
        "#{} {} | {status} | {pull} | {} | {value} | {} | {} | {data}",
        row.experiment,
        row.title.trim().replace('|', "\\|"),
        row.model.as_deref().unwrap_or("—"),
        row.verdict.map_or("—", Verdict::as_str),
        if row.params.is_empty() {
            "—"
        } else {
            &row.params
        },
    )
}

/// The body with `section` in place of the old one, or added at the end.
/// Text outside the markers is never touched.
pub fn splice(body: &str, section: &str) -> String {
    if let Some(start) = body.find(START_PREFIX)
        && let Some(end_at) = body[start..].find(SECTION_END)
    {
        let end = start + end_at + SECTION_END.len();
        return format!("{}{section}{}", &body[..start], &body[end..]);
    }
    let trimmed = body.trim_end();
    if trimmed.is_empty() {
        section.to_string()
    } else {
        format!("{trimmed}\n\n{section}\n")
    }
}

/// The user's text of a body: everything outside the section.
pub fn outside_section(body: &str) -> String {
    splice(body, "").trim().to_string()
}

#[cfg(test)]
mod tests;
