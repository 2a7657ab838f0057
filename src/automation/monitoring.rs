//! Monitoring's consequences, as DSLP asks for them: a released model's
//! inputs drifted past the fail limit → a **Data** issue for the new data;
//! its metrics fell past the allowed change → a **Model** issue to retrain,
//! linked to the Ask. One issue per model and cause, updated while the
//! cause lasts; back within limits, it is told so (and closed when the
//! config says).

use super::Step;
use super::failure::close;
use crate::engine::Effect;
use crate::github::IssueUpdate;
use crate::lifecycle::kinds::{ASK_REFERENCE, BASED_ON_EXPERIMENT};
use crate::lifecycle::labels::{DATA, MODEL};
use crate::lifecycle::{Issue, IssueState};
use crate::model::monitor::{Level, Limits, MonitorReport};
use crate::report::monitor::markdown;
use crate::report::release::ReleaseRecord;

/// Why monitoring opens an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The inputs drifted: new data is needed (a Data issue).
    Drift,
    /// The metrics fell: the model is to be retrained (a Model issue).
    Performance,
}

impl Cause {
    fn slug(self) -> &'static str {
        match self {
            Cause::Drift => "drift",
            Cause::Performance => "performance",
        }
    }
}

/// The marker of the issue monitoring keeps for `model` and `cause`.
pub fn marker(model: &str, cause: Cause) -> String {
    format!("<!-- dslp:monitor {model} {} -->", cause.slug())
}

/// One released model, monitored.
#[derive(Debug, Clone, Copy)]
pub struct Watched<'a> {
    pub model: &'a str,
    /// Where the fresh data was read (for the issue's text).
    pub data: &'a str,
    /// The dataset the model is trained on.
    pub dataset: &'a str,
    pub release: &'a ReleaseRecord,
    pub report: &'a MonitorReport,
    pub limits: &'a Limits,
    pub close_when_recovered: bool,
    /// When this run looked (for the recovery comment).
    pub at: &'a str,
}

/// The issues to open, update, tell or close for every watched model, given
/// the repository's open issues.
pub fn decide(watched: &[Watched<'_>], open: &[Issue]) -> Step {
    let mut effects = Vec::new();
    let mut said = Vec::new();
    for w in watched {
        for (cause, level) in [
            (Cause::Drift, w.report.input_drift),
            (Cause::Performance, w.report.performance_drop),
        ] {
            let mark = marker(w.model, cause);
            let existing = open
                .iter()
                .find(|i| i.state == IssueState::Open && i.body.contains(&mark))
                .and_then(|i| i.number);
            match (level, existing) {
                (Level::Fail, None) => {
                    effects.push(open_issue(w, cause, &mark));
                    said.push(format!("{}: {} → a new issue", w.model, cause.slug()));
                }
                (Level::Fail, Some(number)) => {
                    effects.push(Effect::EditIssue {
                        issue: number,
                        update: IssueUpdate {
                            body: Some(body(w, cause, &mark)),
                            ..IssueUpdate::default()
                        },
                    });
                    said.push(format!("{}: {} → #{number} updated", w.model, cause.slug()));
                }
                (_, Some(number)) => {
                    effects.extend(recovered(w, cause, number));
                    said.push(format!(
                        "{}: {} back within limits (#{number})",
                        w.model,
                        cause.slug()
                    ));
                }
                (_, None) => {}
            }
        }
    }
    Step {
        effects,
        said: said.join("\n"),
        done: true,
    }
}

fn open_issue(w: &Watched<'_>, cause: Cause, mark: &str) -> Effect {
    let (title, label) = match cause {
        Cause::Drift => (
            format!(
                "Get refreshed {} Dataset: the inputs of {} drifted",
                w.dataset, w.release.tag
            ),
            DATA,
        ),
        Cause::Performance => (
            format!("Model: retrain {} ({} fell)", w.model, w.release.tag),
            MODEL,
        ),
    };
    Effect::CreateIssue {
        title,
        body: body(w, cause, mark),
        labels: vec![label.to_string()],
        marker: mark.to_string(),
    }
}

/// The issue's body, in its template's sections, with the evidence.
fn body(w: &Watched<'_>, cause: Cause, mark: &str) -> String {
    let evidence = markdown(w.report, w.limits);
    let release = &w.release.tag;
    let model_issue = w
        .release
        .links
        .model_issue
        .map_or(String::new(), |n| format!(" (Model issue #{n})"));
    let ask = w
        .release
        .links
        .ask
        .map_or("_No response_".to_string(), |a| format!("#{a}"));
    match cause {
        Cause::Drift => format!(
            "{mark}\n### Dataset Description\n\nThe production inputs of **{release}**{model_issue} no longer look like the data it was trained on: a new version of the `{}` dataset is needed, as DSLP wants one Data issue per dataset version. Ask: {ask}.\n\n{evidence}\n### Source system\n\nThe fresh inputs `dslp monitor` read: `{}`.\n\n### Reference\n\nThe reference profile of release {release}.\n\n### Known Issues\n\n_No response_\n",
            w.dataset, w.data
        ),
        Cause::Performance => format!(
            "{mark}\n### Description\n\nOn fresh, labelled data **{release}**{model_issue} no longer meets its release's test metrics. Retrain it (new data, or another experiment) and release it again.\n\n{evidence}\n### {ASK_REFERENCE}\n\n{ask}\n\n### {BASED_ON_EXPERIMENT}\n\n{}\n\n### Steps\n\n- [ ] Find what changed in the data (the table above)\n- [ ] Retrain on fresh data on a `model/` branch\n- [ ] Release it and watch the next monitoring run\n",
            w.release
                .links
                .experiment
                .map_or("_No response_".to_string(), |e| format!("#{e}"))
        ),
    }
}

/// The cause is gone: a comment on the issue, and its closing when asked.
fn recovered(w: &Watched<'_>, cause: Cause, number: u64) -> Vec<Effect> {
    let mut effects = vec![Effect::UpsertComment {
        issue: number,
        marker: RECOVERED_MARKER,
        body: format!(
            "{RECOVERED_MARKER}\nBack within limits at {}: the {} of **{}** passed monitoring on {} fresh rows{}.",
            w.at,
            match cause {
                Cause::Drift => "inputs",
                Cause::Performance => "metrics",
            },
            w.release.tag,
            w.report.rows,
            if w.close_when_recovered {
                "; closed (`close_when_recovered`)"
            } else {
                "; close this issue when it is no longer needed"
            }
        ),
    }];
    if w.close_when_recovered {
        effects.push(close(number));
    }
    effects
}

/// The marker of the comment that says a cause went away.
const RECOVERED_MARKER: &str = "<!-- dslp:monitor-recovered -->";

#[cfg(test)]
mod tests;
