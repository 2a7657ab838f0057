//! DSLP's kinds as the organisation's issue types: at installation, the
//! types an organisation lacks (Ask, Data, Explore, Experiment, Model) are
//! created when the App may (`DSLP_ISSUE_TYPES=act`), or named with how to
//! add them. A personal account has no issue types: labels carry the kind,
//! and nothing is said.

use crate::config::Mode;
use crate::engine::Effect;

/// (name, description, colour) of each DSLP kind's issue type.
pub const DSLP_TYPES: [(&str, &str, &str); 5] = [
    (
        "Ask",
        "A business problem and its success criteria (DSLP)",
        "purple",
    ),
    ("Data", "A dataset to acquire or change (DSLP)", "blue"),
    (
        "Explore",
        "An exploration of the data and its findings (DSLP)",
        "yellow",
    ),
    (
        "Experiment",
        "An approach tried against an Ask (DSLP)",
        "orange",
    ),
    (
        "Model",
        "A succeeded experiment taken to production (DSLP)",
        "pink",
    ),
];

/// The effects for an organisation whose issue types are `existing`
/// (`None`: it has none to have, a personal account), and what to say.
pub fn decide(existing: Option<&[String]>, mode: Mode) -> (Vec<Effect>, Option<String>) {
    let Some(existing) = existing else {
        return (Vec::new(), None);
    };
    let missing: Vec<_> = DSLP_TYPES
        .iter()
        .filter(|(name, _, _)| !existing.iter().any(|e| e.eq_ignore_ascii_case(name)))
        .collect();
    if missing.is_empty() || mode == Mode::Off {
        return (Vec::new(), None);
    }
    let names = missing
        .iter()
        .map(|(name, _, _)| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match mode {
        Mode::Act => (
            missing
                .iter()
                .map(|(name, description, color)| Effect::CreateIssueType {
                    name: name.to_string(),
                    description: description.to_string(),
                    color: color.to_string(),
                })
                .collect(),
            Some(format!("created the organisation's issue types {names}")),
        ),
        _ => (
            Vec::new(),
            Some(format!(
                "the organisation has no issue types {names}: add them (organisation Settings → \
                 Planning → Issue types), or let dslp-bot (DSLP_ISSUE_TYPES=act and the \
                 organisation permission Issue types: write); meanwhile labels carry the kind"
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_missing_types_are_made_and_a_personal_account_gets_none() {
        let existing = vec!["Bug".to_string(), "ask".to_string(), "Model".to_string()];
        let (effects, said) = decide(Some(&existing), Mode::Act);
        let names: Vec<&str> = effects
            .iter()
            .map(|e| match e {
                Effect::CreateIssueType { name, .. } => name.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(names, ["Data", "Explore", "Experiment"]);
        assert!(said.unwrap().contains("`Data`, `Explore`, `Experiment`"));
        let (effects, said) = decide(Some(&existing), Mode::Suggest);
        assert!(effects.is_empty() && said.unwrap().contains("DSLP_ISSUE_TYPES=act"));
        assert_eq!(decide(None, Mode::Act), (Vec::new(), None));
        let all: Vec<String> = DSLP_TYPES.iter().map(|t| t.0.to_string()).collect();
        assert_eq!(
            decide(Some(&all), Mode::Act),
            (Vec::new(), None),
            "none twice"
        );
    }
}
