//! An experiment's status, set by a command: its status label (the others
//! taken off) and, with `/dslp fail "…"`, the TLDR in its Results.

use super::has_label;
use crate::engine::Effect;
use crate::github::IssueUpdate;
use crate::lifecycle::Issue;
use crate::lifecycle::body::IssueBody;
use crate::lifecycle::issue_rules::experiment_tldr;
use crate::lifecycle::labels::{FAILED, ON_HOLD, SUCCEEDED};

/// The effects that give `issue` the status label `status` (removing the
/// other statuses) and record `tldr_text` in its Results when it has no
/// TLDR yet; answers them with the issue as it will then be.
pub fn set(issue: &Issue, status: &str, tldr_text: Option<&str>) -> (Vec<Effect>, Issue) {
    let number = issue.number.unwrap_or_default();
    let mut after = issue.clone();
    let mut effects = Vec::new();
    for other in [SUCCEEDED, FAILED, ON_HOLD] {
        if other != status && has_label(issue, other) {
            effects.push(Effect::RemoveLabel {
                issue: number,
                label: other.to_string(),
            });
            after.labels.retain(|l| l != other);
        }
    }
    if !has_label(issue, status) {
        effects.push(Effect::AddLabels {
            issue: number,
            labels: vec![status.to_string()],
        });
        after.labels.push(status.to_string());
    }
    if let Some(text) = tldr_text.filter(|t| !t.trim().is_empty())
        && tldr(issue).is_none()
    {
        after.body = with_results(&issue.body, text);
        effects.push(Effect::EditIssue {
            issue: number,
            update: IssueUpdate {
                body: Some(after.body.clone()),
                ..IssueUpdate::default()
            },
        });
    }
    (effects, after)
}

/// The TLDR of an experiment: its Results section (DSLP R21).
pub fn tldr(issue: &Issue) -> Option<String> {
    experiment_tldr(&IssueBody::parse(&issue.body))
}

/// The body with `text` as its Results TLDR: in place of an empty Results
/// section, or as a new one at the end.
pub fn with_results(body: &str, text: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    fn heading(line: &str) -> Option<(usize, &str)> {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|c| *c == '#').count();
        (hashes > 0 && t[hashes..].starts_with(' ')).then(|| (hashes, t[hashes..].trim()))
    }
    if let Some(start) = lines
        .iter()
        .position(|l| heading(l).is_some_and(|(_, title)| title.eq_ignore_ascii_case("Results")))
    {
        let level = heading(lines[start]).map_or(3, |(h, _)| h);
        let end = lines[start + 1..]
            .iter()
            .position(|l| heading(l).is_some_and(|(h, _)| h <= level))
            .map_or(lines.len(), |i| start + 1 + i);
        let mut out: Vec<String> = lines[..=start].iter().map(|l| l.to_string()).collect();
        out.push(String::new());
        out.push(format!("TLDR: {}", text.trim()));
        out.push(String::new());
        out.extend(lines[end..].iter().map(|l| l.to_string()));
        return out.join("\n");
    }
    format!(
        "{}\n\n### Results\n\nTLDR: {}\n",
        body.trim_end(),
        text.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tldr_fills_an_empty_results_section_or_adds_one() {
        let form = "### Description\n\nBoosting.\n\n### Results\n\n_No response_\n\n### Experiment History\n\n_No response_\n";
        let filled = with_results(form, "trees overfit");
        assert!(
            filled.contains("### Results\n\nTLDR: trees overfit\n\n### Experiment History"),
            "{filled}"
        );
        assert_eq!(
            experiment_tldr(&IssueBody::parse(&filled)).as_deref(),
            Some("TLDR: trees overfit")
        );
        let bare = with_results("Just words.", "no signal");
        assert_eq!(bare, "Just words.\n\n### Results\n\nTLDR: no signal\n");
    }

    #[test]
    fn a_status_takes_the_others_off_and_a_tldr_fills_the_results() {
        let issue = Issue {
            number: Some(6),
            labels: vec!["Experiment".into(), "succeeded".into()],
            body: "### Results\n\n_No response_\n".into(),
            ..Issue::default()
        };
        let (effects, after) = set(&issue, FAILED, Some("no lift"));
        assert_eq!(effects.len(), 3, "{effects:?}");
        assert_eq!(
            effects[0],
            Effect::RemoveLabel {
                issue: 6,
                label: "succeeded".into()
            }
        );
        assert_eq!(
            after.labels,
            vec!["Experiment".to_string(), "failed".to_string()]
        );
        assert!(tldr(&after).is_some());
        // Already so: nothing to do.
        assert!(set(&after, FAILED, Some("again")).0.is_empty());
    }
}
