//! The headless commands: `list`, `bench`, `compare` and `scorecard`, which measure (or
//! list, or compare) without a terminal and write a report.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr as _};
use heaplab_experiments::Section;
use heaplab_experiments::measure::Stop;

use super::args::{
    BenchArgs, CompareArgs, ListFormat, ScorecardFormat, check_iterations, check_runs,
};
use super::{Job, launcher, print_stdout};
use crate::UsageError;
use crate::bench::{self, Isolation, VariantChoice};
use crate::catalog::catalog;
use crate::files::Output;
use crate::report::{self, Format};
use crate::results::{BenchOptions, Figure, Host, RowStatus, VariantRow};
use crate::units::{self, Size};

pub(super) fn list(format: ListFormat) -> Result<ExitCode> {
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

pub(super) fn prepare_bench(args: &BenchArgs, max_memory: Option<Size>) -> Result<Job, UsageError> {
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
    #[cfg(not(feature = "dashboard"))]
    if args.plot.is_some() {
        return Err(super::without_dashboard("`bench --plot` (an SVG chart)"));
    }
    let plot = args.plot.as_deref().map(Output::create).transpose()?;
    let (in_process, format, check) = (args.in_process, args.format, args.check);
    // Recorded in a JSON export, so that `heaplab compare` can tell two hosts apart.
    let options = BenchOptions {
        iterations,
        time_secs: match stop {
            Stop::Time(time) => Some(time.as_secs_f64()),
            _ => None,
        },
        runs,
        size: args.size,
        in_process,
    };
    Ok(Box::new(move || {
        let isolation = if in_process {
            Isolation::InProcess
        } else {
            Isolation::Worker(launcher(max_memory)?)
        };
        let host = (format == Format::Json).then(|| Host::this(options));
        run_bench(
            &plan,
            &isolation,
            (format, host.as_ref()),
            (output, plot),
            check,
        )
    }))
}

/// `heaplab compare OLD NEW`: both files read and judged now (a bad file is a usage error),
/// or with `--run` both binaries' benches run in the job; the job prints the report and, with
/// `--fail-on`, fails on a regression of those figures.
pub(super) fn prepare_compare(args: CompareArgs) -> Result<Job, UsageError> {
    let CompareArgs {
        old,
        new,
        format,
        fail_on,
        run,
        rounds,
        bench_args,
        min_effect,
    } = args;
    if run {
        let rounds = check_runs(rounds)?;
        return Ok(Box::new(move || {
            match crate::benchstat::run_interleaved([&old, &new], &bench_args, rounds, min_effect) {
                Ok(compared) => report_compare(&compared, format, &fail_on),
                // One line, as a refused argument gets: a binary that did not run.
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "error: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }));
    }
    let compared =
        crate::benchstat::compare(&old, &new, min_effect).map_err(|e| UsageError(e.to_string()))?;
    Ok(Box::new(move || {
        report_compare(&compared, format, &fail_on)
    }))
}

/// Prints a comparison; status 1 with a line per regression of `fail_on` on stderr.
fn report_compare(
    compared: &crate::benchstat::Compared,
    format: Format,
    fail_on: &[Figure],
) -> Result<ExitCode> {
    print_stdout(&report::compare::render(compared, format)?)?;
    let regressions = report::compare::regressions(compared, fail_on);
    if regressions.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut stderr = std::io::stderr().lock();
    for line in regressions {
        let _ = writeln!(stderr, "regression: {line}");
    }
    Ok(ExitCode::FAILURE)
}

fn run_bench(
    plan: &bench::Plan,
    isolation: &Isolation,
    (format, host): (Format, Option<&Host>),
    (output, plot): (Option<Output>, Option<Output>),
    check: bool,
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
    let text = report::render(&rows, format, host)?;
    if let Some(advice) = report::sites_advice(&rows) {
        eprintln!("{}: {advice}", super::program());
    }
    // Without the dashboard there is none: `prepare_bench` refused `--plot`.
    #[cfg(not(feature = "dashboard"))]
    drop(plot);
    #[cfg(feature = "dashboard")]
    if let Some(plot) = plot {
        plot.commit(crate::export::svg(&crate::export::from_rows(&rows))?.as_bytes())?;
    }
    match output {
        Some(file) => file.commit(text.as_bytes())?,
        None => print_stdout(&text)?,
    }
    let kept = !check || limits_kept(&rows, plan, isolation)?;
    // The report is complete either way; the status says whether every row ran to the end
    // (and, with --check, kept its limits).
    let ended = |status| rows.iter().any(|r| r.status == status);
    Ok(if ended(RowStatus::OverBudget) {
        ExitCode::from(3)
    } else if ended(RowStatus::Panicked) || ended(RowStatus::Crashed) || !kept {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `--check`: one line on stderr per broken limit, with the line that allocates most, and a
/// last line saying how many rows had limits; whether every limit was kept.
fn limits_kept(rows: &[VariantRow], plan: &bench::Plan, isolation: &Isolation) -> Result<bool> {
    let checked = bench::check(rows, plan, isolation).wrap_err("checking the limits failed")?;
    let mut err = std::io::stderr().lock();
    for (broken, site) in &checked.broken {
        let site = site
            .as_deref()
            .map(|s| format!("; {s}"))
            .unwrap_or_default();
        let _ = writeln!(err, "limit broken: {broken}{site}");
    }
    let rows_limited = units::counted(checked.limited as u64, "row");
    let _ = if checked.broken.is_empty() {
        writeln!(
            err,
            "heaplab check: {rows_limited} with limits, every limit kept"
        )
    } else {
        writeln!(
            err,
            "{} check: {} broken in {rows_limited} with limits",
            super::program(),
            units::counted(checked.broken.len() as u64, "limit")
        )
    };
    Ok(checked.broken.is_empty())
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
pub(super) struct ScorecardArgs {
    pub(super) format: ScorecardFormat,
    pub(super) time: Option<Duration>,
    pub(super) runs: usize,
    pub(super) strict: bool,
}

/// How many times the asked-for runs a scorecard may take to decide an inconclusive verdict.
const MORE_RUNS: usize = 4;

/// Every experiment and variant, each measured `runs` times at the size its targets are judged
/// at ([`Experiment::judged_size`](heaplab_experiments::Experiment::judged_size)).
fn scorecard_plan(time: Option<Duration>, runs: usize) -> Result<bench::Plan> {
    let stop = Stop::Time(time.unwrap_or(bench::DEFAULT_RUN_TIME));
    let mut plan =
        bench::plan(&[], &VariantChoice::All, None, stop).map_err(|e| UsageError(e.to_string()))?;
    plan.runs = runs;
    for item in &mut plan.items {
        item.size = item.experiment.judged_size();
    }
    Ok(plan)
}

pub(super) fn run_scorecard(
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
    let plan = scorecard_plan(time, runs)?;
    let total = rows_planned(&plan);
    let mut done = 0;
    eprintln!(
        "scorecard: {total} variants, {runs} runs each, in fresh worker processes; about {:.0} s",
        (total * runs) as f64 * 0.22
    );
    let isolation = Isolation::Worker(launcher(max_memory)?);
    let mut rows = Vec::new();
    let mut scores = Vec::new();
    for item in &plan.items {
        let info = item.experiment.info();
        let mut runs = bench::Runs::new(item);
        runs.measure(item, &plan, &isolation, plan.runs)
            .wrap_err("measuring failed")?;
        let mut own = runs.rows(item);
        let mut score = crate::scorecard::score(&own, info.targets);
        // An inconclusive speed verdict is decided with more runs, up to MORE_RUNS times as
        // many, so that scorecards taken one after the other agree.
        while score
            .as_ref()
            .is_some_and(crate::scorecard::needs_more_runs)
            && runs.count() < plan.runs * MORE_RUNS
        {
            eprintln!(
                "  {}: a speed verdict is inconclusive after {} runs; {} more",
                info.id,
                runs.count(),
                plan.runs
            );
            runs.measure(item, &plan, &isolation, plan.runs)
                .wrap_err("measuring failed")?;
            own = runs.rows(item);
            score = crate::scorecard::score(&own, info.targets);
        }
        if let Some(score) = &mut score {
            score.runs_added = runs.count() > plan.runs;
        }
        for row in &own {
            done += 1;
            eprintln!(
                "  {} {} {}: {:.1} ns/op",
                how_far(done, total),
                row.experiment,
                row.variant,
                row.ns_per_op
            );
        }
        scores.extend(score);
        rows.extend(own);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scorecard_measures_each_experiment_at_the_size_it_is_judged_at() {
        let plan = scorecard_plan(None, 3).expect("a plan");
        assert_eq!(plan.runs, 3);
        let size_of = |id: &str| {
            plan.items
                .iter()
                .find(|item| item.experiment.info().id == id)
                .map(|item| item.size)
        };
        // in-place states its own (a 4 KB batch); the others are judged at their default.
        assert_eq!(size_of("in-place"), Some(1_000));
        let default = |id: &str| crate::catalog::find(id).map(|e| e.info().default_size);
        assert_ne!(size_of("in-place"), default("in-place"));
        assert_eq!(size_of("streaming"), default("streaming"));
        assert_eq!(size_of("bounded-cache"), default("bounded-cache"));
    }
}
