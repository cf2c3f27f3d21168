//! `--record FILE`: a session's samples as CSV or JSON rows, streamed to a file written through
//! [`Output`] by the rules of [`crate::files`] (whole or not at all, in place for a device or a
//! FIFO, through a symlink to its target). Headless: `run --trace --record` writes it too.

use std::io::Write as _;
use std::path::Path;

use color_eyre::eyre::{Result, eyre};
use serde::Serialize;

use crate::UsageError;
use crate::files::Output;
use crate::runner::{Phase, Sample};

/// One recorded sample, as `--record` writes it: a [`Sample`] as a flat row, seconds as
/// numbers and the phase as a word (what a CSV column can hold).
///
/// Not `Sample`'s own serialization, which is the worker's wire format (durations as
/// structs, the owner's tags left out). Its columns are taken from every field of the sample
/// by name, so a field added to [`Sample`] does not compile here until it has a column, or a
/// reason for none.
#[derive(Debug, Clone, Copy)]
pub struct RecordedSample<'a>(pub &'a Sample);

impl Serialize for RecordedSample<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let Sample {
            elapsed,
            experiment,
            variant,
            // The variant's name says it; the index is the dashboard's.
            variant_index: _,
            epoch,
            size,
            // The budget is the session's, given on its command line, not a reading.
            budget_bytes: _,
            phase,
            measured_for,
            ops,
            work,
            allocs,
            deallocs,
            reallocs,
            bytes_allocated,
            live_heap_bytes,
            peak_heap_bytes,
            process_heap_bytes,
            process_rss_bytes,
            // The run's first operation is one figure of the run (bench's `first_op`), not a
            // reading over time.
            first_op: _,
        } = *self.0;
        let phase = match phase {
            Phase::SettingUp => "setting_up",
            Phase::WarmingUp => "warming_up",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Exited => "exited",
            Phase::OverBudget { .. } => "over_budget",
        };
        let mut row = serializer.serialize_struct("RecordedSample", 17)?;
        // Seconds since the run started.
        row.serialize_field("t", &elapsed.as_secs_f64())?;
        row.serialize_field("experiment", experiment)?;
        row.serialize_field("variant", variant)?;
        // The runner epoch (a new one per variant switch or resize).
        row.serialize_field("epoch", &epoch)?;
        row.serialize_field("size", &size)?;
        row.serialize_field("phase", phase)?;
        // Seconds of measured operations in this epoch.
        row.serialize_field("measured_secs", &measured_for.as_secs_f64())?;
        row.serialize_field("ops", &ops)?;
        row.serialize_field("allocs", &allocs)?;
        row.serialize_field("deallocs", &deallocs)?;
        row.serialize_field("reallocs", &reallocs)?;
        row.serialize_field("bytes_allocated", &bytes_allocated)?;
        row.serialize_field("work", &work)?;
        row.serialize_field("live_heap_bytes", &live_heap_bytes)?;
        row.serialize_field("peak_heap_bytes", &peak_heap_bytes)?;
        row.serialize_field("process_heap_bytes", &process_heap_bytes)?;
        row.serialize_field("process_rss_bytes", &process_rss_bytes)?;
        row.end()
    }
}

/// Which format `--record` writes, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordFormat {
    Csv,
    Json,
}

/// `--record FILE`: every sample of the session, streamed into a temporary file (so the
/// session's length costs no memory) and put in place by [`Recorder::finish`].
#[derive(Debug)]
pub struct Recorder {
    file: Output,
    format: RecordFormat,
    rows: u64,
    error: Option<std::io::Error>,
}

