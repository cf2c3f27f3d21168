//! The adapter from a lab's closures to the engine's [`Experiment`] and [`Workload`]: every
//! call of a user's closure is made in this file, so that the sites view can fold its frames
//! away as heaplab's own (`crate::sites`) and name the user's lines.

use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use heaplab_experiments::layout::TypeLayout;
use heaplab_experiments::{Checksum, Experiment, ExperimentInfo, Workload};

/// Builds one variant's workload: given the size and the work one operation does.
pub(super) type Build = Box<dyn Fn(usize, u64) -> Box<dyn Workload> + Send + Sync>;

/// An experiment made by [`ExperimentBuilder`](super::ExperimentBuilder).
pub(super) struct UserExperiment {
    pub(super) info: &'static ExperimentInfo,
    pub(super) builds: Vec<Build>,
    pub(super) work_per_op: Box<dyn Fn(usize) -> u64 + Send + Sync>,
    pub(super) warmup: u64,
    pub(super) layouts: Vec<TypeLayout>,
}

impl Experiment for UserExperiment {
    fn info(&self) -> &'static ExperimentInfo {
        self.info
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        (self.builds[variant])(size, (self.work_per_op)(size))
    }

    fn warmup_ops(&self, _size: usize) -> u64 {
        self.warmup
    }

    fn layouts(&self) -> Vec<TypeLayout> {
        self.layouts.clone()
    }
}

/// A variant's operation: the closure its setup returned.
struct ClosureWorkload<Op, R> {
    op: Op,
    work: u64,
    result: PhantomData<fn() -> R>,
}

impl<Op, R> Workload for ClosureWorkload<Op, R>
where
    Op: FnMut() -> R + Send,
    R: Hash,
{
    #[inline]
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let result = std::hint::black_box((self.op)());
        result.hash(&mut Fold(checksum));
        self.work
    }
}

/// Hashes a result into the checksum, allocation-free.
struct Fold<'a>(&'a mut Checksum);

impl Hasher for Fold<'_> {
    fn finish(&self) -> u64 {
        self.0.value()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.fold_bytes(bytes);
    }

    fn write_u64(&mut self, n: u64) {
        self.0.fold(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.0.fold(n as u64);
    }
}

/// A variant's workload from `setup`: its outer closure, given the size, returns the
/// operation, whose results are hashed into the checksum.
pub(super) fn build<S, Op, R>(setup: S) -> Build
where
    S: Fn(usize) -> Op + Send + Sync + 'static,
    Op: FnMut() -> R + Send + 'static,
    R: Hash + 'static,
{
    Box::new(move |size, work| {
        Box::new(ClosureWorkload {
            op: setup(size),
            work,
            result: PhantomData,
        })
    })
}

/// A variant's workload from a setup that returns a [`Workload`] of the user's own.
pub(super) fn build_workload<W: Workload + 'static>(
    setup: impl Fn(usize) -> W + Send + Sync + 'static,
) -> Build {
    Box::new(move |size, _| Box::new(setup(size)))
}

/// The workload of a variant whose operation is `op` over the input `make` builds for the
/// size (outside the measured region).
pub(super) fn build_over_input<I: Send + 'static, R: Hash + 'static>(
    make: Arc<dyn Fn(usize) -> I + Send + Sync>,
    op: impl Fn(&I) -> R + Send + Sync + 'static,
) -> Build {
    let op = Arc::new(op);
    build(move |size| {
        let input = make(size);
        let op = Arc::clone(&op);
        move || op(&input)
    })
}
