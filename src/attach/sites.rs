//! The viewer's model of a watched program's sampled sites: each [`SitesFrame`] folded into
//! a [`SiteBook`] (stacks kept by id, placed once on a line of the program's own code, figures
//! summed per line, a bounded history of each line's live bytes), and ranked: the lines whose
//! live bytes grew over the window, leak suspects, apart from those that only churn
//! (temporaries), with the process's and each line's sizes.
//!
//! CONTRACT (issue 27): the types and signatures below are what the trace, the view and the
//! tests are built against; the bodies are this module's owner's to write.

use std::time::Duration;

use heaplab_experiments::sites::Frame;

use crate::monitor::protocol::SitesFrame;

/// Where one stack's allocations are charged: its first frame in the program's own code, and
/// the stack as people read it. Given by a [`PlaceStack`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlacedStack {
    /// The function of the site's frame (a closure named by its enclosing function).
    pub function: String,
    /// Its file, relative to the program's workspace (empty: no line tables, or no frame of
    /// the program's own).
    pub file: String,
    /// Its line (0: none).
    pub line: u32,
    /// The whole stack, outermost last, the allocator's own frames left out, frames that are
    /// not the program's own marked `folded`.
    pub stack: Vec<Frame>,
}

impl PlacedStack {
    /// `file:line`, or the function where there is no file: what a site is called on screen
    /// and what stacks are summed by.
    #[must_use]
    pub fn location(&self) -> String {
        if self.file.is_empty() {
            self.function.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }
}

/// Turns a stack's raw addresses into a [`PlacedStack`]: the attached program's symbols
/// (`attach::symbols::Symbols`), or a fake in tests.
pub trait PlaceStack {
    /// Places one stack (absolute addresses in the program, innermost first).
    fn place(&mut self, frames: &[u64]) -> PlacedStack;

    /// One batch of stacks (a sites frame's) placed: the placer may let go of what it held
    /// for placing (the attached program's debug information, read again on demand).
    fn settle(&mut self) {}
}

/// What the viewer knows of the program's sampled sites.
#[derive(Debug, Default)]
pub struct SiteBook {
    window: Duration,
}

/// One line of the program's code, as the growing view shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrowingSite {
    /// `file:line` (or the function).
    pub location: String,
    /// The site's function.
    pub function: String,
    /// The stack of the site's heaviest stack (by live bytes).
    pub stack: Vec<Frame>,
    /// The thread name (or id) of its latest sample.
    pub thread: String,
    /// Estimated bytes it still holds.
    pub live_bytes: f64,
    /// How much `live_bytes` grew over the window (negative: shrank).
    pub growth: f64,
    /// The standard error of `growth` as an estimate (from the sampling variance at both ends).
    pub growth_error: f64,
    /// Whether the growth is beyond sampling noise (over twice its error): a leak suspect.
    pub growing: bool,
    /// Estimated allocations, all time since sampling started.
    pub allocs: f64,
    /// Estimated bytes allocated, all time.
    pub bytes: f64,
    /// Estimated allocations freed within `TEMPORARY_NS` of being made, all time.
    pub temporary: f64,
    /// Its live bytes over the window, oldest first, one point per sites frame.
    pub trend: Vec<f64>,
    /// Estimated allocations per size bucket (`SIZE_BUCKETS` long).
    pub sizes: Vec<f64>,
}

impl SiteBook {
    /// An empty book judging growth over `window`.
    #[must_use]
    pub fn new(window: Duration) -> Self {
        Self { window }
    }

    /// The window growth is judged over.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Folds in one sites frame: new stacks placed with `place` (once each), every line's
    /// figures and history updated. `threads` names thread ids (from the latest [`Frame`]).
    ///
    /// [`Frame`]: crate::monitor::protocol::Frame
    pub fn update(
        &mut self,
        frame: &SitesFrame,
        place: &mut dyn PlaceStack,
        threads: &dyn Fn(u32) -> String,
    ) {
        let _ = (frame, place, threads);
    }

    /// Every line, ranked: growing first by growth, then the rest by growth.
    #[must_use]
    pub fn growing(&self) -> Vec<GrowingSite> {
        Vec::new()
    }

    /// The process's estimated allocations per size bucket (`SIZE_BUCKETS` long; empty
    /// before the first sites frame).
    #[must_use]
    pub fn sizes(&self) -> &[f64] {
        &[]
    }

    /// The latest frame's sampling figures: `(sample_every, samples, untracked, unrecorded)`.
    #[must_use]
    pub fn sampling(&self) -> (u64, u64, u64, u64) {
        (0, 0, 0, 0)
    }
}
