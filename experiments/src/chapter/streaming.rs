//! `streaming` (04-04): summarise a log by reading it all into memory against the chapter's
//! `StreamProcessor` over 64 KiB chunks. Either runs over any `impl Read`, a user's file included.

use std::io::{self, Read};

use crate::engine::data;

mod logs;
pub use logs::LogGenerator;
use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, SetupError, Targets, VariantInfo, WorkUnit,
    Workload,
};

/// The experiment.
#[derive(Debug)]
pub struct Streaming;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "streaming",
    section: Section::SystemDesign,
    title: "Stream in chunks, not the whole input",
    why: "Each operation summarises a 1 MiB access log (timestamp, level, service, latency per \
line; about 1 line in 250 is broken) generated on the fly by a deterministic reader, so no file is \
involved, though the same functions accept any io::Read. The naive variant does what short scripts \
do: read_to_end into one Vec, split it into a Vec of lines, then walk them. Its peak heap is the \
whole input plus 16 bytes per line, so it grows with the input until the input does not fit. The \
optimized variant is the chapter's ProcessLargeFile: a 64 KiB buffer, refilled by read(), each \
chunk handed to a StreamProcessor (process(chunk), then flush() at the end). Complete lines are \
parsed where they lie in the buffer; only a line that straddles two chunks is copied, into a carry \
buffer capped at 16 KiB. A longer line is counted as oversized and skipped up to its newline \
instead of being buffered, so a file that is one huge line, or binary data without newlines, still \
runs in 80 KiB. Invalid UTF-8 and malformed lines are counted, never a panic; only an I/O error is \
an error. Peak heap: 80 KiB whatever the input size, against 3 MiB for 1 MiB of input (the input's \
Vec doubles its way to 2 MiB, and the Vec of lines adds 16 bytes per line), 97% less. Allocations: \
the naive variant makes 2 per operation plus about 30 reallocations as its Vecs double, the \
streaming one none, its buffers made once. Allocation is not the bottleneck (generating and \
parsing the lines is), so touching 80 KiB that stay in cache instead of writing and re-reading 3 \
MiB buys no significant speed: 6.53 ms against naive's 6.45 ms per operation (0.99 times naive's \
throughput, 95% interval 0.90 to 1.07 over 10 runs), and no significant difference in any of three \
scorecard runs: the streaming win is memory, not speed. The crate variant is the same \
StreamProcessor with memchr finding each newline (a word or a SIMD register at a time, where ours \
tests a byte at a time): no significant difference in the scorecard (p = 0.06 over 10 runs: 7.9 ms \
against ours 8.4 ms per operation, most of it generating the log). Lines here are about 35 bytes, \
so the search for the newline is a small part of the work; parsing each line (UTF-8 check, split, \
two number parses) is the rest. Over a 16 MiB log file (heaplab bench streaming --input, 10 runs) \
memchr made the whole scan 5% faster: 67.5 ms against 71.3 ms.",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "read_to_end, then a Vec of lines: the whole input in memory",
        },
        VariantInfo {
            name: "optimized",
            summary: "64 KiB chunks into a StreamProcessor; a 16 KiB cap on a carried line",
        },
        VariantInfo {
            name: "crate",
            summary: "the same StreamProcessor, finding newlines with memchr",
        },
    ],
    size_unit: "input bytes per operation",
    work_unit: WorkUnit::Bytes,
    default_size: 1 << 20,
    targets: Targets {
        zero_allocs: true,
        peak_heap: true,
        speedup: false,
    },
    source: include_str!("streaming.rs"),
    source_file: file!(),
    size_range: (1, 1 << 32),
};

/// The streaming variant's read buffer: the chapter's 64 KiB.
pub const CHUNK: usize = 64 << 10;
/// The longest line either variant parses; a longer one is counted as oversized and skipped.
pub const MAX_LINE: usize = 16 << 10;

/// Why a summary could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The whole input does not fit in memory (the naive variant asks for all of it at once).
    #[error("could not reserve {len} bytes for the whole input: {reason}")]
    TooLarge {
        /// The input's length.
        len: u64,
        /// What the allocator said.
        reason: String,
    },
    /// Reading the input failed.
    #[error("reading the input failed after {offset} bytes: {source}")]
    Read {
        /// Bytes read successfully before the failure.
        offset: u64,
        /// What the reader reported.
        #[source]
        source: io::Error,
    },
}

