//! Data evidence: agreement with numpy and scipy, bad input, and
//! `dslp data test` on real temporary git repositories.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use dslp_bot::data::load::read_table;
use dslp_bot::data::source::{DataError, resolve_in_repo};
use dslp_bot::data::spec::{ColumnType, DatasetSpec, FileFormat};
use dslp_bot::data::{DatasetFiles, evaluate};
use proptest::prelude::*;

use crate::support::{dslp_in, fixture, git};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("data/{name}"))).unwrap()
}

fn spec(yaml: &str) -> DatasetSpec {
    serde_saphyr::from_str(yaml).unwrap()
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= 1e-12,
        "{what}: {actual} vs reference {expected}"
    );
}

#[test]
fn profile_and_drift_equal_numpy_and_scipy() {
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("data/reference.json")).unwrap())
            .unwrap();
    let report = evaluate(
        "churn",
        &spec("path: data/churn.csv\n"),
        DatasetFiles {
            head: Ok(read("churn_head.csv").into()),
            base: Some(Ok(read("churn_base.csv").into()).into()),
            split: None,
        },
    );
    let drift = report.drift.as_ref().expect("drift computed");
    for (column, expected) in reference["numeric"].as_object().unwrap() {
        let profile = report.profile.iter().find(|p| &p.column == column).unwrap();
        let quantiles = expected["quantiles"].as_array().unwrap();
        assert_eq!(profile.quantiles.len(), quantiles.len());
        for ((q, value), reference) in profile.quantiles.iter().zip(quantiles) {
            close(
                *value,
                reference.as_f64().unwrap(),
                &format!("{column} q{q}"),
            );
        }
        close(
            profile.mean.unwrap(),
            expected["mean"].as_f64().unwrap(),
            &format!("{column} mean"),
        );
        assert!(
            (profile.std.unwrap() - expected["std"].as_f64().unwrap()).abs() <= 1e-9,
            "{column} std"
        );
        let column_drift = drift.iter().find(|d| &d.column == column).unwrap();
        close(
            column_drift.ks.unwrap(),
            expected["ks"].as_f64().unwrap(),
            &format!("{column} KS"),
        );
        close(
            column_drift.psi.unwrap(),
            expected["psi"].as_f64().unwrap(),
            &format!("{column} PSI"),
        );
    }
    for (column, expected) in reference["categorical"].as_object().unwrap() {
        let column_drift = drift.iter().find(|d| &d.column == column).unwrap();
        close(
            column_drift.psi.unwrap(),
            expected["psi"].as_f64().unwrap(),
            &format!("{column} PSI"),
        );
        let new: Vec<&str> = expected["new_categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(column_drift.new_categories, new, "{column}");
    }
}

#[test]
fn checks_report_observed_values_counts_and_examples() {
    let spec = spec(
        "path: data/churn.csv\n\
         split: { column: split }\n\
         target: churned\n\
         columns:\n\
         \x20 customer_id: { type: string, unique: true, nullable: false, regex: 'C[0-9]{5}' }\n\
         \x20 tenure_months: { type: int, min: 0, max: 120 }\n\
         \x20 plan: { type: category, values: [monthly, yearly, two-year] }\n\
         \x20 monthly_charges: { type: float, max_null_fraction: 0.05 }\n\
         \x20 paperless: { type: bool }\n\
         rows: { min: 1000 }\n\
         duplicates: forbid\n\
         drift: { psi: { warn: 0.1, fail: 0.25 }, ks: { fail: 0.1 } }\n",
    );
    let report = evaluate(
        "churn",
        &spec,
        DatasetFiles {
            head: Ok(read("churn_head.csv").into()),
            base: Some(Ok(read("churn_base.csv").into()).into()),
            split: None,
        },
    );
    let find = |check: &str, column: Option<&str>| {
        report
            .checks
            .iter()
            .find(|c| c.check == check && c.column.as_deref() == column)
            .unwrap_or_else(|| panic!("no {check} check on {column:?}: {:#?}", report.checks))
    };
    let range = find("range", Some("tenure_months"));
    assert!(!range.passed);
    assert_eq!(range.offending_rows, 3);
    assert_eq!(range.examples.len(), 3);
    assert!(range.examples.iter().all(|e| e.value == "130"));
    let plans = find("allowed values", Some("plan"));
    assert_eq!(plans.offending_rows, 12);
    assert_eq!(plans.examples.len(), 5);
    let duplicates = find("duplicate rows", None);
    assert_eq!(duplicates.offending_rows, 2);
    assert_eq!(duplicates.examples[0].row, 2001);
    assert_eq!(duplicates.examples[0].value, "same as row 4");
    let unique = find("unique", Some("customer_id"));
    assert_eq!(unique.offending_rows, 2);
    assert!(find("regex", Some("customer_id")).passed);
    assert!(find("null fraction", Some("monthly_charges")).passed);
    assert!(find("type", Some("paperless")).passed);
    assert!(find("rows", None).passed);
    let charges_ks = find("drift KS", Some("monthly_charges"));
    assert!(!charges_ks.passed, "{charges_ks:?}");
    let new_plan = find("new categories", Some("plan"));
    assert!(new_plan.observed.contains("weekly"));
    // The two duplicated rows sit in different parts of the split.
    let overlap = find("train/test overlap", None);
    assert_eq!(overlap.passed, overlap.offending_rows == 0);
    assert!(!report.passed());
}

