//! The chapter: one file per experiment (a naive/optimized pair of one of the chapter's memory
//! patterns), and [`catalog`], the list of them in chapter order.
//!
//! Nothing here measures or counts: an experiment file knows the engine's contract
//! ([`Experiment`], [`Workload`]) and its helpers for generated data, and nothing of the other
//! experiments. Adding one: see "Adding an experiment" in the crate's documentation.

use std::path::Path;
use std::sync::OnceLock;

use crate::engine::experiment::{self, Experiment, SetupError, Workload, find_in, ids_of};
use crate::engine::fault::{self, Fault};

/// Declares each experiment's module (the file of that name in this folder) and lists its
/// experiment in [`CHAPTER`], in the order given: so adding an experiment is one line.
macro_rules! chapter {
    ($($vis:vis $module:ident :: $experiment:ident,)*) => {
        $(#[cfg(feature = "chapter")] $vis mod $module;)*

        /// Every experiment of the chapter, in chapter order (sections in order).
        #[cfg(feature = "chapter")]
        const CHAPTER: &[&dyn Experiment] = &[$(&$module::$experiment),*];
    };
}

/// Without the `chapter` feature the chapter is empty: the engine alone, for a lab of one's
/// own code, without the crates the chapter's experiments measure.
#[cfg(not(feature = "chapter"))]
const CHAPTER: &[&dyn Experiment] = &[];

chapter! {
    buffer_reuse::BufferReuse,
    string_processing::StringProcessing,
    in_place::InPlace,
    preallocation::Preallocation,
    struct_layout::StructLayout,
    bit_packing::BitPacking,
    compact_collections::CompactCollections,
    inline_storage::InlineStorage,
    sync_pool::SyncPoolExperiment,
    channel_pool::ChannelPoolExperiment,
    size_classes::SizeClasses,
    pub streaming::Streaming,
    bounded_cache::BoundedCache,
    low_alloc_api::LowAllocApi,
}

/// The chapter, then the test-only [`Fault`]: derived from [`CHAPTER`], so there is no length
/// to keep and nothing that must stay last.
static WITH_FAULT: [&dyn Experiment; CHAPTER.len() + 1] = appended(CHAPTER, &Fault);

/// `list`, then `extra`, as an array of `list.len() + 1` (checked when it is built, at compile
/// time for a static).
const fn appended<const N: usize>(
    list: &[&'static dyn Experiment],
    extra: &'static dyn Experiment,
) -> [&'static dyn Experiment; N] {
    assert!(
        N == list.len() + 1,
        "appended: N must be one more than the list"
    );
    let mut out = [extra; N];
    let mut at = 0;
    while at < list.len() {
        out[at] = list[at];
        at += 1;
    }
    out
}

/// Every experiment, in chapter order.
///
/// With the environment variable [`fault::ENABLE`] set, the test-only [`Fault`] comes after
/// them.
#[must_use]
pub fn catalog() -> &'static [&'static dyn Experiment] {
    static WITH_FAULTS: OnceLock<bool> = OnceLock::new();
    if *WITH_FAULTS.get_or_init(|| std::env::var_os(fault::ENABLE).is_some()) {
        &WITH_FAULT
    } else {
        CHAPTER
    }
}

/// The experiment with id `id`.
#[must_use]
pub fn find(id: &str) -> Option<&'static dyn Experiment> {
    find_in(catalog(), id)
}