/// What a log summary counts. Lines are split at `\n`; a trailing `\r` is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Lines seen, blank, invalid and oversized ones included.
    pub lines: u64,
    /// Empty lines.
    pub blank: u64,
    /// Lines that are not a record: not UTF-8, not four fields, or a field that does not parse.
    pub invalid: u64,
    /// Lines longer than [`MAX_LINE`] bytes, skipped unparsed.
    pub oversized: u64,
    /// Valid records per level: `DEBUG`, `INFO`, `WARN`, `ERROR`.
    pub levels: [u64; 4],
    /// Sum of the records' latencies, in milliseconds.
    pub latency_sum_ms: u64,
    /// The largest latency, in milliseconds.
    pub latency_max_ms: u64,
}

const LEVELS: [&str; 4] = ["DEBUG", "INFO", "WARN", "ERROR"];

impl Summary {
    /// Valid records.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.levels.iter().sum()
    }

    /// Counts one line (without its `\n`).
    fn add_line(&mut self, line: &[u8]) {
        if line.len() > MAX_LINE {
            self.add_oversized();
            return;
        }
        self.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.blank += 1;
            return;
        }
        match parse_record(line) {
            Some((level, latency)) => {
                self.levels[level] += 1;
                self.latency_sum_ms += u64::from(latency);
                self.latency_max_ms = self.latency_max_ms.max(u64::from(latency));
            }
            None => self.invalid += 1,
        }
    }

    fn add_oversized(&mut self) {
        self.lines += 1;
        self.oversized += 1;
    }

    /// Folds every count into `checksum`.
    pub fn fold_into(&self, checksum: &mut Checksum) {
        for count in [
            self.lines,
            self.blank,
            self.invalid,
            self.oversized,
            self.latency_sum_ms,
            self.latency_max_ms,
        ]
        .into_iter()
        .chain(self.levels)
        {
            checksum.fold(count);
        }
    }
}

/// `timestamp,LEVEL,service,latency_ms`: the level's index and the latency, if valid.
fn parse_record(line: &[u8]) -> Option<(usize, u32)> {
    let line = std::str::from_utf8(line).ok()?;
    let [timestamp, level, service, latency] = data::split_exact(line, ',')?;
    timestamp.parse::<u64>().ok()?;
    let level = LEVELS.iter().position(|&l| l == level)?;
    if service.is_empty()
        || !service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    Some((level, latency.parse().ok()?))
}

/// Like `Read::read`, but retries on `Interrupted` and reports failures as [`StreamError`].
fn read_some(input: &mut impl Read, buf: &mut [u8], offset: u64) -> Result<usize, StreamError> {
    loop {
        match input.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(StreamError::Read { offset, source }),
        }
    }
}

/// The naive summariser: the whole input in memory, then a `Vec` of its lines.
// region:naive
pub fn summarize_in_memory(mut input: impl Read) -> Result<Summary, StreamError> {
    let mut data = Vec::new();
    // read_to_end retries interrupted reads, and keeps what it read before an error.
    if let Err(source) = input.read_to_end(&mut data) {
        let offset = data.len() as u64;
        return Err(StreamError::Read { offset, source });
    }
    Ok(summarize_lines(&data))
}

/// The naive variant over a file: the whole file reserved up front, fallibly, so that a file
/// too large for memory is an error rather than an abort, and a budget passed by the
/// reservation stops the run before a byte is read.
pub fn summarize_file_in_memory(file: &mut std::fs::File) -> Result<Summary, StreamError> {
    let len = file
        .metadata()
        .map_err(|source| StreamError::Read { offset: 0, source })?
        .len();
    let mut data = Vec::new();
    let wanted = usize::try_from(len).unwrap_or(usize::MAX);
    data.try_reserve_exact(wanted)
        .map_err(|e| StreamError::TooLarge {
            len,
            reason: e.to_string(),
        })?;
    crate::engine::counting::budget_checkpoint();
    if let Err(source) = file.read_to_end(&mut data) {
        let offset = data.len() as u64;
        return Err(StreamError::Read { offset, source });
    }
    Ok(summarize_lines(&data))
}

fn summarize_lines(data: &[u8]) -> Summary {
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop(); // the input ended with a newline (or was empty)
    }
    let mut summary = Summary::default();
    for line in lines {
        summary.add_line(line);
    }
    summary
}
// endregion:naive

