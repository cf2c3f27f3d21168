//! The adapter from a lab's closures to the engine's [`Experiment`] and [`Workload`]: every
//! call of a user's closure is made in this file, so that the sites view can fold its frames
//! away as heaplab's own (`crate::sites`) and name the user's lines.
//!
//! Every variant made of closures runs as one [`ClosureWorkload`]: an input (the size, `()`
//! or the experiment's `.input`), an operation over it that hands its result to a [`Sink`],
//! the work one operation does, and how many operations are left in the warm-up. Only the
//! warm-up's results are hashed (they make the checksum the reports show); a measured
//! operation is the call and the drop of its result, nothing of heaplab's.

use std::fmt::Display;
use std::hash::{Hash, Hasher};
use std::panic::Location;
use std::sync::Arc;

use heaplab_experiments::layout::TypeLayout;
use heaplab_experiments::limits::Limits;
use heaplab_experiments::{Checksum, Experiment, ExperimentInfo, Workload};

/// Builds one variant's workload for a size, input and work included.
pub type Build = Box<dyn Fn(usize) -> Box<dyn Workload> + Send + Sync>;

/// Builds a variant that sets itself up from the size (`.variant`).
pub type OwnBuild = Box<dyn Fn(usize, Shape) -> Box<dyn Workload> + Send + Sync>;

/// Builds a variant over the experiment's input, given it for the run (`.op` and its kin).
pub type OverBuild<I> = Box<dyn Fn(I, Shape) -> Box<dyn Workload> + Send + Sync>;

/// Builds a variant written as a [`Workload`] of the user's own (`.workload_variant`).
pub type WorkloadBuild = Box<dyn Fn(usize) -> Box<dyn Workload> + Send + Sync>;

/// Counts one operation's work from the workload size.
pub type SizeWork = Arc<dyn Fn(usize) -> u64 + Send + Sync>;

/// Counts one operation's work from the input.
pub type InputWork<I> = Arc<dyn Fn(&I) -> u64 + Send + Sync>;

/// Makes the experiment's input for a size, outside the measured region.
pub type Make<I> = Arc<dyn Fn(usize) -> I + Send + Sync>;

/// What every operation of one run shares: the work it does, and how many operations hash
/// their result (the warm-up's).
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    work: u64,
    hashed: u64,
}

/// How the work of one operation is counted (`.work`): the same for every variant.
pub enum Work<I> {
    /// One operation is one unit (no `.work`).
    PerOp,
    /// From the workload size.
    Size(SizeWork),
    /// From the input (`.work` after `.input`).
    Input(InputWork<I>),
}

/// A variant as described, waiting for the experiment's input and work.
pub enum Pending {
    /// `.variant`: a setup from the size.
    Own(OwnBuild),
    /// `.workload_variant`.
    Workload(WorkloadBuild),
    /// One of `.op`, `.op_mut`, `.try_op`, `.op_sink`: its build is the input state's next.
    Over,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pending::Own(_) => "Own",
            Pending::Workload(_) => "Workload",
            Pending::Over => "Over",
        })
    }
}

/// An experiment made by [`ExperimentBuilder`](super::ExperimentBuilder).
pub struct UserExperiment {
    pub(super) info: &'static ExperimentInfo,
    pub(super) builds: Vec<Build>,
    pub(super) warmup: u64,
    pub(super) layouts: Vec<TypeLayout>,
    /// Each variant's limits (`.limits`), in variant order.
    pub(super) limits: Vec<Limits>,
    /// Each variant: whether its allocations depend on scheduling (`.depends_on_scheduling`).
    pub(super) scheduling: Vec<bool>,
}

impl Experiment for UserExperiment {
    fn info(&self) -> &'static ExperimentInfo {
        self.info
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        (self.builds[variant])(size)
    }

    fn warmup_ops(&self, _size: usize) -> u64 {
        self.warmup
    }

    fn limits(&self, variant: &str) -> Limits {
        self.info
            .variant_index(variant)
            .and_then(|i| self.limits.get(i).copied())
            .unwrap_or(Limits::NONE)
    }

    fn depends_on_scheduling(&self, variant: usize) -> bool {
        self.scheduling.get(variant).copied().unwrap_or(false)
    }

    fn layouts(&self) -> Vec<TypeLayout> {
        self.layouts.clone()
    }
}

/// Where an operation puts its result: `sink.put(result)`. A result put during the warm-up
/// is hashed into the checksum; every result is then dropped, inside the measured operation.
/// [`op_sink`](super::ExperimentBuilder::op_sink) hands one to each call, so that a result
/// may borrow from the input, which a returned result may not.
#[derive(Debug)]
pub struct Sink<'a> {
    /// The checksum, during the warm-up only.
    checksum: Option<&'a mut Checksum>,
}

impl Sink<'_> {
    /// Takes the operation's result: hashed into the checksum during the warm-up, then
    /// dropped (the drop is part of the measured operation).
    #[inline]
    pub fn put<R: Hash>(&mut self, result: R) {
        let result = std::hint::black_box(result);
        if let Some(checksum) = self.checksum.as_deref_mut() {
            // Detached from the slot: what hashing allocates (serde_json's `Map` with
            // `preserve_order` does) is heaplab's, in no figure, not even the first
            // operation's, which is measured during the warm-up.
            heaplab_experiments::counting::unmeasured(|| result.hash(&mut Fold(checksum)));
        }
    }
}

/// One run of a variant made of closures: `op` over `input`, its results given to a [`Sink`].
struct ClosureWorkload<I, Op> {
    input: I,
    op: Op,
    work: u64,
    /// Operations left whose result is hashed: the warm-up's.
    hashed_left: u64,
}

