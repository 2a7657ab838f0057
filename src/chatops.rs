//! `/dslp` commands in issue and pull-request comments. Pure: reading a
//! comment into commands, and the help text, generated from the command
//! table so that it cannot drift from what is understood.

/// A command dslp-bot understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Help,
    Rerun,
    Succeed,
    Fail,
    Promote,
    OkToTest,
}

impl Command {
    /// Whether the command changes something, and so needs write access.
    pub fn acts(self) -> bool {
        self != Command::Help
    }
}

/// One row of the command table: the word, what it does.
pub struct CommandSpec {
    pub command: Command,
    pub word: &'static str,
    pub summary: &'static str,
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        command: Command::Help,
        word: "help",
        summary: "show this list",
    },
    CommandSpec {
        command: Command::Rerun,
        word: "rerun",
        summary: "check this issue or pull request again (for a pull request: rules, data tests and training)",
    },
    CommandSpec {
        command: Command::Succeed,
        word: "succeed",
        summary: "label this experiment `succeeded` and start its Model (issue, `model/` branch, pull request retargeted)",
    },
    CommandSpec {
        command: Command::Fail,
        word: "fail",
        summary: "`/dslp fail \"what we learned\"`: label this experiment `failed` with its TLDR, then close its pull request unmerged and the issue",
    },
    CommandSpec {
        command: Command::Promote,
        word: "promote",
        summary: "for a succeeded experiment: open its Model issue and branch and retarget its pull request",
    },
    CommandSpec {
        command: Command::OkToTest,
        word: "ok-to-test",
        summary: "allow dslp-bot to run the data tests and training of this pull request from a fork",
    },
];

/// What a `/dslp` line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A command and the rest of its line (the TLDR of `fail`), unquoted.
    Known(Command, String),
    /// A word that is not a command, with the closest one if any is close.
    Unknown {
        word: String,
        suggestion: Option<&'static str>,
    },
}

/// The `/dslp` commands of a comment, in order. Lines inside code fences
/// and quoted lines (`>`) are someone showing a command, not giving one.
pub fn commands(comment: &str) -> Vec<Request> {
    let mut in_fence = false;
    let mut found = Vec::new();
    for line in comment.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || trimmed.starts_with('>') || line.starts_with("    ") {
            continue;
        }
        let Some(rest) = trimmed.strip_prefix("/dslp") else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            continue; // `/dslpfoo` is not ours
        }
        let rest = rest.trim();
        let (word, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let word = if word.is_empty() {
            "help".to_string()
        } else {
            word.to_lowercase()
        };
        let argument = unquote(argument.trim());
        found.push(match COMMANDS.iter().find(|c| c.word == word) {
            Some(spec) => Request::Known(spec.command, argument),
            None => Request::Unknown {
                suggestion: closest(&word),
                word,
            },
        });
    }
    found
}

fn unquote(text: &str) -> String {
    for (open, close) in [('"', '"'), ('\'', '\''), ('“', '”')] {
        if let Some(inner) = text.strip_prefix(open).and_then(|t| t.strip_suffix(close)) {
            return inner.trim().to_string();
        }
    }
    text.to_string()
}

/// The command within two edits of `word`, if there is one.
fn closest(word: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .map(|c| (edit_distance(word, c.word), c.word))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, w)| w)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The help text, from the command table.
pub fn help() -> String {
    let mut text = String::from("dslp-bot understands these commands, one per line:\n\n");
    for spec in COMMANDS {
        text.push_str(&format!("- `/dslp {}`: {}\n", spec.word, spec.summary));
    }
    text
}

/// The answer to an unknown command.
pub fn unknown(word: &str, suggestion: Option<&str>) -> String {
    let hint = match suggestion {
        Some(s) => format!(" Did you mean `/dslp {s}`?"),
        None => String::new(),
    };
    format!(
        "`/dslp {word}` is not a command I know.{hint}\n\n{}",
        help()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands_and_skips_code_and_quotes() {
        let comment = "Thanks!\n/dslp rerun\n```\n/dslp help\n```\n> /dslp help\n/dslpx\n";
        assert_eq!(
            commands(comment),
            vec![Request::Known(Command::Rerun, String::new())]
        );
    }

    #[test]
    fn a_bare_command_asks_for_help_and_fail_carries_its_tldr() {
        assert_eq!(
            commands("/dslp"),
            vec![Request::Known(Command::Help, String::new())]
        );
        assert_eq!(
            commands("/dslp fail \"trees overfit the small months\""),
            vec![Request::Known(
                Command::Fail,
                "trees overfit the small months".into()
            )]
        );
        assert_eq!(
            commands("/dslp OK-TO-TEST"),
            vec![Request::Known(Command::OkToTest, String::new())]
        );
    }

    #[test]
    fn unknown_words_get_a_suggestion_when_close() {
        assert_eq!(
            commands("/dslp rerum"),
            vec![Request::Unknown {
                word: "rerum".into(),
                suggestion: Some("rerun")
            }]
        );
        assert_eq!(
            commands("/dslp deploy"),
            vec![Request::Unknown {
                word: "deploy".into(),
                suggestion: None
            }]
        );
    }

    #[test]
    fn help_lists_every_command() {
        let text = help();
        for spec in COMMANDS {
            assert!(text.contains(&format!("`/dslp {}`", spec.word)));
        }
    }
}
