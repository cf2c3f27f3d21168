//! Panics on worker threads: an experiment's panic is the run's error, not the program's.
//!
//! ratatui's panic hook restores the terminal on any panic, and the default hook prints to
//! stderr; for a panic on an experiment's worker thread both would wreck a dashboard that is
//! going on. [`install_worker_filter`] wraps whatever hook is installed: panics on worker
//! threads only record where they happened, for the worker to report with the message it
//! catches; every other panic goes to the previous hooks as before.

use std::any::Any;
use std::cell::RefCell;
use std::panic;

/// Thread names that mark an experiment's worker.
const WORKER_PREFIXES: [&str; 2] = ["heaplab-worker", "heaplab-bench"];

thread_local! {
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Wraps the installed panic hook (install after ratatui's, so that this one runs first).
pub fn install_worker_filter() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let on_worker = std::thread::current()
            .name()
            .is_some_and(|name| WORKER_PREFIXES.iter().any(|p| name.starts_with(p)));
        if on_worker {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
            LAST_LOCATION.with(|last| *last.borrow_mut() = location);
        } else {
            previous(info);
        }
    }));
}

/// The message of a caught panic, with where it happened if the filter recorded it.
#[must_use]
pub fn describe(payload: &(dyn Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".to_owned());
    match LAST_LOCATION.with(|last| last.borrow_mut().take()) {
        Some(location) => format!("{message} (at {location})"),
        None => message,
    }
}
