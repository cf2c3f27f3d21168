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
use crate::files::AtomicFile;
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

    /// Dashboard frames per second at most.
    #[arg(long, global = true, default_value_t = 15, value_name = "FPS",
          value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: u32,

    /// Process-wide memory fuse: past this much live heap the process aborts, to protect the
    /// machine. Default: 75% of physical memory.
    #[arg(long, global = true, value_name = "SIZE")]
    pub max_memory: Option<Size>,

    /// Presenter mode, for a projector: the key figure in big digits, high contrast, only the
    /// allocation-rate and throughput charts.
    #[arg(long, global = true)]
    pub presenter: bool,

    /// Memory budget per experiment run (`64MiB`, `1GiB`): a variant whose live heap passes it
    /// is stopped, its memory returned, and the run reported over budget (bench exits 3).
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_budget_arg)]
    pub budget: Option<u64>,
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
        /// Write the scorecard to FILE (atomically) instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Exit with status 1 when any claimed target is not met, naming them on stderr (for
        /// CI); the scorecard is written all the same.
        #[arg(long)]
        strict: bool,
    },
    /// Draw the dashboard as an SVG picture: an experiment's naive variant, then the switch to
    /// the next, measured for real on an off-screen terminal.
    Screenshot {
        /// The experiment's id.
        #[arg(default_value = "buffer-reuse")]
        id: String,
        /// Seconds to run each of the two variants.
        #[arg(long, default_value_t = 12.0, value_parser = parse_seconds_f64)]
        seconds: f64,
        /// Workload size (default: the experiment's default).
        #[arg(long, value_name = "N", value_parser = parse_workload_size)]
        size: Option<usize>,
        /// What to draw: the dashboard, or a workshop view.
        #[arg(long, value_enum, default_value_t = crate::ui::workshop::ShotView::Dashboard)]
        view: crate::ui::workshop::ShotView,
        /// Where to write the SVG (atomically) [default: assets/VIEW.svg].
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Terminal width in columns.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(80..=400))]
        width: u16,
        /// Terminal height in rows.
        #[arg(long, default_value_t = 36, value_parser = clap::value_parser!(u16).range(24..=200))]
        height: u16,
    },
    /// The guided tour: every experiment in chapter order, naive then optimized, each judged
    /// against the chapter's targets. `n`/`N` move between steps.
    Tour {
        /// Advance by itself and start over after the last step (a demo loop at a booth).
        #[arg(long)]
        auto: bool,
        /// Record every sample of the tour to FILE (CSV or JSON by extension).
        #[arg(long, value_name = "FILE.csv|FILE.json")]
        record: Option<PathBuf>,
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

    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also draw the results as an SVG chart (allocs/op, peak heap and throughput, a bar per
    /// variant, a row per experiment), written atomically to FILE.
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

/// Runs heaplab with parsed arguments.
pub fn run(cli: Cli) -> Result<ExitCode> {
    set_fuse(cli.max_memory, cli.budget)?;
    let live = |input| Live {
        fps: cli.fps,
        budget: cli.budget,
        input,
        max_memory: cli.max_memory,
    };
    match cli.command {
        Some(Command::Worker { job }) => {
            let job: heaplab_experiments::worker::Job = serde_json::from_str(&job)
                .map_err(|e| UsageError(format!("not a worker job: {e}")))?;
            let status = heaplab_experiments::worker::serve(&job, crate::catalog::find);
            Ok(ExitCode::from(status))
        }
        Some(Command::List { format }) => list(format),
        Some(Command::Bench(args)) => run_bench(&args, cli.max_memory, cli.budget),
        Some(Command::Compare { old, new, format }) => {
            let changes =
                crate::benchstat::compare(&old, &new).map_err(|e| UsageError(e.to_string()))?;
            print_stdout(&crate::benchstat::render(&changes, format)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run {
            id,
            variant,
            size,
            input,
            trace,
        }) => {
            let start = resolve_start(&id, variant.as_deref(), size)?;
            let input = input
                .map(|path| check_run_input(start.0, path))
                .transpose()?;
            if trace.trace {
                return crate::trace::main(start, &trace, &live(input));
            }
            let workshop = crate::ui::workshop::WorkshopOptions {
                record: trace.record,
                presenter: cli.presenter,
                ..crate::ui::workshop::WorkshopOptions::from_env()
            };
            dashboard(&live(input), Some(start), workshop)
        }
        Some(Command::Tour { auto, record }) => {
            let workshop = crate::ui::workshop::WorkshopOptions {
                record,
                tour: Some(if auto {
                    crate::ui::tour::TourMode::Auto
                } else {
                    crate::ui::tour::TourMode::Manual
                }),
                presenter: cli.presenter,
                ..crate::ui::workshop::WorkshopOptions::from_env()
            };
            dashboard(&live(None), None, workshop)
        }
        Some(Command::Scorecard {
            format,
            time,
            runs,
            output,
            strict,
        }) => run_scorecard(
            &ScorecardArgs {
                format,
                time,
                runs: check_runs(runs)?,
                output,
                strict,
            },
            cli.max_memory,
        ),
        Some(Command::Screenshot {
            id,
            seconds,
            size,
            output,
            width,
            height,
            view,
        }) => {
            let start = resolve_start(&id, None, size)?;
            let output =
                output.unwrap_or_else(|| PathBuf::from(format!("assets/{}.svg", view.name())));
            let file = AtomicFile::create(&output)?;
            let launcher = Arc::new(launcher(cli.max_memory)?);
            let buffer = crate::ui::screenshot(start, seconds, width, height, view, launcher)?;
            file.commit(crate::ui::svg::buffer_to_svg(&buffer).as_bytes())?;
            eprintln!("wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        None => dashboard(
            &live(None),
            None,
            crate::ui::workshop::WorkshopOptions {
                presenter: cli.presenter,
                ..crate::ui::workshop::WorkshopOptions::from_env()
            },
        ),
    }
}

/// Checks `heaplab run --input`'s file before the terminal is touched; it lives as long as
/// the process, so the runner may keep a `&'static` to it.
fn check_run_input(experiment: usize, path: PathBuf) -> Result<&'static Path> {
    let experiment = catalog()[experiment];
    heaplab_experiments::setup_with_input(experiment, experiment.info().baseline(), &path)
        .map_err(|e| UsageError(e.to_string()))?;
    Ok(Box::leak(path.into_boxed_path()))
}

/// Checks `heaplab run`'s id, variant and size before the terminal is touched.
fn resolve_start(
    id: &str,
    variant: Option<&str>,
    size: Option<usize>,
) -> Result<(usize, usize, Option<usize>)> {
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

fn dashboard(
    live: &Live,
    start: Option<(usize, usize, Option<usize>)>,
    workshop: crate::ui::workshop::WorkshopOptions,
) -> Result<ExitCode> {
    match crate::ui::run(crate::ui::Options {
        fps: live.fps,
        start,
        budget: live.budget,
        input: live.input,
        workshop,
        launcher: Arc::new(launcher(live.max_memory)?),
    })? {
        crate::ui::Ending::Quit => Ok(ExitCode::SUCCESS),
        // The shell's convention for "ended by signal N", so scripts can tell.
        crate::ui::Ending::Signal(signal) => Ok(ExitCode::from(128 + signal as u8)),
    }
}

fn parse_budget_arg(text: &str) -> Result<u64, String> {
    crate::ui::budget::parse_budget(text)?
        .ok_or_else(|| "a budget needs a size, e.g. 64MiB (leave --budget out for none)".to_owned())
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
fn set_fuse(max_memory: Option<Size>, budget: Option<u64>) -> Result<()> {
    let physical = physical_memory();
    let limit = match max_memory {
        Some(Size(0)) => return Err(UsageError("--max-memory must be more than 0".into()).into()),
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
        ))
        .into());
    }
    if limit == u64::MAX {
        return Ok(());
    }
    crate::alloc::set_memory_fuse(limit).map_err(|e| UsageError(e.to_string()).into())
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

fn run_bench(args: &BenchArgs, max_memory: Option<Size>, budget: Option<u64>) -> Result<ExitCode> {
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
    plan.budget = budget;
    plan.runs = runs;
    plan.sites = args.sites;
    plan.sites_sample_every = args.sample_every.unwrap_or(0);
    plan.sites_ops = args.sites_ops;
    // Claim the output file before measuring, so a bad path fails in a millisecond, not after
    // a minute of benchmarks.
    let output = args.output.as_deref().map(AtomicFile::create).transpose()?;
    let plot = args.plot.as_deref().map(AtomicFile::create).transpose()?;

    let progress = std::io::stderr().is_terminal();
    let isolation = if args.in_process {
        Isolation::InProcess
    } else {
        Isolation::Worker(launcher(max_memory)?)
    };
    let total = rows_planned(&plan);
    let mut done = 0;
    let rows = bench::run(&plan, &isolation, |row| {
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
    let text = bench::render(&rows, args.format)?;
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
    output: Option<PathBuf>,
    strict: bool,
}

fn run_scorecard(args: &ScorecardArgs, max_memory: Option<Size>) -> Result<ExitCode> {
    let &ScorecardArgs {
        format,
        time,
        runs,
        strict,
        ..
    } = args;
    let stop = Stop::Time(time.unwrap_or(bench::DEFAULT_RUN_TIME));
    let mut plan =
        bench::plan(&[], &VariantChoice::All, None, stop).map_err(|e| UsageError(e.to_string()))?;
    plan.runs = runs;
    let output = args.output.as_deref().map(AtomicFile::create).transpose()?;
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
