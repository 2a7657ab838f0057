//! A trained model as it is saved and released: the fitted preprocessing
//! (features), the fitted model, its classes and its stamp. What `dslp
//! train --output` writes as `NAME.model.json`.

use serde::{Deserialize, Serialize};

use super::algorithms::Fitted;
use super::features::FeaturePlan;
use super::stamp::Stamp;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub name: String,
    pub features: FeaturePlan,
    pub model: Fitted,
    pub classes: Vec<String>,
    pub stamp: Stamp,
}
