//! One model trained on one revision's files, or its metrics read from the
//! team's own pipeline (`metrics_file`).

use std::collections::BTreeMap;

use crate::data::spec::DatasetSpec;
use crate::model::ModelError;
use crate::model::spec::ModelSpec;
use crate::model::training::{self, Trained};

use super::files::training_data;

pub(super) fn run_model(
    name: &str,
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    read: impl Fn(&str) -> Result<Vec<u8>, String>,
    keep: bool,
) -> Result<ModelRun, ModelError> {
    if let Some(path) = &spec.metrics_file {
        let bytes = read(&path.0).map_err(ModelError::new)?;
        return external_metrics(&bytes, &path.0).map(ModelRun::External);
    }
    let data = training::TrainingData {
        // The reference profile ships with a kept model only.
        reference: keep,
        ..training_data(&read, dataset)?
    };
    training::train(name, spec, dataset, data).map(|trained| ModelRun::Trained(Box::new(trained)))
}

/// What one model's run gave.
pub(super) enum ModelRun {
    /// A model dslp-bot trained and evaluated.
    Trained(Box<Trained>),
    /// The metrics a team's own pipeline wrote (`metrics_file`).
    External(BTreeMap<String, f64>),
}

/// Metrics a team's own pipeline wrote: a JSON object, nested keys joined
/// with dots, numeric leaves kept.
pub fn external_metrics(bytes: &[u8], path: &str) -> Result<BTreeMap<String, f64>, ModelError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ModelError::new(format!("{path} is not valid JSON: {e}")))?;
    let mut out = BTreeMap::new();
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, f64>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    let name = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&name, child, out);
                }
            }
            serde_json::Value::Number(n) => {
                if let Some(v) = n.as_f64() {
                    out.insert(prefix.to_string(), v);
                }
            }
            _ => {}
        }
    }
    if !value.is_object() {
        return Err(ModelError::new(format!(
            "{path} must hold a JSON object of metrics"
        )));
    }
    walk("", &value, &mut out);
    if out.is_empty() {
        return Err(ModelError::new(format!("{path} holds no numeric metrics")));
    }
    Ok(out)
}