impl Recorder {
    /// Claims `path` now, so a bad path or extension fails before anything runs.
    pub fn create(path: &Path) -> Result<Self, UsageError> {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => RecordFormat::Csv,
            Some(e) if e.eq_ignore_ascii_case("json") => RecordFormat::Json,
            _ => {
                return Err(UsageError(format!(
                    "--record `{}`: name a .csv or a .json file (the extension picks the format)",
                    path.display()
                )));
            }
        };
        let mut recorder = Self {
            file: Output::create(path)?,
            format,
            rows: 0,
            error: None,
        };
        if format == RecordFormat::Json {
            recorder.write(b"[");
        }
        Ok(recorder)
    }

    /// Appends one sample. A write error is kept and reported by [`Recorder::finish`], so the
    /// session it records is not interrupted.
    pub fn record(&mut self, sample: &Sample) {
        let row = RecordedSample(sample);
        let text = match self.format {
            // The first row brings the header line with it.
            RecordFormat::Csv => csv_line(row, self.rows == 0),
            RecordFormat::Json => serde_json::to_string(&row)
                .map(|json| format!("{}\n  {json}", if self.rows == 0 { "" } else { "," }))
                .map_err(color_eyre::Report::from),
        };
        match text {
            Ok(text) => self.write(text.as_bytes()),
            Err(e) => self.error = Some(std::io::Error::other(e.to_string())),
        }
        self.rows += 1;
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.file.stream().and_then(|file| file.write_all(bytes))
        {
            self.error = Some(e);
        }
    }

    /// Ends the file and puts it in place; returns how many samples it holds.
    pub fn finish(mut self) -> Result<u64> {
        if self.format == RecordFormat::Json {
            self.write(b"\n]\n");
        }
        self.file.commit_unless(self.error)?;
        Ok(self.rows)
    }
}

fn csv_line(row: RecordedSample<'_>, header: bool) -> Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(header)
        .from_writer(Vec::new());
    writer.serialize(row)?;
    let bytes = writer.into_inner().map_err(|e| eyre!("{e}"))?;
    Ok(String::from_utf8(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorded row says a sample's figures as numbers and words: seconds for durations,
    /// the phase's word, every count as it was.
    #[test]
    fn a_recorded_row_says_the_samples_figures() {
        let sample = Sample {
            elapsed: std::time::Duration::from_millis(1500),
            experiment: "buffer-reuse",
            variant: "naive",
            epoch: 3,
            size: 4096,
            phase: Phase::OverBudget {
                live_bytes: 1,
                after: std::time::Duration::from_secs(1),
            },
            measured_for: std::time::Duration::from_millis(250),
            ops: 11,
            work: 12,
            allocs: 13,
            deallocs: 14,
            reallocs: 15,
            bytes_allocated: 16,
            live_heap_bytes: -17,
            peak_heap_bytes: 18,
            process_heap_bytes: 19,
            process_rss_bytes: 20,
            ..Sample::default()
        };
        let line = csv_line(RecordedSample(&sample), true).expect("a line");
        assert_eq!(
            line,
            "t,experiment,variant,epoch,size,phase,measured_secs,ops,allocs,deallocs,reallocs,\
             bytes_allocated,work,live_heap_bytes,peak_heap_bytes,process_heap_bytes,\
             process_rss_bytes\n\
             1.5,buffer-reuse,naive,3,4096,over_budget,0.25,11,13,14,15,16,12,-17,18,19,20\n"
        );
    }

    /// Every figure of a [`Sample`] (as the worker sends it) has its column in a recorded
    /// row, so a field added to the sample cannot be left out of `--record` unnoticed.
    #[test]
    fn a_recorded_row_holds_every_figure_of_a_sample() {
        let keys = |value: serde_json::Value| -> Vec<String> {
            value
                .as_object()
                .expect("an object")
                .keys()
                .cloned()
                .collect()
        };
        let sample = Sample::default();
        let sent = keys(serde_json::to_value(sample).expect("serializes"));
        let recorded = keys(serde_json::to_value(RecordedSample(&sample)).expect("row"));
        for field in sent {
            let column = match field.as_str() {
                "measured_for" => "measured_secs",
                // One figure of the run, not a reading over time (see `RecordedSample`).
                "first_op" => continue,
                other => other,
            };
            assert!(
                recorded.iter().any(|c| c == column),
                "`{field}` is not recorded: {recorded:?}"
            );
        }
    }
}
