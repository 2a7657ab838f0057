//! An issue as the rules see it, and what is known about the others.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::body::IssueBody;
use super::kinds::{IssueKind, TEMPLATES, Template};
use super::links::{IssueRef, RepoName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueState {
    #[default]
    Open,
    Closed,
}

impl IssueState {
    /// GitHub's `state` (`open`, `closed`; `gh` writes `OPEN`, `CLOSED`).
    pub fn from_github(text: &str) -> IssueState {
        if text.eq_ignore_ascii_case("closed") {
            IssueState::Closed
        } else {
            IssueState::Open
        }
    }
}

/// The facts about one issue that the rules use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub number: Option<u64>,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub state: IssueState,
    pub is_pull_request: bool,
}

impl Issue {
    /// The issue's single type label, if it has exactly one.
    /// The issue with its GitHub issue type counted as its type label:
    /// an issue typed `Experiment` is an Experiment even without the label.
    pub fn with_type(mut self, issue_type: Option<&str>) -> Issue {
        if let Some(name) = issue_type
            && !IssueKind::all_from_labels(&[name.to_string()]).is_empty()
            && !self.labels.iter().any(|l| l.eq_ignore_ascii_case(name))
        {
            self.labels.push(name.to_string());
        }
        self
    }

    pub fn labelled_kind(&self) -> Option<IssueKind> {
        match IssueKind::all_from_labels(&self.labels).as_slice() {
            [kind] => Some(*kind),
            _ => None,
        }
    }
}

/// How an issue's kind was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub kind: IssueKind,
    /// The template the body follows best.
    pub template: &'static Template,
    /// False when no type label was found and the kind was read off the
    /// body's headings.
    pub from_label: bool,
}

/// The label decides; without one, the heading signature does.
pub fn classify(issue: &Issue, body: &IssueBody) -> Option<Classification> {
    let labelled = IssueKind::all_from_labels(&issue.labels);
    if let Some(first) = labelled.first().copied() {
        // With several type labels (an R10 error), judge the body by the one it follows.
        let kind = best_by_signature(body, |t| labelled.contains(&t.kind))
            .map(|t| t.kind)
            .unwrap_or(first);
        return Some(Classification {
            kind,
            template: best_template(kind, body),
            from_label: true,
        });
    }
    best_by_signature(body, |_| true).map(|template| Classification {
        kind: template.kind,
        template,
        from_label: false,
    })
}

/// The template whose signature headings the body carries best: at least
/// two of them and half of the signature.
fn best_by_signature(
    body: &IssueBody,
    allowed: impl Fn(&Template) -> bool,
) -> Option<&'static Template> {
    let mut best: Option<(f64, &'static Template)> = None;
    for template in TEMPLATES.into_iter().filter(|t| allowed(t)) {
        let present = template
            .signature
            .iter()
            .filter(|title| body.has_heading(title) || body.field(title).is_some())
            .count();
        let score = present as f64 / template.signature.len() as f64;
        if present >= 2 && score >= 0.5 && best.is_none_or(|(top, _)| score > top) {
            best = Some((score, template));
        }
    }
    best.map(|(_, template)| template)
}

fn best_template(kind: IssueKind, body: &IssueBody) -> &'static Template {
    let templates = kind.templates();
    let present = |t: &Template| {
        t.legacy_headings
            .iter()
            .chain(t.form_labels)
            .filter(|h| body.has_heading(h))
            .count()
    };
    // max_by_key keeps the last maximum; iterate in reverse so ties pick the first template.
    templates
        .iter()
        .rev()
        .max_by_key(|t| present(t))
        .unwrap_or(&templates[0])
}

/// What we know of the repository's other issues. `complete` says whether
/// an absent number means "no such issue" or only "not known to us".
#[derive(Debug, Clone, Default)]
pub struct IssueDirectory {
    pub repo: Option<RepoName>,
    issues: BTreeMap<u64, Issue>,
    complete: bool,
}

/// The answer to "what is issue #N?".
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Found(&'a Issue),
    /// The directory is complete and has no such issue.
    Missing,
    /// Another repository, or a directory that does not know.
    Unknown,
}

impl IssueDirectory {
    /// A directory that knows nothing: links can be read but not verified.
    pub fn unknown() -> IssueDirectory {
        IssueDirectory::default()
    }

    /// A directory holding every issue of the repository.
    pub fn complete(repo: Option<RepoName>, issues: impl IntoIterator<Item = Issue>) -> Self {
        let issues = issues
            .into_iter()
            .filter_map(|issue| issue.number.map(|n| (n, issue)))
            .collect();
        IssueDirectory {
            repo,
            issues,
            complete: true,
        }
    }

    /// A directory holding some issues; absent numbers stay unknown.
    pub fn partial(repo: Option<RepoName>, issues: impl IntoIterator<Item = Issue>) -> Self {
        IssueDirectory {
            complete: false,
            ..IssueDirectory::complete(repo, issues)
        }
    }

    pub fn lookup(&self, reference: &IssueRef) -> Lookup<'_> {
        let Some(number) = reference.number_in(self.repo.as_ref()) else {
            return Lookup::Unknown;
        };
        self.lookup_number(number)
    }

    pub fn lookup_number(&self, number: u64) -> Lookup<'_> {
        match self.issues.get(&number) {
            Some(issue) => Lookup::Found(issue),
            None if self.complete => Lookup::Missing,
            None => Lookup::Unknown,
        }
    }

    /// Known issues (not pull requests) carrying `kind`'s label.
    pub fn of_kind(&self, kind: IssueKind) -> impl Iterator<Item = &Issue> {
        self.issues
            .values()
            .filter(move |i| !i.is_pull_request && i.labels.iter().any(|l| l == kind.label()))
    }

    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_github_issue_type_counts_as_the_type_label() {
        let issue = Issue {
            number: Some(3),
            title: "Gradient boosting".into(),
            body: String::new(),
            labels: vec!["good first issue".into()],
            state: IssueState::Open,
            is_pull_request: false,
        };
        let typed = issue.clone().with_type(Some("Experiment"));
        assert_eq!(typed.labelled_kind(), Some(IssueKind::Experiment));
        assert_eq!(issue.clone().with_type(Some("Bug")).labelled_kind(), None);
        let labelled = Issue {
            labels: vec!["Experiment".into()],
            ..issue
        };
        let again = labelled.clone().with_type(Some("Experiment"));
        assert_eq!(again.labels, labelled.labels, "not twice");
    }
}
