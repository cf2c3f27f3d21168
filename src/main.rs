//! heaplab's entry point: parse the command line, install the error hooks, hand over.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use heaplab::cli::{self, Cli, UsageError};
use heaplab::ui::NotATerminal;

fn main() -> ExitCode {
    // Before any thread exists: one C heap for every thread (see `share_one_c_heap`), in the
    // dashboard and in every worker process alike. (Off glibc it does nothing.)
    let _ = heaplab_experiments::counting::share_one_c_heap();
    // NO_COLOR: error reports without colour too.
    let hooks = if heaplab::ui::workshop::no_color() {
        color_eyre::config::HookBuilder::blank().install()
    } else {
        color_eyre::install()
    };
    if let Err(e) = hooks {
        eprintln!("heaplab: could not install the error reporter: {e}");
    }
    heaplab_experiments::panic::install_worker_filter();
    match cli::run(Cli::parse()) {
        Ok(code) => code,
        // Expected refusals get one plain line; only surprises get the full report.
        // `writeln!` and not `eprintln!`: with the terminal closed, stderr may be gone too, and
        // a failed print must not panic on the way out.
        Err(report) if report.downcast_ref::<UsageError>().is_some() => {
            let _ = writeln!(std::io::stderr(), "error: {report}");
            ExitCode::from(2)
        }
        Err(report) if report.downcast_ref::<NotATerminal>().is_some() => {
            let _ = writeln!(std::io::stderr(), "error: {report}");
            ExitCode::FAILURE
        }
        Err(report) => {
            let _ = writeln!(std::io::stderr(), "error: {report:?}");
            ExitCode::FAILURE
        }
    }
}
