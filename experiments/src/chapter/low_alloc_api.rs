//! `low-alloc-api` (04-04): one metrics encoder behind two APIs: one that builds `String`s and
//! `Vec`s and takes boxed option closures, one that borrows, iterates and writes into the
//! caller's `impl Write`.

use std::io::{self, Write};

use crate::engine::data::SplitMix64;
use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

/// The experiment.
#[derive(Debug)]
pub struct LowAllocApi;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "low-alloc-api",
    section: Section::SystemDesign,
    title: "APIs that borrow and write",
    why: "An API's signature decides its allocations before any code runs. Both variants encode \
the same metric samples to InfluxDB line protocol (cpu,host=web-12,region=eu\\ west \
usage_idle=91.250,usage_user=6.125 1763900000123), one sample per operation, with the \
chapter's two API patterns. The naive API is the chapter's Go transliterated: parse_tags returns \
a Vec<(String, String)>, escape returns a String, the builder (PointBuilder, the chapter's \
ConfigBuilder) owns Strings and Vecs and build() returns a Point, whose to_line() returns a String \
assembled with format! and join; per-call options are Go's functional options, each a boxed \
closure in a Vec. That is 57 allocations and 8 or 9 reallocations to produce one 90-byte line. The optimized API \
keeps the same shape but lets the caller own the memory: tags() is an iterator of borrowed &str \
pairs, escaping writes straight to the output, the builder (LineWriter) borrows the caller's \
impl Write, writes as it goes and reports the first I/O error from finish(), and the options are \
a plain Copy struct with Default, set with struct-update syntax (EncodeOptions { precision: 3, \
..Default::default() }): Rust's functional options, resolved at compile time, no closure, no \
box. Written into a Vec<u8> the caller clears and reuses, a line costs 0 allocations; given a \
BufWriter over a socket, the same code streams. Allocation is the bottleneck of the naive API \
(57 small allocations and frees, and the copying between the temporary Strings, against the \
formatting both do), so the optimized one is 5.6 times faster (95% interval 5.0 to 6.3 over 10 \
runs: 364 ns against 2.08 µs per line).",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "Vec<(String, String)> tags, String-owning builder, to_line() -> String",
        },
        VariantInfo {
            name: "optimized",
            summary: "iterator of &str tags, LineWriter over the caller's impl Write",
        },
    ],
    size_unit: "distinct samples (one sample encoded per operation)",
    work_unit: WorkUnit::Bytes,
    default_size: 10_000,
    targets: Targets {
        zero_allocs: true,
        peak_heap: false,
        speedup: true,
    },
    source: include_str!("low_alloc_api.rs"),
    source_file: file!(),
    size_range: (1, 10_000_000),
};

/// How timestamps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampUnit {
    /// Milliseconds, as the samples carry them.
    #[default]
    Millis,
    /// Nanoseconds, line protocol's default precision.
    Nanos,
}

impl TimestampUnit {
    fn scale(self, millis: u64) -> u64 {
        match self {
            TimestampUnit::Millis => millis,
            TimestampUnit::Nanos => millis.saturating_mul(1_000_000),
        }
    }
}

/// Whether `c` needs a backslash before it in a line-protocol key, tag value or measurement.
fn needs_escape(c: char) -> bool {
    matches!(c, ',' | '=' | ' ')
}

// region:naive
/// How `to_line` encodes, set by [`EncodeOption`]s.
#[derive(Debug, Clone, Copy)]
pub struct EncodeConfig {
    /// Digits after the decimal point.
    pub precision: usize,
    /// How timestamps are written.
    pub unit: TimestampUnit,
}

/// Go's functional option: a boxed closure that edits the config.
pub type EncodeOption = Box<dyn Fn(&mut EncodeConfig)>;

/// An option setting the precision.
#[must_use]
pub fn with_precision(precision: usize) -> EncodeOption {
    Box::new(move |config| config.precision = precision)
}

/// An option setting the timestamp unit.
#[must_use]
pub fn with_unit(unit: TimestampUnit) -> EncodeOption {
    Box::new(move |config| config.unit = unit)
}

/// `key=value,key=value` into owned pairs.
#[must_use]
pub fn parse_tags(tags: &str) -> Vec<(String, String)> {
    tags.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// `s` with commas, equals signs and spaces escaped.
#[must_use]
pub fn escape(s: &str) -> String {
    s.replace(',', "\\,")
        .replace('=', "\\=")
        .replace(' ', "\\ ")
}

/// A metric sample, owning its strings.
#[derive(Debug, Clone, Default)]
pub struct Point {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, f64)>,
    timestamp_ms: u64,
}

/// The chapter's builder: owns everything it is given.
#[derive(Debug, Default)]
pub struct PointBuilder {
    point: Point,
}

