//! What a released model takes and gives: the input schema (each feature's
//! type, the levels and the range seen in training) and the output schema,
//! learnt at training and shipped in the artifact, so that `dslp predict`
//! can say what is wrong with an input before it scores it.

use serde::{Deserialize, Serialize};

use super::features::{EncodedColumn, FeaturePlan, MISSING_LEVEL};
use super::spec::Task;
use crate::data::column::ColumnView;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FeatureSchema {
    /// Nulls are allowed: training imputes them with its mean.
    Number { name: String, min: f64, max: f64 },
    /// A null is the level `(missing)`.
    Text { name: String, levels: Vec<String> },
}

impl FeatureSchema {
    pub fn name(&self) -> &str {
        match self {
            FeatureSchema::Number { name, .. } | FeatureSchema::Text { name, .. } => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSchema {
    pub features: Vec<FeatureSchema>,
}

impl InputSchema {
    /// From the fitted plan and the training rows (for the numeric ranges).
    pub fn learn(plan: &FeaturePlan, features: &[(&str, &ColumnView)], train: &[usize]) -> Self {
        let features = plan
            .columns
            .iter()
            .map(|column| match column {
                EncodedColumn::OneHot { name, levels } => FeatureSchema::Text {
                    name: name.clone(),
                    levels: levels.clone(),
                },
                EncodedColumn::Numeric { name, .. } => {
                    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
                    let view = features.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                    if let Some(ColumnView::Numeric(values)) = view {
                        for v in train.iter().filter_map(|r| values.get(*r)) {
                            if !v.is_nan() {
                                (min, max) = (min.min(v), max.max(v));
                            }
                        }
                    }
                    FeatureSchema::Number {
                        name: name.clone(),
                        min,
                        max,
                    }
                }
            })
            .collect();
        InputSchema { features }
    }

    /// A JSON Schema (draft 2020-12) of one input row.
    pub fn json_schema(&self) -> serde_json::Value {
        let properties: serde_json::Map<String, serde_json::Value> = self
            .features
            .iter()
            .map(|f| {
                let schema = match f {
                    FeatureSchema::Number { min, max, .. } => serde_json::json!({
                        "type": ["number", "null"], "minimum": min, "maximum": max
                    }),
                    FeatureSchema::Text { levels, .. } => {
                        let mut allowed: Vec<serde_json::Value> =
                            levels.iter().map(|l| l.as_str().into()).collect();
                        if levels.iter().any(|l| l == MISSING_LEVEL) {
                            allowed.push(serde_json::Value::Null);
                        }
                        serde_json::json!({ "enum": allowed })
                    }
                };
                (f.name().to_string(), schema)
            })
            .collect();
        let required: Vec<&str> = self.features.iter().map(FeatureSchema::name).collect();
        serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "one input row",
            "type": "object",
            "properties": properties,
            "required": required,
        })
    }
}

/// What the model gives for a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSchema {
    pub task: Task,
    /// Classification: the classes, in the order of the probability columns.
    pub classes: Vec<String>,
    /// Binary: the class scored as positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<String>,
}

impl OutputSchema {
    pub fn json_schema(&self) -> serde_json::Value {
        let mut properties = serde_json::Map::new();
        if self.task == Task::Regression {
            properties.insert("predicted".into(), serde_json::json!({ "type": "number" }));
        } else {
            properties.insert(
                "predicted".into(),
                serde_json::json!({ "enum": self.classes }),
            );
            for class in &self.classes {
                properties.insert(
                    format!("p_{class}"),
                    serde_json::json!({ "type": "number", "minimum": 0, "maximum": 1 }),
                );
            }
        }
        serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "one prediction",
            "type": "object",
            "properties": properties,
        })
    }
}
