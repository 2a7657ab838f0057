//! Progress for a person at a terminal: one line per step on standard
//! error, only when it is a terminal and the CLI asked for it (never in
//! the App, the Action's output, or a pipe).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns progress on when `wanted` and standard error is a terminal.
pub fn enable(wanted: bool) {
    ON.store(wanted && std::io::stderr().is_terminal(), Ordering::Relaxed);
}

/// Says what is being done now.
pub fn step(what: impl FnOnce() -> String) {
    if ON.load(Ordering::Relaxed) {
        eprintln!("… {}", what());
    }
}
