//! `fault`: an experiment that fails on purpose, for tests only. It is in the catalog only when
//! the environment variable [`ENABLE`] is set (tests set it for the processes they start), so
//! that crashes, panics and runaway memory can be thrown at the real program.

use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

/// The environment variable that puts `fault` in the catalog.
pub const ENABLE: &str = "HEAPLAB_TEST_FAULTS";

/// The experiment.
#[derive(Debug)]
pub struct Fault;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "fault",
    section: Section::SystemDesign,
    title: "Fails on purpose (tests only)",
    why: "A test double: each variant fails in its own way on its third measured operation, \
so tests can check that a run's failure is that run's error and nothing more.",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "panics on its third operation",
        },
        VariantInfo {
            name: "optimized",
            summary: "allocates 1 MiB per checkpointed step, forever, in one operation",
        },
        VariantInfo {
            name: "segfault",
            summary: "raises SIGSEGV on its third operation",
        },
        VariantInfo {
            name: "abort",
            summary: "aborts the process on its third operation",
        },
        VariantInfo {
            name: "stack-overflow",
            summary: "recurses without end on its third operation",
        },
        VariantInfo {
            name: "slow",
            summary: "one operation every 10 ms, never failing",
        },
    ],
    size_unit: "nothing",
    work_unit: WorkUnit::Items("operations"),
    default_size: 1,
    size_range: (1, 1),
    targets: Targets {
        zero_allocs: false,
        peak_heap: false,
        speedup: false,
    },
    source: "",
    source_file: "",
};

struct Fails {
    how: usize,
    ops: u32,
}

impl Workload for Fails {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        self.ops += 1;
        checksum.fold(u64::from(self.ops));
        if self.how == 5 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            return 1;
        }
        if self.ops < 3 && self.how != 1 {
            return 1;
        }
        match self.how {
            0 => panic!("boom on operation {}", self.ops),
            1 => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    crate::engine::counting::budget_checkpoint();
                }
            }
            2 => raise_sigsegv(),
            3 => std::process::abort(),
            _ => checksum.fold(recurse(u64::from(self.ops))),
        }
        1
    }
}

/// Recurses until the stack runs out (the guard page turns that into a clean abort); the
/// bound is never reached.
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    if std::hint::black_box(depth) == u64::MAX {
        return frame[0];
    }
    recurse(depth + 1).wrapping_add(frame[depth as usize % 64])
}

fn raise_sigsegv() {
    #[cfg(unix)]
    {
        const SIGSEGV: std::ffi::c_int = 11;
        unsafe extern "C" {
            fn raise(signal: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: raise takes a signal number and no pointers; SIGSEGV's default action ends
        // the process, which is what this test double is for.
        unsafe {
            raise(SIGSEGV);
        }
    }
    #[cfg(not(unix))]
    std::process::abort();
}

impl Experiment for Fault {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn build(&self, variant: usize, _size: usize) -> Box<dyn Workload> {
        Box::new(Fails {
            how: variant,
            ops: 0,
        })
    }

    fn warmup_ops(&self, _size: usize) -> u64 {
        0
    }
}
