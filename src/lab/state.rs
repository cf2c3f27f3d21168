//! The states of an [`ExperimentBuilder`](super::ExperimentBuilder), in its type: [`NoInput`]
//! until `.input(make)`, then [`Input`]; the traits that allow a call in one state and refuse
//! it in the other with a message that says what to do ([`NoInputYet`], [`HasInput`]); and how
//! each state completes its variants' builds.

use std::sync::Arc;

use super::closure::{self, Build, InputWork, Make, OverBuild, Pending, SizeWork, Work};

/// The state of an experiment without an input (yet): its variants set themselves up from
/// the size (`.variant`), and `.input(make)` gives it one.
#[derive(Debug, Default)]
pub struct NoInput(());

/// The state of an experiment with an input: how it is made from the size, how the work of
/// one operation is counted from it, and the builds of the op variants, in order.
pub struct Input<I> {
    make: Make<I>,
    pub(super) work: Option<InputWork<I>>,
    pub(super) over: Vec<OverBuild<I>>,
}

impl<I> Input<I> {
    pub(super) fn new(make: Make<I>) -> Self {
        Self {
            make,
            work: None,
            over: Vec::new(),
        }
    }
}

impl<I> std::fmt::Debug for Input<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("type", &std::any::type_name::<I>())
            .field("op_variants", &self.over.len())
            .finish_non_exhaustive()
    }
}

/// Where an [`ExperimentBuilder`](super::ExperimentBuilder) is: [`NoInput`] or [`Input`].
/// Sealed: heaplab's two only.
pub trait State: sealed::Sealed + Send + 'static {}

impl State for NoInput {}
impl<I: Send + 'static> State for Input<I> {}

/// Only an experiment without an input can be given one.
#[diagnostic::on_unimplemented(
    message = "this experiment has an input already: an experiment takes one `.input(make)`",
    label = "a second `.input`",
    note = "every op variant receives the one input; a variant that needs another builds it \
            in its own setup: `.variant(name, |size| ...)` or `.op_mut(name, |input| ...)`"
)]
pub trait NoInputYet: State {}

impl NoInputYet for NoInput {}

/// An experiment that has its input: what `.op` and its kin need.
#[diagnostic::on_unimplemented(
    message = "op variants work on the experiment's input, and this experiment has none yet",
    label = "this needs `.input(make)` first",
    note = "call `.input(|size| ...)` before the first op variant (the other calls may come in \
            any order); a variant without an input is `.variant(name, |size| {{ ...; move || ... }})`"
)]
pub trait HasInput: State {
    /// The input's type.
    type Input: Send + 'static;

    #[doc(hidden)]
    fn input_state(&mut self) -> &mut Input<Self::Input>;
}

impl<I: Send + 'static> HasInput for Input<I> {
    type Input = I;

    fn input_state(&mut self) -> &mut Input<I> {
        self
    }
}

pub(super) mod sealed {
    use super::Input;

    /// Every state as an input: its own, or for [`NoInput`](super::NoInput) the size itself.
    pub trait Sealed {
        /// What the variants receive.
        type Made: Send + 'static;

        /// The state with its input made explicit.
        fn into_input(self) -> Input<Self::Made>;
    }
}

impl sealed::Sealed for NoInput {
    type Made = usize;

    // Without an input, the variants set themselves up from the size: as if it were it.
    fn into_input(self) -> Input<usize> {
        Input::new(Arc::new(|size| size))
    }
}

impl<I: Send + 'static> sealed::Sealed for Input<I> {
    type Made = I;

    fn into_input(self) -> Self {
        self
    }
}

impl<I: 'static> Input<I> {
    /// Every variant's build, given how to count the work from the size (when the experiment
    /// was told so); `None` if an op variant's build is missing.
    pub(super) fn builds(
        self,
        pending: Vec<Pending>,
        size: Option<SizeWork>,
        warmup: u64,
    ) -> Option<Vec<Build>> {
        let work = match (self.work, size) {
            (Some(from_input), _) => Work::Input(from_input),
            (None, Some(from_size)) => Work::Size(from_size),
            (None, None) => Work::PerOp,
        };
        closure::complete(pending, self.over.into_iter(), &self.make, work, warmup)
    }
}
