//! References from one issue to another: `#N`, `owner/repo#N` and issue or
//! pull-request URLs.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl RepoName {
    /// Parses `owner/name`.
    pub fn parse(text: &str) -> Option<RepoName> {
        let (owner, name) = text.trim().split_once('/')?;
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (valid(owner) && valid(name)).then(|| RepoName {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    /// GitHub compares owner and repository names without case.
    pub fn same_as(&self, other: &RepoName) -> bool {
        self.owner.eq_ignore_ascii_case(&other.owner) && self.name.eq_ignore_ascii_case(&other.name)
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A reference to an issue or pull request; `repo` is `None` for `#N`,
/// which means "this repository".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct IssueRef {
    pub repo: Option<RepoName>,
    pub number: u64,
}

impl IssueRef {
    pub fn local(number: u64) -> IssueRef {
        IssueRef { repo: None, number }
    }

    /// The issue number when the reference points into `current` (or is a
    /// bare `#N`); `None` for another repository.
    pub fn number_in(&self, current: Option<&RepoName>) -> Option<u64> {
        match (&self.repo, current) {
            (None, _) => Some(self.number),
            (Some(repo), Some(current)) if repo.same_as(current) => Some(self.number),
            _ => None,
        }
    }
}

impl fmt::Display for IssueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repo {
            Some(repo) => write!(f, "{repo}#{}", self.number),
            None => write!(f, "#{}", self.number),
        }
    }
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/(?:issues|pull)/([0-9]{1,10})\b")
        .expect("valid regex")
});
static CROSS_REPO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^A-Za-z0-9_./-])([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)#([0-9]{1,10})\b")
        .expect("valid regex")
});
static LOCAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^A-Za-z0-9_&/#-])#([0-9]{1,10})\b").expect("valid regex"));
static CODE_SPAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`[^`\n]*`").expect("valid regex"));

/// Every issue reference in `text`, in order of appearance, without
/// duplicates. Inline code spans are skipped.
pub fn find_refs(text: &str) -> Vec<IssueRef> {
    let text = CODE_SPAN.replace_all(text, " ");
    let mut found: Vec<(usize, IssueRef)> = Vec::new();
    let mut taken: Vec<std::ops::Range<usize>> = Vec::new();

    for captures in URL.captures_iter(&text) {
        let whole = captures.get(0).expect("match");
        if let Ok(number) = captures[3].parse() {
            found.push((
                whole.start(),
                IssueRef {
                    repo: Some(RepoName {
                        owner: captures[1].to_string(),
                        name: captures[2].to_string(),
                    }),
                    number,
                },
            ));
        }
        taken.push(whole.range());
    }
    let free =
        |pos: usize, taken: &[std::ops::Range<usize>]| !taken.iter().any(|r| r.contains(&pos));
    for captures in CROSS_REPO.captures_iter(&text) {
        let start = captures.get(1).expect("group").start();
        if !free(start, &taken) {
            continue;
        }
        if let Ok(number) = captures[3].parse() {
            found.push((
                start,
                IssueRef {
                    repo: Some(RepoName {
                        owner: captures[1].to_string(),
                        name: captures[2].to_string(),
                    }),
                    number,
                },
            ));
        }
        taken.push(start..captures.get(0).expect("match").end());
    }
    for captures in LOCAL.captures_iter(&text) {
        let number_match = captures.get(1).expect("group");
        if !free(number_match.start(), &taken) {
            continue;
        }
        if let Ok(number) = number_match.as_str().parse() {
            found.push((number_match.start(), IssueRef::local(number)));
        }
    }
    found.sort_by_key(|(pos, _)| *pos);
    let mut refs: Vec<IssueRef> = Vec::with_capacity(found.len());
    for (_, reference) in found {
        if !refs.contains(&reference) {
            refs.push(reference);
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(n: u64) -> IssueRef {
        IssueRef::local(n)
    }

    #[test]
    fn finds_all_three_forms() {
        let refs = find_refs(
            "see #12, acme/churn#3 and https://github.com/acme/churn/issues/40 or https://ghe.corp:8443/acme/churn/pull/41",
        );
        let acme = RepoName::parse("acme/churn").unwrap();
        assert_eq!(
            refs,
            vec![
                local(12),
                IssueRef {
                    repo: Some(acme.clone()),
                    number: 3
                },
                IssueRef {
                    repo: Some(acme.clone()),
                    number: 40
                },
                IssueRef {
                    repo: Some(acme),
                    number: 41
                },
            ]
        );
    }

    #[test]
    fn ignores_placeholders_anchors_entities_and_code() {
        assert!(find_refs("#link-to-ask-issue [link-to-ask-this-is-addressing]").is_empty());
        assert!(find_refs("&#123; page.html#12 `#5` ### 3").is_empty());
    }

    #[test]
    fn url_is_not_also_read_as_cross_repo_or_local() {
        assert_eq!(
            find_refs("https://github.com/a/b/issues/7#issuecomment-1").len(),
            1
        );
    }

    #[test]
    fn reference_resolves_only_in_its_repository() {
        let here = RepoName::parse("Acme/Churn").unwrap();
        assert_eq!(local(4).number_in(Some(&here)), Some(4));
        let same = IssueRef {
            repo: RepoName::parse("acme/churn"),
            number: 5,
        };
        assert_eq!(same.number_in(Some(&here)), Some(5));
        let other = IssueRef {
            repo: RepoName::parse("acme/other"),
            number: 5,
        };
        assert_eq!(other.number_in(Some(&here)), None);
    }
}