/// The chapter's `StreamProcessor`: takes the input a chunk at a time.
// region:optimized
pub trait StreamProcessor {
    /// Takes the next chunk of input.
    fn process(&mut self, chunk: &[u8]) -> Result<(), StreamError>;
    /// The input has ended: finish what is pending.
    fn flush(&mut self) -> Result<(), StreamError>;
}

/// The chapter's `ProcessLargeFile`: reads `input` into `buffer` and hands each chunk to
/// `processor`, then flushes it.
pub fn process_stream(
    mut input: impl Read,
    buffer: &mut [u8],
    processor: &mut impl StreamProcessor,
) -> Result<(), StreamError> {
    let mut offset = 0u64;
    loop {
        let n = read_some(&mut input, buffer, offset)?;
        if n == 0 {
            return processor.flush();
        }
        offset += n as u64;
        processor.process(&buffer[..n])?;
    }
}

/// A [`StreamProcessor`] that summarises log lines. Lines inside a chunk are parsed in place;
/// only a line split between chunks is copied, and never more than [`MAX_LINE`] bytes of it.
#[derive(Debug)]
pub struct LineSummarizer {
    summary: Summary,
    carry: Vec<u8>,
    /// Inside a line already counted as oversized: drop bytes up to its newline.
    skipping: bool,
    /// Where the next newline is, if there is one.
    find_newline: FindNewline,
}

/// Finds the first newline in a chunk.
pub type FindNewline = fn(&[u8]) -> Option<usize>;

/// The first newline in `bytes`, a byte at a time.
#[must_use]
pub fn find_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

impl Default for LineSummarizer {
    fn default() -> Self {
        Self::with_finder(find_newline)
    }
}

impl LineSummarizer {
    /// A summarizer that finds newlines with `find_newline`.
    #[must_use]
    pub fn with_finder(find_newline: FindNewline) -> Self {
        Self {
            summary: Summary::default(),
            carry: Vec::with_capacity(MAX_LINE),
            skipping: false,
            find_newline,
        }
    }

    /// Takes the summary so far and starts a new one, keeping the carry buffer.
    pub fn take_summary(&mut self) -> Summary {
        self.carry.clear();
        self.skipping = false;
        std::mem::take(&mut self.summary)
    }

    /// Appends a piece of an unfinished line to the carry, or starts skipping the line if it
    /// would exceed [`MAX_LINE`].
    fn carry_piece(&mut self, piece: &[u8]) {
        if self.skipping {
            return;
        }
        if self.carry.len() + piece.len() > MAX_LINE {
            self.summary.add_oversized();
            self.carry.clear();
            self.skipping = true;
        } else {
            self.carry.extend_from_slice(piece);
        }
    }
}

impl StreamProcessor for LineSummarizer {
    fn process(&mut self, chunk: &[u8]) -> Result<(), StreamError> {
        let mut rest = chunk;
        while let Some(newline) = (self.find_newline)(rest) {
            let (line, after) = (&rest[..newline], &rest[newline + 1..]);
            if self.skipping {
                self.skipping = false;
            } else if self.carry.is_empty() {
                self.summary.add_line(line);
            } else {
                self.carry_piece(line);
                if !self.skipping {
                    self.summary.add_line(&self.carry);
                }
                self.carry.clear();
                self.skipping = false;
            }
            rest = after;
        }
        self.carry_piece(rest);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        if !self.skipping && !self.carry.is_empty() {
            self.summary.add_line(&self.carry);
        }
        self.carry.clear();
        self.skipping = false;
        Ok(())
    }
}

/// The streaming summariser with its buffers, reusable across inputs: after construction it
/// allocates nothing, whatever the input.
#[derive(Debug)]
pub struct Streamer {
    buffer: Vec<u8>,
    summarizer: LineSummarizer,
}

impl Default for Streamer {
    fn default() -> Self {
        Self::with_finder(find_newline)
    }
}

impl Streamer {
    /// A streamer whose summarizer finds newlines with `find_newline`.
    #[must_use]
    pub fn with_finder(find_newline: FindNewline) -> Self {
        Self {
            buffer: vec![0; CHUNK],
            summarizer: LineSummarizer::with_finder(find_newline),
        }
    }

