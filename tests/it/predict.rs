//! `dslp predict`: a model saved by `dslp train --output` scores a file;
//! on the test rows it gives the evaluation's probabilities to the last bit,
//! and an input that does not fit the model is said row by row.

use crate::model_evidence::reference_repository;
use crate::support::dslp_in;

/// The predictions CSV as (predicted, probabilities or value) per row.
fn read_predictions(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn predictions_on_the_test_rows_reproduce_the_evaluation_to_the_bit() {
    let models = "  cancer_lr: { dataset: cancer, task: binary, target: target, algorithm: logistic_regression, split: dataset }\n  wine_gb: { dataset: wine, task: multiclass, target: target, algorithm: gradient_boosting, params: { max_iter: 20 }, split: dataset, standardize: false }\n  diabetes_rf: { dataset: diabetes, task: regression, target: target, algorithm: random_forest, params: { n_estimators: 10 }, split: dataset }\n";
    let repo = reference_repository(models);
    let run = dslp_in(
        repo.path(),
        &["train", "--format", "json", "--output", "out"],
    );
    assert!(run.code <= 1, "{}", run.stderr);
    let evidence = run.json();
    for (model, file) in [
        ("cancer_lr", "breast_cancer"),
        ("wine_gb", "winequality_red"),
        ("diabetes_rf", "diabetes"),
    ] {
        let data = std::fs::read_to_string(repo.path().join(format!("data/{file}.csv"))).unwrap();
        let mut lines = data.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let (target, split) = (
            header.iter().position(|h| *h == "target").unwrap(),
            header.iter().position(|h| *h == "split").unwrap(),
        );
        // Only the test rows, as the evaluation scored them.
        let test: Vec<Vec<&str>> = lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|cells| cells[split] == "test")
            .collect();
        let mut input = header.join(",") + "\n";
        for cells in &test {
            input.push_str(&cells.join(","));
            input.push('\n');
        }
        std::fs::write(repo.path().join("test.csv"), input).unwrap();
        let artifact = format!("out/{model}.model.json");
        let run = dslp_in(
            repo.path(),
            &["predict", "--model", &artifact, "--input", "test.csv"],
        );
        assert_eq!(run.code, 0, "{model}: {}", run.stderr);
        let (columns, rows) = read_predictions(&run.stdout);
        assert_eq!(rows.len(), test.len(), "{model}");
        let report = evidence["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == model)
            .unwrap()["report"]
            .clone();
        let metrics = &report["evaluation"]["metrics"];
        if model == "diabetes_rf" {
            let truth: Vec<f64> = test.iter().map(|c| c[target].parse().unwrap()).collect();
            let predicted: Vec<f64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
            assert_eq!(columns, ["predicted"]);
            let r2 = dslp_bot::model::metrics::r2(&truth, &predicted);
            assert_eq!(r2, metrics["r2"].as_f64().unwrap(), "{model}");
            continue;
        }
        let classes: Vec<String> = report["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(columns[0], "predicted");
        assert_eq!(columns.len(), classes.len() + 1, "{columns:?}");
        let truth: Vec<usize> = test
            .iter()
            .map(|c| classes.iter().position(|k| k == c[target]).unwrap())
            .collect();
        let probabilities: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| r[1..].iter().map(|p| p.parse().unwrap()).collect())
            .collect();
        let predicted: Vec<usize> = rows
            .iter()
            .map(|r| classes.iter().position(|k| *k == r[0]).unwrap())
            .collect();
        let log_loss = dslp_bot::model::metrics::log_loss(&truth, &probabilities);
        assert_eq!(log_loss, metrics["log_loss"].as_f64().unwrap(), "{model}");
        let accuracy = dslp_bot::model::metrics::accuracy(&truth, &predicted);
        assert_eq!(accuracy, metrics["accuracy"].as_f64().unwrap(), "{model}");
    }
    // The input schema ships with the artifact: names, ranges, levels.
    let artifact: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.path().join("out/cancer_lr.model.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(artifact["input"]["features"].as_array().unwrap().len(), 30);
    assert_eq!(artifact["input"]["features"][0]["type"], "number");
    assert!(artifact["input"]["features"][0]["min"].as_f64().unwrap() > 0.0);
}

#[test]
fn an_input_that_does_not_fit_the_model_is_said_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".github")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    let mut table = String::from("id,age,plan,churned\n");
    for i in 0..200 {
        let plan = ["monthly", "yearly"][i % 2];
        table.push_str(&format!(
            "c{i},{},{plan},{}\n",
            20 + i % 50,
            (i % 3 == 0) as u8
        ));
    }
    std::fs::write(root.join("data/t.csv"), table).unwrap();
    std::fs::write(
        root.join(".github/dslp.yml"),
        "version: 1\ndatasets:\n  t: { path: data/t.csv }\nmodels:\n  m: { dataset: t, task: binary, target: churned, features: [age, plan], algorithm: logistic_regression }\n",
    )
    .unwrap();
    let run = dslp_in(root, &["train", "--output", "out"]);
    assert!(run.code <= 1, "{}", run.stderr);
    let score = |input: &str, extra: &[&str]| {
        std::fs::write(root.join("new.csv"), input).unwrap();
        let mut args = vec![
            "predict",
            "--model",
            "out/m.model.json",
            "--input",
            "new.csv",
        ];
        args.extend_from_slice(extra);
        dslp_in(root, &args)
    };
    // A missing feature stops the run and names what the file has.
    let run = score("id,plan\nx,monthly\n", &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("the input lacks the model's feature `age` (it has `id`, `plan`)"),
        "{}",
        run.stderr
    );
    // Problems per row: not a number, an unseen level; out of range is a warning.
    let bad = "id,age,plan\na,30,monthly\nb,old,yearly\nc,40,weekly\nd,500,monthly\ne,25,yearly\n";
    let run = score(bad, &[]);
    assert_eq!(run.code, 2);
    for expected in [
        "2 problems in the input",
        "row 2: `age` is `old`, not a number",
        "row 3: `plan` is `weekly`, a level training never saw (monthly, yearly)",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    // Skipped: the good rows are scored, with their ids.
    let run = score(bad, &["--on-invalid", "skip", "--id", "id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (columns, rows) = read_predictions(&run.stdout);
    assert_eq!(columns, ["id", "predicted", "p_0", "p_1"]);
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["a", "d", "e"]);
    assert!(
        run.stderr.contains("left out: 2 problems"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 value outside the range seen in training (scored; the model extrapolates):\n  row 4: `age` is 500, above the training maximum 69"),
        "{}",
        run.stderr
    );
    // Not an artifact.
    std::fs::write(root.join("junk.json"), "{}").unwrap();
    let run = dslp_in(
        root,
        &["predict", "--model", "junk.json", "--input", "new.csv"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is not a dslp model artifact"),
        "{}",
        run.stderr
    );
}

/// A table where churn follows age and plan, written with a transform.
fn churn_table(rows: usize, age_shift: usize, flip: bool) -> String {
    let mut table = String::from("id,age,plan,churned\n");
    for i in 0..rows {
        let plan = ["monthly", "yearly", "two-year"][i * 7 % 3];
        let age = 20 + (i * 13) % 50;
        let churned = (age < 35 && plan == "monthly") || (i % 11 == 0);
        let churned = churned != flip;
        table.push_str(&format!(
            "c{i},{},{plan},{}\n",
            age + age_shift,
            churned as u8
        ));
    }
    table
}

#[test]
fn monitor_sees_drift_and_a_performance_drop_against_the_models_reference() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".github")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(root.join("data/t.csv"), churn_table(1000, 0, false)).unwrap();
    std::fs::write(
        root.join(".github/dslp.yml"),
        "version: 1\ndatasets:\n  t: { path: data/t.csv }\nmodels:\n  m: { dataset: t, task: binary, target: churned, features: [age, plan], algorithm: gradient_boosting }\n",
    )
    .unwrap();
    let run = dslp_in(root, &["train", "--output", "out"]);
    assert!(run.code <= 1, "{}", run.stderr);
    let monitor = |table: String, extra: &[&str]| {
        std::fs::write(root.join("fresh.csv"), table).unwrap();
        let mut args = vec![
            "monitor",
            "--model",
            "out/m.model.json",
            "--data",
            "fresh.csv",
        ];
        args.extend_from_slice(extra);
        dslp_in(root, &args)
    };
    // The world as it was: within limits, the metrics where they were.
    let run = monitor(
        churn_table(1000, 0, false),
        &["--labels", "churned", "--max-drop", "accuracy=0.05"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("input drift: ok"), "{}", run.stdout);
    assert!(run.stdout.contains("performance: ok"), "{}", run.stdout);
    assert!(
        run.stdout.contains("next: nothing; within limits"),
        "{}",
        run.stdout
    );
    // Older customers: age drifts (and the model's scores with it).
    let run = monitor(churn_table(1000, 30, false), &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("input drift: FAIL"), "{}", run.stdout);
    assert!(run.stdout.contains("FAIL age"), "{}", run.stdout);
    assert!(run.stdout.contains("ok   plan"), "{}", run.stdout);
    assert!(
        run.stdout.contains("next: open a Data issue"),
        "{}",
        run.stdout
    );
    // The same inputs, but the outcomes turned: a performance drop.
    let run = monitor(
        churn_table(1000, 0, true),
        &["--labels", "churned", "--max-drop", "accuracy=0.05"],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("performance: FAIL"), "{}", run.stdout);
    assert!(
        run.stdout.contains("next: open a retrain issue"),
        "{}",
        run.stdout
    );
    let json = monitor(
        churn_table(1000, 0, true),
        &["--labels", "churned", "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["input_drift"], "ok");
    let accuracy = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "accuracy")
        .unwrap();
    assert!(accuracy["now"].as_f64().unwrap() < accuracy["released"].as_f64().unwrap() - 0.3);
    // A wrong flag value is said plainly.
    let run = monitor(churn_table(10, 0, false), &["--max-drop", "accuracy"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("write METRIC=AMOUNT"), "{}", run.stderr);
}

/// Releases through their life: the first is 1.0.0; new data alone is a
/// patch; a feature added is minor; another target is major. The released
/// model predicts and is monitored from its own assets.
#[test]
fn releases_are_versioned_by_dslps_rules_and_their_assets_serve_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".github")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    let mut table =
        churn_table(600, 0, false).replace("id,age,plan,churned", "id,age,plan,churned,upgraded");
    table = table
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                format!("{l},{}\n", i % 3 == 0)
            }
        })
        .collect();
    let config = |features: &str, target: &str| {
        format!(
            "version: 1\ndatasets:\n  t: {{ path: data/t.csv }}\nmodels:\n  m: {{ dataset: t, task: binary, target: {target}, features: [{features}], algorithm: logistic_regression }}\n"
        )
    };
    let commit = |config: String, table: &str| {
        std::fs::write(root.join(".github/dslp.yml"), config).unwrap();
        std::fs::write(root.join("data/t.csv"), table).unwrap();
        crate::support::git(root, &["add", "."]);
        crate::support::git(root, &["commit", "-q", "-m", "step"]);
    };
    crate::support::git(root, &["init", "-q"]);
    let release = |out: &str, previous: Option<&str>| {
        let mut args = vec!["release", "--model", "m", "--output", out];
        if let Some(p) = previous {
            args.extend(["--previous", p]);
        }
        let run = dslp_in(root, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    commit(config("age", "churned"), &table);
    assert!(release("r1", None).starts_with("m-v1.0.0 (first release)"));
    for asset in [
        "model.json",
        "card.md",
        "input.schema.json",
        "output.schema.json",
        "reference.json",
        "stamp.json",
        "release.json",
        "notes.md",
    ] {
        assert!(root.join(format!("r1/m.{asset}")).is_file(), "{asset}");
    }
    let mut more = table.clone();
    more.push_str("extra,33,monthly,1,false\n");
    commit(config("age", "churned"), &more);
    assert!(
        release("r2", Some("r1/m.release.json"))
            .starts_with("m-v1.0.1 (patch: training data changed)")
    );
    commit(config("age, plan", "churned"), &more);
    let minor = release("r3", Some("r2/m.release.json"));
    assert!(
        minor.starts_with("m-v1.1.0 (minor: feature `plan` added)"),
        "{minor}"
    );
    let notes = std::fs::read_to_string(root.join("r3/m.notes.md")).unwrap();
    assert!(
        notes.contains("| metric | m-v1.1.0 | m-v1.0.1 | Δ |"),
        "{notes}"
    );
    commit(config("age, plan", "upgraded"), &more);
    let major = release("r4", Some("r3/m.release.json"));
    assert!(
        major.starts_with("m-v2.0.0 (major: target `churned` → `upgraded`"),
        "{major}"
    );
    // The input schema is a JSON Schema naming the model's features.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("r3/m.input.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(schema["required"], serde_json::json!(["age", "plan"]));
    assert_eq!(
        schema["properties"]["plan"]["enum"],
        serde_json::json!(["monthly", "two-year", "yearly"])
    );
    // The release's own model scores and is monitored.
    let run = dslp_in(
        root,
        &[
            "predict",
            "--model",
            "r3/m.model.json",
            "--input",
            "data/t.csv",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 602);
    let run = dslp_in(
        root,
        &[
            "monitor",
            "--model",
            "r3/m.model.json",
            "--data",
            "data/t.csv",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    // A wrong previous record is said plainly.
    let run = dslp_in(
        root,
        &[
            "release",
            "--model",
            "m",
            "--output",
            "r5",
            "--previous",
            "r3/m.card.md",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is not a release record"),
        "{}",
        run.stderr
    );
}

/// README's worked example of the loop on the demo project, word for word.
#[test]
fn the_readme_loop_example_is_what_the_demo_project_gives() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let run = crate::support::dslp(&["demo", "--dir", demo.to_str().unwrap(), "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let readme = std::fs::read_to_string(crate::support::repo_root().join("README.md")).unwrap();
    let example = readme
        .split("$ cd demo && git checkout -q main\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("README shows the loop on the demo project");
    // The example's first command, which the split above consumed.
    crate::support::git(&demo, &["checkout", "-q", "main"]);
    let mut said = String::new();
    for line in example.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            let args: Vec<&str> = command.split_whitespace().collect();
            if args[0] == "git" {
                crate::support::git(&demo, &args[1..]);
                continue;
            }
            let run = dslp_in(&demo, &args[1..]);
            said.push_str(&run.stdout);
        }
    }
    let expected: String = example
        .lines()
        .filter(|l| !l.starts_with("$ "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(said, expected);
}