#[test]
fn a_leaking_feature_and_shared_rows_are_found() {
    let mut csv = String::from("id,notice,tenure,churned,split\n");
    for i in 0..400 {
        let churned = (i * 7919 % 13 < 4) as u8;
        let notice = if churned == 1 { "given" } else { "none" };
        let split = if i % 5 == 0 { "test" } else { "train" };
        csv.push_str(&format!("{i},{notice},{},{churned},{split}\n", i % 37));
    }
    csv.push_str("6,none,6,0,test\n"); // the same as data row 7, a training row
    let report = evaluate(
        "leaky",
        &spec("path: leaky.csv\ntarget: churned\nsplit: { column: split }\n"),
        DatasetFiles {
            head: Ok(csv.into_bytes().into()),
            base: None,
            split: None,
        },
    );
    let leak: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.check == "single-feature leakage")
        .collect();
    assert_eq!(
        leak.len(),
        1,
        "{:#?}",
        report
            .checks
            .iter()
            .map(|c| (&c.check, &c.column, &c.observed))
            .collect::<Vec<_>>()
    );
    assert_eq!(leak[0].column.as_deref(), Some("notice"));
    let overlap = report
        .checks
        .iter()
        .find(|c| c.check == "train/test overlap")
        .unwrap();
    assert_eq!(overlap.offending_rows, 1);
    assert_eq!(overlap.examples[0].value, "test row equals training row 7");
}

fn load(
    name: &str,
    declared: &[(&str, ColumnType)],
) -> Result<dslp_bot::data::load::Loaded, DataError> {
    let declared: BTreeMap<String, ColumnType> =
        declared.iter().map(|(n, t)| (n.to_string(), *t)).collect();
    read_table(&read(name), FileFormat::Csv, name, &declared)
}

#[test]
fn broken_files_are_named_with_line_and_column() {
    let cases = [
        (
            "ragged.csv",
            "ragged.csv:3: the row has 2 fields but the header has 3",
        ),
        (
            "bad_quote.csv",
            "bad_quote.csv:2:3: a quoted field is never closed",
        ),
        (
            "latin1.csv",
            "latin1.csv:2:7: the file is not UTF-8 (byte 0xf6)",
        ),
        ("empty.csv", "empty.csv: the file is empty"),
    ];
    for (file, expected) in cases {
        let error = load(file, &[]).unwrap_err();
        assert!(error.to_string().starts_with(expected), "{file}: {error}");
    }
}

#[test]
fn a_header_only_file_fails_the_row_count_and_a_wrong_type_names_its_rows() {
    let report = evaluate(
        "h",
        &spec(
            "path: header_only.csv\nrows: { min: 1 }\ncolumns:\n  tenure_months: { type: int }\n",
        ),
        DatasetFiles {
            head: Ok(read("header_only.csv").into()),
            base: None,
            split: None,
        },
    );
    let rows = report.checks.iter().find(|c| c.check == "rows").unwrap();
    assert!(!rows.passed);
    assert_eq!(rows.observed, "0");

    let report = evaluate(
        "w",
        &spec(
            "path: wrong_type.csv\ncolumns:\n  tenure_months: { type: int, min: 0 }\n  missing: { type: float }\n",
        ),
        DatasetFiles {
            head: Ok(read("wrong_type.csv").into()),
            base: None,
            split: None,
        },
    );
    let type_check = report.checks.iter().find(|c| c.check == "type").unwrap();
    assert!(!type_check.passed);
    assert_eq!(type_check.offending_rows, 2);
    let examples: Vec<(u64, &str)> = type_check
        .examples
        .iter()
        .map(|e| (e.row, e.value.as_str()))
        .collect();
    assert_eq!(examples, vec![(2, "twelve"), (4, "3.5")]);
    let present = report.checks.iter().find(|c| c.check == "present").unwrap();
    assert_eq!(present.column.as_deref(), Some("missing"));
    assert!(present.observed.contains("`customer_id`, `tenure_months`"));
}