    /// Summarises `input` a chunk at a time.
    pub fn summarize(&mut self, input: impl Read) -> Result<Summary, StreamError> {
        self.summarizer.take_summary();
        let result = process_stream(input, &mut self.buffer, &mut self.summarizer);
        let summary = self.summarizer.take_summary();
        result.map(|()| summary)
    }
}
// endregion:optimized

// region:crate
/// The first newline in `bytes`, found by `memchr`: a word or a SIMD register at a time.
#[must_use]
pub fn find_newline_memchr(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}
// endregion:crate

/// The streaming summariser, once: allocates its 80 KiB of buffers, then streams `input`.
pub fn summarize_streaming(input: impl Read) -> Result<Summary, StreamError> {
    Streamer::default().summarize(input)
}

/// A variant of this experiment, for running it over a user's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// [`summarize_in_memory`].
    Naive,
    /// [`summarize_streaming`].
    Optimized,
    /// [`summarize_streaming`], finding newlines with [`find_newline_memchr`].
    Memchr,
}

/// Summarises `input` with `variant`: what `heaplab` can run over a user's file.
pub fn summarize(variant: Variant, input: impl Read) -> Result<Summary, StreamError> {
    match variant {
        Variant::Naive => summarize_in_memory(input),
        Variant::Optimized => summarize_streaming(input),
        Variant::Memchr => Streamer::with_finder(find_newline_memchr).summarize(input),
    }
}

const SEED: u64 = 0x04_04_01;

struct Logs {
    size: u64,
    streamer: Option<Streamer>,
}

impl Workload for Logs {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let input = LogGenerator::new(SEED, self.size);
        let summary = match &mut self.streamer {
            None => summarize_in_memory(input),
            Some(streamer) => streamer.summarize(input),
        };
        // The generator never fails, so neither does summarising it.
        if let Ok(summary) = summary {
            summary.fold_into(checksum);
        }
        self.size
    }
}

impl Experiment for Streaming {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        Box::new(Logs {
            size: size as u64,
            streamer: streamer(variant),
        })
    }

    fn warmup_ops(&self, _size: usize) -> u64 {
        // Nothing warms up: the streaming buffers exist from setup, and naive starts afresh.
        1
    }

    fn takes_input(&self) -> bool {
        true
    }

    fn build_with_input(
        &self,
        variant: usize,
        input: &std::path::Path,
    ) -> Result<Box<dyn Workload>, SetupError> {
        FileLogs::open(input, streamer(variant)).map(|logs| Box::new(logs) as Box<dyn Workload>)
    }
}

/// The streamer of `variant` (`None`: naive, which reads the whole input).
fn streamer(variant: usize) -> Option<Streamer> {
    match variant {
        0 => None,
        1 => Some(Streamer::default()),
        _ => Some(Streamer::with_finder(find_newline_memchr)),
    }
}

/// The workload over a user's file: each operation summarises the whole file from its start.
struct FileLogs {
    file: std::fs::File,
    len: u64,
    streamer: Option<Streamer>,
}

impl FileLogs {
    /// Opens `path` and reads it through once, so that an unreadable file is refused here,
    /// with its reason, and not halfway through a measurement.
    fn open(path: &std::path::Path, streamer: Option<Streamer>) -> Result<Self, SetupError> {
        let refuse = |reason: String| SetupError::Input {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| refuse(io_reason(&e)))?;
        if meta.is_dir() {
            return Err(refuse("it is a directory; give a file".to_owned()));
        }
        let mut file = std::fs::File::open(path).map_err(|e| refuse(io_reason(&e)))?;
        summarize_streaming(&mut file).map_err(|e| refuse(e.to_string()))?;
        let len = file.metadata().map_err(|e| refuse(io_reason(&e)))?.len();
        Ok(Self {
            file,
            len,
            streamer,
        })
    }
}

/// An I/O error in words that say what to do.
fn io_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file; check the path".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied; make it readable".to_owned(),
        _ => error.to_string(),
    }
}

