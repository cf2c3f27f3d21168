//! What an experiment is, as the engine sees it: the [`Experiment`] and [`Workload`] traits
//! every chapter experiment and every lab experiment implements, its description
//! ([`ExperimentInfo`]), the [`Checksum`] its operations fold into, and [`setup`], which checks
//! a variant and a size before building.
//!
//! An [`Experiment`] describes itself ([`ExperimentInfo`]) and, given a variant and a workload
//! size, sets up a [`Workload`]. The workload then runs one operation at a time; each operation
//! reports the work it did (in the experiment's [`WorkUnit`]) and folds its result into a
//! [`Checksum`], so that variants
//! can be proved to compute the same thing. Setup and teardown happen outside the measured
//! region; the runner excludes a warm-up of [`Experiment::warmup_ops`] operations.

use std::fmt;

/// The chapter's sections, in chapter order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Section {
    /// Exercise 04-01: zero-allocation programming.
    #[serde(rename = "04-01")]
    ZeroAllocation,
    /// Exercise 04-02: memory-efficient data structures.
    #[serde(rename = "04-02")]
    DataStructures,
    /// Exercise 04-03: buffer pooling.
    #[serde(rename = "04-03")]
    BufferPooling,
    /// Exercise 04-04: memory-conscious system design.
    #[serde(rename = "04-04")]
    SystemDesign,
    /// A user's own experiments, given to `heaplab::Lab`.
    #[serde(rename = "lab")]
    Yours,
}

impl Section {
    /// Every section: a lab's own first, then the chapter's in chapter order.
    pub const ALL: [Section; 5] = [
        Section::Yours,
        Section::ZeroAllocation,
        Section::DataStructures,
        Section::BufferPooling,
        Section::SystemDesign,
    ];

    /// The chapter's exercise number, e.g. `04-01`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Section::ZeroAllocation => "04-01",
            Section::DataStructures => "04-02",
            Section::BufferPooling => "04-03",
            Section::SystemDesign => "04-04",
            Section::Yours => "lab",
        }
    }

    /// The section's short title.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Section::ZeroAllocation => "Zero-allocation",
            Section::DataStructures => "Data structures",
            Section::BufferPooling => "Buffer pooling",
            Section::SystemDesign => "System design",
            Section::Yours => "Your experiments",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What an experiment's throughput counts: the same work whichever variant does it, so that
/// "records/s" compares like with like (bytes a variant happens to move would not: a compact
/// record is fewer bytes for the same record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkUnit {
    /// Bytes of input (or output) that every variant goes through alike.
    Bytes,
    /// Things of the workload's own, named in the plural (`records`, `lookups`).
    Items(&'static str),
}

impl WorkUnit {
    /// The unit's name in the plural: `bytes`, `records`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            WorkUnit::Bytes => "bytes",
            WorkUnit::Items(name) => name,
        }
    }
}

impl serde::Serialize for WorkUnit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One way of doing an experiment's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VariantInfo {
    /// `naive`, `optimized` or `crate`.
    pub name: &'static str,
    /// One line: what this variant does differently.
    pub summary: &'static str,
}

/// What an experiment is, for listings, help and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExperimentInfo {
    /// Kebab-case id, stable: used on the command line and in exports.
    pub id: &'static str,
    /// The chapter section it comes from.
    pub section: Section,
    /// A short title.
    pub title: &'static str,
    /// One paragraph in the chapter's spirit: the pattern, the anti-pattern, what to watch.
    pub why: &'static str,
    /// The variants, `naive` first.
    pub variants: &'static [VariantInfo],
    /// What the workload size counts (`bytes per operation`, `records`, ...).
    pub size_unit: &'static str,
    /// What one unit of the throughput figure is: [`Workload::run_op`] returns how many of
    /// them an operation did, the same for every variant.
    pub work_unit: WorkUnit,
    /// The workload size used when none is given.
    pub default_size: usize,
    /// The smallest and largest sizes the experiment accepts.
    pub size_range: (usize, usize),
    /// The chapter targets this experiment claims; its "why" says why each applies or not.
    #[serde(skip)]
    pub targets: Targets,
    /// The experiment's source file (`include_str!`), whose `// region:VARIANT` ..
    /// `// endregion:VARIANT` blocks are what [`ExperimentInfo::variant_source`] shows.
    #[serde(skip)]
    pub source: &'static str,
    /// Where `source` is (`file!()`), so that measured allocation sites can be put on its
    /// lines; empty when the blocks say it themselves in a `// FILE:LINE` line (a lab's).
    #[serde(skip)]
    pub source_file: &'static str,
}

