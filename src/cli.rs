//! The command line: what each subcommand takes, and how heaplab turns it into work.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr as _};
use heaplab_experiments::Section;
use heaplab_experiments::measure::Stop;

use crate::catalog::catalog;

pub use crate::UsageError;
use crate::bench::{self, Format, Isolation, RowStatus, VariantChoice};
use crate::files::Output;
pub use crate::live::{Live, launcher, parse_seconds};
use crate::units::{self, Size};

/// heaplab: watch what memory optimisations do, live. Every experiment of the course chapter on
/// memory optimisation, naive against optimized, with exact allocation counts.
#[derive(Debug, Parser)]
#[command(name = "heaplab", version, about, long_about = None)]
pub struct Cli {
    /// What to do (without one, the dashboard opens).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The dashboard's options, for `heaplab` without a subcommand (`run` and `tour` take
    /// their own; given here before one of them, they apply to it too).
    #[command(flatten)]
    pub dashboard: DashboardArgs,

    /// Process-wide memory fuse: past this much live heap the process aborts, to protect the
    /// machine. Default: 75% of physical memory.
    // Global: every command takes it, and the parent passes it to its workers before `worker`.
    #[arg(long, global = true, value_name = "SIZE")]
    pub max_memory: Option<Size>,
}

/// The options of the live dashboard: `heaplab`, `heaplab run`, `heaplab tour`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DashboardArgs {
    /// Dashboard frames per second at most [default: 15].
    #[arg(long, value_name = "FPS", value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: Option<u32>,

    /// Presenter mode, for a projector: the key figure in big digits, high contrast, only the
    /// allocation-rate and throughput charts.
    #[arg(long)]
    pub presenter: bool,

    /// Memory budget per experiment run (`64MiB`, `1GiB`): a variant whose live heap passes it
    /// is stopped, its memory returned, and the run reported over budget.
    #[arg(long, value_name = "SIZE", value_parser = parse_budget_arg)]
    pub budget: Option<u64>,

    /// Where the dashboard's exports (`e`) go [default: `$HEAPLAB_DATA_DIR`, else
    /// `$XDG_DATA_HOME/heaplab`, else `~/.local/share/heaplab`].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DashboardArgs {
    /// These options, each taken from `self` if given there, else from `outer` (given
    /// before the subcommand).
    fn or(self, outer: Self) -> Self {
        Self {
            fps: self.fps.or(outer.fps),
            presenter: self.presenter || outer.presenter,
            budget: self.budget.or(outer.budget),
            data_dir: self.data_dir.or(outer.data_dir),
        }
    }

    /// The first option given, for a subcommand that takes none of them.
    fn first_given(&self) -> Option<&'static str> {
        [
            (self.fps.is_some(), "--fps"),
            (self.presenter, "--presenter"),
            (self.budget.is_some(), "--budget"),
            (self.data_dir.is_some(), "--data-dir"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the experiments: id, chapter section, title, variants.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Measure experiments headless: ns/op, allocs/op, bytes/op, peak heap, throughput.
    Bench(BenchArgs),
    /// Compare two bench exports (`bench --format json`), before and after a change: the
    /// change in ns/op per experiment and variant, with its 95% interval and p-value (`~`: no
    /// significant change), like Go's benchstat.
    Compare {
        /// The export from before.
        old: PathBuf,
        /// The export from after.
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Measure every experiment against the chapter's performance targets, one row each.
    Scorecard {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ScorecardFormat::Table)]
        format: ScorecardFormat,
        /// Measure each run for this many seconds (after the warm-up) [default: 0.2].
        #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
        time: Option<Duration>,
        /// Independent runs per variant (see `bench --runs`); more than bench's default, so
        /// that a target's interval is narrow enough to be judged against its line.
        #[arg(long, value_name = "K", default_value_t = crate::scorecard::DEFAULT_RUNS,
              value_parser = parse_runs)]
        runs: usize,
        /// Write the scorecard to FILE instead of standard output (as `bench --output`).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Exit with status 1 when any claimed target is not met, naming them on stderr (for
        /// CI); the scorecard is written all the same.
        #[arg(long)]
        strict: bool,
    },
    /// Draw the dashboard as an SVG picture: an experiment's naive variant, then the switch to
    /// the next, measured for real on an off-screen terminal.
    Screenshot(ScreenshotArgs),
    /// The guided tour: every experiment in chapter order, naive then optimized, each judged
    /// against the chapter's targets. `n`/`N` move between steps.
    Tour {
        /// Advance by itself and start over after the last step (a demo loop at a booth).
        #[arg(long)]
        auto: bool,
        /// Record every sample of the tour to FILE (CSV or JSON by extension).
        #[arg(long, value_name = "FILE.csv|FILE.json")]
        record: Option<PathBuf>,
        #[command(flatten)]
        dashboard: DashboardArgs,
    },
    /// Open the dashboard with an experiment already running.
    Run {
        /// The experiment's id (see `heaplab list`).
        id: String,
        /// The variant to start with (default: the first, `naive` in the chapter's catalog).
        #[arg(long)]
        variant: Option<String>,
        /// Workload size, in the experiment's own unit (default: the experiment's default).
        #[arg(long, value_name = "N", value_parser = parse_workload_size)]
        size: Option<usize>,
        /// Run on this file instead of generated input (experiments that take one: streaming).
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        #[command(flatten)]
        trace: crate::trace::TraceArgs,
        #[command(flatten)]
        dashboard: DashboardArgs,
    },
    /// Runs one job as a worker process for a parent heaplab (internal: the parent starts it,
    /// speaks to it over pipes, and reads its samples).
    #[command(hide = true)]
    Worker {
        /// The job, as JSON.
        job: String,
    },
}

