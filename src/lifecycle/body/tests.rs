use super::*;

#[test]
fn form_rendering_is_read_as_form_shape() {
    let body = "### Description\n\nTry gradient boosting.\n\n### Ask Reference\n\n#12\n\n### Metrics\n\n_No response_\n";
    let parsed = IssueBody::parse(body);
    assert_eq!(parsed.shape, BodyShape::Form);
    assert_eq!(parsed.field("Ask Reference").as_deref(), Some("#12"));
    assert!(is_blank(&parsed.section("Metrics").unwrap().content));
    assert!(!is_blank(&parsed.section("description").unwrap().content));
}

#[test]
fn legacy_link_lines_are_fields() {
    let body = "## Description\n    ***Ask Reference:*** #link-to-ask-issue\n## Results\n    ***Related PR:*** #7  \n";
    let parsed = IssueBody::parse(body);
    assert_eq!(parsed.shape, BodyShape::Legacy);
    assert_eq!(
        parsed.field("Ask Reference").as_deref(),
        Some("#link-to-ask-issue")
    );
    assert_eq!(parsed.field("related pr").as_deref(), Some("#7"));
}

#[test]
fn headings_inside_code_fences_and_comments_are_ignored() {
    let body = "## Overview\n```\n## Goals\n```\n<!-- ## Next Steps -->\ntext\n";
    let parsed = IssueBody::parse(body);
    assert!(parsed.has_heading("Overview"));
    assert!(!parsed.has_heading("Goals"));
    assert!(!parsed.has_heading("Next Steps"));
    assert!(
        parsed
            .section("Overview")
            .unwrap()
            .content
            .contains("## Goals")
    );
}

#[test]
fn children_count_towards_a_parent_section() {
    let body =
        "## Success Criteria\n### Impact\n\n### Metrics\nAUC above 0.8\n## Solution Architecture\n";
    let parsed = IssueBody::parse(body);
    assert!(is_blank(
        &parsed.section("Success Criteria").unwrap().content
    ));
    assert!(
        parsed
            .section_with_children("Success Criteria")
            .unwrap()
            .contains("AUC")
    );
}

#[test]
fn headings_match_without_case_or_trailing_punctuation() {
    let parsed = IssueBody::parse("## What was discovered during this exploration?\nA lot\n");
    assert!(parsed.has_heading("what was discovered during this exploration"));
}

#[test]
fn blank_answers() {
    assert!(is_blank(""));
    assert!(is_blank("_No response_"));
    assert!(is_blank("- [ ] \n- [ ]"));
    assert!(!is_blank("- [ ] Which features leak?"));
}

#[test]
fn task_items_are_read_with_their_state() {
    let items = task_items("- [x] done\n- [ ] to do\n* [X] also done\nplain");
    assert_eq!(
        items,
        vec![
            (true, "done".to_string()),
            (false, "to do".to_string()),
            (true, "also done".to_string())
        ]
    );
}

#[test]
fn unclosed_comment_hides_the_rest_but_keeps_lines() {
    let stripped = strip_html_comments("a\n<!-- b\nc\nd");
    assert_eq!(stripped, "a\n\n\n");
}