/// One line of a variant's marked source, and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionLine<'a> {
    /// The text.
    pub text: &'a str,
    /// The source file it is in (empty for the blank line between two blocks).
    pub file: &'a str,
    /// Its line number there, from 1 (0 for the blank line between two blocks).
    pub line: u32,
}

impl ExperimentInfo {
    /// The index of the variant called `name`.
    #[must_use]
    pub fn variant_index(&self, name: &str) -> Option<usize> {
        self.variants.iter().position(|v| v.name == name)
    }

    /// The marked source of `variant` (every `// region:VARIANT` block, joined), or `None`
    /// if the file marks none.
    #[must_use]
    pub fn variant_source(&self, variant: &str) -> Option<String> {
        let lines = self.variant_lines(variant)?;
        Some(
            lines
                .iter()
                .map(|line| line.text)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// The lines of [`ExperimentInfo::variant_source`], each with its file and line number:
    /// what allocation sites are matched against. A line `// FILE.rs:LINE` in a block says
    /// that the lines after it are at `FILE` from `LINE` on.
    #[must_use]
    pub fn variant_lines(&self, variant: &str) -> Option<Vec<RegionLine<'static>>> {
        let start = format!("// region:{variant}");
        let end = format!("// endregion:{variant}");
        let source: &'static str = self.source;
        let mut lines = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find(&start) {
            let body = &rest[at + start.len()..];
            let body = body.strip_prefix('\n').unwrap_or(body);
            let stop = body.find(&end)?;
            let block = body[..stop].trim_end();
            let offset = block.as_ptr().addr() - source.as_ptr().addr();
            let mut file = self.source_file;
            let mut number = source[..offset].matches('\n').count() as u32 + 1;
            if !lines.is_empty() {
                lines.push(RegionLine {
                    text: "",
                    file: "",
                    line: 0,
                });
            }
            for text in block.lines() {
                lines.push(RegionLine {
                    text,
                    file,
                    line: number,
                });
                number += 1;
                if let Some((path, at)) = located(text) {
                    file = path;
                    number = at;
                }
            }
            rest = &body[stop + end.len()..];
        }
        (!lines.is_empty()).then_some(lines)
    }

    /// The baseline every other variant is compared with: the first (`naive` in the chapter's
    /// catalog, a lab's own name in a lab).
    #[must_use]
    pub fn baseline(&self) -> &'static str {
        self.variants[0].name
    }

    /// The variant names joined with `, `, for error messages.
    #[must_use]
    pub fn variant_names(&self) -> String {
        self.variants
            .iter()
            .map(|v| v.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `// FILE.rs:LINE` (a lab's note of where a block's lines are): the file and line.
fn located(text: &str) -> Option<(&str, u32)> {
    let (file, line) = text.trim().strip_prefix("// ")?.rsplit_once(':')?;
    let line = line.parse().ok()?;
    let rust = std::path::Path::new(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("rs"));
    (rust && !file.contains(' ')).then_some((file, line))
}

/// Why an experiment could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// No variant of that name.
    #[error("experiment `{experiment}` has no variant `{variant}` (it has: {valid})")]
    UnknownVariant {
        /// The experiment's id.
        experiment: &'static str,
        /// The name asked for.
        variant: String,
        /// The names it has.
        valid: String,
    },
    /// The experiment runs only on the input it generates.
    #[error(
        "experiment `{experiment}` does not take an input file{}",
        these_do(takes)
    )]
    InputNotSupported {
        /// The experiment's id.
        experiment: &'static str,
        /// The experiments that take one, joined with `, ` (empty: not known here).
        takes: String,
    },
    /// The input file cannot be used.
    #[error("cannot use `{path}` as input: {reason}")]
    Input {
        /// The path given.
        path: String,
        /// What is wrong with it, and what to do.
        reason: String,
    },
    /// The workload size is outside what the experiment accepts.
    #[error("size {size} is out of range for `{experiment}`: use {min}..={max} ({unit})")]
    SizeOutOfRange {
        /// The experiment's id.
        experiment: &'static str,
        /// The size asked for.
        size: usize,
        /// The smallest accepted size.
        min: usize,
        /// The largest accepted size.
        max: usize,
        /// What the size counts.
        unit: &'static str,
    },
}

