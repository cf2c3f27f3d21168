//! Sizes and rates for people: parsing `64MiB` on the command line, printing `48 MiB`, `1.2 M/s`.

use std::str::FromStr;

use bytesize::ByteSize;
use heaplab_experiments::WorkUnit;

/// A size given on the command line, such as `64MiB`, `1.5GB`, `4096`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

/// Why a size did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid size `{input}`: {reason} (use a number of bytes or a unit: 512KiB, 64MiB, 1GiB, 10MB)"
)]
pub struct SizeError {
    input: String,
    reason: &'static str,
}

impl FromStr for Size {
    type Err = SizeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason| SizeError {
            input: input.to_owned(),
            reason,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(error("it is empty"));
        }
        if trimmed.starts_with('-') {
            return Err(error("it is negative"));
        }
        if !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(error("it does not start with a number"));
        }
        let bytes = trimmed
            .parse::<ByteSize>()
            .map_err(|_| error("not a number with a known unit"))?
            .as_u64();
        // bytesize saturates on overflow; anything near u64::MAX is an overflow, not a size.
        if bytes >= u64::MAX / 2 {
            return Err(error("it is too large"));
        }
        Ok(Size(bytes))
    }
}

/// `48.0 MiB`: binary units, one decimal.
#[must_use]
pub fn bytes(n: u64) -> String {
    ByteSize(n).display().iec().to_string()
}

/// `48 MiB` for chart axes: binary units, no decimal above 10.
#[must_use]
pub fn bytes_short(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 10.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A rate of work in its unit (a [`heaplab_experiments::WorkUnit`]'s name): `12 MiB/s` for
/// bytes, `1.20 M records/s` for the rest.
#[must_use]
pub fn work_rate(unit: &str, per_sec: f64) -> String {
    if unit == WorkUnit::Bytes.name() {
        format!("{}/s", bytes_short(per_sec))
    } else {
        format!("{} {unit}/s", count(per_sec))
    }
}

/// `1.2 M` for counts: SI prefixes, three significant digits.
#[must_use]
pub fn count(n: f64) -> String {
    const PREFIXES: [&str; 5] = ["", "k", "M", "G", "T"];
    let mut value = n;
    let mut prefix = 0;
    while value.abs() >= 1000.0 && prefix < PREFIXES.len() - 1 {
        value /= 1000.0;
        prefix += 1;
    }
    let text = if value.abs() >= 100.0 || (prefix == 0 && value.fract() == 0.0) {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if PREFIXES[prefix].is_empty() {
        text
    } else {
        format!("{text} {}", PREFIXES[prefix])
    }
}

/// `n` things in words: `1 site`, `2 sites`, `0 sites`.
#[must_use]
pub fn counted(n: impl Into<u64>, singular: &str) -> String {
    match n.into() {
        1 => format!("1 {singular}"),
        n => format!("{n} {singular}s"),
    }
}

/// Parses a budget as typed in the prompt or given as `--budget`: `64MiB`, `1GiB`, or empty /
/// `none` for no budget. Zero is refused: nothing can run in it.
pub fn parse_budget(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match text.parse::<Size>() {
        Ok(Size(0)) => Err(format!(
            "budget `{text}` must be more than 0 (e.g. 64MiB; empty for none)"
        )),
        Ok(Size(bytes)) => Ok(Some(bytes)),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_site_is_not_one_sites() {
        assert_eq!(counted(1u64, "site"), "1 site");
        assert_eq!(counted(0u64, "site"), "0 sites");
        assert_eq!(counted(3u32, "op"), "3 ops");
    }

    #[test]
    fn parses_the_sizes_people_write() {
        for (input, expected) in [
            ("4096", 4096),
            ("64MiB", 64 << 20),
            ("64 MiB", 64 << 20),
            ("1GiB", 1 << 30),
            ("1.5KiB", 1536),
            ("10MB", 10_000_000),
            ("1TiB", 1 << 40),
        ] {
            assert_eq!(input.parse::<Size>(), Ok(Size(expected)), "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_size_with_the_value_in_the_message() {
        for input in [
            "",
            "-5",
            "MiB",
            "12 parsecs",
            "abc",
            "99999999999999999999EiB",
        ] {
            let err = input.parse::<Size>().unwrap_err().to_string();
            assert!(err.contains(&format!("`{input}`")), "{err}");
            assert!(
                err.contains("64MiB"),
                "message says what is accepted: {err}"
            );
        }
    }

    #[test]
    fn prints_human_numbers() {
        assert_eq!(bytes_short(0.0), "0 B");
        assert_eq!(bytes_short(48.0 * 1024.0 * 1024.0), "48 MiB");
        assert_eq!(bytes_short(1.5 * 1024.0), "1.5 KiB");
        assert_eq!(count(1_234_567.0), "1.23 M");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(0.5), "0.50");
        assert_eq!(count(42_000.0), "42.0 k");
        assert_eq!(bytes(24_000_000), "22.9 MiB");
    }

    #[test]
    fn budgets_parse_like_sizes_and_zero_is_refused() {
        assert_eq!(parse_budget("64MiB"), Ok(Some(64 << 20)));
        assert_eq!(parse_budget(" 1GiB "), Ok(Some(1 << 30)));
        assert_eq!(parse_budget(""), Ok(None));
        assert_eq!(parse_budget("none"), Ok(None));
        assert!(parse_budget("0").unwrap_err().contains("more than 0"));
        assert!(parse_budget("lots").unwrap_err().contains("`lots`"));
    }
}
