//! Issues read from files: a markdown body, one issue as GitHub JSON (the
//! REST shape or `gh issue view --json`), or an export of many
//! (`gh issue list --json number,title,body,labels,state`).
//!
//! Our own small structs, lenient to missing fields.

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::lifecycle::{Issue, IssueState};
use crate::timestamp::unix_seconds;

#[derive(Debug, Deserialize)]
struct IssueJson {
    #[serde(default)]
    number: Option<u64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Vec<LabelJson>,
    #[serde(default)]
    state: Option<String>,
    /// REST marks pull requests with this key.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
    /// `gh` marks them with this one.
    #[serde(default, rename = "isPullRequest")]
    is_pull_request: Option<bool>,
    /// `gh`'s `createdAt`, REST's `created_at`.
    #[serde(default, alias = "createdAt")]
    created_at: Option<String>,
    #[serde(default, alias = "closedAt")]
    closed_at: Option<String>,
}

/// An issue with when it was opened and closed (unix seconds).
#[derive(Debug, Clone)]
pub struct DatedIssue {
    pub issue: Issue,
    pub created: Option<u64>,
    pub closed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LabelJson {
    Name(String),
    Object { name: String },
}

impl From<IssueJson> for Issue {
    fn from(json: IssueJson) -> Issue {
        Issue {
            number: json.number,
            title: json.title.unwrap_or_default(),
            body: json.body.unwrap_or_default(),
            labels: json
                .labels
                .into_iter()
                .map(|label| match label {
                    LabelJson::Name(name) | LabelJson::Object { name } => name,
                })
                .collect(),
            state: IssueState::from_github(json.state.as_deref().unwrap_or_default()),
            is_pull_request: json.pull_request.is_some_and(|v| !v.is_null())
                || json.is_pull_request == Some(true),
        }
    }
}

/// One issue: JSON when the text is a JSON object, a markdown body otherwise.
pub fn parse_issue(text: &str, source: &str) -> Result<(Issue, bool)> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let json: IssueJson = serde_json::from_str(text)
            .with_context(|| format!("{source} looks like JSON but is not a GitHub issue"))?;
        return Ok((json.into(), true));
    }
    Ok((
        Issue {
            body: text.to_string(),
            ..Issue::default()
        },
        false,
    ))
}

/// An export of many issues: a JSON array of issues.
pub fn parse_export(text: &str, source: &str) -> Result<Vec<Issue>> {
    Ok(parse_dated_export(text, source)?
        .into_iter()
        .map(|d| d.issue)
        .collect())
}

/// An export with the issues' dates
/// (`gh issue list --state all --limit 1000 --json number,title,labels,state,createdAt,closedAt`).
pub fn parse_dated_export(text: &str, source: &str) -> Result<Vec<DatedIssue>> {
    let value: serde_json::Value = serde_json::from_str(text).with_context(|| {
        format!("{source} is not JSON; export issues with `gh issue list --state all --limit 1000 --json number,title,body,labels,state`")
    })?;
    let serde_json::Value::Array(items) = value else {
        bail!("{source} must hold a JSON array of issues");
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value::<IssueJson>(item)
                .map(|json| {
                    let created = json.created_at.as_deref().and_then(unix_seconds);
                    let closed = json.closed_at.as_deref().and_then(unix_seconds);
                    DatedIssue {
                        issue: Issue::from(json),
                        created,
                        closed,
                    }
                })
                .with_context(|| format!("{source}: entry {index} is not an issue"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_and_gh_shapes_are_both_read() {
        let rest = r#"{"number": 3, "title": "t", "body": null, "state": "closed",
            "labels": [{"name": "Experiment", "color": "8569c6"}], "pull_request": null}"#;
        let (issue, from_json) = parse_issue(rest, "x").unwrap();
        assert!(from_json);
        assert_eq!(issue.number, Some(3));
        assert_eq!(issue.state, IssueState::Closed);
        assert_eq!(issue.labels, vec!["Experiment".to_string()]);
        assert!(!issue.is_pull_request);

        let gh = r#"[{"number": 4, "title": "t", "body": "b", "state": "OPEN", "labels": ["Ask"], "isPullRequest": true}]"#;
        let issues = parse_export(gh, "x").unwrap();
        assert_eq!(issues[0].state, IssueState::Open);
        assert!(issues[0].is_pull_request);
    }

    #[test]
    fn markdown_is_a_body_and_broken_json_is_explained() {
        let (issue, from_json) = parse_issue("## Overview\n", "x").unwrap();
        assert!(!from_json);
        assert_eq!(issue.body, "## Overview\n");
        let err = parse_issue("{\"title\": ", "issue.json").unwrap_err();
        assert!(format!("{err:#}").contains("issue.json"));
        assert!(parse_export("{}", "e.json").is_err());
    }
}