/// ` (these do: streaming)`, or nothing when the caller knows no catalog to name.
fn these_do(takes: &str) -> String {
    if takes.is_empty() {
        String::new()
    } else {
        format!(" (these do: {takes})")
    }
}

/// Which of the chapter's "Performance Targets" an experiment claims, beyond the one every
/// experiment answers to (at least 80% fewer allocations per operation, when naive allocates).
/// `heaplab scorecard` checks each claimed target against measured figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Targets {
    /// The pattern promises exactly zero allocations per operation in steady state.
    pub zero_allocs: bool,
    /// At least 40% lower peak heap (data structures, streaming, caches).
    pub peak_heap: bool,
    /// Allocation is the bottleneck, so at least 2x the throughput.
    pub speedup: bool,
}

/// An experiment: a description plus a way to set up any of its variants.
pub trait Experiment: Send + Sync + 'static {
    /// The experiment's description.
    fn info(&self) -> &'static ExperimentInfo;

    /// Builds the chosen variant's workload of `size` (outside the measured region). Call it
    /// through [`setup`], which checks the variant and size first.
    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload>;

    /// The workload size at which the scorecard judges the targets this experiment claims: its
    /// default size, unless the experiment states another (and its why says at which and why).
    fn judged_size(&self) -> usize {
        self.info().default_size
    }

    /// The absolute limits `variant`'s figures must keep (`bench --check`). By default the
    /// chapter's one absolute target: where the pattern promises zero allocations, the
    /// `optimized` variant makes not one allocator call per operation.
    fn limits(&self, variant: &str) -> crate::engine::limits::Limits {
        use crate::engine::limits::Limits;
        if self.info().targets.zero_allocs && variant == "optimized" {
            Limits::ZERO_ALLOCS
        } else {
            Limits::NONE
        }
    }

    /// Whether `variant`'s allocation figures depend on how threads are scheduled, not only on
    /// the operations it runs: none by default. Such a variant's allocs/op, bytes/op and peak
    /// heap may differ between two runs of the same build and the same operations, so
    /// `heaplab compare` judges them with a tolerance and the sites tests do not require their
    /// lines in every run.
    fn depends_on_scheduling(&self, variant: usize) -> bool {
        let _ = variant;
        false
    }

    /// How many operations to run before measuring, for a workload of `size`. The same for
    /// every variant, so the checksum after warm-up can be compared between variants.
    fn warmup_ops(&self, size: usize) -> u64 {
        let _ = size;
        64
    }

    /// Builds the chosen variant's workload over a user's file instead of generated input
    /// (outside the measured region). Experiments that take no input keep this default.
    fn build_with_input(
        &self,
        variant: usize,
        input: &std::path::Path,
    ) -> Result<Box<dyn Workload>, SetupError> {
        let _ = (variant, input);
        // The engine knows no catalog: the caller that does names the ones that take a file
        // (`heaplab_experiments::setup_with_input`).
        Err(SetupError::InputNotSupported {
            experiment: self.info().id,
            takes: String::new(),
        })
    }

    /// Whether [`Experiment::build_with_input`] is implemented.
    fn takes_input(&self) -> bool {
        false
    }

    /// The memory layouts of the types the variants store, for the layout inspector: none by
    /// default; the data-structure experiments list theirs with [`type_layout!`].
    fn layouts(&self) -> Vec<crate::engine::layout::TypeLayout> {
        Vec::new()
    }
}

impl fmt::Debug for dyn Experiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Experiment").field(&self.info().id).finish()
    }
}

