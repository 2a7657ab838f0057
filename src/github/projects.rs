//! What the port reads of an organisation's Projects board.

use serde::Deserialize;

/// A project's single-select field: its id and its options (id, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectField {
    pub id: u64,
    pub options: Vec<(String, String)>,
}

/// A field as `projects/list-fields-for-org` lists it.
#[derive(Debug, Deserialize)]
pub(crate) struct FieldJson {
    pub id: u64,
    pub name: String,
    pub data_type: String,
    #[serde(default)]
    pub options: Vec<OptionJson>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OptionJson {
    pub id: String,
    pub name: OptionName,
}

/// GitHub gives an option's name as raw text and HTML.
#[derive(Debug, Deserialize)]
pub(crate) struct OptionName {
    pub raw: String,
}

impl FieldJson {
    pub(crate) fn select(self) -> SelectField {
        SelectField {
            id: self.id,
            options: self
                .options
                .into_iter()
                .map(|o| (o.id, o.name.raw))
                .collect(),
        }
    }
}
