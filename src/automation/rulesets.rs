//! Rulesets instead of after-the-fact warnings: at set-up, two repository
//! rulesets the App keeps — branch names restricted to DSLP's patterns (the
//! policies `dslp lint branch` uses), and the `dslp` check required on the
//! default branch — each letting the App itself bypass (its set-up branch).
//! A ruleset of another name is someone else's and never touched; the
//! App's own are brought up to date when the policies change.

use serde_json::{Value, json};

use crate::config::Mode;
use crate::engine::{CHECK_NAME, Effect};
use crate::lifecycle::{BranchKind, Conventions};

/// The App's rulesets, by name.
pub const BRANCH_NAMES: &str = "dslp: branch names";
pub const REQUIRED_CHECK: &str = "dslp: required check";

/// What the plan is decided from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The repository's rulesets (id, name); `None`: rulesets are not
    /// available (an older GitHub Enterprise Server, no permission).
    pub existing: Option<&'a [(u64, String)]>,
    pub conventions: &'a Conventions,
    /// The App, to bypass its own rules.
    pub app_id: Option<u64>,
}

/// Effects, what was done, and the suggestion to make instead.
pub fn plan(mode: Mode, facts: &Facts<'_>) -> (Vec<Effect>, Vec<String>, Option<String>) {
    let rulesets = [branch_names(facts), required_check(facts)];
    match (mode, facts.existing) {
        (Mode::Off, _) => (Vec::new(), Vec::new(), None),
        (Mode::Act, Some(existing)) => {
            let effects = rulesets
                .into_iter()
                .map(|ruleset| {
                    let name = ruleset["name"].as_str().unwrap_or_default();
                    let id = existing.iter().find(|(_, n)| n == name).map(|(id, _)| *id);
                    Effect::PutRuleset { id, ruleset }
                })
                .collect();
            let done = vec![format!(
                "rulesets `{BRANCH_NAMES}` (DSLP branch names) and `{REQUIRED_CHECK}` (the `{CHECK_NAME}` check on the default branch) are in place"
            )];
            (effects, done, None)
        }
        _ => {
            let body = serde_json::to_string(&rulesets[0]).unwrap_or_default();
            (
                Vec::new(),
                Vec::new(),
                Some(format!(
                    "Restrict branch names to DSLP's with a ruleset: *Settings → Rules → Rulesets → New branch ruleset*, or `gh api -X POST repos/{{owner}}/{{repo}}/rulesets --input ruleset.json` with `{body}`."
                )),
            )
        }
    }
}

/// Every DSLP branch pattern, as one regular expression (named groups made
/// plain: GitHub's engine takes no repeated group names).
pub fn branch_pattern(conventions: &Conventions) -> String {
    let patterns: Vec<String> = BranchKind::ALL
        .iter()
        .filter_map(|kind| conventions.policies.get(*kind).policy.pattern.clone())
        .map(|p| {
            format!(
                "(?:{})",
                p.replace("(?P<number>", "(").replace("(?P<slug>", "(")
            )
        })
        .collect();
    patterns.join("|")
}

fn bypass(facts: &Facts<'_>) -> Value {
    match facts.app_id {
        Some(id) => {
            json!([{ "actor_id": id, "actor_type": "Integration", "bypass_mode": "always" }])
        }
        None => json!([]),
    }
}

fn branch_names(facts: &Facts<'_>) -> Value {
    // Collaboration branches and the App's own are named elsewhere.
    let mut exclude = vec![
        "~DEFAULT_BRANCH".to_string(),
        "refs/heads/dslp/**".to_string(),
    ];
    exclude.extend(
        facts
            .conventions
            .branches
            .integration_names()
            .iter()
            .map(|b| format!("refs/heads/{b}")),
    );
    json!({
        "name": BRANCH_NAMES,
        "target": "branch",
        "enforcement": "active",
        "bypass_actors": bypass(facts),
        "conditions": { "ref_name": { "include": ["~ALL"], "exclude": exclude } },
        "rules": [{
            "type": "branch_name_pattern",
            "parameters": {
                "name": "DSLP branch names",
                "operator": "regex",
                "pattern": branch_pattern(facts.conventions),
                "negate": false
            }
        }]
    })
}

fn required_check(facts: &Facts<'_>) -> Value {
    json!({
        "name": REQUIRED_CHECK,
        "target": "branch",
        "enforcement": "active",
        "bypass_actors": bypass(facts),
        "conditions": { "ref_name": { "include": ["~DEFAULT_BRANCH"], "exclude": [] } },
        "rules": [{
            "type": "required_status_checks",
            "parameters": {
                "required_status_checks": [{ "context": CHECK_NAME }],
                "strict_required_status_checks_policy": false
            }
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conventions() -> Conventions {
        Conventions::default()
    }

    #[test]
    fn the_pattern_takes_every_dslp_branch_and_nothing_else() {
        let conventions = conventions();
        let pattern = regex::Regex::new(&branch_pattern(&conventions)).unwrap();
        for name in [
            "data/2-accounts",
            "explore/4-seasonality",
            "experiment/6-gbm",
            "model/7-churn",
            "12-readme",
        ] {
            assert!(pattern.is_match(name), "{name}");
        }
        for name in ["feature/x", "experiment/gbm", "fix-typo", "data/abc"] {
            assert!(!pattern.is_match(name), "{name}");
        }
        assert!(
            !branch_pattern(&conventions).contains("?P<"),
            "no named groups"
        );
        assert!(BranchKind::ALL.len() > 4);
    }

    #[test]
    fn the_apps_own_rulesets_are_kept_others_left_and_unavailable_is_suggested() {
        let conventions = conventions();
        let existing = [
            (7, REQUIRED_CHECK.to_string()),
            (9, "release freeze".to_string()),
        ];
        let facts = Facts {
            existing: Some(&existing),
            conventions: &conventions,
            app_id: Some(42),
        };
        let (effects, done, suggestion) = plan(Mode::Act, &facts);
        let ids: Vec<Option<u64>> = effects
            .iter()
            .map(|e| match e {
                Effect::PutRuleset { id, .. } => *id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            ids,
            vec![None, Some(7)],
            "created once, then updated; #9 untouched"
        );
        assert!(done[0].contains(BRANCH_NAMES) && suggestion.is_none());
        match &effects[0] {
            Effect::PutRuleset { ruleset, .. } => {
                assert_eq!(ruleset["bypass_actors"][0]["actor_id"], 42);
                assert_eq!(ruleset["rules"][0]["type"], "branch_name_pattern");
            }
            other => panic!("{other:?}"),
        }
        let unavailable = Facts {
            existing: None,
            ..facts.clone()
        };
        let (effects, _, suggestion) = plan(Mode::Act, &unavailable);
        assert!(effects.is_empty() && suggestion.unwrap().contains("rulesets"));
        assert_eq!(plan(Mode::Off, &facts).0.len(), 0);
    }
}