impl PointBuilder {
    /// A point of `measurement`.
    #[must_use]
    pub fn new(measurement: &str) -> Self {
        Self {
            point: Point {
                measurement: measurement.to_string(),
                ..Point::default()
            },
        }
    }

    /// Adds a tag.
    #[must_use]
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.point.tags.push((key.to_string(), value.to_string()));
        self
    }

    /// Adds a field.
    #[must_use]
    pub fn field(mut self, key: &str, value: f64) -> Self {
        self.point.fields.push((key.to_string(), value));
        self
    }

    /// Sets the timestamp, in milliseconds.
    #[must_use]
    pub fn timestamp(mut self, millis: u64) -> Self {
        self.point.timestamp_ms = millis;
        self
    }

    /// The point.
    #[must_use]
    pub fn build(self) -> Point {
        self.point
    }
}

impl Point {
    /// The point as one line of line protocol, newline included.
    #[must_use]
    pub fn to_line(&self, options: &[EncodeOption]) -> String {
        let mut config = EncodeConfig {
            precision: 3,
            unit: TimestampUnit::Millis,
        };
        for option in options {
            option(&mut config);
        }
        let tags: Vec<String> = self
            .tags
            .iter()
            .map(|(key, value)| format!("{}={}", escape(key), escape(value)))
            .collect();
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(key, value)| format!("{}={:.*}", escape(key), config.precision, value))
            .collect();
        let mut line = escape(&self.measurement);
        if !tags.is_empty() {
            line = line + "," + &tags.join(",");
        }
        format!(
            "{line} {} {}\n",
            fields.join(","),
            config.unit.scale(self.timestamp_ms)
        )
    }
}
// endregion:naive

// region:optimized
/// How [`LineWriter`] encodes: a plain `Copy` struct, set with struct-update syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Digits after the decimal point.
    pub precision: usize,
    /// How timestamps are written.
    pub unit: TimestampUnit,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            precision: 3,
            unit: TimestampUnit::Millis,
        }
    }
}

/// `key=value,key=value` as borrowed pairs, parsed as they are iterated.
pub fn tags(tags: &str) -> impl Iterator<Item = (&str, &str)> {
    tags.split(',').filter_map(|pair| pair.split_once('='))
}

/// Writes `s` to `out` with commas, equals signs and spaces escaped.
fn write_escaped(out: &mut impl Write, s: &str) -> io::Result<()> {
    let mut rest = s;
    while let Some(at) = rest.find(needs_escape) {
        out.write_all(&rest.as_bytes()[..at])?;
        out.write_all(&[b'\\', rest.as_bytes()[at]])?;
        rest = &rest[at + 1..];
    }
    out.write_all(rest.as_bytes())
}

/// A builder that writes one line of line protocol into `out` as it is called, keeping the
/// first error for [`LineWriter::finish`].
#[derive(Debug)]
pub struct LineWriter<'a, W: Write> {
    out: &'a mut W,
    options: EncodeOptions,
    fields: usize,
    result: io::Result<()>,
}

impl<'a, W: Write> LineWriter<'a, W> {
    /// Starts a line of `measurement`.
    pub fn new(out: &'a mut W, measurement: &str, options: EncodeOptions) -> Self {
        let result = write_escaped(out, measurement);
        Self {
            out,
            options,
            fields: 0,
            result,
        }
    }

    /// Adds a tag (before any field).
    #[must_use]
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        if self.result.is_ok() {
            self.result = (|| {
                self.out.write_all(b",")?;
                write_escaped(self.out, key)?;
                self.out.write_all(b"=")?;
                write_escaped(self.out, value)
            })();
        }
        self
    }

    /// Adds every tag of `tags`.
    #[must_use]
    pub fn tags<'t>(self, tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> Self {
        tags.into_iter()
            .fold(self, |line, (key, value)| line.tag(key, value))
    }

    /// Adds a field.
    #[must_use]
    pub fn field(mut self, key: &str, value: f64) -> Self {
        if self.result.is_ok() {
            let separator: &[u8] = if self.fields == 0 { b" " } else { b"," };
            self.fields += 1;
            let precision = self.options.precision;
            self.result = (|| {
                self.out.write_all(separator)?;
                write_escaped(self.out, key)?;
                write!(self.out, "={value:.precision$}")
            })();
        }
        self
    }

    /// Ends the line with its timestamp, in milliseconds.
    pub fn finish(self, timestamp_ms: u64) -> io::Result<()> {
        self.result?;
        writeln!(self.out, " {}", self.options.unit.scale(timestamp_ms))
    }
}
// endregion:optimized

/// One sample as the agent reports it.
#[derive(Debug, Clone)]
struct Sample {
    tags: String,
    idle: f64,
    user: f64,
    timestamp_ms: u64,
}

const REGIONS: [&str; 4] = ["eu west", "us-east", "ap,south", "sa=east"];

