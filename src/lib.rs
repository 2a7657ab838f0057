pub mod cli;
pub mod config;
pub mod data;
pub mod lifecycle;
pub mod report;
pub mod revision;
pub mod scaffold;
