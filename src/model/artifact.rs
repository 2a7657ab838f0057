//! A trained model as it is saved and released: the fitted preprocessing
//! (features), the fitted model, its classes and its stamp. What `dslp
//! train --output` writes as `NAME.model.json`.

use serde::{Deserialize, Serialize};

use super::algorithms::Fitted;
use super::features::{EncodedColumn, FeaturePlan};
use super::reference::ReferenceProfile;
use super::schema::{FeatureSchema, InputSchema, OutputSchema};
use super::spec::ModelSpec;
use super::stamp::Stamp;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub name: String,
    pub features: FeaturePlan,
    pub model: Fitted,
    pub classes: Vec<String>,
    pub stamp: Stamp,
    /// What the model takes (absent from artifacts written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<InputSchema>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputSchema>,
    /// The declaration it was trained from (what a release's version is decided from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ModelSpec>,
    /// The training data and test scores monitoring compares with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceProfile>,
}

impl ModelArtifact {
    /// The positive class's index for a binary model (0 otherwise).
    pub fn positive_index(&self) -> usize {
        let declared = self.output.as_ref().and_then(|o| o.positive.as_ref());
        match declared.and_then(|p| self.classes.iter().position(|c| c == p)) {
            Some(index) => index,
            None if self.classes.len() == 2 => 1,
            None => 0,
        }
    }

    /// The input schema, or what the fitted plan tells of it (levels, no ranges).
    pub fn input_schema(&self) -> InputSchema {
        self.input.clone().unwrap_or_else(|| InputSchema {
            features: self
                .features
                .columns
                .iter()
                .map(|c| match c {
                    EncodedColumn::Numeric { name, .. } => FeatureSchema::Number {
                        name: name.clone(),
                        min: f64::NEG_INFINITY,
                        max: f64::INFINITY,
                    },
                    EncodedColumn::OneHot { name, levels } => FeatureSchema::Text {
                        name: name.clone(),
                        levels: levels.clone(),
                    },
                })
                .collect(),
        })
    }
}
