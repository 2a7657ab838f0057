//! The Ask's links, leaderboard and section.

use super::*;
use crate::lifecycle::links::RepoName;

fn issue(number: u64, label: &str, title: &str, body: &str, extra: &[&str]) -> Issue {
    let mut labels = vec![label.to_string()];
    labels.extend(extra.iter().map(|s| s.to_string()));
    Issue {
        number: Some(number),
        title: title.into(),
        body: body.into(),
        labels,
        state: IssueState::Open,
        is_pull_request: false,
    }
}

fn directory() -> IssueDirectory {
    IssueDirectory::complete(
        RepoName::parse("acme/churn"),
        [
            issue(1, "Ask", "Reduce churn", "Success: ROC-AUC above 0.8.", &[]),
            issue(2, "Data", "Accounts", "For the Ask #1.", &[]),
            issue(
                5,
                "Experiment",
                "Baseline",
                "### Ask Reference\n\n#1\n",
                &["succeeded"],
            ),
            issue(
                6,
                "Experiment",
                "Boosting",
                "### Ask Reference\n\n#1\n",
                &["failed"],
            ),
            issue(8, "Experiment", "Forest", "### Ask Reference\n\n#1\n", &[]),
            issue(
                9,
                "Experiment",
                "Elsewhere",
                "### Ask Reference\n\n#99\n",
                &[],
            ),
        ],
    )
}

fn evaluation(experiment: u64, pull: u64, auc: f64, c: f64) -> Evaluation {
    Evaluation {
        head_ref: format!("experiment/{experiment}-try"),
        pull,
        verdict: Verdict::Go,
        metrics: BTreeMap::from([(
            "churn_lr".into(),
            BTreeMap::from([("accuracy".into(), 0.7), ("roc_auc".into(), auc)]),
        )]),
        params: BTreeMap::from([("churn_lr".into(), BTreeMap::from([("c".into(), c)]))]),
        data_hash: BTreeMap::from([("churn_lr".into(), "3f2a1c9e77".into())]),
    }
}

#[test]
fn the_leaderboard_ranks_by_the_metric_the_ask_names_and_keeps_failures() {
    let dir = directory();
    let ask = match dir.lookup_number(1) {
        Lookup::Found(a) => a.clone(),
        _ => unreachable!(),
    };
    let evaluations = vec![
        evaluation(5, 10, 0.79, 1.0),
        evaluation(6, 12, 0.70, 0.5),
        // A later evaluation of #6 replaces its earlier one.
        evaluation(6, 12, 0.83, 0.25),
    ];
    let pulls = BTreeMap::from([(10, PullState::Merged), (12, PullState::Closed)]);
    let conventions = crate::config::RepoConfig::parse("version: 1\n", "t.yml")
        .unwrap()
        .rulebook("t.yml")
        .unwrap()
        .conventions;
    let board = leaderboard(&ask, &dir, &conventions, &evaluations, &pulls);
    assert_eq!(board.metric, Some(("roc_auc".into(), true)));
    let order: Vec<u64> = board.rows.iter().map(|r| r.experiment).collect();
    assert_eq!(order, vec![6, 5, 8], "ranked, then the unevaluated");
    assert_eq!(board.rows[0].value, Some(0.83));
    assert_eq!(board.rows[0].status, Some("failed"));
    assert_eq!(board.rows[0].params, "c=0.25");
    let text = render(&ask, &dir, &board, &[]);
    assert!(text.contains("| 1 | #6 Boosting | `failed` | #12 closed | churn_lr | 0.83 | GO | c=0.25 | `3f2a1c9` |"), "{text}");
    assert!(
        text.contains("| – | #8 Forest | open | — | — | not evaluated |"),
        "{text}"
    );
    assert!(text.contains("- #2 Accounts · open"), "{text}");
    assert!(
        !text.contains("#9"),
        "another Ask's experiment is not listed"
    );
}

#[test]
fn the_primary_metric_is_a_whole_word_of_the_ask() {
    let mut ask = issue(
        1,
        "Ask",
        "A",
        "We recalled the accuracy of the old rule; judge by ROC-AUC.",
        &[],
    );
    let evaluation = evaluation(5, 10, 0.8, 1.0);
    let mut with_recall = evaluation.clone();
    with_recall
        .metrics
        .get_mut("churn_lr")
        .unwrap()
        .insert("recall".into(), 0.5);
    assert_eq!(
        primary_metric(&ask, &[with_recall.clone()]).as_deref(),
        Some("accuracy")
    );
    ask.body = "Judge by ROC-AUC, then recall.".into();
    assert_eq!(
        primary_metric(&ask, &[with_recall]).as_deref(),
        Some("roc_auc")
    );
    ask.body = "No metric named.".into();
    assert_eq!(
        primary_metric(&ask, &[evaluation]).as_deref(),
        Some("accuracy")
    );
}

#[test]
fn splicing_replaces_only_the_section_and_is_idempotent() {
    let section = format!("{SECTION_START}\nnew\n{SECTION_END}");
    let body = "Problem.\n\nMore words.";
    let once = splice(body, &section);
    assert_eq!(once, format!("Problem.\n\nMore words.\n\n{section}\n"));
    assert_eq!(splice(&once, &section), once);
    let edited = once.replace("More words.", "More words, edited by a person.");
    let again = splice(&edited, &format!("{SECTION_START}\nnewer\n{SECTION_END}"));
    assert!(
        again.contains("edited by a person")
            && again.contains("newer")
            && !again.contains("\nnew\n")
    );
    assert_eq!(
        outside_section(&again),
        "Problem.\n\nMore words, edited by a person."
    );
}

#[test]
fn only_issues_of_other_kinds_refer_to_an_ask() {
    let dir = directory();
    let data = match dir.lookup_number(2) {
        Lookup::Found(i) => i.clone(),
        _ => unreachable!(),
    };
    assert_eq!(asks_of(&data, &dir), vec![1]);
    let ask = match dir.lookup_number(1) {
        Lookup::Found(i) => i.clone(),
        _ => unreachable!(),
    };
    assert!(asks_of(&ask, &dir).is_empty());
}
