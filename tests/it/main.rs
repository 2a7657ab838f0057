//! Integration tests: the `dslp` binary driven through its real inputs.

mod action_e2e;
mod app_e2e;
mod cli_lint;
mod data_evidence;
mod data_sources;
mod fake_github;
mod first_hour;
mod forms;
mod github_port;
mod init;
mod layers;
mod lfs;
mod lifecycle_stories;
mod model_evidence;
mod monitoring;
mod parsers_never_panic;
mod postgres;
mod predict;
mod releases;
mod replicas;
mod report_snapshots;
mod schemas;
mod store;
mod sub_issues;
mod support;
mod tools;