/// Checks `variant`, then builds the workload over the file at `input`
/// ([`experiment::setup_with_input`]); an experiment that takes no file is refused naming the
/// catalog's experiments that do.
pub fn setup_with_input(
    experiment: &dyn Experiment,
    variant: &str,
    input: &Path,
) -> Result<Box<dyn Workload>, SetupError> {
    experiment::setup_with_input(experiment, variant, input).map_err(|error| match error {
        SetupError::InputNotSupported { experiment, .. } => {
            let takes: Vec<_> = catalog()
                .iter()
                .copied()
                .filter(|e| e.takes_input())
                .collect();
            SetupError::InputNotSupported {
                experiment,
                takes: ids_of(&takes),
            }
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::counting;
    use crate::engine::experiment::{
        Checksum, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, checksum_of,
    };
    use crate::engine::measure::{Stop, measure};

    /// What the catalog's tests check of a list of experiments, whatever its length: ids
    /// unique, sections in order, each description consistent, each variant's source marked,
    /// every variant measured, doing the same work and agreeing with the baseline's checksum.
    /// Empty when the list passes.
    fn audit(experiments: &[&'static dyn Experiment]) -> Vec<String> {
        let mut problems = Vec::new();
        let slot = counting::register_worker().expect("a counter slot");
        for (at, experiment) in experiments.iter().enumerate() {
            let info = experiment.info();
            let id = info.id;
            if experiments[..at].iter().any(|e| e.info().id == id) {
                problems.push(format!("{id}: a second experiment with this id"));
            }
            if at > 0 && experiments[at - 1].info().section > info.section {
                problems.push(format!("{id}: out of chapter order"));
            }
            if info.baseline() != "naive" || info.variant_index("optimized").is_none() {
                problems.push(format!("{id}: not naive first, or no optimized"));
            }
            let (min, max) = info.size_range;
            if !(min..=max).contains(&info.default_size) || info.why.len() <= 400 {
                problems.push(format!("{id}: default size out of range, or a short why"));
            }
            let size = (info.default_size / 64).clamp(min, max);
            let baseline = checksum_of(*experiment, info.baseline(), size, 20);
            let mut work = None;
            for variant in info.variants {
                if info.variant_source(variant.name).is_none() {
                    problems.push(format!("{id} {}: no marked source", variant.name));
                }
                if checksum_of(*experiment, variant.name, size, 20) != baseline {
                    problems.push(format!("{id} {}: checksum differs", variant.name));
                }
                match measure(&slot, *experiment, variant.name, size, Stop::Iterations(20)) {
                    Ok(m) if m.ops == 20 && *work.get_or_insert(m.work) == m.work => {}
                    Ok(m) => {
                        let name = variant.name;
                        problems.push(format!("{id} {name}: {} ops, work {}", m.ops, m.work));
                    }
                    Err(e) => problems.push(format!("{id} {}: {e}", variant.name)),
                }
            }
        }
        problems
    }

    /// A newcomer's experiment, as small as one can be: a sum of `size` numbers, kept in a
    /// fresh vector per operation (naive) or in one reused (optimized).
    struct Throwaway;

    static THROWAWAY: ExperimentInfo = ExperimentInfo {
        id: "throwaway",
        section: Section::SystemDesign,
        title: "A newcomer's experiment (tests only)",
        why: "A test double for the catalog itself: the fifteenth experiment a newcomer adds, \
built through the same path as the chapter's fourteen (the chapter's list and one more entry), \
so that adding one stays its file and one line. Its naive variant fills a fresh vector of \
`size` numbers on every operation and sums it; its optimized variant keeps one vector and \
refills it. Both fold the same sum into the checksum and report `size` numbers of work, so \
the catalog's checks (ids unique, sections in order, variants measured, checksums agree) \
hold for it exactly as they hold for the chapter's experiments.",
        variants: &[
            VariantInfo {
                name: "naive",
                summary: "a fresh vector per operation",
            },
            VariantInfo {
                name: "optimized",
                summary: "one vector, refilled",
            },
        ],
        size_unit: "numbers",
        work_unit: WorkUnit::Items("numbers"),
        default_size: 64,
        size_range: (1, 1024),
        targets: Targets {
            zero_allocs: false,
            peak_heap: false,
            speedup: false,
        },
        source: include_str!("mod.rs"),
        source_file: file!(),
    };

    struct Sums {
        reuse: bool,
        numbers: Vec<u64>,
        size: usize,
    }

    impl Workload for Sums {
        fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
            let numbers = if self.reuse {
                // region:optimized
                self.numbers.clear();
                self.numbers.extend(0..self.size as u64);
                &self.numbers
                // endregion:optimized
            } else {
                // region:naive
                self.numbers = (0..self.size as u64).collect();
                &self.numbers
                // endregion:naive
            };
            checksum.fold(numbers.iter().sum());
            self.size as u64
        }
    }

    impl Experiment for Throwaway {
        fn info(&self) -> &'static ExperimentInfo {
            &THROWAWAY
        }

        fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
            Box::new(Sums {
                reuse: variant == 1,
                numbers: Vec::new(),
                size,
            })
        }
    }

    /// Throwaway, but its optimized variant sums one number more.
    struct Wrong;
    impl Experiment for Wrong {
        fn info(&self) -> &'static ExperimentInfo {
            &THROWAWAY
        }
        fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
            Throwaway.build(variant, size + variant)
        }
    }

    /// The chapter with a fifteenth experiment, added as the crate's documentation says: the
    /// chapter's list and one more entry, nothing else to change.
    static WITH_NEWCOMER: [&dyn Experiment; CHAPTER.len() + 1] = appended(CHAPTER, &Throwaway);

    #[test]
    fn the_catalog_passes_the_catalogs_checks() {
        assert_eq!(audit(catalog()), Vec::<String>::new());
        assert_eq!(ids_of(&WITH_FAULT[..CHAPTER.len()]), ids_of(CHAPTER));
        assert_eq!(WITH_FAULT.last().map(|e| e.info().id), Some("fault"));
    }

    #[test]
    fn a_fifteenth_experiment_is_one_more_line_and_passes_the_same_checks() {
        assert_eq!(audit(&WITH_NEWCOMER), Vec::<String>::new());
        assert_eq!(
            find_in(&WITH_NEWCOMER, "throwaway").map(|e| e.info().title),
            Some(THROWAWAY.title)
        );
        // The test-only fault experiment follows whatever the list holds: the newcomer stays.
        let with_fault: [&dyn Experiment; CHAPTER.len() + 2] = appended(&WITH_NEWCOMER, &Fault);
        let ids = ids_of(&with_fault);
        assert!(ids.ends_with("low-alloc-api, throwaway, fault"), "{ids}");
    }

    #[test]
    fn the_checks_find_a_second_id_and_a_variant_that_disagrees() {
        let twice: [&dyn Experiment; CHAPTER.len() + 1] = appended(CHAPTER, CHAPTER[0]);
        let problems = audit(&twice[CHAPTER.len() - 1..]);
        assert!(
            problems.contains(&"buffer-reuse: out of chapter order".to_owned()),
            "{problems:?}"
        );
        let problems = audit(&[CHAPTER[0], CHAPTER[0]]);
        assert_eq!(problems, ["buffer-reuse: a second experiment with this id"]);
        let problems = audit(&[&Wrong]);
        assert!(
            problems.contains(&"throwaway optimized: checksum differs".to_owned()),
            "{problems:?}"
        );
    }

    #[test]
    fn every_layout_is_consistent_and_only_the_layout_experiments_have_them() {
        let mut with_layouts = Vec::new();
        for experiment in catalog() {
            let layouts = experiment.layouts();
            if !layouts.is_empty() {
                with_layouts.push(experiment.info().id);
            }
            for layout in layouts {
                let info = experiment.info();
                assert!(
                    info.variant_index(layout.variant).is_some(),
                    "{}: {} names no variant",
                    info.id,
                    layout.name
                );
                assert_eq!(layout.size % layout.align, 0, "{}", layout.name);
                let mut end = 0;
                for field in &layout.fields {
                    assert!(field.offset >= end, "{}: fields overlap", layout.name);
                    end = field.offset + field.size;
                }
                assert!(end <= layout.size, "{}: a field past the end", layout.name);
            }
        }
        assert_eq!(
            with_layouts,
            [
                "struct-layout",
                "bit-packing",
                "compact-collections",
                "inline-storage"
            ]
        );
    }
}
