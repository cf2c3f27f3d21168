//! Property tests (proptest) of the parsers that take what people type: sizes (`--size`,
//! `--max-memory`, `--budget`, the dashboard's budget prompt). Any text: an answer or an error
//! naming it, never a panic. A long run: `PROPTEST_CASES=100000 cargo test --test fuzz`.

use heaplab::units::Size;
use heaplab::units::parse_budget;
use proptest::prelude::*;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_parses_or_names_itself(text in "\\PC{0,24}") {
        match text.parse::<Size>() {
            Ok(Size(bytes)) => prop_assert!(bytes < u64::MAX / 2),
            Err(e) => {
                let named = e.to_string().contains(&format!("`{text}`"));
                prop_assert!(named, "error does not name the input: {}", e);
            }
        }
        let _ = parse_budget(&text);
    }

    #[test]
    fn sizes_with_units_mean_what_they_say(n in 0u64..1_000_000, unit in 0usize..5) {
        let (suffix, factor) = [("", 1u64), ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000)][unit];
        for text in [format!("{n}{suffix}"), format!("{n} {suffix}"), format!(" {n}{suffix} ")] {
            prop_assert_eq!(text.trim().parse::<Size>().map(|s| s.0), Ok(n * factor));
        }
    }

    #[test]
    fn numbers_too_large_are_errors_not_wraps(n in (u64::MAX / 1024)..u64::MAX) {
        let text = format!("{n}KiB");
        prop_assert!(text.parse::<Size>().is_err());
    }
}
