//! Property tests: the parsers take anything users and GitHub can send.

use dslp_bot::config::RepoConfig;
use dslp_bot::lifecycle::body::IssueBody;
use dslp_bot::lifecycle::links::find_refs;
use dslp_bot::lifecycle::{Conventions, Issue, IssueDirectory, PullRequest, Rulebook};
use proptest::prelude::*;

/// Text made of the pieces issue bodies are made of, so the parser's
/// interesting paths are reached, plus arbitrary characters.
fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("## ".to_string()),
        Just("### ".to_string()),
        Just("# ".to_string()),
        Just("\n".to_string()),
        Just("```".to_string()),
        Just("~~~".to_string()),
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just("***Ask Reference:*** ".to_string()),
        Just("***Based on Experiment:***".to_string()),
        Just("- [ ] ".to_string()),
        Just("- [x] ".to_string()),
        Just("_No response_".to_string()),
        Just("#12".to_string()),
        Just("acme/churn#3".to_string()),
        Just("https://github.com/a/b/issues/9".to_string()),
        Just("`#4`".to_string()),
        Just("Goals".to_string()),
        Just("Results".to_string()),
        "\\PC{0,12}",
    ];
    prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

fn labels() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            Just("Ask"),
            Just("Data"),
            Just("Explore"),
            Just("Experiment"),
            Just("Model"),
            Just("Deploy"),
            Just("succeeded"),
            Just("failed"),
            Just("on hold"),
            Just("bug"),
        ]
        .prop_map(str::to_string),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn body_parser_and_issue_rules_never_panic(body in markdownish(), labels in labels(), title in "\\PC{0,40}") {
        let parsed = IssueBody::parse(&body);
        for section in &parsed.sections {
            prop_assert!(section.line >= 1);
        }
        let issue = Issue { number: Some(5), title, body, labels, ..Issue::default() };
        let directory = IssueDirectory::complete(None, vec![issue.clone()]);
        let report = Rulebook::default().check_issue(&issue, &directory);
        for finding in report.findings {
            prop_assert!(!finding.message.is_empty() && !finding.fix.is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_as_body_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let body = String::from_utf8_lossy(&bytes);
        let _ = IssueBody::parse(&body);
        let _ = find_refs(&body);
    }

    #[test]
    fn found_links_are_in_the_text(text in markdownish()) {
        for reference in find_refs(&text) {
            prop_assert!(text.contains(&reference.number.to_string()));
        }
    }

    #[test]
    fn branch_classifier_and_pr_rules_never_panic(head in "\\PC{0,40}", base in "\\PC{0,20}", body in markdownish()) {
        let conventions = Conventions::default();
        let branch = conventions.classify(&head);
        if branch.kind.is_some() && branch.number.is_some() {
            prop_assert!(head.contains(&branch.number.unwrap().to_string()));
        }
        let pr = PullRequest { head, base, body: Some(body), ..PullRequest::default() };
        let _ = Rulebook::default().check_pull_request(&pr, &IssueDirectory::unknown());
    }

    #[test]
    fn typed_branch_names_round_trip(kind in prop_oneof![Just("data"), Just("explore"), Just("experiment"), Just("model")], number in 1u64..1_000_000, slug in "[A-Za-z0-9][A-Za-z0-9._/-]{0,30}") {
        let name = format!("{kind}/{number}-{slug}");
        let branch = Conventions::default().classify(&name);
        prop_assert_eq!(branch.kind.map(|k| k.as_str()), Some(kind));
        prop_assert_eq!(branch.number, Some(number));
        prop_assert_eq!(branch.slug.as_deref(), Some(slug.as_str()));
    }

    #[test]
    fn config_parser_never_panics(text in "(version: 1\n)?(\\PC|\n|:| |\\[|\\]|\\{|\\}){0,200}") {
        let _ = RepoConfig::parse(&text, "dslp.yml");
    }
}
