use super::*;
use crate::model::monitor::{Drifted, MetricChange};
use crate::model::reference::Drift;

fn release() -> ReleaseRecord {
    serde_json::from_value(serde_json::json!({
        "model": "churn_lr", "tag": "churn_lr-v1.0.0",
        "version": {"major": 1, "minor": 0, "patch": 0},
        "decision": {"version": {"major": 1, "minor": 0, "patch": 0}, "bump": null, "reasons": ["first release"]},
        "facts": {"target": "churned", "output": {"task": "binary", "classes": ["0", "1"]},
                  "input": {"features": []}, "algorithm": "logistic_regression",
                  "standardize": true, "params": {}, "data": {}},
        "metrics": {"roc_auc": 0.8}, "commit": "abc",
        "links": {"model_issue": 7, "experiment": 5, "ask": 1}
    }))
    .unwrap()
}

fn report(drift: Level, drop: Level) -> MonitorReport {
    MonitorReport {
        model: "churn_lr".into(),
        rows: 500,
        features: vec![Drifted {
            name: "monthly_charges".into(),
            drift: Drift {
                psi: if drift == Level::Fail { 0.4 } else { 0.01 },
                ks: Some(0.2),
                new_levels: vec![],
            },
            level: drift,
        }],
        predictions: None,
        metrics: vec![MetricChange {
            metric: "roc_auc".into(),
            released: 0.8,
            now: if drop == Level::Fail { 0.7 } else { 0.79 },
            level: drop,
        }],
        input_drift: drift,
        performance_drop: drop,
    }
}

fn watched<'a>(
    release: &'a ReleaseRecord,
    report: &'a MonitorReport,
    limits: &'a Limits,
    close: bool,
) -> Watched<'a> {
    Watched {
        model: "churn_lr",
        data: "data/scoring.csv",
        dataset: "churn",
        release,
        report,
        limits,
        close_when_recovered: close,
        at: "2026-12-03",
    }
}

fn open_issue(number: u64, body: &str) -> Issue {
    Issue {
        number: Some(number),
        title: "t".into(),
        body: body.into(),
        labels: vec![],
        state: IssueState::Open,
        is_pull_request: false,
    }
}

#[test]
fn drift_opens_a_data_issue_and_a_drop_a_model_issue_linked_to_the_ask() {
    let (release, limits) = (release(), Limits::default());
    let report = report(Level::Fail, Level::Fail);
    let step = decide(&[watched(&release, &report, &limits, false)], &[]);
    let created: Vec<_> = step
        .effects
        .iter()
        .map(|e| match e {
            Effect::CreateIssue {
                title,
                body,
                labels,
                marker,
            } => (title.clone(), body.clone(), labels.clone(), marker.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(created.len(), 2);
    let (title, body, labels, mark) = &created[0];
    assert!(
        title.contains("churn") && title.contains("drifted"),
        "{title}"
    );
    assert_eq!(labels, &vec!["Data".to_string()]);
    assert!(body.starts_with(mark.as_str()) && body.contains("### Dataset Description"));
    assert!(body.contains("| monthly_charges | 0.400 |"), "{body}");
    assert!(body.contains("```mermaid\nxychart-beta"), "{body}");
    let (title, body, labels, _) = &created[1];
    assert!(title.starts_with("Model: retrain churn_lr"), "{title}");
    assert_eq!(labels, &vec!["Model".to_string()]);
    assert!(body.contains("### Ask Reference\n\n#1"), "{body}");
    assert!(body.contains("### Based on Experiment\n\n#5"), "{body}");
    assert!(body.contains("(Model issue #7)"), "{body}");
}

#[test]
fn an_open_issue_is_updated_not_opened_twice_and_told_when_the_cause_is_gone() {
    let (release, limits) = (release(), Limits::default());
    let open = [open_issue(30, &marker("churn_lr", Cause::Drift))];
    let failing = report(Level::Fail, Level::Ok);
    let step = decide(&[watched(&release, &failing, &limits, false)], &open);
    assert_eq!(step.effects.len(), 1);
    assert!(
        matches!(&step.effects[0], Effect::EditIssue { issue: 30, update } if update.body.is_some())
    );

    let fine = report(Level::Ok, Level::Ok);
    let step = decide(&[watched(&release, &fine, &limits, false)], &open);
    assert_eq!(step.effects.len(), 1, "a comment, no closing");
    assert!(
        matches!(&step.effects[0], Effect::UpsertComment { issue: 30, body, .. } if body.contains("Back within limits at 2026-12-03"))
    );
    let step = decide(&[watched(&release, &fine, &limits, true)], &open);
    assert_eq!(step.effects.len(), 2);
    assert!(
        matches!(&step.effects[1], Effect::EditIssue { issue: 30, update } if update.state == Some(IssueState::Closed))
    );
    // Nothing wrong and nothing open: nothing to do.
    assert!(
        decide(&[watched(&release, &fine, &limits, true)], &[])
            .effects
            .is_empty()
    );
    // A warning is not a failure: no issue.
    let warned = report(Level::Warn, Level::Warn);
    assert!(
        decide(&[watched(&release, &warned, &limits, false)], &[])
            .effects
            .is_empty()
    );
}
