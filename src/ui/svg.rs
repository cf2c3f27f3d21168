//! A screen buffer as an SVG picture: what the README shows, drawn from the same cells the
//! terminal would show, so the picture cannot drift from the program.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::style::Color;

/// Cell size in SVG units; the font is sized to match.
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const BACKGROUND: &str = "#1e1e2e";
const FOREGROUND: &str = "#cdd6f4";

/// The 16 ANSI colours, as a dark theme shows them.
const ANSI: [&str; 16] = [
    "#45475a", "#f38ba8", "#a6e3a1", "#f9e2af", "#89b4fa", "#f5c2e7", "#94e2d5", "#bac2de",
    "#585b70", "#f38ba8", "#a6e3a1", "#f9e2af", "#89b4fa", "#f5c2e7", "#94e2d5", "#a6adc8",
];

fn hex(color: Color, default: &str) -> String {
    let indexed = |i: u8| -> String {
        match i {
            0..=15 => ANSI[usize::from(i)].to_owned(),
            16..=231 => {
                let i = i - 16;
                let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
                format!(
                    "#{:02x}{:02x}{:02x}",
                    level(i / 36),
                    level((i / 6) % 6),
                    level(i % 6)
                )
            }
            _ => {
                let v = 8 + (i - 232) * 10;
                format!("#{v:02x}{v:02x}{v:02x}")
            }
        }
    };
    match color {
        Color::Reset => default.to_owned(),
        Color::Black => indexed(0),
        Color::Red => indexed(1),
        Color::Green => indexed(2),
        Color::Yellow => indexed(3),
        Color::Blue => indexed(4),
        Color::Magenta => indexed(5),
        Color::Cyan => indexed(6),
        Color::Gray => indexed(7),
        Color::DarkGray => indexed(8),
        Color::LightRed => "#ff7b8f".to_owned(),
        Color::LightGreen => "#8ee07f".to_owned(),
        Color::LightYellow => "#ffd98a".to_owned(),
        Color::LightBlue => "#8fb8ff".to_owned(),
        Color::LightMagenta => "#f0a6e0".to_owned(),
        Color::LightCyan => "#7fe0d5".to_owned(),
        Color::White => indexed(15),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => indexed(i),
    }
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Leading and repeated spaces must survive: xml:space="preserve" keeps them.
            _ => out.push(c),
        }
    }
}

/// A filled rectangle over the cells `start..end` of row `y`.
fn cells_rect(svg: &mut String, (start, end): (u16, u16), y: u16, fill: &str) {
    let _ = writeln!(
        svg,
        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{CELL_H}" fill="{fill}"/>"#,
        f64::from(start) * CELL_W,
        f64::from(y) * CELL_H,
        f64::from(end - start) * CELL_W,
    );
}

/// Renders `buffer` as a standalone SVG document.
#[must_use]
pub fn buffer_to_svg(buffer: &Buffer) -> String {
    let area = buffer.area;
    let width = f64::from(area.width) * CELL_W;
    let height = f64::from(area.height) * CELL_H;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.1} {height:.1}">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" fill="{BACKGROUND}"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" xml:space="preserve">"#
    );
    for y in 0..area.height {
        // Background runs first, then text runs of one colour and weight.
        let mut x = 0;
        while x < area.width {
            let cell = &buffer[(area.x + x, area.y + y)];
            let start = x;
            let bg = cell.bg;
            while x < area.width && buffer[(area.x + x, area.y + y)].bg == bg {
                x += 1;
            }
            if bg != Color::Reset {
                cells_rect(&mut svg, (start, x), y, &hex(bg, BACKGROUND));
            }
        }
        let mut x = 0;
        while x < area.width {
            let cell = &buffer[(area.x + x, area.y + y)];
            let (fg, bold, reversed) = (
                cell.fg,
                cell.modifier.contains(ratatui::style::Modifier::BOLD),
                cell.modifier.contains(ratatui::style::Modifier::REVERSED),
            );
            let start = x;
            let mut text = String::new();
            while x < area.width {
                let c = &buffer[(area.x + x, area.y + y)];
                let same = c.fg == fg
                    && c.modifier.contains(ratatui::style::Modifier::BOLD) == bold
                    && c.modifier.contains(ratatui::style::Modifier::REVERSED) == reversed;
                if !same {
                    break;
                }
                text.push_str(c.symbol());
                x += 1;
            }
            if reversed {
                cells_rect(&mut svg, (start, x), y, &hex(fg, FOREGROUND));
            }
            if text.trim().is_empty() {
                continue;
            }
            let fill = if reversed {
                BACKGROUND.to_owned()
            } else {
                hex(fg, FOREGROUND)
            };
            let weight = if bold { r#" font-weight="bold""# } else { "" };
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" fill="{fill}"{weight} textLength="{:.1}" lengthAdjust="spacingAndGlyphs">"#,
                f64::from(start) * CELL_W,
                f64::from(y) * CELL_H + CELL_H * 0.78,
                f64::from(x - start) * CELL_W,
            );
            escape(&text, &mut svg);
            svg.push_str("</text>\n");
        }
    }
    svg.push_str("</g>\n</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn text_colours_and_escaping_survive() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 12, 2));
        buffer.set_string(0, 0, "a<b & c", Style::new().fg(Color::LightGreen).bold());
        buffer.set_string(0, 1, "plain", Style::new());
        let svg = buffer_to_svg(&buffer);
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(
            svg.contains(r##"fill="#8ee07f" font-weight="bold""##),
            "{svg}"
        );
        assert!(svg.contains("a&lt;b &amp; c"), "{svg}");
        assert!(svg.contains(">plain"), "{svg}");
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }

    #[test]
    fn every_indexed_colour_is_a_hex_colour() {
        for i in 0..=255u8 {
            let h = hex(Color::Indexed(i), "#000000");
            assert_eq!(h.len(), 7, "{i}: {h}");
            assert!(h.starts_with('#'));
        }
    }
}
