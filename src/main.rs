//! heaplab's entry point: parse the command line, install the error hooks, hand over.

use std::process::ExitCode;

use clap::Parser as _;
use heaplab::cli::{self, Cli, UsageError};

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("heaplab: could not install the error reporter: {e}");
    }
    match cli::run(Cli::parse()) {
        Ok(code) => code,
        Err(report) => {
            if let Some(usage) = report.downcast_ref::<UsageError>() {
                eprintln!("error: {usage}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {report:?}");
                ExitCode::FAILURE
            }
        }
    }
}
