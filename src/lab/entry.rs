//! The entry point of a lab's program: [`Lab::main`] checks that counting is installed,
//! registers the catalog and runs the command line, as the `heaplab` binary's `main` does.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

use super::Lab;
use crate::UsageError;
use crate::cli::{self, Cli};

impl Lab {
    /// Runs the whole program over the lab's experiments, with the command line of this
    /// process: the dashboard without arguments, `bench`, `run ID`, `list`... as `heaplab`
    /// takes them. Returns the exit status to end with.
    #[must_use]
    pub fn main(self) -> ExitCode {
        // Before any thread exists: one C heap for every thread, in the dashboard and in
        // every worker process alike. (Off glibc it does nothing.)
        let _ = heaplab_experiments::counting::share_one_c_heap();
        if !heaplab_experiments::counting::installed() {
            let _ = writeln!(
                std::io::stderr(),
                "error: heaplab counts allocations through its allocator, and this program does \
                 not use it: add `#[global_allocator] static ALLOC: heaplab::Counting = \
                 heaplab::Counting::system();` to the file with `main`"
            );
            return ExitCode::from(2);
        }
        let own = self.has_own();
        let catalog = match self.build() {
            Ok(catalog) => catalog,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: {e}");
                return ExitCode::from(2);
            }
        };
        if crate::catalog::register(catalog.leak()).is_err() {
            let _ = writeln!(std::io::stderr(), "error: Lab::main runs once per process");
            return ExitCode::from(2);
        }
        // NO_COLOR: error reports without colour too.
        let hooks = if crate::live::no_color() {
            color_eyre::config::HookBuilder::blank().install()
        } else {
            color_eyre::install()
        };
        if let Err(e) = hooks {
            let _ = writeln!(
                std::io::stderr(),
                "heaplab: could not install the error reporter: {e}"
            );
        }
        heaplab_experiments::panic::install_worker_filter();
        // `cargo bench` adds `--bench` to a harness-less bench's arguments: not ours.
        let args: Vec<_> = std::env::args_os().filter(|a| a != "--bench").collect();
        // A lab's own binary speaks of its own name, experiments and variants.
        let command = match args.first() {
            Some(path) if own => cli::lab_command(&cli::program_name(path)),
            _ => Cli::command(),
        };
        let cli = match command
            .try_get_matches_from(args)
            .and_then(|matches| Cli::from_arg_matches(&matches))
        {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
        match cli::run(cli) {
            Ok(code) => code,
            // Expected refusals get one plain line; only surprises get the full report.
            // `writeln!` and not `eprintln!`: with the terminal closed, stderr may be gone
            // too, and a failed print must not panic on the way out.
            Err(report) if report.downcast_ref::<UsageError>().is_some() => {
                let _ = writeln!(std::io::stderr(), "error: {report}");
                ExitCode::from(2)
            }
            #[cfg(feature = "dashboard")]
            Err(report) if report.downcast_ref::<crate::ui::NotATerminal>().is_some() => {
                let _ = writeln!(std::io::stderr(), "error: {report}");
                ExitCode::FAILURE
            }
            Err(report) => {
                let _ = writeln!(std::io::stderr(), "error: {report:?}");
                ExitCode::FAILURE
            }
        }
    }
}
