//! A string that is never printed: a token, a key. Its `Debug` says
//! `<redacted>`; only [`Secret::expose`] gives the text, where it is sent.

use serde::{Deserialize, Serialize};

/// A secret crosses to the App's sandboxed evaluation on its standard
/// input (serialised), never on a command line or in the environment.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: String) -> Secret {
        Secret(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
