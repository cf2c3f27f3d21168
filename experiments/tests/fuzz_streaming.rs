//! Property tests (proptest) of the streaming record parser, the code that takes users' files:
//! on any bytes, in any chunking, it never panics and every variant agrees.
//!
//! A short run is part of `cargo test`; a long one: `PROPTEST_CASES=100000 cargo test --release
//! -p heaplab-experiments --test fuzz_streaming`.

use std::io::Read;

use heaplab_experiments::streaming::{MAX_LINE, Variant, summarize};
use proptest::prelude::*;

/// A reader that hands out its bytes in the given chunk sizes (cycled), as pipes and sockets do.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()].max(1);
        self.next += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Log-like lines, some valid, some broken, some blank, some with `\r`, some not UTF-8.
fn log_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            prop::sample::select(vec!["DEBUG", "INFO", "WARN", "ERROR", "info", "FATAL"]),
            "[a-z/]{0,12}",
            0u32..100_000,
        )
            .prop_map(|(level, path, ms)| format!("{level} {path} 200 {ms}ms").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
        Just(Vec::new()),
        Just(b"\r".to_vec()),
        Just(vec![0xff, 0xfe, 0xc3, 0x28]),
    ]
}

fn both_agree(data: &[u8], sizes: &[usize]) -> Result<(), TestCaseError> {
    let naive = summarize(Variant::Naive, data).expect("a slice never fails");
    for variant in [Variant::Optimized, Variant::Memchr] {
        let chunks = Chunked {
            data,
            sizes: sizes.to_vec(),
            next: 0,
        };
        let streamed = summarize(variant, chunks).expect("never fails");
        prop_assert_eq!(naive, streamed, "{:?}", variant);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_in_any_chunks(
        data in prop::collection::vec(any::<u8>(), 0..4096),
        sizes in prop::collection::vec(1usize..300, 1..8),
    ) {
        both_agree(&data, &sizes)?;
    }

    #[test]
    fn log_like_lines_in_any_chunks(
        lines in prop::collection::vec(log_line(), 0..200),
        trailing_newline in any::<bool>(),
        sizes in prop::collection::vec(1usize..5000, 1..8),
    ) {
        let mut data = lines.join(&b'\n');
        if trailing_newline {
            data.push(b'\n');
        }
        both_agree(&data, &sizes)?;
    }

    #[test]
    fn lines_around_the_length_cap(
        lengths in prop::collection::vec(MAX_LINE - 3..MAX_LINE + 3, 1..6),
        sizes in prop::collection::vec(1usize..70_000, 1..4),
    ) {
        let mut data = Vec::new();
        for len in lengths {
            data.extend(std::iter::repeat_n(b'a', len));
            data.push(b'\n');
        }
        both_agree(&data, &sizes)?;
    }
}
