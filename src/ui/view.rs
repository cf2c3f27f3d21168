//! What a view answers when it is handed a key, as gitui's components answer `event`: the
//! dashboard (`App`) hands each key to the view in front first (the help overlay, then the
//! open view, then the tour's panel) and handles itself only what none took.

/// What a view did with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<R = std::convert::Infallible> {
    /// Not this view's key: the next one in line, and last the dashboard, handles it.
    Ignored,
    /// Taken: done by the view, or kept from the views behind it (the help overlay takes
    /// every key but quit).
    Consumed,
    /// Taken, and the view asks the dashboard for `R` (a new tour step, a budget to apply).
    Request(R),
}

/// The last line a scroll may reach when the view does not know its length when the key
/// comes (its drawing stops at the content's end).
pub const UNBOUNDED: u16 = u16::MAX - 1;

/// Steps a line scroll one line down (no further than `last`) or up.
#[must_use]
pub fn step(scroll: u16, down: bool, last: u16) -> u16 {
    if down {
        scroll.saturating_add(1).min(last)
    } else {
        scroll.saturating_sub(1)
    }
}
