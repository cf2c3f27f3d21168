//! heaplab's entry point: parse the command line, install the error hooks, hand over.

use std::process::ExitCode;

use clap::Parser as _;
use heaplab::cli::{self, Cli, UsageError};
use heaplab::ui::NotATerminal;

fn main() -> ExitCode {
    // NO_COLOR: error reports without colour too.
    let hooks = if heaplab::ui::workshop::no_color() {
        color_eyre::config::HookBuilder::blank().install()
    } else {
        color_eyre::install()
    };
    if let Err(e) = hooks {
        eprintln!("heaplab: could not install the error reporter: {e}");
    }
    match cli::run(Cli::parse()) {
        Ok(code) => code,
        // Expected refusals get one plain line; only surprises get the full report.
        Err(report) if report.downcast_ref::<UsageError>().is_some() => {
            eprintln!("error: {report}");
            ExitCode::from(2)
        }
        Err(report) if report.downcast_ref::<NotATerminal>().is_some() => {
            eprintln!("error: {report}");
            ExitCode::FAILURE
        }
        Err(report) => {
            eprintln!("error: {report:?}");
            ExitCode::FAILURE
        }
    }
}
