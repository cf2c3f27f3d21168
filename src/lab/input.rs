//! The operations over an experiment's input: `.op`, `.op_mut`, `.try_op`, `.op_sink` and
//! `.work`, which need `.input(make)` first.

use std::fmt::Display;
use std::hash::Hash;
use std::panic::Location;
use std::sync::Arc;

use super::builder::ExperimentBuilder;
use super::closure::{self, OverBuild, Pending, Sink};
use super::state::{HasInput, Input, State};

// The bound is on each method, not on the block: so a call without an input is the
// `HasInput` message above, not "the method exists but its trait bounds were not satisfied".
impl<S: State> ExperimentBuilder<S> {
    /// Adds a variant whose operation is `op` over the input: each call is one measured
    /// operation (the call and the drop of its result). `op` is shared by every run, so it
    /// takes `&self` (`Fn`): for state of its own, use [`op_mut`](Self::op_mut). Its result
    /// may not borrow from the input (the compiler says "lifetime may not live long
    /// enough"): put such a result into a sink with [`op_sink`](Self::op_sink).
    ///
    /// ```no_run
    /// # heaplab::Lab::new().experiment("words", |e| {
    /// e.input(|size| "word ".repeat(size))
    ///     .op("count", |text| text.split(' ').count())
    /// # });
    /// ```
    #[must_use]
    #[track_caller]
    pub fn op<R: Hash + 'static>(
        self,
        name: &str,
        op: impl Fn(&S::Input) -> R + Send + Sync + 'static,
    ) -> Self
    where
        S: HasInput,
    {
        self.with_op(name, Location::caller(), closure::over(op))
    }

    /// Adds a variant with state of its own over the input: `setup` runs once per run,
    /// outside the measured region, given the input, and returns the operation (`FnMut`),
    /// which owns the state and receives the input at each call. The state lives for the
    /// run: every run (each worker process, each sites replay) starts from a fresh setup.
    ///
    /// ```no_run
    /// # heaplab::Lab::new().experiment("words", |e| {
    /// e.input(|size| "word ".repeat(size))
    ///     .op_mut("reused", |text| {
    ///         let mut lengths: Vec<usize> = Vec::with_capacity(text.len());
    ///         move |text| {
    ///             lengths.clear();
    ///             lengths.extend(text.split(' ').map(str::len));
    ///             lengths.iter().sum::<usize>()
    ///         }
    ///     })
    /// # });
    /// ```
    #[must_use]
    #[track_caller]
    pub fn op_mut<Setup, Op, R>(self, name: &str, setup: Setup) -> Self
    where
        S: HasInput,
        Setup: Fn(&S::Input) -> Op + Send + Sync + 'static,
        Op: FnMut(&S::Input) -> R + Send + 'static,
        R: Hash + 'static,
    {
        self.with_op(name, Location::caller(), closure::over_mut(setup))
    }

    /// Adds a variant whose operation may fail: an `Err` ends the run, reported as its error
    /// the way a panic is (the row's status is `panicked`, its error the `Err`'s text); an
    /// `Ok` result is treated as [`op`](Self::op)'s.
    ///
    /// ```no_run
    /// # heaplab::Lab::new().experiment("numbers", |e| {
    /// e.input(|size| "7,".repeat(size))
    ///     .try_op("parse", |text| {
    ///         text.split_terminator(',').map(str::parse::<u64>).sum::<Result<u64, _>>()
    ///     })
    /// # });
    /// ```
    #[must_use]
    #[track_caller]
    pub fn try_op<R, E>(
        self,
        name: &str,
        op: impl Fn(&S::Input) -> Result<R, E> + Send + Sync + 'static,
    ) -> Self
    where
        S: HasInput,
        R: Hash + 'static,
        E: Display + 'static,
    {
        let location = Location::caller();
        self.with_op(name, location, closure::over_fallible(name, location, op))
    }

    /// Adds a variant whose operation puts its result into a [`Sink`] instead of returning
    /// it, so that the result may borrow from the input: `sink.put(result)`. What is measured
    /// is the same as for [`op`](Self::op).
    ///
    /// ```no_run
    /// # heaplab::Lab::new().experiment("names", |e| {
    /// e.input(|size| "ada,grace,".repeat(size))
    ///     .op_sink("names", |doc, sink| sink.put(doc.split(',').collect::<Vec<&str>>()))
    /// # });
    /// ```
    #[must_use]
    #[track_caller]
    pub fn op_sink(
        self,
        name: &str,
        op: impl Fn(&S::Input, &mut Sink<'_>) + Send + Sync + 'static,
    ) -> Self
    where
        S: HasInput,
    {
        self.with_op(name, Location::caller(), closure::over_sink(op))
    }

    fn with_op(
        mut self,
        name: &str,
        location: &'static Location<'static>,
        build: OverBuild<S::Input>,
    ) -> Self
    where
        S: HasInput,
    {
        self.state.input_state().over.push(build);
        self.with_variant(name, location, Pending::Over)
    }
}

// Beside `.work` before the input, which counts from the size: a block of its own.
impl<I: Send + 'static> ExperimentBuilder<Input<I>> {
    /// What throughput counts: `unit` in the plural (`lines`, `records`, or `bytes`), and how
    /// many of them one operation processes, counted from the input (once per run, outside
    /// the measured region), the same for every variant.
    ///
    /// ```no_run
    /// # heaplab::Lab::new().experiment("words", |e| {
    /// e.input(|size| "word ".repeat(size))
    ///     .work("bytes", |text| text.len() as u64)
    ///     .op("count", |text| text.split(' ').count())
    /// # });
    /// ```
    #[must_use]
    pub fn work(mut self, unit: &str, per_op: impl Fn(&I) -> u64 + Send + Sync + 'static) -> Self {
        self.state.work = Some(Arc::new(per_op));
        self.with_work(unit, None)
    }
}