impl<I, Op> Workload for ClosureWorkload<I, Op>
where
    I: Send,
    Op: FnMut(&I, &mut Sink<'_>) + Send,
{
    #[inline]
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let checksum = if self.hashed_left > 0 {
            self.hashed_left -= 1;
            Some(checksum)
        } else {
            None
        };
        (self.op)(&self.input, &mut Sink { checksum });
        self.work
    }
}

fn workload<I, Op>(input: I, op: Op, shape: Shape) -> Box<dyn Workload>
where
    I: Send + 'static,
    Op: FnMut(&I, &mut Sink<'_>) + Send + 'static,
{
    Box::new(ClosureWorkload {
        input,
        op,
        work: shape.work,
        hashed_left: shape.hashed,
    })
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

/// `.variant`: the setup, given the size, returns the operation.
pub fn own<S, Op, R>(setup: S) -> OwnBuild
where
    S: Fn(usize) -> Op + Send + Sync + 'static,
    Op: FnMut() -> R + Send + 'static,
    R: Hash + 'static,
{
    Box::new(move |size, shape| {
        let mut op = setup(size);
        workload((), move |(), sink: &mut Sink<'_>| sink.put(op()), shape)
    })
}

/// `.workload_variant`: the setup returns a [`Workload`] of the user's own.
pub fn own_workload<W: Workload + 'static>(
    setup: impl Fn(usize) -> W + Send + Sync + 'static,
) -> WorkloadBuild {
    Box::new(move |size| Box::new(setup(size)))
}

/// `.op`: one operation over the input, shared by every run.
pub fn over<I, R>(op: impl Fn(&I) -> R + Send + Sync + 'static) -> OverBuild<I>
where
    I: Send + 'static,
    R: Hash + 'static,
{
    let op = Arc::new(op);
    Box::new(move |input, shape| {
        let op = Arc::clone(&op);
        workload(
            input,
            move |input: &I, sink: &mut Sink<'_>| sink.put(op(input)),
            shape,
        )
    })
}

/// `.op_mut`: the setup, given the input, returns the operation with its state for the run.
pub fn over_mut<I, S, Op, R>(setup: S) -> OverBuild<I>
where
    I: Send + 'static,
    S: Fn(&I) -> Op + Send + Sync + 'static,
    Op: FnMut(&I) -> R + Send + 'static,
    R: Hash + 'static,
{
    Box::new(move |input, shape| {
        let mut op = setup(&input);
        workload(
            input,
            move |input: &I, sink: &mut Sink<'_>| sink.put(op(input)),
            shape,
        )
    })
}

/// `.op_sink`: one operation over the input that puts its result into a [`Sink`].
pub fn over_sink<I: Send + 'static>(
    op: impl Fn(&I, &mut Sink<'_>) + Send + Sync + 'static,
) -> OverBuild<I> {
    let op = Arc::new(op);
    Box::new(move |input, shape| {
        let op = Arc::clone(&op);
        workload(
            input,
            move |input: &I, sink: &mut Sink<'_>| op(input, sink),
            shape,
        )
    })
}

/// `.try_op`: an operation whose `Err` ends the run as its error, the way a panic does.
pub fn over_fallible<I, R, E>(
    name: &str,
    location: &'static Location<'static>,
    op: impl Fn(&I) -> Result<R, E> + Send + Sync + 'static,
) -> OverBuild<I>
where
    I: Send + 'static,
    R: Hash + 'static,
    E: Display + 'static,
{
    let op = Arc::new(op);
    let name: Arc<str> = Arc::from(name);
    Box::new(move |input, shape| {
        let op = Arc::clone(&op);
        let name = Arc::clone(&name);
        let step = move |input: &I, sink: &mut Sink<'_>| match op(input) {
            Ok(result) => sink.put(result),
            Err(e) => failed(&name, location, &e),
        };
        workload(input, step, shape)
    })
}

/// Ends the run with `error`: unwound as a panic's message is, without the panic hook (which
/// would name this file), so that every view reports it as it reports a panic.
#[cold]
fn failed(name: &str, location: &Location<'_>, error: &dyn Display) -> ! {
    std::panic::resume_unwind(Box::new(format!(
        "`{name}` returned an error: {error} (its op is at {}:{})",
        location.file(),
        location.line()
    )))
}

/// Each variant's complete build: the input made from the size (outside the measured
/// region), the work counted as `work` says, then the variant's workload over them. `over`
/// holds the builds of the [`Pending::Over`] variants, in order; `None` if it runs short.
pub fn complete<I: 'static>(
    pending: Vec<Pending>,
    mut over: impl Iterator<Item = OverBuild<I>>,
    make: &Make<I>,
    work: Work<I>,
    warmup: u64,
) -> Option<Vec<Build>> {
    let work = Arc::new(work);
    pending
        .into_iter()
        .map(|variant| -> Option<Build> {
            let work = Arc::clone(&work);
            let make = Arc::clone(make);
            Some(match variant {
                Pending::Workload(build) => build,
                Pending::Own(build) => Box::new(move |size| {
                    let work = match &*work {
                        Work::PerOp => 1,
                        Work::Size(f) => f(size),
                        // A variant with a setup of its own: the input is made only to count.
                        Work::Input(f) => f(&make(size)),
                    };
                    build(
                        size,
                        Shape {
                            work,
                            hashed: warmup,
                        },
                    )
                }),
                Pending::Over => {
                    let build = over.next()?;
                    Box::new(move |size| {
                        let input = make(size);
                        let work = match &*work {
                            Work::PerOp => 1,
                            Work::Size(f) => f(size),
                            Work::Input(f) => f(&input),
                        };
                        build(
                            input,
                            Shape {
                                work,
                                hashed: warmup,
                            },
                        )
                    })
                }
            })
        })
        .collect()
}
