//! The dashboard's colours and markers: one palette for every view (charts, table, list,
//! tour, presenter), told apart without colour too.

use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;

/// The variants' trace colours: Okabe and Ito's palette, told apart with every common kind of
/// colour blindness; naive vermillion, optimized bluish green, then sky blue, yellow, reddish
/// purple, blue and orange (channel-pool has five variants).
const PALETTE: [(u8, u8, u8); 7] = [
    (213, 94, 0),
    (0, 158, 115),
    (86, 180, 233),
    (240, 228, 66),
    (204, 121, 167),
    (0, 114, 178),
    (230, 159, 0),
];

/// The colour of a variant's trace.
#[must_use]
pub fn variant_color(variant: usize) -> Color {
    let (r, g, b) = PALETTE[variant % PALETTE.len()];
    Color::Rgb(r, g, b)
}

/// The colour of a variant's ghost: the same hue, halfway to grey. (Chart cells carry a colour
/// only, so a `DIM` modifier would be lost; the ghost needs a colour of its own.)
#[must_use]
pub fn ghost_color(variant: usize) -> Color {
    let (r, g, b) = PALETTE[variant % PALETTE.len()];
    let mute = |c: u8| c.midpoint(96);
    Color::Rgb(mute(r), mute(g), mute(b))
}

/// The marker of a variant's trace, and its glyph in legends. With colour, every variant is
/// drawn in braille; without (`NO_COLOR`), each variant has a marker of its own so that traces
/// and legends still tell them apart.
#[must_use]
pub fn variant_marker(variant: usize, no_color: bool) -> (Marker, &'static str) {
    const MARKERS: [(Marker, &str); 4] = [
        (Marker::Braille, "⣿"),
        (Marker::Dot, "•"),
        (Marker::Block, "█"),
        (Marker::Bar, "▄"),
    ];
    if no_color {
        MARKERS[variant % MARKERS.len()]
    } else {
        (Marker::Braille, "━")
    }
}

/// A trace's style: the variant's colour, or its ghost's.
#[must_use]
pub fn trace_style(variant: usize, live: bool) -> Style {
    Style::new().fg(if live {
        variant_color(variant)
    } else {
        ghost_color(variant)
    })
}