/// Checks `variant` and `size` against the experiment's description and returns the variant's
/// index: what [`setup`] checks before building, for callers that validate ahead of time.
pub fn check(experiment: &dyn Experiment, variant: &str, size: usize) -> Result<usize, SetupError> {
    let info = experiment.info();
    let index = info
        .variant_index(variant)
        .ok_or_else(|| SetupError::UnknownVariant {
            experiment: info.id,
            variant: variant.to_owned(),
            valid: info.variant_names(),
        })?;
    let (min, max) = info.size_range;
    if !(min..=max).contains(&size) {
        return Err(SetupError::SizeOutOfRange {
            experiment: info.id,
            size,
            min,
            max,
            unit: info.size_unit,
        });
    }
    Ok(index)
}

/// Checks `variant` and `size` (see [`check`]), then builds the workload.
pub fn setup(
    experiment: &dyn Experiment,
    variant: &str,
    size: usize,
) -> Result<Box<dyn Workload>, SetupError> {
    let index = check(experiment, variant, size)?;
    Ok(experiment.build(index, size))
}

/// Checks `variant`, then builds the workload over the file at `input`.
pub fn setup_with_input(
    experiment: &dyn Experiment,
    variant: &str,
    input: &std::path::Path,
) -> Result<Box<dyn Workload>, SetupError> {
    let index = check(experiment, variant, experiment.info().default_size)?;
    experiment.build_with_input(index, input)
}

/// A set-up variant, run one operation at a time. It owns everything the operation needs, so
/// that dropping it is the teardown.
pub trait Workload: Send {
    /// Runs one operation, folds its result into `checksum`, and returns the work it did, in
    /// the experiment's [`WorkUnit`]: the same for every variant given the same operations.
    fn run_op(&mut self, checksum: &mut Checksum) -> u64;

    /// Reports the experiment's own counters (pool hits and misses, cache hit rate, wasted
    /// bytes...) by calling `report(name, value)` for each, cumulative since setup. Called
    /// between operations, never inside the measured loop; it must not allocate.
    fn extra_counters(&self, report: &mut dyn FnMut(&'static str, f64)) {
        let _ = report;
    }
}

/// An order-sensitive 64-bit digest of operation results (FNV-1a over 64-bit words).
///
/// It is cheap enough to fold every byte an operation produces without dominating the timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checksum(u64);

impl Default for Checksum {
    fn default() -> Self {
        Self::new()
    }
}

impl Checksum {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// An empty digest.
    #[must_use]
    pub const fn new() -> Self {
        Self(Self::OFFSET)
    }

    /// Folds one word.
    #[inline]
    pub fn fold(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(Self::PRIME);
    }

    /// Folds a byte string: its length, then its bytes eight at a time in four lanes.
    #[inline]
    pub fn fold_bytes(&mut self, bytes: &[u8]) {
        self.fold(bytes.len() as u64);
        let mut lanes = [Self::OFFSET; 4];
        let mut chunks = bytes.chunks_exact(32);
        for chunk in &mut chunks {
            for (lane, word) in lanes.iter_mut().zip(chunk.chunks_exact(8)) {
                let mut buf = [0u8; 8];
                buf.copy_from_slice(word);
                *lane = (*lane ^ u64::from_le_bytes(buf)).wrapping_mul(Self::PRIME);
            }
        }
        for lane in lanes {
            self.fold(lane);
        }
        for &byte in chunks.remainder() {
            self.fold(u64::from(byte));
        }
    }

    /// The digest so far.
    #[must_use]
    pub const fn value(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The experiment with id `id` among `experiments`.
#[must_use]
pub fn find_in(
    experiments: &[&'static dyn Experiment],
    id: &str,
) -> Option<&'static dyn Experiment> {
    experiments.iter().copied().find(|e| e.info().id == id)
}

/// The ids of `experiments`, joined with `, `.
#[must_use]
pub fn ids_of(experiments: &[&'static dyn Experiment]) -> String {
    experiments
        .iter()
        .map(|e| e.info().id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `ops` operations of a fresh workload and returns the checksum: what the tests compare
/// between variants.
pub fn checksum_of(
    experiment: &dyn Experiment,
    variant: &str,
    size: usize,
    ops: u64,
) -> Result<Checksum, SetupError> {
    let mut workload = setup(experiment, variant, size)?;
    let mut checksum = Checksum::new();
    for _ in 0..ops {
        workload.run_op(&mut checksum);
    }
    Ok(checksum)
}
