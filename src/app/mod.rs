//! The GitHub App (`dslp serve`): webhook intake, a durable queue in SQLite,
//! App authentication, and workers that run the same handler as the Action.

pub mod auth;
pub mod delivery;
pub mod intake;
pub mod metrics;
pub mod redeliver;
pub mod server;
pub mod settings;
pub mod store;
pub mod worker;
