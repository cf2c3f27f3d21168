//! What each subcommand takes: the arguments clap parses, and the checks of their syntax.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::UsageError;
use crate::live::parse_seconds;
use crate::report::Format;
use crate::units::{self, Size};

/// `heaplab compare`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// The export from before (with --run: the base build's binary).
    pub old: PathBuf,
    /// The export from after (with --run: the changed build's binary).
    pub new: PathBuf,
    /// Output format (markdown: regressions first, then improvements, the unchanged folded).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Exit with status 1 when one of these figures regressed, a line per regression on
    /// stderr (for CI); comma-separated: `--fail-on allocs,bytes,peak`. Without it compare
    /// only reports.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FIGURES")]
    pub fail_on: Vec<crate::results::Figure>,
    /// OLD and NEW are two heaplab binaries (the base build and the change): run their
    /// benches here, one run of each per round, alternating, and compare those. Bench
    /// options follow `--` (`compare --run base new -- buffer-reuse --iterations 1000`).
    #[arg(long)]
    pub run: bool,
    /// With --run: rounds, each one bench run of each binary.
    #[arg(long, value_name = "K", default_value_t = crate::bench::DEFAULT_RUNS,
          requires = "run", value_parser = parse_runs)]
    pub rounds: usize,
    /// With --run: the bench options, after `--` (not --runs or --format: compare sets them).
    #[arg(last = true, requires = "run", value_name = "BENCH_ARGS")]
    pub bench_args: Vec<String>,
    /// A significant time change smaller than this many percent is reported as `~`.
    #[arg(long, value_name = "PCT", default_value_t = crate::results::DEFAULT_MIN_EFFECT_PCT,
          value_parser = parse_min_effect)]
    pub min_effect: f64,
}

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
    pub(super) fn or(self, outer: Self) -> Self {
        Self {
            fps: self.fps.or(outer.fps),
            presenter: self.presenter || outer.presenter,
            budget: self.budget.or(outer.budget),
            data_dir: self.data_dir.or(outer.data_dir),
        }
    }

    /// The first option given, for a subcommand that takes none of them.
    pub(super) fn first_given(&self) -> Option<&'static str> {
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
    /// Check every variant's exact figures against its limits (for CI): `bench --check` with
    /// one run of 200 operations per variant, since counts do not vary; status 1 and a line
    /// per broken limit, naming the line that allocates most.
    Check(CheckArgs),
    /// Compare two bench exports (`bench --format json`), before and after a change, like Go's
    /// benchstat: per experiment and variant, ns/op with its 95% interval and p-value (`~`: no
    /// significant change), and allocs/op, reallocs/op, bytes/op and peak heap, which are
    /// exact: `0 → 1.00`, `12.0 KiB → 36.0 KiB (+200%)`. Markdown suits a pull-request comment.
    Compare(CompareArgs),
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
    /// Watch a running program that started heaplab's monitor (`heaplab::monitor::start()`):
    /// allocation rate, live heap, peak and RSS, and every thread's figures, live. Without
    /// PID: the only program there is (`heaplab ps` lists them). `q` detaches; the program
    /// runs on.
    #[cfg(unix)]
    Attach(AttachArgs),
    /// List the running programs `attach` can watch: process id, name, socket, stale or not.
    #[cfg(unix)]
    Ps,
    /// Runs one job as a worker process for a parent heaplab (internal: the parent starts it,
    /// speaks to it over pipes, and reads its samples).
    #[command(hide = true)]
    Worker {
        /// The job, as JSON.
        job: String,
    },
}

