//! The command line: what each subcommand takes (`args`), and how heaplab turns it into
//! work: headless commands in `headless`, `run` and its `--trace` in `views`, the dashboard,
//! `tour` and `screenshot` in `dashboard` (the `dashboard` feature; without it, their one-line
//! refusals in `no_dashboard`); `attach` and `ps` in `attach`; in a lab's own binary,
//! its help and messages in its own names (`named`).

mod args;
#[cfg(unix)]
mod attach;
#[cfg(feature = "dashboard")]
mod dashboard;
mod headless;
mod named;
#[cfg(not(feature = "dashboard"))]
mod no_dashboard;
mod views;

use std::io::Write as _;
use std::process::ExitCode;

use color_eyre::eyre::{Result, WrapErr as _};

pub use crate::UsageError;
use crate::files::Output;
pub use crate::live::{LiveOptions, launcher, parse_seconds};
use crate::units::{self, Size};
#[cfg(unix)]
pub use args::AttachArgs;
use args::check_runs;
pub use args::{
    BenchArgs, CheckArgs, Cli, Command, CompareArgs, DashboardArgs, ListFormat, ScorecardFormat,
    ScreenshotArgs,
};
#[cfg(feature = "dashboard")]
use dashboard::{prepare_dashboard, prepare_screenshot, prepare_tour};
use headless::{ScorecardArgs, list, prepare_bench, prepare_compare, run_scorecard};
pub use named::{lab_command, program, program_name};
#[cfg(not(feature = "dashboard"))]
use no_dashboard::{prepare_dashboard, prepare_screenshot, prepare_tour, without_dashboard};
use views::{check_run_input, prepare_run, resolve_start};

/// Work to do once the arguments have been checked.
type Job = Box<dyn FnOnce() -> Result<ExitCode>>;

/// Runs heaplab with parsed arguments.
pub fn run(cli: Cli) -> Result<ExitCode> {
    // Every argument is checked before anything heavy is built, and a refusal is printed here
    // without becoming an error report: a report captures a backtrace when RUST_BACKTRACE is
    // set, which took `bench nosuch` 0.36 s and 94 MB to print one line.
    let job = match prepare(cli) {
        Ok(job) => job,
        Err(refusal) => {
            let _ = writeln!(std::io::stderr(), "error: {refusal}");
            return Ok(ExitCode::from(2));
        }
    };
    match job() {
        // A file that could not be written after the work (a full disk, `/dev/full`): one
        // line naming it, not a report.
        Err(report) if report.downcast_ref::<crate::files::WriteError>().is_some() => {
            let _ = writeln!(std::io::stderr(), "error: {report:#}");
            Ok(ExitCode::FAILURE)
        }
        ended => ended,
    }
}

/// `bench` (and `check`, a bench with its own defaults): `--budget` before the subcommand is
/// taken as it always was; no other dashboard option applies.
fn bench_job(
    mut args: BenchArgs,
    outer: DashboardArgs,
    max_memory: Option<Size>,
) -> Result<Job, UsageError> {
    args.budget = args.budget.or(outer.budget);
    no_dashboard_options(
        "bench",
        &DashboardArgs {
            budget: None,
            ..outer
        },
    )?;
    set_fuse(max_memory, args.budget)?;
    prepare_bench(&args, max_memory)
}