fn generate_samples(seed: u64, count: usize) -> Vec<Sample> {
    let mut rng = SplitMix64::new(seed);
    let mut timestamp_ms = 1_763_900_000_000;
    (0..count)
        .map(|_| {
            timestamp_ms += rng.below(1000);
            let user = rng.below(4000) as f64 / 100.0;
            Sample {
                tags: format!(
                    "host=web-{},region={},az={}",
                    rng.below(64),
                    rng.pick(&REGIONS),
                    rng.pick(&["a", "b", "c"])
                ),
                idle: 100.0 - user - rng.below(500) as f64 / 100.0,
                user,
                timestamp_ms,
            }
        })
        .collect()
}

/// The unit an operation uses: every 10th sample in nanoseconds, to exercise the option.
fn unit_for(index: usize) -> TimestampUnit {
    if index.is_multiple_of(10) {
        TimestampUnit::Nanos
    } else {
        TimestampUnit::Millis
    }
}

struct Encoder {
    samples: Vec<Sample>,
    next: usize,
    /// The optimized variant's output buffer, reused; `None` for naive.
    out: Option<Vec<u8>>,
}

impl Workload for Encoder {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let index = self.next;
        self.next = (index + 1) % self.samples.len();
        let sample = &self.samples[index];
        let unit = unit_for(index);
        if let Some(out) = &mut self.out {
            out.clear();
            let options = EncodeOptions {
                unit,
                ..EncodeOptions::default()
            };
            let written = LineWriter::new(out, "cpu", options)
                .tags(tags(&sample.tags))
                .field("usage_idle", sample.idle)
                .field("usage_user", sample.user)
                .finish(sample.timestamp_ms);
            // Writing into a Vec cannot fail.
            debug_assert!(written.is_ok());
            checksum.fold_bytes(out);
            out.len() as u64
        } else {
            let mut builder = PointBuilder::new("cpu");
            for (key, value) in parse_tags(&sample.tags) {
                builder = builder.tag(&key, &value);
            }
            let point = builder
                .field("usage_idle", sample.idle)
                .field("usage_user", sample.user)
                .timestamp(sample.timestamp_ms)
                .build();
            let line = point.to_line(&[with_precision(3), with_unit(unit)]);
            checksum.fold_bytes(line.as_bytes());
            line.len() as u64
        }
    }
}

impl Experiment for LowAllocApi {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        let samples = generate_samples(0x04_04_04, size);
        let out = (variant != 0).then(|| Vec::with_capacity(256));
        Box::new(Encoder {
            samples,
            next: 0,
            out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn optimized_line(sample: &Sample, options: EncodeOptions) -> String {
        let mut out = Vec::new();
        LineWriter::new(&mut out, "cpu", options)
            .tags(tags(&sample.tags))
            .field("usage_idle", sample.idle)
            .field("usage_user", sample.user)
            .finish(sample.timestamp_ms)
            .expect("writes to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn encodes_line_protocol_with_escapes() {
        let sample = Sample {
            tags: "host=web-1,region=eu west,az=a=b".into(),
            idle: 91.25,
            user: 6.125,
            timestamp_ms: 1_700_000_000_123,
        };
        let expected = "cpu,host=web-1,region=eu\\ west,az=a\\=b usage_idle=91.250,usage_user=6.125 1700000000123\n";
        assert_eq!(optimized_line(&sample, EncodeOptions::default()), expected);
        let naive = PointBuilder::new("cpu")
            .tag("host", "web-1")
            .tag("region", "eu west")
            .tag("az", "a=b")
            .field("usage_idle", 91.25)
            .field("usage_user", 6.125)
            .timestamp(1_700_000_000_123)
            .build()
            .to_line(&[]);
        assert_eq!(naive, expected);
    }

    #[test]
    fn both_apis_agree_on_every_sample_and_option() {
        for (index, sample) in generate_samples(3, 500).iter().enumerate() {
            let unit = unit_for(index);
            let precision = index % 5;
            let mut builder = PointBuilder::new("cpu");
            for (key, value) in parse_tags(&sample.tags) {
                builder = builder.tag(&key, &value);
            }
            let naive = builder
                .field("usage_idle", sample.idle)
                .field("usage_user", sample.user)
                .timestamp(sample.timestamp_ms)
                .build()
                .to_line(&[with_precision(precision), with_unit(unit)]);
            let options = EncodeOptions { precision, unit };
            assert_eq!(optimized_line(sample, options), naive);
        }
    }

    #[test]
    fn the_first_write_error_is_reported_by_finish() {
        let mut full = [0u8; 10];
        let mut out = &mut full[..];
        let result = LineWriter::new(&mut out, "measurement", EncodeOptions::default())
            .tag("host", "a-very-long-host-name")
            .field("value", 1.0)
            .finish(1);
        assert_eq!(result.map_err(|e| e.kind()), Err(io::ErrorKind::WriteZero));
    }
}