#[test]
fn paths_outside_the_repository_are_refused() {
    let repo = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.csv"), "a\n1\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.csv"),
        repo.path().join("link.csv"),
    )
    .unwrap();
    let refused = |path: &str| resolve_in_repo(repo.path(), path).unwrap_err().message;
    assert!(refused("/etc/passwd").contains("absolute"));
    assert!(refused("data/../../secret.csv").contains("outside the repository"));
    #[cfg(unix)]
    assert!(refused("link.csv").contains("symlink leading outside"));
    assert!(refused("missing.csv").contains("does not exist"));
    std::fs::create_dir(repo.path().join("data")).unwrap();
    assert!(refused("data").contains("a directory"));
}

/// A named pipe as a dataset path is refused at once: reading it would
/// wait for a writer forever.
#[test]
fn a_named_pipe_as_a_dataset_is_refused_not_waited_on() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join(".github")).unwrap();
    std::fs::create_dir_all(repo.path().join("data")).unwrap();
    std::fs::write(
        repo.path().join(".github/dslp.yml"),
        "version: 1\ndatasets:\n  churn: { path: data/churn.csv }\n",
    )
    .unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(repo.path().join("data/churn.csv"))
        .status()
        .unwrap();
    assert!(made.success());
    let started = std::time::Instant::now();
    let run = crate::support::dslp_in_with_timeout(
        repo.path(),
        &["data", "test"],
        std::time::Duration::from_secs(60),
    );
    assert!(started.elapsed().as_secs() < 60, "dslp waited on the pipe");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("not a regular file (a named pipe"),
        "{}",
        run.stdout
    );
}

#[test]
fn config_refuses_escaping_paths_and_bad_values_at_their_line() {
    use dslp_bot::config::RepoConfig;
    let cases = [
        (
            "version: 1\ndatasets:\n  a:\n    path: ../outside.csv\n",
            4,
            "outside the repository",
        ),
        (
            "version: 1\ndatasets:\n  a:\n    path: /abs.csv\n",
            4,
            "absolute",
        ),
        (
            "version: 1\ndatasets:\n  a:\n    path: a.csv\n    columns:\n      x: { regex: '(' }\n",
            6,
            "invalid regex",
        ),
        (
            "version: 1\ndatasets:\n  a:\n    path: a.csv\n    columns:\n      x: { max_null_fraction: 1.5 }\n",
            6,
            "between 0 and 1",
        ),
        (
            "version: 1\ndatasets:\n  a:\n    path: a.csv\n    columns:\n      x: { type: integer }\n",
            6,
            "integer",
        ),
        (
            "version: 1\ndatasets:\n  a:\n    path: a.csv\n    colums: {}\n",
            5,
            "colums",
        ),
    ];
    for (yaml, line, words) in cases {
        let error = RepoConfig::parse(yaml, "dslp.yml").unwrap_err();
        assert_eq!(error.line, line, "{yaml}: {error}");
        assert!(error.message.contains(words), "{yaml}: {error}");
    }
}

/// A git repository whose `main` holds the base data and whose branch
/// `data/3-refresh` holds the head data.
fn repository_with_two_versions() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(
        dir.path().join(".github/dslp.yml"),
        "version: 1\ndatasets:\n  churn:\n    path: data/churn.csv\n    columns:\n      tenure_months: { type: int, min: 0, max: 120 }\n    drift: { psi: { warn: 0.1, fail: 0.25 }, ks: { fail: 0.1 } }\n",
    )
    .unwrap();
    std::fs::copy(
        fixture("data/churn_base.csv"),
        dir.path().join("data/churn.csv"),
    )
    .unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "base data"]);
    git(dir.path(), &["checkout", "-q", "-b", "data/3-refresh"]);
    std::fs::copy(
        fixture("data/churn_head.csv"),
        dir.path().join("data/churn.csv"),
    )
    .unwrap();
    git(dir.path(), &["commit", "-q", "-am", "refreshed data"]);
    dir
}