#[cfg(test)]
mod tests {
    use crate::lab::Lab;
    use heaplab_experiments::{Checksum, Experiment, checksum_of};

    fn one(lab: Lab) -> &'static dyn Experiment {
        lab.build().expect("builds")[0]
    }

    #[test]
    fn op_mut_gets_the_input_and_fresh_state_every_run() {
        let experiment = one(Lab::new().experiment("count", |e| {
            e.input(|size| vec![1u64; size])
                .op_mut("counted", |input| {
                    let mut calls = input.len() as u64 * 1000;
                    move |input| {
                        calls += 1;
                        calls + input.iter().sum::<u64>()
                    }
                })
                .size("items", 3)
        }));
        for _run in 0..2 {
            let mut workload = experiment.build(0, 3);
            let mut checksum = Checksum::new();
            workload.run_op(&mut checksum);
            workload.run_op(&mut checksum);
            let mut expected = Checksum::new();
            expected.fold(3001 + 3);
            expected.fold(3002 + 3);
            assert_eq!(checksum, expected, "each run starts from its own setup");
        }
    }

    #[test]
    fn work_is_counted_from_the_input_once_per_run() {
        let experiment = one(Lab::new().experiment("bytes", |e| {
            e.input(|size| "x".repeat(size))
                .op("len", String::len)
                .variant("own", |size| move || size)
                .work("bytes", |text| text.len() as u64 * 2)
        }));
        let mut checksum = Checksum::new();
        assert_eq!(experiment.build(0, 21).run_op(&mut checksum), 42);
        assert_eq!(experiment.build(1, 21).run_op(&mut checksum), 42);
        // Before the input, `.work` counts from the size, and keeps doing so after it.
        let experiment = one(Lab::new().experiment("sized", |e| {
            e.work("lines", |size| size as u64 + 1)
                .input(|size| size)
                .op("same", |n| *n)
        }));
        assert_eq!(experiment.build(0, 9).run_op(&mut checksum), 10);
    }

    #[test]
    fn only_the_warm_ups_results_are_hashed() {
        let experiment = one(Lab::new().experiment("hash", |e| {
            e.warmup(8)
                .input(|_| ())
                .op_mut("counter", |()| {
                    let mut n = 0u64;
                    move |()| {
                        n += 1;
                        n
                    }
                })
                .variant("own", |_| {
                    let mut n = 0u64;
                    move || {
                        n += 1;
                        n
                    }
                })
        }));
        for variant in ["counter", "own"] {
            let warm = checksum_of(experiment, variant, 1, 8).expect("runs");
            let longer = checksum_of(experiment, variant, 1, 50).expect("runs");
            assert_eq!(
                warm, longer,
                "{variant}: results after the warm-up are not hashed"
            );
            assert_ne!(warm, Checksum::new(), "{variant}: the warm-up's are");
        }
    }

    #[test]
    fn an_err_ends_the_run_as_a_panic_does_and_names_the_variant() {
        let experiment = one(Lab::new().experiment("parse", |e| {
            e.input(|_| String::from("12x"))
                .try_op("strict", |text| text.parse::<u64>())
                .try_op("lenient", |text| text[..2].parse::<u64>())
        }));
        assert!(checksum_of(experiment, "lenient", 1, 3).is_ok());
        let strict = std::panic::AssertUnwindSafe(|| checksum_of(experiment, "strict", 1, 3));
        let payload = std::panic::catch_unwind(strict).expect_err("an Err ends the run");
        let message = payload.downcast_ref::<String>().expect("a message");
        assert!(
            message.starts_with("`strict` returned an error: invalid digit found in string"),
            "{message}"
        );
        assert!(message.contains("src/lab/input.rs:"), "{message}");
    }

    #[test]
    fn a_sinks_result_may_borrow_from_the_input() {
        let experiment = one(Lab::new().experiment("names", |e| {
            e.input(|_| String::from("ada,grace"))
                .op_sink("borrowed", |doc, sink| {
                    sink.put(doc.split(',').collect::<Vec<&str>>());
                })
                .op("owned", |doc| {
                    doc.split(',').map(str::to_owned).collect::<Vec<String>>()
                })
        }));
        assert_eq!(
            checksum_of(experiment, "borrowed", 1, 4).expect("runs"),
            checksum_of(experiment, "owned", 1, 4).expect("runs"),
        );
    }

    #[test]
    fn a_summary_names_its_variant_in_any_order() {
        let experiment = one(Lab::new().experiment("sum", |e| {
            e.summary("b", "the second")
                .input(|size| size)
                .op("a", |n| *n)
                .op("b", |n| *n)
                .summary("a", "the first")
        }));
        let summaries: Vec<&str> = experiment
            .info()
            .variants
            .iter()
            .map(|v| v.summary)
            .collect();
        assert_eq!(summaries, ["the first", "the second"]);
        let unknown = Lab::new()
            .experiment("sum", |e| e.variant("a", |_| || 1).summary("c", "nobody"))
            .build();
        let error = unknown.expect_err("refused").to_string();
        assert!(error.contains("`.summary(\"c\", ..)`"), "{error}");
        assert!(error.contains("names no variant (it has: a)"), "{error}");
    }
}
