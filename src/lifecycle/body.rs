//! Reading an issue body into sections and fields.
//!
//! Two shapes exist in the wild: what GitHub renders from an issue form
//! (`### Label`, a blank line, the answer, `_No response_` when left empty)
//! and DSLP's legacy markdown templates (`#`/`##`/`###` headings, plus link
//! lines such as `***Ask Reference:*** #12` written as body text).

use std::sync::LazyLock;

use regex::Regex;

/// GitHub writes this for an issue-form field left empty.
pub const NO_RESPONSE: &str = "_No response_";

/// Which template shape an issue body follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyShape {
    /// Rendered from an issue form: only `###` headings.
    Form,
    /// DSLP's markdown templates, or free text with `#`/`##` headings.
    Legacy,
}

/// A heading and the text under it, up to the next heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub level: u8,
    pub title: String,
    /// The text under the heading, with HTML comments removed.
    pub content: String,
    /// 1-based line of the heading in the body.
    pub line: usize,
}

/// A `***Name:*** value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineField {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// An issue body, read.
#[derive(Debug, Clone)]
pub struct IssueBody {
    pub shape: BodyShape,
    pub sections: Vec<Section>,
    pub fields: Vec<InlineField>,
    /// The body with comments and fenced code removed: where links are looked for.
    pub prose: String,
}

static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$").expect("valid regex"));
static INLINE_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[-*]\s+)?\*{2,3}([^*\n]{1,60}?)\*{2,3}\s*:?\s*(.*?)\s*$")
        .expect("valid regex")
});
static FENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^ {0,3}(`{3,}|~{3,})").expect("valid regex"));

impl IssueBody {
    pub fn parse(body: &str) -> IssueBody {
        let without_comments = strip_html_comments(body);
        let mut sections: Vec<Section> = Vec::new();
        let mut fields = Vec::new();
        let mut prose = String::with_capacity(without_comments.len());
        let mut fence: Option<String> = None;
        let mut preamble = String::new();

        for (index, raw_line) in without_comments.lines().enumerate() {
            let line_no = index + 1;
            let line = raw_line.trim_end_matches('\r');
            if let Some(open) = &fence {
                if line.trim_start().starts_with(open.as_str()) {
                    fence = None;
                }
                push_content(&mut sections, &mut preamble, line);
                continue;
            }
            if let Some(captures) = FENCE.captures(line) {
                fence = Some(captures[1].to_string());
                push_content(&mut sections, &mut preamble, line);
                continue;
            }
            prose.push_str(line);
            prose.push('\n');
            if let Some(captures) = HEADING.captures(line) {
                sections.push(Section {
                    level: captures[1].len() as u8,
                    title: clean_heading(&captures[2]),
                    content: String::new(),
                    line: line_no,
                });
                continue;
            }
            if let Some(captures) = INLINE_FIELD.captures(line) {
                let name = captures[1].trim().trim_end_matches(':').trim().to_string();
                if !name.is_empty() {
                    fields.push(InlineField {
                        name,
                        value: captures[2].to_string(),
                        line: line_no,
                    });
                }
            }
            push_content(&mut sections, &mut preamble, line);
        }
        for section in &mut sections {
            section.content = section.content.trim().to_string();
        }
        // A form renders only `###` headings and no inline fields; a body
        // without headings is free text.
        let form =
            !sections.is_empty() && sections.iter().all(|s| s.level >= 3) && fields.is_empty();
        let shape = if form {
            BodyShape::Form
        } else {
            BodyShape::Legacy
        };
        IssueBody {
            shape,
            sections,
            fields,
            prose,
        }
    }

    /// The first section whose heading matches `title` (case and trailing
    /// punctuation ignored).
    pub fn section(&self, title: &str) -> Option<&Section> {
        let wanted = normalise(title);
        self.sections.iter().find(|s| normalise(&s.title) == wanted)
    }

    pub fn has_heading(&self, title: &str) -> bool {
        self.section(title).is_some()
    }

    /// A section's text together with its sub-sections' text: DSLP's
    /// `## Success Criteria` holds nothing itself but `### Metrics` below it.
    pub fn section_with_children(&self, title: &str) -> Option<String> {
        let wanted = normalise(title);
        let start = self
            .sections
            .iter()
            .position(|s| normalise(&s.title) == wanted)?;
        let level = self.sections[start].level;
        let mut text = self.sections[start].content.clone();
        for child in self.sections[start + 1..]
            .iter()
            .take_while(|s| s.level > level)
        {
            text.push('\n');
            text.push_str(&child.content);
        }
        Some(text)
    }

    /// A named value: a `***Name:***` line in a legacy body, or the answer
    /// under a `### Name` heading rendered from a form.
    pub fn field(&self, name: &str) -> Option<String> {
        let wanted = normalise(name);
        if let Some(field) = self.fields.iter().find(|f| normalise(&f.name) == wanted) {
            return Some(field.value.clone());
        }
        self.section(name).map(|s| s.content.clone())
    }
}

fn push_content(sections: &mut [Section], preamble: &mut String, line: &str) {
    let target = match sections.last_mut() {
        Some(section) => &mut section.content,
        None => preamble,
    };
    target.push_str(line);
    target.push('\n');
}

/// Remove `<!-- ... -->` comments; line breaks inside them are kept so line
/// numbers still point at the original body.
pub fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start..].find("-->") {
            Some(end) => {
                let comment = &rest[start..start + end + 3];
                out.extend(comment.chars().filter(|c| *c == '\n'));
                rest = &rest[start + end + 3..];
            }
            None => {
                // An unclosed comment hides the rest, as GitHub renders it.
                out.extend(rest[start..].chars().filter(|c| *c == '\n'));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn clean_heading(text: &str) -> String {
    text.trim().trim_matches('*').trim().to_string()
}

/// The comparable form of a heading or field name.
pub fn normalise(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for word in title.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.trim_end_matches([':', '?', '.'])
        .trim_matches('*')
        .to_lowercase()
}

/// True when a section or field answer carries nothing a person wrote:
/// empty, GitHub's `_No response_`, or only bare list or task markers.
pub fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = strip_list_marker(line.trim());
        line.is_empty() || line == NO_RESPONSE
    })
}

/// `- [ ] text`, `* [x] text`, `- text`, `1. text` → `text`.
pub fn strip_list_marker(line: &str) -> &str {
    let line = line.trim();
    let rest = if let Some(rest) = line
        .strip_prefix("- ")
        .or_else(|| line.strip_prefix("* "))
        .or_else(|| line.strip_prefix("+ "))
    {
        rest
    } else if let Some(pos) = line
        .find(". ")
        .filter(|pos| *pos > 0 && *pos <= 3 && line[..*pos].chars().all(|c| c.is_ascii_digit()))
    {
        &line[pos + 2..]
    } else if line == "-" || line == "*" {
        ""
    } else {
        line
    };
    let rest = rest.trim_start();
    for marker in ["[ ]", "[x]", "[X]"] {
        if let Some(after) = rest.strip_prefix(marker) {
            return after.trim();
        }
    }
    rest.trim()
}

/// Task-list items (`- [ ]` / `- [x]`) in a text, as (checked, text).
pub fn task_items(text: &str) -> Vec<(bool, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("- ")
                .or_else(|| line.strip_prefix("* "))
                .or_else(|| line.strip_prefix("+ "))?
                .trim_start();
            if let Some(after) = rest.strip_prefix("[ ]") {
                Some((false, after.trim().to_string()))
            } else {
                rest.strip_prefix("[x]")
                    .or_else(|| rest.strip_prefix("[X]"))
                    .map(|after| (true, after.trim().to_string()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