/// `heaplab attach`'s arguments.
#[cfg(unix)]
#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// The program's process id (default: the only attachable program).
    pub pid: Option<u32>,
    /// The program's monitor socket, if not in the usual directory.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// No view: print one line per frame to standard output (time, allocs/s, live heap,
    /// peak, RSS, busiest thread); a crossed --alert prints an `alert` line and exits with
    /// status 4, the program's exit ends the trace with status 0.
    #[arg(long)]
    pub trace: bool,
    /// With --trace: after each of the program's sites frames (a second apart), its top
    /// lines by growth of the bytes they hold over the last minute, one `site` line each
    /// (growth per minute, live bytes, allocs/s, temporaries' share, `file:line`, function,
    /// thread, and whether the growth is beyond sampling noise).
    #[arg(long, requires = "trace")]
    pub sites: bool,
    /// The lines --sites prints after each sites frame [default: 5].
    #[arg(long, value_name = "N", requires = "sites",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub top: Option<u32>,
    /// Record every frame to FILE.csv (cumulative counters, live heap, peak, RSS), written
    /// when the view or trace ends.
    #[arg(long, value_name = "FILE.csv")]
    pub record: Option<PathBuf>,
    /// A threshold, shown on screen when crossed (with --trace: exit status 4):
    /// `heap>512MiB`, `rate>1M/s` (allocations per second), `growth>10MiB/min` (live heap
    /// growth over the last minute). Repeatable.
    #[arg(long, value_name = "FIGURE>LIMIT", value_parser = parse_alert)]
    pub alert: Vec<crate::attach::alerts::Alert>,
    /// The view's redraws per second at most [default: 15].
    #[arg(long, value_name = "FPS", value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: Option<u32>,
    /// No terminal: watch --frames frames, then draw the view on an off-screen 100x30
    /// terminal as an SVG picture in FILE (what docs/attach.md's picture is made with).
    #[arg(long, value_name = "FILE.svg", conflicts_with_all = ["trace", "fps"])]
    pub screenshot: Option<PathBuf>,
    /// Frames to watch before --screenshot draws [default: 100, 10 s at the monitor's pace].
    #[arg(long, value_name = "N", requires = "screenshot",
          value_parser = clap::value_parser!(u32).range(2..))]
    pub frames: Option<u32>,
}

#[cfg(unix)]
fn parse_alert(text: &str) -> Result<crate::attach::alerts::Alert, String> {
    text.parse()
        .map_err(|e: crate::attach::alerts::AlertError| e.to_string())
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
    #[cfg(feature = "dashboard")]
    #[arg(long, value_enum, default_value_t = crate::ui::workshop::ShotView::Dashboard)]
    pub view: crate::ui::workshop::ShotView,
    /// What to draw (this build has no dashboard: `screenshot` is refused whatever it is).
    #[cfg(not(feature = "dashboard"))]
    #[arg(long)]
    pub view: Option<String>,
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
    #[arg(long, value_name = "K", default_value_t = crate::bench::DEFAULT_RUNS,
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

    /// Check each variant's figures against the limits its experiment declares (allocator
    /// calls or bytes per operation, peak heap): one line per broken limit on stderr, with the
    /// line that allocates most, and status 1.
    #[arg(long)]
    pub check: bool,

    /// Measure in this process instead of one fresh child process per row. Rows then depend
    /// on what ran before them (the allocator adapts its thresholds); for tools like valgrind
    /// that follow one process.
    #[arg(long)]
    pub in_process: bool,
}

/// `heaplab check`'s arguments: what to measure, not how long (counts are exact).
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Experiment ids (default: all).
    pub ids: Vec<String>,

    /// Which variant to check (default: every variant; only those with limits can break one).
    #[arg(long, default_value = "all", value_name = "NAME|all")]
    pub variant: String,

    /// Operations measured per variant, after the warm-up (at least 1).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub iterations: u64,

    /// Workload size, in each experiment's own unit (default: each experiment's default).
    #[arg(long, value_name = "N", value_parser = parse_workload_size)]
    pub size: Option<usize>,

    /// Format of the rows written to standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Run on this file instead of generated input (experiments that take one).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

impl From<CheckArgs> for BenchArgs {
    fn from(args: CheckArgs) -> Self {
        BenchArgs {
            ids: args.ids,
            variant: args.variant,
            iterations: Some(args.iterations),
            time: None,
            runs: 1,
            size: args.size,
            format: args.format,
            output: None,
            budget: None,
            plot: None,
            input: args.input,
            sites: false,
            sample_every: None,
            sites_ops: None,
            check: true,
            in_process: false,
        }
    }
}

/// `--min-effect`: a percentage, 0 or more (`5` or `5%`).
fn parse_min_effect(text: &str) -> Result<f64, String> {
    match text.trim_end_matches('%').parse::<f64>() {
        Ok(pct) if pct.is_finite() && pct >= 0.0 => Ok(pct),
        _ => Err(format!(
            "`{text}` is not a percentage of 0 or more (e.g. `5` for 5%)"
        )),
    }
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

pub(super) fn check_runs(runs: usize) -> Result<usize, UsageError> {
    if (1..=MAX_RUNS).contains(&runs) {
        Ok(runs)
    } else {
        Err(UsageError(format!(
            "--runs must be from 1 to {MAX_RUNS} (got {runs})"
        )))
    }
}

pub(super) fn check_iterations(iterations: Option<u64>) -> Result<Option<u64>, UsageError> {
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
    units::parse_budget(text)?
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| "a sampling interval needs a size, e.g. 512KiB".to_owned())
}
