//! Integration tests: the `dslp` binary driven through its real inputs.

mod cli_lint;
mod data_evidence;
mod forms;
mod init;
mod model_evidence;
mod parsers_never_panic;
mod report_snapshots;
mod support;
