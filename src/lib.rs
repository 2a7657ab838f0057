pub mod cli;
pub mod config;
pub mod lifecycle;
pub mod scaffold;