/// `heaplab list --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
}

/// `heaplab scorecard --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScorecardFormat {
    /// Aligned columns.
    Table,
    /// A Markdown table (what `assets/scorecard.md` holds).
    Markdown,
    /// Scores and the bench rows behind them.
    Json,
}

/// `heaplab screenshot`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ScreenshotArgs {
    /// The experiment's id.
    #[arg(default_value = "buffer-reuse")]
    pub id: String,
    /// Seconds to run each of the two variants.
    #[arg(long, default_value_t = 12.0, value_parser = parse_seconds_f64)]
    pub seconds: f64,
    /// Workload size (default: the experiment's default).
    #[arg(long, value_name = "N", value_parser = parse_workload_size)]
    pub size: Option<usize>,
    /// What to draw: the dashboard, or a workshop view.
    #[arg(long, value_enum, default_value_t = crate::ui::workshop::ShotView::Dashboard)]
    pub view: crate::ui::workshop::ShotView,
    /// Where to write the SVG (as `bench --output`) [default: assets/VIEW.svg].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Terminal width in columns.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(80..=400))]
    pub width: u16,
    /// Terminal height in rows.
    #[arg(long, default_value_t = 36, value_parser = clap::value_parser!(u16).range(24..=200))]
    pub height: u16,
}

