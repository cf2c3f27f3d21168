//! `--alert`: thresholds on a watched program's live heap, allocation rate or heap growth
//! (`heap>512MiB`, `rate>1M/s`, `growth>10MiB/min`), parsed with errors that say what to
//! write, and judged against the figures [`super::figures::Watch`] derives.

use std::fmt;
use std::str::FromStr;

use crate::units::{self, Size};

/// What an alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// The live heap, in bytes.
    Heap,
    /// Allocations per second.
    Rate,
    /// Live heap growth, in bytes per minute, over the last minute (or the attach so far).
    Growth,
}

/// One `--alert`: crossed when its figure is above its threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alert {
    /// What it watches.
    pub figure: Figure,
    /// The threshold, in the figure's unit: bytes, allocations per second, bytes per minute.
    pub above: f64,
}

/// Why an `--alert` did not parse: the text given and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--alert `{input}`: {reason} (write heap>512MiB, rate>1M/s or growth>10MiB/min)")]
pub struct AlertError {
    input: String,
    reason: String,
}

/// The figures an alert is judged against, at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    /// Live heap bytes.
    pub live_bytes: i64,
    /// Allocations per second over the last interval.
    pub allocs_per_sec: f64,
    /// Live heap growth in bytes per minute (see [`Figure::Growth`]); `None` before two frames.
    pub growth_per_min: Option<f64>,
}

impl Alert {
    /// The alert's figure in `reading`, if it has one yet.
    #[must_use]
    pub fn value(&self, reading: &Reading) -> Option<f64> {
        match self.figure {
            Figure::Heap => Some(reading.live_bytes as f64),
            Figure::Rate => Some(reading.allocs_per_sec),
            Figure::Growth => reading.growth_per_min,
        }
    }

    /// Words for a crossed alert (`heap>512MiB crossed: live heap 600.0 MiB`), or `None`
    /// while it is not crossed.
    #[must_use]
    pub fn crossed(&self, reading: &Reading) -> Option<String> {
        let value = self.value(reading).filter(|&v| v > self.above)?;
        let shown = match self.figure {
            Figure::Heap => format!("live heap {}", units::bytes(value.max(0.0) as u64)),
            Figure::Rate => format!("{} allocs/s", units::count(value)),
            Figure::Growth => format!("live heap growing {}/min", units::bytes_short(value)),
        };
        Some(format!("{self} crossed: {shown}"))
    }
}

/// The SI prefixes a rate takes (`1M/s`, `250k/s`).
const RATE_PREFIXES: [(char, f64); 4] = [('k', 1e3), ('K', 1e3), ('M', 1e6), ('G', 1e9)];

/// Seconds per unit of growth's time (`/s`, `/min`, `/h`).
const PER: [(&str, f64); 3] = [("s", 1.0), ("min", 60.0), ("h", 3600.0)];

impl FromStr for Alert {
    type Err = AlertError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| AlertError {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let Some((name, threshold)) = input.split_once('>') else {
            return Err(error(if input.contains('<') {
                "only `>` is supported: an alert fires when a figure goes above its threshold"
            } else {
                "it needs a figure, `>` and a threshold"
            }));
        };
        let threshold = threshold.trim();
        let figure = match name.trim() {
            "heap" => Figure::Heap,
            "rate" => Figure::Rate,
            "growth" => Figure::Growth,
            other => {
                return Err(error(&format!(
                    "unknown figure `{other}`; the figures are heap, rate and growth"
                )));
            }
        };
        let above = match figure {
            Figure::Heap => parse_size(threshold).map_err(|e| error(&e))?,
            Figure::Rate => {
                let count = threshold.strip_suffix("/s").ok_or_else(|| {
                    error("a rate is allocations per second and ends in /s (rate>1M/s)")
                })?;
                parse_count(count.trim()).map_err(|e| error(&e))?
            }
            Figure::Growth => {
                let (size, per) = threshold.rsplit_once('/').ok_or_else(|| {
                    error("a growth is a size per unit of time, /s, /min or /h (growth>10MiB/min)")
                })?;
                let secs = PER
                    .iter()
                    .find(|(unit, _)| *unit == per.trim())
                    .map(|(_, secs)| *secs)
                    .ok_or_else(|| {
                        error(&format!(
                            "unknown unit of time `/{per}`; use /s, /min or /h"
                        ))
                    })?;
                parse_size(size.trim()).map_err(|e| error(&e))? * (60.0 / secs)
            }
        };
        Ok(Self { figure, above })
    }
}

