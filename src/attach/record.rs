//! `attach --record FILE.csv`: every frame of a watched program as a CSV row (cumulative
//! counters as sent, the live heap, the sampled peak and the RSS the viewer read), streamed
//! through [`Output`] so the file is written by the rules of [`crate::files`] (whole or not at
//! all; a FIFO or device in place; a symlink to its target), as `run --record` is.

use std::path::Path;

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::UsageError;
use crate::files::Output;
use crate::monitor::protocol::Frame;

/// One recorded row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrameRow {
    /// Seconds since attach (the first frame), on the program's clock.
    pub t: f64,
    /// Calls to alloc since the program started.
    pub allocs: u64,
    /// Calls to dealloc.
    pub deallocs: u64,
    /// Calls to realloc.
    pub reallocs: u64,
    /// Bytes allocated.
    pub bytes_allocated: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Allocated minus freed.
    pub live_heap_bytes: i64,
    /// The program's sampled peak of the live heap.
    pub peak_heap_bytes: i64,
    /// The program's resident set, read by the viewer.
    pub process_rss_bytes: u64,
}

impl FrameRow {
    /// The row for `frame`, taken `origin_ms` after the program's monitor started.
    #[must_use]
    pub fn new(frame: &Frame, origin_ms: u64, rss_bytes: u64) -> Self {
        let totals = frame.totals;
        Self {
            t: frame.at_ms.saturating_sub(origin_ms) as f64 / 1000.0,
            allocs: totals.allocs,
            deallocs: totals.deallocs,
            reallocs: totals.reallocs,
            bytes_allocated: totals.bytes_allocated,
            bytes_freed: totals.bytes_freed,
            live_heap_bytes: totals.live_bytes(),
            peak_heap_bytes: frame.peak_live_bytes,
            process_rss_bytes: rss_bytes,
        }
    }
}

/// The file being recorded: claimed when the command line is checked, put in place by
/// [`FrameRecorder::finish`].
#[derive(Debug)]
pub struct FrameRecorder {
    file: Output,
    writer: Option<csv::Writer<std::fs::File>>,
    origin_ms: Option<u64>,
    rows: u64,
    error: Option<std::io::Error>,
}

impl FrameRecorder {
    /// Claims `path`, which must name a `.csv` file.
    pub fn create(path: &Path) -> Result<Self, UsageError> {
        if !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            return Err(UsageError(format!(
                "--record `{}`: attach records CSV; name a .csv file",
                path.display()
            )));
        }
        Ok(Self {
            file: Output::create(path)?,
            writer: None,
            origin_ms: None,
            rows: 0,
            error: None,
        })
    }

    /// Appends `frame`'s row; a write error is kept for [`FrameRecorder::finish`].
    pub fn record(&mut self, frame: &Frame, rss_bytes: u64) {
        let origin = *self.origin_ms.get_or_insert(frame.at_ms);
        self.rows += 1;
        if self.error.is_some() {
            return;
        }
        let writer = match &mut self.writer {
            Some(writer) => writer,
            // The writer shares the claimed file's descriptor (and offset): the rows land
            // where `Output` will put in place.
            None => match self.file.stream().and_then(|file| file.try_clone()) {
                Ok(file) => self.writer.insert(csv::Writer::from_writer(file)),
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            },
        };
        let row = FrameRow::new(frame, origin, rss_bytes);
        if let Err(e) = writer
            .serialize(row)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|()| writer.flush())
        {
            self.error = Some(e);
        }
    }

    /// Puts the file in place; returns how many rows it holds.
    pub fn finish(mut self) -> Result<u64> {
        drop(self.writer.take());
        self.file.commit_unless(self.error)?;
        Ok(self.rows)
    }
}

#[cfg(test)]
// Exact figures are the point of these tests, floats included.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use crate::monitor::protocol::Totals;

    #[test]
    fn rows_are_cumulative_counters_from_attach_with_one_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("watch.csv");
        let mut recorder = FrameRecorder::create(&path).expect("claimed");
        for (at_ms, allocs) in [(500, 10), (1500, 30)] {
            let frame = Frame {
                at_ms,
                totals: Totals {
                    allocs,
                    bytes_allocated: allocs * 10,
                    bytes_freed: 40,
                    ..Totals::default()
                },
                peak_live_bytes: 300,
                threads: vec![],
            };
            recorder.record(&frame, 4096);
        }
        assert_eq!(recorder.finish().expect("written"), 2);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "t,allocs,deallocs,reallocs,bytes_allocated,bytes_freed,live_heap_bytes,\
             peak_heap_bytes,process_rss_bytes\n\
             0.0,10,0,0,100,40,60,300,4096\n\
             1.0,30,0,0,300,40,260,300,4096\n"
        );
        let err = FrameRecorder::create(&dir.path().join("watch.json")).expect_err("json");
        assert!(err.0.contains("name a .csv file"), "{err}");
    }
}