/// `heaplab bench`'s arguments.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Experiment ids (default: all; see `heaplab list`).
    pub ids: Vec<String>,

    /// Which variant to measure: naive, optimized, crate, or all.
    #[arg(long, default_value = "all", value_name = "NAME|all")]
    pub variant: String,

    /// Measure exactly N operations per run after the warm-up (at least 1).
    // Zero is refused after parsing, in one plain line (see `check_iterations`).
    #[arg(long, value_name = "N", conflicts_with = "time")]
    pub iterations: Option<u64>,

    /// Measure each run for this many seconds (after the warm-up) [default: 0.2].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub time: Option<Duration>,

    /// Independent runs per variant, each in a fresh worker process: ns/op and ops/s are their
    /// median with a 95% interval (6 or more runs), speed-ups are tested for significance.
    #[arg(long, value_name = "K", default_value_t = bench::DEFAULT_RUNS,
          value_parser = parse_runs)]
    pub runs: usize,

    /// Workload size, in each experiment's own unit (default: each experiment's default).
    #[arg(long, value_name = "N", value_parser = parse_workload_size)]
    pub size: Option<usize>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE instead of standard output (`-`: standard output; a regular
    /// file is replaced whole or not at all, a device or FIFO written in place).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Memory budget per experiment run (`64MiB`, `1GiB`): a variant whose live heap passes it
    /// is stopped, its memory returned, and its row reported over budget (exit status 3).
    #[arg(long, value_name = "SIZE", value_parser = parse_budget_arg)]
    pub budget: Option<u64>,

    /// Also draw the results as an SVG chart (allocs/op, peak heap and throughput, a bar per
    /// variant, a row per experiment), written to FILE like --output.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,

    /// Run on this file instead of generated input (experiments that take one: streaming).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Also capture where each variant allocates: after its measured operations, the same
    /// operations replayed on a fresh setup with every allocation's call stack (the first
    /// ones only, past 2 s), each named by the first line in the experiment's code (JSON:
    /// `sites` in each row; table and markdown: the top sites under each row; CSV: not
    /// shown). The replay is in no other figure.
    #[arg(long)]
    pub sites: bool,

    /// With --sites: sample one allocation per about SIZE bytes allocated (`512KiB`, as pprof
    /// and tcmalloc do) instead of capturing every one. The replay then covers every operation
    /// of the run, however long, and the sites' figures are estimates, marked as such.
    #[arg(long, value_name = "SIZE", requires = "sites", value_parser = parse_sample_arg)]
    pub sample_every: Option<u64>,

    /// With --sites: replay the first N operations of each run (all of them if it ran fewer),
    /// however long that takes, instead of at most 2 s of them: a window that does not
    /// depend on how fast the machine is.
    #[arg(long, value_name = "N", requires = "sites", value_parser = parse_sites_ops)]
    pub sites_ops: Option<u64>,

    /// Measure in this process instead of one fresh child process per row. Rows then depend
    /// on what ran before them (the allocator adapts its thresholds); for tools like valgrind
    /// that follow one process.
    #[arg(long)]
    pub in_process: bool,
}

/// The most `--runs` heaplab takes.
const MAX_RUNS: usize = 1000;

/// `--runs`' syntax only; its range is checked by [`check_runs`] after parsing, so that a
/// number out of range is refused in one plain line (clap's own errors add a hint after a
/// blank line).
fn parse_runs(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| format!("`{text}` is not a number of runs from 1 to {MAX_RUNS}"))
}

fn check_runs(runs: usize) -> Result<usize, UsageError> {
    if (1..=MAX_RUNS).contains(&runs) {
        Ok(runs)
    } else {
        Err(UsageError(format!(
            "--runs must be from 1 to {MAX_RUNS} (got {runs})"
        )))
    }
}

fn check_iterations(iterations: Option<u64>) -> Result<Option<u64>, UsageError> {
    match iterations {
        Some(0) => Err(UsageError(
            "--iterations must be at least 1 (measured operations per run)".into(),
        )),
        n => Ok(n),
    }
}

