//! `buffer-reuse` (04-01): the chapter's `ProcessData` (a fresh `len * 2` buffer per call)
//! against `ProcessDataInPlace` (the caller's buffer, reused), and `bytes::BytesMut`.

use bytes::{Bytes, BytesMut};

use crate::engine::data;
use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

/// The experiment.
#[derive(Debug)]
pub struct BufferReuse;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "buffer-reuse",
    section: Section::ZeroAllocation,
    title: "Reuse the output buffer",
    why: "The chapter's ProcessData returns a fresh buffer on every call: make([]byte, len*2) in Go, \
vec![0; len * 2] in Rust. Each call pays for an allocation, for zeroing memory it is about to \
overwrite, and for a free; in a hot loop that is pure overhead. ProcessDataInPlace takes the \
output buffer from the caller instead, so one buffer, allocated once, serves every call and the \
hot path makes no allocation at all. Both variants here hex-encode the same input with the same \
kernel: only the buffer's lifetime differs. Watch allocs/op fall from 1 to 0. Whether it gets faster depends \
on the payload: the allocator is the bottleneck only while the work per byte is small next to a \
malloc, a memset and a free. At the default 1 KiB, where the encoding dominates, the gain is small \
and not steady: 1.10 times faster (95% interval 1.06 to 1.14 over 10 runs) in one scorecard run, \
faster in a second, but no significant difference in the third. Reuse still removes all the \
garbage; it just stops paying in speed. The crate variant is what Rust network code reaches for, \
bytes' BytesMut: each result is split off as an owned, immutable Bytes (one that could be handed \
to another task or a socket write, which ours, a borrowed slice, cannot be without a copy), and \
reserve() takes the whole block back once that Bytes has been dropped: 0 allocations per call too \
(the first split allocates the block's shared header, once, in the warm-up). Reuse then depends \
on the consumer letting go: while a result is still held, the next call gets a new block. It \
does more per call than ours, zeroing the 2 KiB with resize() before encoding into it (BytesMut \
hands out only initialised bytes without unsafe code, as naive's vec![0; n] does) and two \
reference-count updates for split and drop, and is a little slower: ours 1.15 times faster (95% \
interval 1.05 to 1.30 over 10 runs: 431 ns against 492 ns per call) in one bench run, no \
significant difference (p = 0.19) in another, within the 20% either way.",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "process_data(&input) -> Vec<u8>: a new zeroed buffer per call",
        },
        VariantInfo {
            name: "optimized",
            summary: "process_data_in_place(&input, &mut out): one buffer, reused",
        },
        VariantInfo {
            name: "crate",
            summary: "BytesMut: split off each result as Bytes, the block reclaimed on reserve",
        },
    ],
    size_unit: "input bytes per operation",
    work_unit: WorkUnit::Bytes,
    default_size: 1024,
    targets: Targets {
        zero_allocs: true,
        peak_heap: false,
        speedup: false,
    },
    source: include_str!("buffer_reuse.rs"),
    source_file: file!(),
    size_range: (1, 64 << 20),
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The shared kernel: hex-encodes `data` into `out[..data.len() * 2]`, returns bytes written.
fn encode_into(data: &[u8], out: &mut [u8]) -> usize {
    for (byte, pair) in data.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    data.len() * 2
}

/// The chapter's `ProcessData`: allocates its result on every call.
// region:naive
#[must_use]
pub fn process_data(data: &[u8]) -> Vec<u8> {
    let mut result = vec![0u8; data.len() * 2];
    encode_into(data, &mut result);
    result
}
// endregion:naive

/// The chapter's `ProcessDataInPlace`: writes into the caller's buffer, returns bytes written.
///
/// # Panics
/// If `result` is shorter than `data.len() * 2`.
// region:optimized
pub fn process_data_in_place(data: &[u8], result: &mut [u8]) -> usize {
    assert!(result.len() >= data.len() * 2, "output buffer too small");
    encode_into(data, result)
}
// endregion:optimized

/// The same with `bytes`: each result is handed on as an owned, immutable [`Bytes`] split off
/// one reused [`BytesMut`]. Once every `Bytes` split off earlier has been dropped, `reserve`
/// takes the whole block back instead of allocating (the first split allocates the block's
/// shared header, once).
// region:crate
pub fn process_data_bytes(data: &[u8], buf: &mut BytesMut) -> Bytes {
    let len = data.len() * 2;
    buf.reserve(len);
    buf.resize(len, 0);
    encode_into(data, buf);
    buf.split().freeze()
}
// endregion:crate

struct Naive {
    input: Vec<u8>,
}

impl Workload for Naive {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let output = process_data(&self.input);
        checksum.fold_bytes(&output);
        self.input.len() as u64
    }
}

struct Optimized {
    input: Vec<u8>,
    output: Vec<u8>,
}

impl Workload for Optimized {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let written = process_data_in_place(&self.input, &mut self.output);
        checksum.fold_bytes(&self.output[..written]);
        self.input.len() as u64
    }
}

struct WithBytes {
    input: Vec<u8>,
    buf: BytesMut,
}

impl Workload for WithBytes {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let output = process_data_bytes(&self.input, &mut self.buf);
        checksum.fold_bytes(&output);
        self.input.len() as u64
    }
}

impl Experiment for BufferReuse {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        let input = data::random_bytes(0x04_01_01, size);
        match variant {
            0 => Box::new(Naive { input }),
            2 => Box::new(WithBytes {
                buf: BytesMut::with_capacity(size * 2),
                input,
            }),
            _ => Box::new(Optimized {
                output: vec![0; size * 2],
                input,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_reference() {
        assert_eq!(process_data(&[0x00, 0x9f, 0xff]), b"009fff");
        let mut out = [0u8; 6];
        assert_eq!(process_data_in_place(&[0x00, 0x9f, 0xff], &mut out), 6);
        assert_eq!(&out, b"009fff");
        let mut buf = BytesMut::new();
        assert_eq!(
            process_data_bytes(&[0x00, 0x9f, 0xff], &mut buf),
            &b"009fff"[..]
        );
    }

    #[test]
    fn bytes_takes_its_block_back_once_the_result_is_dropped() {
        let mut buf = BytesMut::with_capacity(8);
        let first = process_data_bytes(&[1, 2, 3, 4], &mut buf);
        let at = first.as_ptr();
        drop(first);
        let second = process_data_bytes(&[5, 6, 7, 8], &mut buf);
        assert_eq!(second.as_ptr(), at, "the same block, reclaimed");
        assert_eq!(second, &b"05060708"[..]);
        // While a result is still held, the next one needs a block of its own.
        let third = process_data_bytes(&[9], &mut buf);
        assert_ne!(third.as_ptr(), at);
    }
}
