//! What a new user meets in the first hour: the words and the exit code of
//! each message, as they see them.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::support::dslp;

/// `dslp rules | head -1` and the like: the reader is gone before dslp
/// writes; dslp ends as Unix tools do (SIGPIPE), with no panic.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    for args in [
        &["rules"][..],
        &["labels"],
        &["completions", "bash"],
        &["config", "schema"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dslp"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(output.status.code(), Some(101), "{args:?}");
        assert!(
            output.status.signal() == Some(libc::SIGPIPE) || output.status.success(),
            "{args:?}: {:?}",
            output.status
        );
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, sign) in [
        ("bash", "complete -F _dslp"),
        ("zsh", "#compdef dslp"),
        ("fish", "complete -c dslp"),
    ] {
        let run = dslp(&["completions", shell]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains(sign), "{shell}: {}", &run.stdout[..200]);
        assert!(
            run.stdout.contains("check"),
            "{shell} completes the commands"
        );
    }
    let run = dslp(&["completions", "tcsh"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("possible values: bash"),
        "{}",
        run.stderr
    );
}