/// Checks the arguments and claims the output files; returns the work to do.
fn prepare(cli: Cli) -> Result<Job, UsageError> {
    let Cli {
        command,
        dashboard: outer,
        max_memory,
    } = cli;
    let Some(command) = command else {
        return prepare_dashboard(outer, max_memory, None, None);
    };
    let plain = match &command {
        Command::List { .. } => Some("list"),
        Command::Compare(_) => Some("compare"),
        Command::Scorecard { .. } => Some("scorecard"),
        Command::Screenshot(_) => Some("screenshot"),
        _ => None,
    };
    if let Some(name) = plain {
        no_dashboard_options(name, &outer)?;
        set_fuse(max_memory, None)?;
    }
    match command {
        Command::Worker { job } => {
            set_fuse(max_memory, None)?;
            let job: heaplab_experiments::worker::Job = serde_json::from_str(&job)
                .map_err(|e| UsageError(format!("not a worker job: {e}")))?;
            Ok(Box::new(move || {
                let status = heaplab_experiments::worker::serve(&job, crate::catalog::find);
                Ok(ExitCode::from(status))
            }))
        }
        Command::List { format } => Ok(Box::new(move || list(format))),
        Command::Check(args) => bench_job(args.into(), outer, max_memory),
        Command::Bench(args) => bench_job(args, outer, max_memory),
        Command::Compare(args) => prepare_compare(args),
        Command::Run {
            id,
            variant,
            size,
            input,
            trace,
            dashboard,
        } => {
            let start = resolve_start(&id, variant.as_deref(), size)?;
            let input = input
                .map(|path| check_run_input(start.0, path))
                .transpose()?;
            prepare_run(start, input, trace, dashboard.or(outer), max_memory)
        }
        Command::Tour {
            auto,
            record,
            dashboard,
        } => prepare_tour(auto, record, dashboard.or(outer), max_memory),
        Command::Scorecard {
            format,
            time,
            runs,
            output,
            strict,
        } => {
            let args = ScorecardArgs {
                format,
                time,
                runs: check_runs(runs)?,
                strict,
            };
            let output = output.as_deref().map(Output::create).transpose()?;
            Ok(Box::new(move || run_scorecard(&args, output, max_memory)))
        }
        Command::Screenshot(args) => prepare_screenshot(args, max_memory),
        #[cfg(unix)]
        Command::Attach(args) => {
            no_dashboard_options("attach", &outer)?;
            attach::prepare_attach(args)
        }
        #[cfg(unix)]
        Command::Ps => {
            no_dashboard_options("ps", &outer)?;
            Ok(Box::new(attach::ps))
        }
    }
}

/// Refuses the dashboard's options given before a subcommand that has none of them.
fn no_dashboard_options(command: &str, outer: &DashboardArgs) -> Result<(), UsageError> {
    let program = program();
    match outer.first_given() {
        Some(option) => Err(UsageError(format!(
            "{option} is an option of the dashboard (`{program}`, `{program} run`, `{program} \
             tour`), not of `{program} {command}`"
        ))),
        None => Ok(()),
    }
}

/// Physical memory in bytes (0 if the platform cannot tell).
fn physical_memory() -> u64 {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    system.total_memory()
}

/// Sets the process-wide fuse and checks the budget against it: a budget the fuse would blow
/// first could never stop anything cleanly.
fn set_fuse(max_memory: Option<Size>, budget: Option<u64>) -> Result<(), UsageError> {
    let physical = physical_memory();
    let limit = match max_memory {
        Some(Size(0)) => return Err(UsageError("--max-memory must be more than 0".into())),
        Some(Size(bytes)) => bytes,
        None if physical == 0 => u64::MAX,
        None => (physical as f64 * crate::alloc::DEFAULT_FUSE_SHARE) as u64,
    };
    if let Some(budget) = budget
        && budget >= limit
    {
        return Err(UsageError(format!(
            "--budget {} is not below the process-wide fuse of {} ({}); use a smaller budget",
            units::bytes(budget),
            units::bytes(limit),
            if max_memory.is_some() {
                "--max-memory"
            } else {
                "75% of this machine's memory"
            }
        )));
    }
    if limit == u64::MAX {
        return Ok(());
    }
    crate::alloc::set_memory_fuse(limit).map_err(|e| UsageError(e.to_string()))
}

/// Writes to standard output, treating a closed pipe (`heaplab list | head`) as success.
fn print_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).wrap_err("could not write to standard output")
        }
        _ => Ok(()),
    }
}
