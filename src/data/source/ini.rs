//! The INI dialect of `.dvc/config`, `~/.aws/credentials` and
//! `.lfsconfig`: `[section]` (or `['remote "name"']`), `key = value`,
//! `#` and `;` comments.

use std::collections::BTreeMap;

pub type Sections = BTreeMap<String, BTreeMap<String, String>>;

pub fn sections(text: &str) -> Sections {
    let mut out = Sections::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().trim_matches('\'').to_string();
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(key.trim().to_string(), value.trim().to_string());
        }
    }
    out
}

/// One value, `[section] key`.
pub fn value(text: &str, section: &str, key: &str) -> Option<String> {
    sections(text).get(section)?.get(key).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_comments_and_quoted_names() {
        let text = "# c\n[core]\n  remote = s3\n['remote \"s3\"']\nurl = s3://b/p\n; x\n[lfs]\nurl=https://h/info/lfs\n";
        let s = sections(text);
        assert_eq!(s["core"]["remote"], "s3");
        assert_eq!(s["remote \"s3\""]["url"], "s3://b/p");
        assert_eq!(
            value(text, "lfs", "url").as_deref(),
            Some("https://h/info/lfs")
        );
        assert_eq!(value(text, "lfs", "nothing"), None);
    }
}
