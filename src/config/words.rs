//! The YAML parser's messages in the config's own words: the key on the
//! line, what it takes, and "did you mean" for a near miss. The position
//! (line:column) is kept; only the words change.

/// The closest of `candidates` to `given`, when close enough to be a
/// likely typo: the same but for case, or a small edit distance.
pub fn did_you_mean<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = given.to_lowercase();
    if let Some(same) = candidates.iter().find(|c| c.to_lowercase() == lower) {
        return Some(same);
    }
    // `integer` for `int`, `str` for `string`.
    let prefix = candidates.iter().find(|c| {
        let c = c.to_lowercase();
        c.len() >= 3 && lower.len() >= 3 && (lower.starts_with(&c) || c.starts_with(&lower))
    });
    if let Some(prefix) = prefix {
        return Some(prefix);
    }
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), *c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// The `key: value` written on `line` (1-based) of `text`.
fn key_on_line(text: &str, line: u64) -> Option<(String, String)> {
    let source = text.lines().nth(line.checked_sub(1)? as usize)?;
    let (key, value) = source.trim().trim_start_matches("- ").split_once(':')?;
    Some((key.trim().to_string(), value.trim().to_string()))
}

/// The message to show for the parser's `message` at `line` of `text`.
pub fn explain(message: &str, text: &str, line: u64) -> String {
    let on_line = key_on_line(text, line);
    if message.contains("expected sequence start")
        && let Some((key, value)) = &on_line
    {
        let items = if value.is_empty() { "…" } else { value };
        return format!("`{key}` is a list: write `{key}: [{items}]`");
    }
    if message.contains("did not find expected key")
        || message.contains("mapping values are not allowed")
        || message.contains("did not find expected '-'")
    {
        return "a likely indentation error: the keys of one mapping must start in the same column; compare this line with the key above it".to_string();
    }
    if (message.starts_with("invalid u32") || message.starts_with("invalid type"))
        && let Some((key, value)) = &on_line
    {
        if key == "version" {
            return format!("version must be 1, not {value}");
        }
        if message.starts_with("invalid u") {
            return format!("`{key}` must be a whole number, not {value}");
        }
    }
    with_suggestion(message)
}

/// `unknown field `x`, expected one of a, b` (or `unknown variant`) with
/// the likely meant one named.
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return message.to_string();
    };
    let Some((given, tail)) = rest.split_once('`') else {
        return message.to_string();
    };
    let expected: Vec<&str> = tail
        .split_once("expected one of ")
        .or_else(|| tail.split_once("expected "))
        .map(|(_, list)| {
            list.split(',')
                .map(|c| c.trim().trim_matches('`'))
                .collect()
        })
        .unwrap_or_default();
    match did_you_mean(given, &expected) {
        Some(meant) => format!("{message}; did you mean `{meant}`?"),
        None => message.to_string(),
    }
}

/// Where `path` (keys from the top, as written) is in `text`: the line and
/// column of its last key, found key by key in order. A block or a flow
/// mapping (`params: { C: 1 }`) alike.
pub fn locate(text: &str, path: &[&str]) -> Option<(u64, u64)> {
    let mut from = 0;
    let mut found = None;
    for key in path {
        let at = find_key(&text[from..], key)? + from;
        from = at + key.len();
        found = Some(at);
    }
    let at = found?;
    let line = text[..at].matches('\n').count() as u64 + 1;
    let column = (at - text[..at].rfind('\n').map_or(0, |n| n + 1)) as u64 + 1;
    Some((line, column))
}

/// The byte offset of `key` written as a mapping key in `text`.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut start = 0;
    while let Some(i) = text[start..].find(key) {
        let at = start + i;
        let before = text[..at].chars().next_back();
        let after = text[at + key.len()..].trim_start_matches([' ', '"', '\'']);
        let starts = before
            .is_none_or(|c| c.is_whitespace() || c == '{' || c == ',' || c == '"' || c == '\'');
        if starts && after.starts_with(':') {
            return Some(at);
        }
        start = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_named_and_strangers_are_not() {
        let algorithms = ["logistic_regression", "random_forest", "ridge"];
        assert_eq!(
            did_you_mean("random_forrest", &algorithms),
            Some("random_forest")
        );
        assert_eq!(did_you_mean("C", &["c", "max_iterations"]), Some("c"));
        assert_eq!(did_you_mean("integer", &["int", "float"]), Some("int"));
        assert_eq!(did_you_mean("xgboost", &algorithms), None);
    }

    #[test]
    fn the_parsers_words_become_the_configs() {
        let text = "version: \"one\"\nbranches:\n  main: main\n";
        assert_eq!(
            explain("invalid u32", text, 1),
            "version must be 1, not \"one\""
        );
        assert_eq!(
            explain("expected sequence start", text, 3),
            "`main` is a list: write `main: [main]`"
        );
        assert!(
            explain(
                "while parsing a block mapping, did not find expected key",
                text,
                3
            )
            .starts_with("a likely indentation error")
        );
        assert_eq!(
            explain(
                "unknown field `rulez`, expected one of version, rules, models",
                text,
                1
            ),
            "unknown field `rulez`, expected one of version, rules, models; did you mean `rules`?"
        );
    }

    #[test]
    fn a_key_is_found_where_it_is_written() {
        let text =
            "models:\n  m:\n    c: 2\n    params: { C: 1.0 }\n  n:\n    params:\n      C: 2\n";
        assert_eq!(locate(text, &["models", "m", "params", "C"]), Some((4, 15)));
        assert_eq!(locate(text, &["models", "n", "params", "C"]), Some((7, 7)));
        assert_eq!(locate(text, &["models", "x"]), None);
    }
}