fn parse_sites_ops(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{text}` is not a number of operations (at least 1)"))
}

fn parse_seconds_f64(text: &str) -> Result<f64, String> {
    parse_seconds(text).map(|d| d.as_secs_f64())
}

fn parse_workload_size(text: &str) -> Result<usize, String> {
    let size: Size = text.parse().map_err(|e: units::SizeError| e.to_string())?;
    match usize::try_from(size.0) {
        Ok(0) => Err(format!("size `{text}` must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("size `{text}` is too large")),
    }
}

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
        Command::Compare { .. } => Some("compare"),
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
        Command::Bench(mut args) => {
            // `--budget` before `bench` is taken as it always was.
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
        Command::Compare { old, new, format } => {
            let compared =
                crate::benchstat::compare(&old, &new).map_err(|e| UsageError(e.to_string()))?;
            Ok(Box::new(move || {
                print_stdout(&crate::benchstat::render(&compared, format)?)?;
                Ok(ExitCode::SUCCESS)
            }))
        }
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
        } => {
            let workshop = crate::ui::workshop::WorkshopOptions {
                record,
                tour: Some(if auto {
                    crate::ui::tour::TourMode::Auto
                } else {
                    crate::ui::tour::TourMode::Manual
                }),
                ..crate::ui::workshop::WorkshopOptions::from_env()
            };
            prepare_workshop(dashboard.or(outer), max_memory, None, None, workshop)
        }
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
    }
}

/// Refuses the dashboard's options given before a subcommand that has none of them.
fn no_dashboard_options(command: &str, outer: &DashboardArgs) -> Result<(), UsageError> {
    match outer.first_given() {
        Some(option) => Err(UsageError(format!(
            "{option} is an option of the dashboard (`heaplab`, `heaplab run`, `heaplab tour`), \
             not of `heaplab {command}`"
        ))),
        None => Ok(()),
    }
}

fn prepare_screenshot(args: ScreenshotArgs, max_memory: Option<Size>) -> Result<Job, UsageError> {
    let ScreenshotArgs {
        id,
        seconds,
        size,
        view,
        output,
        width,
        height,
    } = args;
    let start = resolve_start(&id, None, size)?;
    let output = output.unwrap_or_else(|| PathBuf::from(format!("assets/{}.svg", view.name())));
    let file = Output::create(&output)?;
    Ok(Box::new(move || {
        let launcher = Arc::new(launcher(max_memory)?);
        let buffer = crate::ui::screenshot(start, seconds, width, height, view, launcher)?;
        file.commit(crate::ui::svg::buffer_to_svg(&buffer).as_bytes())?;
        eprintln!("wrote {}", output.display());
        Ok(ExitCode::SUCCESS)
    }))
}

/// `heaplab run`: the dashboard, or with `--trace` lines on standard output.
fn prepare_run(
    start: Start,
    input: Option<&'static Path>,
    trace: crate::trace::TraceArgs,
    dashboard: DashboardArgs,
    max_memory: Option<Size>,
) -> Result<Job, UsageError> {
    if !trace.trace {
        return prepare_dashboard(dashboard, max_memory, input, Some((start, trace.record)));
    }
    set_fuse(max_memory, dashboard.budget)?;
    let recorder = trace
        .record
        .as_deref()
        .map(crate::export::Recorder::create)
        .transpose()?;
    let live = Live {
        fps: dashboard.fps.unwrap_or(DEFAULT_FPS),
        budget: dashboard.budget,
        input,
        max_memory,
    };
    Ok(Box::new(move || {
        crate::trace::main(start, &trace, &live, recorder)
    }))
}

/// Frames per second of the dashboard without `--fps`.
const DEFAULT_FPS: u32 = 15;

/// The dashboard, with `run`'s experiment and `--record` if any.
fn prepare_dashboard(
    dashboard: DashboardArgs,
    max_memory: Option<Size>,
    input: Option<&'static Path>,
    run: Option<(Start, Option<PathBuf>)>,
) -> Result<Job, UsageError> {
    let (start, record) = run.unzip();
    let workshop = crate::ui::workshop::WorkshopOptions {
        record: record.flatten(),
        ..crate::ui::workshop::WorkshopOptions::from_env()
    };
    prepare_workshop(dashboard, max_memory, input, start, workshop)
}

fn prepare_workshop(
    dashboard: DashboardArgs,
    max_memory: Option<Size>,
    input: Option<&'static Path>,
    start: Option<Start>,
    workshop: crate::ui::workshop::WorkshopOptions,
) -> Result<Job, UsageError> {
    set_fuse(max_memory, dashboard.budget)?;
    if let Some(path) = &workshop.record {
        // Refused now, before the terminal is taken; the dashboard claims it again when it
        // starts (this claim's temporary file is removed when it is dropped).
        crate::export::Recorder::create(path)?;
    }
    if let Some(dir) = dashboard.data_dir {
        crate::files::set_data_dir(dir);
    }
    let live = Live {
        fps: dashboard.fps.unwrap_or(DEFAULT_FPS),
        budget: dashboard.budget,
        input,
        max_memory,
    };
    let workshop = crate::ui::workshop::WorkshopOptions {
        presenter: dashboard.presenter,
        ..workshop
    };
    Ok(Box::new(move || dashboard_job(&live, start, workshop)))
}

/// Checks `heaplab run --input`'s file before the terminal is touched; it lives as long as
/// the process, so the runner may keep a `&'static` to it.
fn check_run_input(experiment: usize, path: PathBuf) -> Result<&'static Path, UsageError> {
    let experiment = catalog()[experiment];
    heaplab_experiments::setup_with_input(experiment, experiment.info().baseline(), &path)
        .map_err(|e| UsageError(e.to_string()))?;
    Ok(Box::leak(path.into_boxed_path()))
}