fn parse_size(text: &str) -> Result<f64, String> {
    text.parse::<Size>()
        .map(|Size(bytes)| bytes as f64)
        .map_err(|e| e.to_string())
}

fn parse_count(text: &str) -> Result<f64, String> {
    let (digits, scale) = match text.chars().last() {
        Some(last) => RATE_PREFIXES
            .iter()
            .find(|(prefix, _)| *prefix == last)
            .map_or((text, 1.0), |(_, scale)| {
                (&text[..text.len() - last.len_utf8()], *scale)
            }),
        None => (text, 1.0),
    };
    match digits.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * scale < 1e18 => Ok(n * scale),
        _ => Err(format!(
            "`{text}` is not a number of allocations (a number, with k, M or G if you like)"
        )),
    }
}

impl fmt::Display for Alert {
    /// The alert as `--alert` takes it back: `heap>536870912B`, `rate>1000000/s`,
    /// `growth>10485760B/min` (exact units, so that a round trip gives the same alert).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.figure {
            Figure::Heap => write!(f, "heap>{}B", self.above),
            Figure::Rate => write!(f, "rate>{}/s", self.above),
            Figure::Growth => write!(f, "growth>{}B/min", self.above),
        }
    }
}

#[cfg(test)]
// Exact figures are the point of these tests, floats included.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn alert(text: &str) -> Alert {
        text.parse().expect("an alert")
    }

    #[test]
    fn each_figure_parses_in_its_own_unit() {
        assert_eq!(
            alert("heap>512MiB"),
            Alert {
                figure: Figure::Heap,
                above: 512.0 * 1024.0 * 1024.0
            }
        );
        assert_eq!(alert("rate>1M/s").above, 1e6);
        assert_eq!(alert("rate > 250k/s").above, 250e3);
        assert_eq!(alert("growth>10MiB/min").above, 10.0 * 1024.0 * 1024.0);
        assert_eq!(alert("growth>1KiB/s").above, 60.0 * 1024.0);
        assert_eq!(alert("growth>60KiB/h").above, 1024.0);
    }

    #[test]
    fn a_bad_alert_says_what_is_wrong_and_what_to_write() {
        let error = |text: &str| text.parse::<Alert>().expect_err(text).to_string();
        assert!(
            error("heap<5MiB").contains("only `>`"),
            "{}",
            error("heap<5MiB")
        );
        assert!(error("stack>5MiB").contains("unknown figure `stack`"));
        assert!(error("rate>1M").contains("ends in /s"));
        assert!(error("rate>lots/s").contains("not a number of allocations"));
        assert!(error("growth>1MiB/day").contains("unknown unit of time `/day`"));
        assert!(error("heap>big").contains("invalid size `big`"));
        assert!(error("heap").contains("needs a figure, `>` and a threshold"));
        assert_eq!(alert("heap>5").above, 5.0, "a plain number is bytes");
        assert!(error("rate>-1/s").contains("write heap>512MiB"));
    }

    #[test]
    fn an_alert_is_crossed_only_above_its_threshold() {
        let heap = alert("heap>1KiB");
        let mut reading = Reading {
            live_bytes: 1024,
            ..Reading::default()
        };
        assert_eq!(heap.crossed(&reading), None);
        reading.live_bytes = 1025;
        assert_eq!(
            heap.crossed(&reading).as_deref(),
            Some("heap>1024B crossed: live heap 1.0 KiB")
        );
        let growth = alert("growth>1MiB/min");
        assert_eq!(growth.crossed(&reading), None, "no growth known yet");
        reading.growth_per_min = Some(2.0 * 1024.0 * 1024.0);
        assert!(growth.crossed(&reading).is_some());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_a_panic(text in "\\PC{0,24}") {
            let _ = text.parse::<Alert>();
        }

        #[test]
        fn alert_like_text_never_panics(
            figure in "(heap|rate|growth|x)",
            op in "[<>=]",
            rest in "[0-9.kMGKiB/a-z ]{0,12}",
        ) {
            let _ = format!("{figure}{op}{rest}").parse::<Alert>();
        }

        #[test]
        fn an_alert_written_back_parses_to_itself(
            figure in prop_oneof![Just(Figure::Heap), Just(Figure::Rate), Just(Figure::Growth)],
            above in 0u64..(1 << 50),
        ) {
            let alert = Alert { figure, above: above as f64 };
            prop_assert_eq!(alert.to_string().parse::<Alert>(), Ok(alert));
        }
    }
}