#[test]
fn data_test_compares_with_the_base_revision_from_git() {
    let repo = repository_with_two_versions();
    let run = dslp_in(repo.path(), &["data", "test", "--base", "main"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "FAILED  tenure_months: range — expected between 0 and 120; 3 values out of range"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("FAILED  monthly_charges: drift KS"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("drift versus main:"), "{}", run.stdout);

    let json = dslp_in(
        repo.path(),
        &["data", "test", "--base", "main", "--format", "json"],
    )
    .json();
    assert_eq!(json[0]["name"], "churn");
    assert_eq!(json[0]["rows"], 2002);
    assert!(json[0]["drift"].as_array().unwrap().len() >= 6);

    let markdown = dslp_in(
        repo.path(),
        &["data", "test", "--base", "main", "--format", "markdown"],
    );
    assert!(
        markdown
            .stdout
            .contains("### ❌ Dataset `churn` — `data/churn.csv`, 2002 rows"),
        "{}",
        markdown.stdout
    );
    assert!(
        markdown.stdout.contains("| ❌ | range | tenure_months |"),
        "{}",
        markdown.stdout
    );

    // The working tree is read, never changed.
    let head = std::fs::read(repo.path().join("data/churn.csv")).unwrap();
    assert_eq!(head, std::fs::read(fixture("data/churn_head.csv")).unwrap());
}

#[test]
fn a_project_in_a_subdirectory_reads_its_base_from_that_subdirectory() {
    let repo = tempfile::tempdir().unwrap();
    let project = repo.path().join("projects/churn");
    std::fs::create_dir_all(project.join(".github")).unwrap();
    std::fs::create_dir_all(project.join("data")).unwrap();
    std::fs::write(
        project.join(".github/dslp.yml"),
        "version: 1\ndatasets:\n  churn: { path: data/churn.csv }\n",
    )
    .unwrap();
    std::fs::copy(
        fixture("data/churn_base.csv"),
        project.join("data/churn.csv"),
    )
    .unwrap();
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "base"]);
    std::fs::copy(
        fixture("data/churn_head.csv"),
        project.join("data/churn.csv"),
    )
    .unwrap();
    let run = dslp_in(
        &project,
        &[
            "data", "test", "--root", ".", "--base", "main", "--format", "json",
        ],
    );
    let json = run.json();
    assert!(json[0]["drift"].is_array(), "{}", run.stdout);
    assert!(json[0]["drift_note"].is_null());
}

#[test]
fn a_shallow_clone_says_how_to_fetch_the_base() {
    let origin = repository_with_two_versions();
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    let status = Command::new("git")
        .args([
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "data/3-refresh",
            &url,
            ".",
        ])
        .current_dir(clone.path())
        .status()
        .unwrap();
    assert!(status.success());
    let run = dslp_in(clone.path(), &["data", "test", "--base", "HEAD~1"]);
    assert!(run.stdout.contains("drift not computed"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("shallow; fetch it with `git fetch --unshallow`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("fetch-depth: 0"), "{}", run.stdout);
    // The data tests still ran.
    assert!(
        run.stdout.contains("tenure_months: range"),
        "{}",
        run.stdout
    );
}

#[test]
fn data_test_without_datasets_or_with_an_unknown_one_explains() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::write(dir.path().join(".github/dslp.yml"), "version: 1\n").unwrap();
    let run = dslp_in(dir.path(), &["data", "test", "--root", "."]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("declares no datasets"),
        "{}",
        run.stderr
    );
    let repo = repository_with_two_versions();
    let run = dslp_in(repo.path(), &["data", "test", "--dataset", "churm"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no dataset `churm`"), "{}", run.stderr);
}

fn csvish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b",".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\"\"".to_vec()),
        Just(b"1".to_vec()),
        Just(b"-2.5".to_vec()),
        Just(b"NaN".to_vec()),
        Just(b"true".to_vec()),
        Just(b"a,b,c\n".to_vec()),
        Just(b"\xff".to_vec()),
        prop::collection::vec(any::<u8>(), 0..6),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_bytes_give_a_report_or_a_clear_error(bytes in csvish()) {
        let spec = spec("path: x.csv\ncolumns:\n  a: { type: int, min: 0 }\n  b: { type: float, unique: true }\n  c: { type: category, values: [x] }\nduplicates: forbid\nrows: { min: 1 }\n");
        let report = evaluate("x", &spec, DatasetFiles { head: Ok(bytes.clone().into()), base: Some(Ok(bytes.into()).into()), split: None });
        for check in &report.checks {
            prop_assert!(!check.check.is_empty());
            if check.check == "readable" {
                prop_assert!(check.observed.starts_with("x.csv"), "{}", check.observed);
            }
        }
    }
}

#[test]
fn parquet_and_ndjson_are_read_too() {
    let ndjson = b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \"y\"}\n".to_vec();
    let report = evaluate(
        "n",
        &spec("path: x.ndjson\ncolumns:\n  a: { type: int, max: 1 }\n"),
        DatasetFiles {
            head: Ok(ndjson.into()),
            base: None,
            split: None,
        },
    );
    assert_eq!(report.rows, Some(2));
    let range = report.checks.iter().find(|c| c.check == "range").unwrap();
    assert_eq!(range.offending_rows, 1);
    assert!(Path::new(&fixture("data/churn_base.csv")).exists());
}