/// Where a live view starts: the experiment's index in the catalog, the variant's, the size.
type Start = (usize, usize, Option<usize>);

/// Checks `heaplab run`'s id, variant and size before the terminal is touched.
fn resolve_start(
    id: &str,
    variant: Option<&str>,
    size: Option<usize>,
) -> Result<Start, UsageError> {
    let catalog = catalog();
    let index = catalog
        .iter()
        .position(|e| e.info().id == id)
        .ok_or_else(|| {
            UsageError(format!(
                "unknown experiment `{id}`; valid ids: {}",
                crate::catalog::ids()
            ))
        })?;
    let experiment = catalog[index];
    let size_to_check = size.unwrap_or(experiment.info().default_size);
    let variant = variant.unwrap_or(experiment.info().baseline());
    let variant = heaplab_experiments::check(experiment, variant, size_to_check)
        .map_err(|e| UsageError(e.to_string()))?;
    Ok((index, variant, size))
}

fn dashboard_job(
    live: &Live,
    start: Option<Start>,
    workshop: crate::ui::workshop::WorkshopOptions,
) -> Result<ExitCode> {
    let ended = crate::ui::run(crate::ui::Options {
        fps: live.fps,
        start,
        budget: live.budget,
        input: live.input,
        workshop,
        launcher: Arc::new(launcher(live.max_memory)?),
    })?;
    // Not `eprintln!`: it panics when standard error is a terminal that is gone.
    let _ = match &ended.session {
        Ok(Some(path)) => writeln!(
            std::io::stderr(),
            "heaplab: this session's figures are in {} (heaplab compare reads it)",
            path.display()
        ),
        Ok(None) => Ok(()),
        Err(why) => writeln!(
            std::io::stderr(),
            "heaplab: could not keep this session's figures: {why}"
        ),
    };
    match ended.ending {
        crate::ui::Ending::Quit => Ok(ExitCode::SUCCESS),
        // The shell's convention for "ended by signal N", so scripts can tell.
        crate::ui::Ending::Signal(signal) => Ok(ExitCode::from(128 + signal as u8)),
    }
}

