//! The program's figures as Prometheus text exposition (format 0.0.4): the process's totals
//! as counters, its live heap and sampled peak as gauges, and each thread's counters labelled
//! by its name, kernel id and role. Written by hand: a client crate would bring a registry (or
//! a proc macro) into every user's build for one function that formats numbers.

use std::fmt::Write as _;

use super::figures::snapshot;
use super::protocol::{Frame, ThreadRole, Totals};

/// The `Content-Type` a scrape handler answers with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The program's figures now ([`snapshot`](super::snapshot)) as Prometheus text exposition,
/// for the metrics endpoint the program already serves (answer with [`CONTENT_TYPE`]).
#[must_use]
pub fn prometheus() -> String {
    render(&snapshot())
}

/// A counter: its metric name, its help, and how to read it from a [`Totals`].
type Counter = (&'static str, &'static str, fn(&Totals) -> u64);

/// The process-wide counters.
const PROCESS_COUNTERS: [Counter; 5] = [
    (
        "heaplab_allocations_total",
        "Calls to alloc and alloc_zeroed that succeeded, since the process started.",
        |t| t.allocs,
    ),
    (
        "heaplab_deallocations_total",
        "Calls to dealloc, since the process started.",
        |t| t.deallocs,
    ),
    (
        "heaplab_reallocations_total",
        "Calls to realloc that succeeded, since the process started.",
        |t| t.reallocs,
    ),
    (
        "heaplab_allocated_bytes_total",
        "Bytes handed out (allocations and the growth of reallocations), since the process started.",
        |t| t.bytes_allocated,
    ),
    (
        "heaplab_freed_bytes_total",
        "Bytes returned (frees and the shrinking of reallocations), since the process started.",
        |t| t.bytes_freed,
    ),
];

/// The per-thread counters.
const THREAD_COUNTERS: [Counter; 5] = [
    (
        "heaplab_thread_allocations_total",
        "A thread's allocations since it got its counter slot.",
        |t| t.allocs,
    ),
    (
        "heaplab_thread_deallocations_total",
        "A thread's frees since it got its counter slot (of memory any thread allocated).",
        |t| t.deallocs,
    ),
    (
        "heaplab_thread_reallocations_total",
        "A thread's reallocations since it got its counter slot.",
        |t| t.reallocs,
    ),
    (
        "heaplab_thread_allocated_bytes_total",
        "Bytes a thread allocated since it got its counter slot.",
        |t| t.bytes_allocated,
    ),
    (
        "heaplab_thread_freed_bytes_total",
        "Bytes a thread freed since it got its counter slot (of memory any thread allocated).",
        |t| t.bytes_freed,
    ),
];

/// `frame` as Prometheus text exposition: what [`prometheus`] returns, for a frame the
/// caller already has.
#[must_use]
pub fn render(frame: &Frame) -> String {
    let mut text = String::with_capacity(2048 + 600 * frame.threads.len());
    for (name, help, value) in PROCESS_COUNTERS {
        family(&mut text, name, help, "counter");
        sample(&mut text, name, "", value(&frame.totals));
    }
    family(
        &mut text,
        "heaplab_live_heap_bytes",
        "Bytes allocated and not yet freed.",
        "gauge",
    );
    sample(
        &mut text,
        "heaplab_live_heap_bytes",
        "",
        frame.totals.live_bytes(),
    );
    family(
        &mut text,
        "heaplab_peak_live_heap_bytes",
        "The highest live heap seen, sampled every monitor interval and at each scrape (a peak between two samples is missed).",
        "gauge",
    );
    sample(
        &mut text,
        "heaplab_peak_live_heap_bytes",
        "",
        frame.peak_live_bytes,
    );
    let labels: Vec<String> = frame
        .threads
        .iter()
        .map(|thread| {
            let role = match thread.role {
                ThreadRole::Program => "program",
                ThreadRole::Monitor => "monitor",
                ThreadRole::Shared => "shared",
            };
            format!(
                "{{thread=\"{}\",tid=\"{}\",role=\"{role}\"}}",
                escape_label(&thread.name),
                thread.tid
            )
        })
        .collect();
    for (name, help, value) in THREAD_COUNTERS {
        family(&mut text, name, help, "counter");
        for (thread, labels) in frame.threads.iter().zip(&labels) {
            sample(&mut text, name, labels, value(&thread.totals));
        }
    }
    text
}

fn family(text: &mut String, name: &str, help: &str, kind: &str) {
    // Writing to a `String` cannot fail.
    writeln!(text, "# HELP {name} {help}").ok();
    writeln!(text, "# TYPE {name} {kind}").ok();
}

fn sample(text: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    writeln!(text, "{name}{labels} {value}").ok();
}

/// A label value as the format wants it: backslash, double quote and line feed escaped.
fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_value_escapes_what_the_format_escapes() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("ingest-1"), "ingest-1");
    }
}