impl Workload for FileLogs {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        use std::io::Seek as _;
        // Rewinding an open file allocates nothing, unlike opening it again.
        let summary = self
            .file
            .rewind()
            .map_err(|source| StreamError::Read { offset: 0, source })
            .and_then(|()| match &mut self.streamer {
                None => summarize_file_in_memory(&mut self.file),
                Some(streamer) => streamer.summarize(&mut self.file),
            });
        match summary {
            Ok(summary) => summary.fold_into(checksum),
            // The file was read whole at setup; failing now means it changed underneath.
            Err(e) => panic!("the input file could not be read again: {e}"),
        }
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out `data` in pieces of the sizes `pieces` cycles through.
    struct Trickle<'a> {
        data: &'a [u8],
        pieces: &'a [usize],
        next: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.pieces[self.next % self.pieces.len()]
                .min(buf.len())
                .min(self.data.len());
            self.next += 1;
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn both(data: &[u8]) -> Summary {
        let naive = summarize_in_memory(data).expect("naive");
        for pieces in [&[1][..], &[7, 1, 300], &[CHUNK]] {
            let trickle = Trickle {
                data,
                pieces,
                next: 0,
            };
            assert_eq!(summarize_streaming(trickle).expect("streaming"), naive);
            let trickle = Trickle {
                data,
                pieces,
                next: 0,
            };
            let memchr = summarize(Variant::Memchr, trickle).expect("memchr");
            assert_eq!(memchr, naive);
        }
        naive
    }

    #[test]
    fn parses_records_and_counts_the_rest() {
        let summary =
            both(b"1,INFO,api,12\r\n\n2,ERROR,auth,30\n3,INFO,api\n4,BAD,api,1\n5,WARN,a b,1");
        assert_eq!(summary.lines, 6);
        assert_eq!((summary.blank, summary.invalid), (1, 3));
        assert_eq!(summary.levels, [0, 1, 0, 1]);
        assert_eq!((summary.latency_sum_ms, summary.latency_max_ms), (42, 30));
    }

    #[test]
    fn the_last_line_needs_no_newline_and_an_empty_input_has_no_lines() {
        assert_eq!(both(b"").lines, 0);
        assert_eq!(both(b"\n").blank, 1);
        assert_eq!(both(b"1,INFO,api,1").records(), 1);
        assert_eq!(both(b"1,INFO,api,1\n").records(), 1);
    }

    #[test]
    fn invalid_utf8_and_binary_are_counted_not_fatal() {
        let summary = both(b"1,INFO,\xff\xfe,1\n\x00\x01\x02\n");
        assert_eq!((summary.lines, summary.invalid), (2, 2));
        let binary = crate::engine::data::random_bytes(5, 300_000);
        let summary = both(&binary);
        assert_eq!(summary.records(), 0);
        assert_eq!(
            summary.lines,
            summary.invalid + summary.oversized + summary.blank
        );
    }

    #[test]
    fn a_huge_line_is_oversized_and_skipped_at_its_newline() {
        let mut data = vec![b'x'; 3 * CHUNK];
        data.extend_from_slice(b"\n1,INFO,api,5\n");
        data.extend_from_slice(&vec![b'y'; MAX_LINE + 1]);
        let summary = both(&data);
        assert_eq!(
            (summary.lines, summary.oversized, summary.records()),
            (3, 2, 1)
        );
        let mut exact = vec![b'z'; MAX_LINE];
        exact.push(b'\n');
        assert_eq!(both(&exact).oversized, 0, "MAX_LINE bytes still fit");
    }

    #[test]
    fn read_errors_are_errors_with_the_offset() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk on fire"));
                }
                let n = self.0.min(buf.len());
                buf[..n].fill(b'a');
                self.0 -= n;
                Ok(n)
            }
        }
        for variant in [Variant::Naive, Variant::Optimized] {
            let err = summarize(variant, Failing(100)).expect_err("fails");
            assert!(
                matches!(err, StreamError::Read { offset: 100, .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains("after 100 bytes"), "{err}");
        }
    }

    #[test]
    fn the_generator_is_exact_deterministic_and_mostly_valid() {
        let mut log = Vec::new();
        LogGenerator::new(1, 100_000)
            .read_to_end(&mut log)
            .expect("generates");
        assert_eq!(log.len(), 100_000);
        let summary = both(&log);
        assert!(summary.records() > 2_000);
        assert!(summary.invalid > 0 && summary.invalid * 100 < summary.lines);
        let mut again = Vec::new();
        LogGenerator::new(1, 100_000)
            .read_to_end(&mut again)
            .expect("generates");
        assert_eq!(log, again);
    }
}
