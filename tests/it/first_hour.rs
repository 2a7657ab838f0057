//! What a new user meets in the first hour: the words and the exit code of
//! each message, as they see them.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::support::{dslp, dslp_in};

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

/// README's main job, word for word: the block README quotes is what
/// `dslp demo` prints (the demo's commits are made at a fixed time, so the
/// stamp is the same everywhere).
#[test]
fn the_demo_prints_what_the_readme_shows() {
    let run = dslp(&["demo", "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let readme = std::fs::read_to_string(crate::support::repo_root().join("README.md")).unwrap();
    let quoted = readme
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("README quotes the demo in the first text block");
    assert!(
        run.stdout.contains(quoted),
        "README's demo block differs from the output:\n{}",
        run.stdout
    );
    // What the demo is for: the verdict and its reason first, drift and
    // deltas against the base, and the next step.
    let first = run.stdout.lines().find(|l| l.starts_with("NO-GO")).unwrap();
    assert!(first.contains("experiment/6-boosting"), "{first}");
    assert!(
        run.stdout
            .contains("drift versus main: monthly_charges PSI")
    );
    assert!(run.stdout.contains("roc_auc") && run.stdout.contains("-0.00"));
    assert!(run.stdout.contains("\nnext: "));
    assert!(run.stderr.is_empty(), "--quiet: {}", run.stderr);
}

/// A temporary repository: the demo, kept.
fn demo_repo() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("demo");
    let run = dslp(&["demo", "--quiet", "--dir", repo.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (dir, repo)
}

#[test]
fn check_folds_what_passed_and_lists_it_with_verbose() {
    let (_dir, repo) = demo_repo();
    let folded = dslp_in(&repo, &["check", "-q"]);
    assert_eq!(folded.code, 1, "NO-GO exits 1");
    assert!(
        folded.stdout.starts_with("NO-GO: `experiment/6-boosting`"),
        "{}",
        folded.stdout
    );
    assert!(
        folded.stdout.contains("31 checks passed"),
        "{}",
        folded.stdout
    );
    assert!(!folded.stdout.contains("ok      rows"), "{}", folded.stdout);
    let verbose = dslp_in(&repo, &["check", "-q", "--verbose"]);
    assert!(
        verbose
            .stdout
            .contains("ok      rows — expected at least 1000 rows"),
        "{}",
        verbose.stdout
    );
    assert!(
        verbose.stdout.contains("pass roc_auc: at least 0.7"),
        "{}",
        verbose.stdout
    );
    assert!(verbose.stdout.contains("profile:"), "{}", verbose.stdout);
}

#[test]
fn an_unknown_base_is_an_error_naming_the_branches() {
    let (_dir, repo) = demo_repo();
    for args in [
        &["check", "--base", "mian"][..],
        &["data", "test", "--base", "mian"],
        &["train", "--base", "mian"],
    ] {
        let run = dslp_in(&repo, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stdout);
        assert!(
            run.stderr.contains("--base mian: no such branch or commit here; Did you mean `main`? the branches are experiment/6-boosting, main"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn neutral_says_which_keys_would_gate_the_branch() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::write(dir.path().join(".github/dslp.yml"), "version: 1\n").unwrap();
    let run = dslp_in(dir.path(), &["check", "--branch", "experiment/3-trees"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("NEUTRAL"), "{}", run.stdout);
    assert!(
        run.stdout.contains("declare `datasets:`, and `models:` with `gates:`, in .github/dslp.yml (`dslp init` writes a commented example)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("next: nothing on this branch is gated"),
        "{}",
        run.stdout
    );
}

/// Config mistakes, each in the config's words at its line and column.
#[test]
fn config_mistakes_are_said_in_the_configs_words() {
    let models = |algorithm: &str, params: &str| {
        format!(
            "version: 1\ndatasets:\n  d: {{ path: a.csv }}\nmodels:\n  m:\n    dataset: d\n    task: binary\n    target: y\n    algorithm: {algorithm}\n    params: {params}\n"
        )
    };
    let cases = [
        (models("logistic_regression", "{ C: 1.0 }"), "10:15: model `m`: `C` is not a parameter of logistic_regression; it takes c, max_iterations, tolerance; did you mean `c`?"),
        (models("random_forrest", "{}"), "9:16: unknown variant `random_forrest`, expected one of logistic_regression, decision_tree, gaussian_nb, random_forest, linear_regression, ridge, elastic_net, gradient_boosting; did you mean `random_forest`?"),
        ("version: \"one\"\n".to_string(), "1:10: version must be 1, not \"one\""),
        ("version: 1\nbranches:\n  main: main\n".to_string(), "3:9: `main` is a list: write `main: [main]`"),
        ("version: 1\nbranches:\n  main: [main]\n   development: [dev]\n".to_string(), "4:4: a likely indentation error"),
        ("version: 1\nrulez: {}\n".to_string(), "did you mean `rules`?"),
        ("version: 1\ndatasets:\n  d:\n    path: a.csv\n    columns:\n      x: { type: integer }\n".to_string(), "did you mean `int`?"),
    ];
    for (config, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".github")).unwrap();
        std::fs::write(dir.path().join(".github/dslp.yml"), &config).unwrap();
        for args in [
            &["lint", "config"][..],
            &["check", "--branch", "experiment/3-x"],
        ] {
            let run = dslp_in(dir.path(), args);
            assert_eq!(run.code, 2, "{args:?} {config}");
            assert!(
                run.stderr.contains(expected),
                "{args:?}\n{config}\n{}",
                run.stderr
            );
            assert!(run.stderr.contains(".github/dslp.yml:"), "{}", run.stderr);
        }
    }
}

#[test]
fn outside_a_repository_or_before_the_first_commit_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::write(dir.path().join(".github/dslp.yml"), "version: 1\n").unwrap();
    let run = dslp_in(dir.path(), &["check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("is not in a git repository; run `git init`, or pass --branch NAME"),
        "{}",
        run.stderr
    );
    crate::support::git(dir.path(), &["init", "-q"]);
    let run = dslp_in(dir.path(), &["check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("the repository has no commits yet; commit first, or pass --branch NAME"),
        "{}",
        run.stderr
    );
    let empty = tempfile::tempdir().unwrap();
    let run = dslp_in(empty.path(), &["lint", "config"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("`dslp init` writes a commented .github/dslp.yml"),
        "{}",
        run.stderr
    );
}

#[test]
fn serve_names_every_missing_setting_at_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_dslp"))
        .arg("serve")
        .env_clear()
        .current_dir(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for key in [
        "APP_ID (--app-id)",
        "WEBHOOK_SECRET (--webhook-secret)",
        "PRIVATE_KEY (the PEM text) or PRIVATE_KEY_PATH",
    ] {
        assert!(stderr.contains(key), "{key}: {stderr}");
    }
    assert!(stderr.contains("needs 3 more settings"), "{stderr}");
}

/// Progress goes to a terminal's standard error, never into the output,
/// and `--quiet` silences it.
#[test]
fn progress_shows_on_a_terminal_only() {
    let Some(_) = crate::tools::needs("script") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("demo");
    let under_tty = |extra: &str| {
        let command = format!(
            "{} demo {extra} --dir {}",
            env!("CARGO_BIN_EXE_dslp"),
            repo.join(extra.trim_start_matches('-')).display()
        );
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = under_tty("");
    assert!(
        shown.contains("… training `churn_lr` as it is at `main`"),
        "{shown}"
    );
    let quiet = under_tty("--quiet");
    assert!(!quiet.contains("… training"), "{quiet}");
    // Not a terminal: nothing on standard error.
    let (_d, repo) = demo_repo();
    let piped = dslp_in(&repo, &["check"]);
    assert!(piped.stderr.is_empty(), "{}", piped.stderr);
}

#[test]
fn init_writes_commented_datasets_and_models_that_parse_once_uncommented() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::git(dir.path(), &["init", "-q"]);
    assert_eq!(dslp_in(dir.path(), &["init"]).code, 0);
    let config = std::fs::read_to_string(dir.path().join(".github/dslp.yml")).unwrap();
    assert!(
        config.contains("#   churn:\n#     path: data/churn.csv"),
        "{config}"
    );
    assert!(
        config.contains("#   churn_lr:\n#     dataset: churn"),
        "{config}"
    );
    // Uncommented, the example is a working config.
    let mut uncommented = String::new();
    let mut inside = false;
    for line in config.lines() {
        if line == "datasets: {}" || line == "models: {}" {
            uncommented.push_str(&line.replace(" {}", "\n"));
            inside = true;
        } else if inside && line.starts_with("#   ") {
            let code = line[1..].split(" # ").next().unwrap().trim_end();
            uncommented.push_str(&format!("{code}\n"));
        } else {
            inside = false;
            uncommented.push_str(&format!("{line}\n"));
        }
    }
    std::fs::write(dir.path().join(".github/dslp.yml"), &uncommented).unwrap();
    let lint = dslp_in(dir.path(), &["lint", "config"]);
    assert_eq!(lint.code, 0, "{uncommented}\n{}", lint.stderr);
}
