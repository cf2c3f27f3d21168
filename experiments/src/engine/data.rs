//! Deterministic workload data: every variant of an experiment sees exactly the same input.
//!
//! A hand-written `SplitMix64` rather than a `rand` generator: its output is fixed by its
//! definition, so checksums stay the same across crate upgrades and platforms.

/// `SplitMix64` (Steele, Lea and Flood): tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0), with negligible bias for small bounds.
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A number in `0..n` (`n` > 0) where small numbers are far likelier: `k` comes up about
    /// `1 / (k + 1)` times as often as 0. That is the shape of word frequencies and of cache
    /// keys in real traffic (Zipf's law with s = 1), computed without a table.
    pub fn zipf_like(&mut self, n: u64) -> u64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let k = (n as f64 + 1.0).powf(unit) as u64;
        k.saturating_sub(1).min(n - 1)
    }

    /// One element of `items` (non-empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// `len` pseudo-random bytes from `seed`.
#[must_use]
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// An order-sensitive digest of `values`, in four independent lanes so that it costs no
/// dependent multiply per element: what experiments over integer vectors fold into their
/// [`Checksum`](crate::engine::experiment::Checksum).
#[must_use]
pub fn digest_u64s(values: &[u64]) -> u64 {
    digest_words(values.len(), values.iter().copied())
}

/// [`digest_u64s`] for 32-bit values, two to a word.
#[must_use]
pub fn digest_u32s(values: &[u32]) -> u64 {
    let words = values
        .chunks(2)
        .map(|pair| u64::from(pair[0]) | pair.get(1).map_or(0, |&high| u64::from(high) << 32));
    digest_words(values.len(), words)
}

fn digest_words(len: usize, words: impl Iterator<Item = u64>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut lanes = [OFFSET; 4];
    for (i, word) in words.enumerate() {
        lanes[i % 4] = (lanes[i % 4] ^ word).wrapping_mul(PRIME);
    }
    lanes.into_iter().fold(len as u64, |digest, lane| {
        (digest ^ lane).wrapping_mul(PRIME)
    })
}

/// Appends a fake response of exactly `len` bytes to `out`: request `id`'s 8 bytes, then bytes
/// of `template` (non-empty) from an offset that depends on `id`. What the pooling experiments
/// write into their buffers: cheap (a copy), deterministic and different for every request.
pub fn render_response(template: &[u8], id: u64, len: usize, out: &mut Vec<u8>) {
    let header = id.to_le_bytes();
    out.extend_from_slice(&header[..len.min(8)]);
    let mut remaining = len.saturating_sub(8);
    let mut offset = (id as usize).wrapping_mul(97) % template.len();
    while remaining > 0 {
        let piece = (template.len() - offset).min(remaining);
        out.extend_from_slice(&template[offset..offset + piece]);
        remaining -= piece;
        offset = 0;
    }
}

/// The `N` fields of `line` separated by `separator`, or `None` if it has more or fewer.
#[must_use]
pub fn split_exact<const N: usize>(line: &str, separator: char) -> Option<[&str; N]> {
    let mut fields = line.split(separator);
    let mut out = [""; N];
    for slot in &mut out {
        *slot = fields.next()?;
    }
    fields.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs of SplitMix64 seeded with 0, from the reference implementation.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn below_stays_in_bounds() {
        let mut rng = SplitMix64::new(7);
        assert!((0..10_000).all(|_| rng.below(13) < 13));
    }

    #[test]
    fn digests_see_order_and_length() {
        assert_ne!(digest_u32s(&[1, 2, 3]), digest_u32s(&[2, 1, 3]));
        assert_ne!(digest_u32s(&[0; 8]), digest_u32s(&[0; 9]));
        assert_ne!(digest_u64s(&[1, 2, 3, 4, 5]), digest_u64s(&[1, 2, 3, 5, 4]));
        assert_ne!(digest_u64s(&[]), digest_u64s(&[0]));
    }

    #[test]
    fn zipf_like_favours_small_numbers_and_stays_in_bounds() {
        let mut rng = SplitMix64::new(11);
        let mut counts = [0u32; 1000];
        for _ in 0..100_000 {
            counts[rng.zipf_like(1000) as usize] += 1;
        }
        // P(0) = ln 2 / ln 1001, about 10%; P(9) = ln(11/10) / ln 1001, about 1.4%.
        assert!((9_000..11_000).contains(&counts[0]), "{}", counts[0]);
        assert!((1_100..1_700).contains(&counts[9]), "{}", counts[9]);
        assert!(counts[500..].iter().all(|&c| c < 60));
        assert_eq!(SplitMix64::new(1).zipf_like(1), 0);
    }

    #[test]
    fn render_response_writes_exactly_len_bytes() {
        let template = random_bytes(3, 100);
        for len in [0, 1, 8, 9, 100, 1000] {
            let mut out = vec![7];
            render_response(&template, 42, len, &mut out);
            assert_eq!(out.len(), len + 1, "{len}");
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        render_response(&template, 1, 50, &mut a);
        render_response(&template, 2, 50, &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn split_exact_wants_exactly_n_fields() {
        assert_eq!(split_exact::<3>("a,,c", ','), Some(["a", "", "c"]));
        assert_eq!(split_exact::<3>("a,b", ','), None);
        assert_eq!(split_exact::<3>("a,b,c,d", ','), None);
        assert_eq!(split_exact::<1>("", ','), Some([""]));
    }

    #[test]
    fn random_bytes_has_the_requested_length() {
        for len in [0, 1, 7, 8, 9, 1000] {
            assert_eq!(random_bytes(1, len).len(), len);
        }
    }
}
