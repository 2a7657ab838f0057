//! The GitHub App. So far: the webhook intake (issue 6 builds the server,
//! queue, store, App authentication and handlers on it).

pub mod intake;