/// `--budget`, in the command line's words (the dashboard's prompt takes an empty answer for
/// no budget; here the option is left out).
fn parse_budget_arg(text: &str) -> Result<u64, String> {
    let text = text.trim();
    match text.parse::<Size>() {
        Ok(Size(0)) => Err(format!(
            "budget `{text}` must be more than 0, e.g. 64MiB (leave --budget out for none)"
        )),
        Ok(Size(bytes)) => Ok(bytes),
        Err(_) if text.is_empty() || text.eq_ignore_ascii_case("none") => {
            Err("a budget needs a size, e.g. 64MiB (leave --budget out for none)".to_owned())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn parse_sample_arg(text: &str) -> Result<u64, String> {
    crate::ui::budget::parse_budget(text)?
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| "a sampling interval needs a size, e.g. 512KiB".to_owned())
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

fn list(format: ListFormat) -> Result<ExitCode> {
    let mut out = String::new();
    match format {
        ListFormat::Json => {
            let infos: Vec<_> = catalog().iter().map(|e| e.info()).collect();
            out = serde_json::to_string_pretty(&infos)?;
            out.push('\n');
        }
        ListFormat::Table => {
            // Both widths from the longest entry, so the variants start in one column.
            let width = |field: fn(&heaplab_experiments::ExperimentInfo) -> &str| {
                catalog()
                    .iter()
                    .map(|e| field(e.info()).chars().count())
                    .max()
                    .unwrap_or(0)
            };
            let id_width = width(|info| info.id);
            let title_width = width(|info| info.title);
            for section in Section::ALL {
                let mut experiments = catalog().iter().filter(|e| e.info().section == section);
                let Some(first) = experiments.next() else {
                    continue;
                };
                let _ = writeln!(out, "{} {}", section.code(), section.title());
                for experiment in std::iter::once(first).chain(experiments) {
                    let info = experiment.info();
                    let variants: Vec<&str> = info.variants.iter().map(|v| v.name).collect();
                    let _ = writeln!(
                        out,
                        "  {:<id_width$}  {:<title_width$}  {}",
                        info.id,
                        info.title,
                        variants.join(", ")
                    );
                }
            }
        }
    }
    print_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn prepare_bench(args: &BenchArgs, max_memory: Option<Size>) -> Result<Job, UsageError> {
    let variant = match args.variant.as_str() {
        "all" => VariantChoice::All,
        name => VariantChoice::Named(name.to_owned()),
    };
    let iterations = check_iterations(args.iterations)?;
    let runs = check_runs(args.runs)?;
    let stop = match (iterations, args.time) {
        (Some(n), _) => Stop::Iterations(n),
        (None, Some(time)) => Stop::Time(time),
        (None, None) => Stop::Time(bench::DEFAULT_RUN_TIME),
    };
    let mut plan =
        bench::plan(&args.ids, &variant, args.size, stop).map_err(|e| UsageError(e.to_string()))?;
    if let Some(input) = &args.input {
        plan = bench::with_input(plan, !args.ids.is_empty(), input.clone())
            .map_err(|e| UsageError(e.to_string()))?;
    }
    plan.budget = args.budget;
    plan.runs = runs;
    plan.sites = args.sites;
    plan.sites_sample_every = args.sample_every.unwrap_or(0);
    plan.sites_ops = args.sites_ops;
    // Claim the output file before measuring, so a bad path fails in a millisecond, not after
    // a minute of benchmarks.
    let output = args.output.as_deref().map(Output::create).transpose()?;
    let plot = args.plot.as_deref().map(Output::create).transpose()?;
    let (in_process, format) = (args.in_process, args.format);
    Ok(Box::new(move || {
        let isolation = if in_process {
            Isolation::InProcess
        } else {
            Isolation::Worker(launcher(max_memory)?)
        };
        run_bench(&plan, &isolation, format, output, plot)
    }))
}

fn run_bench(
    plan: &bench::Plan,
    isolation: &Isolation,
    format: Format,
    output: Option<Output>,
    plot: Option<Output>,
) -> Result<ExitCode> {
    let progress = std::io::stderr().is_terminal();
    let total = rows_planned(plan);
    let mut done = 0;
    let rows = bench::run(plan, isolation, |row| {
        done += 1;
        if progress {
            eprintln!(
                "  {} {:<20} {:<10} {:>10.2} allocs/op {:>12.1} ns/op",
                how_far(done, total),
                row.experiment,
                row.variant,
                row.allocs_per_op,
                row.ns_per_op
            );
        }
    })
    .wrap_err("measuring failed")?;
    let text = bench::render(&rows, format)?;
    if let Some(plot) = plot {
        plot.commit(crate::export::svg(&crate::export::from_rows(&rows))?.as_bytes())?;
    }
    match output {
        Some(file) => file.commit(text.as_bytes())?,
        None => print_stdout(&text)?,
    }
    // The report is complete either way; the status says whether every row ran to the end.
    let ended = |status| rows.iter().any(|r| r.status == status);
    Ok(if ended(RowStatus::OverBudget) {
        ExitCode::from(3)
    } else if ended(RowStatus::Panicked) || ended(RowStatus::Crashed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The rows a plan will report: one per experiment and variant.
fn rows_planned(plan: &bench::Plan) -> usize {
    plan.items.iter().map(|i| i.variants.len()).sum()
}

/// `[ 7/37]`: how many rows are done, of how many.
fn how_far(done: usize, total: usize) -> String {
    let width = total.to_string().len();
    format!("[{done:>width$}/{total}]")
}

/// `heaplab scorecard`'s arguments, checked.
struct ScorecardArgs {
    format: ScorecardFormat,
    time: Option<Duration>,
    runs: usize,
    strict: bool,
}

fn run_scorecard(
    args: &ScorecardArgs,
    output: Option<Output>,
    max_memory: Option<Size>,
) -> Result<ExitCode> {
    let &ScorecardArgs {
        format,
        time,
        runs,
        strict,
    } = args;
    let stop = Stop::Time(time.unwrap_or(bench::DEFAULT_RUN_TIME));
    let mut plan =
        bench::plan(&[], &VariantChoice::All, None, stop).map_err(|e| UsageError(e.to_string()))?;
    plan.runs = runs;
    let total = rows_planned(&plan);
    let mut done = 0;
    eprintln!(
        "scorecard: {total} variants, {runs} runs each, in fresh worker processes; about {:.0} s",
        (total * runs) as f64 * 0.22
    );
    let rows = bench::run(&plan, &Isolation::Worker(launcher(max_memory)?), |row| {
        done += 1;
        eprintln!(
            "  {} {} {}: {:.1} ns/op",
            how_far(done, total),
            row.experiment,
            row.variant,
            row.ns_per_op
        );
    })
    .wrap_err("measuring failed")?;
    let scores: Vec<_> = plan
        .items
        .iter()
        .filter_map(|item| {
            let id = item.experiment.info().id;
            let own: Vec<_> = rows
                .iter()
                .filter(|r| r.experiment == id)
                .cloned()
                .collect();
            crate::scorecard::score(&own, item.experiment.info().targets)
        })
        .collect();
    let text = match format {
        ScorecardFormat::Table => crate::scorecard::render_text(&scores, false),
        ScorecardFormat::Markdown => crate::scorecard::render_text(&scores, true),
        ScorecardFormat::Json => {
            let mut text = serde_json::to_string_pretty(&serde_json::json!({
                "heaplab_version": env!("CARGO_PKG_VERSION"),
                "scores": scores,
                "results": rows,
            }))?;
            text.push('\n');
            text
        }
    };
    match output {
        Some(file) => file.commit(text.as_bytes())?,
        None => print_stdout(&text)?,
    }
    // The scorecard is complete either way; with --strict the status says whether every
    // claimed target was met (an inconclusive one does not fail it).
    let missed = crate::scorecard::not_met(&scores);
    if strict && !missed.is_empty() {
        eprintln!(
            "heaplab scorecard --strict: {} claimed target{} not met: {}",
            missed.len(),
            if missed.len() == 1 { "" } else { "s" },
            missed.join("; ")
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
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
