//! `inline-storage` (04-02): the chapter's slice-versus-array trade-off on a table of network
//! endpoints: a heap `Vec<u8>` per address against a fixed inline array, `arrayvec` and
//! `smallvec`.

use arrayvec::ArrayVec;
use smallvec::SmallVec;

use crate::engine::data::SplitMix64;
use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

/// The experiment.
#[derive(Debug)]
pub struct InlineStorage;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "inline-storage",
    section: Section::DataStructures,
    title: "Keep small arrays inline",
    why: "The chapter's SliceStruct holds a []byte: a 24-byte header pointing at a separate heap \
block; ArrayStruct holds the bytes themselves. Which wins depends on how big and how variable the \
data is. A peer address is small and bounded (4 bytes for IPv4, 16 for IPv6), so the table of 100 \
000 recent endpoints here is the case where inline storage wins. The naive Endpoint holds Vec<u8> \
and a port: 32 bytes plus a 4- or 16-byte heap block, one allocation per endpoint stored. The \
optimized one holds [u8; 16], a length byte and the port: 20 bytes and no heap block \
(std::net::IpAddr is built the same way), 49% less peak heap. The crate variant uses \
arrayvec::ArrayVec<u8, 16>, the same idea with a u32 length and a Vec-like API: 24 bytes per \
endpoint, 39% less, just short of the chapter's 40%. Each operation ingests 1 024 new endpoints \
(70% IPv4) into the table, overwriting the oldest: the naive variant frees one heap block and \
allocates another per endpoint, 1 024 allocations per operation, the inline ones none. Allocation \
is a real part of the cost of ingesting, and so is how the address is copied in. A copy of a \
length known only at run time is a call to memcpy: arrayvec's try_extend_from_slice makes one, and \
our first versions made one plus a memset call for the zeroed tail (copy_from_slice) or ran a byte \
loop whose trip count changes at random (4 or 16): 1.17 times slower than arrayvec (95% interval \
1.09 to 1.25 over 10 runs) and only 1.46 times faster than naive, short of the chapter's 2x. An IP \
address is 4 or 16 bytes, so ours now copies those two lengths as fixed-size arrays, one move \
each, as std's Ipv4Addr and Ipv6Addr hold them (any other length falls back to the byte loop): 3.5 \
times faster than naive (95% interval 3.1 to 3.9 over 10 runs: 11.7 µs against 39.5 µs per \
operation), and 1.7 times faster than arrayvec's generic copy (1.5 to 1.9; arrayvec takes 18.8 \
µs). The other side of the trade-off: an inline array always costs its maximum, so for data whose \
size varies widely (a 256-byte array that usually holds 10) the Vec, or a small-vector that spills \
to the heap, is the better deal. That small-vector is the smallvec variant: the crate Rust code \
reaches for first (used by about 54 000 crates, 17 M downloads a month, against arrayvec's 15 000 \
and 9 M), so it is here too, though arrayvec stays the crate this experiment is scored against \
because it is the like-for-like one, a bounded inline array with no heap path. SmallVec<[u8; \
16]> keeps up to 16 bytes inline and spills to the heap past that, so it carries a capacity word \
and a tag saying which: 40 bytes per endpoint with the port, as much peak heap as naive's headers \
and blocks (0.9% more), with no allocation, since no address spills. Every copy checks whether \
to spill, and it is the slowest of the three inline layouts: ours 2.2 times faster (95% interval \
2.0 to 2.7 over 10 runs: 7.1 µs against 15.8 µs per operation), and arrayvec 1.12 times faster \
than smallvec (95% interval 1.04 to 1.14) in one bench run, no significant difference (p = \
0.06) in another.",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "Endpoint { addr: Vec<u8>, port }: 32 bytes + a heap block each",
        },
        VariantInfo {
            name: "optimized",
            summary: "{ addr: [u8; 16], len: u8, port }: 20 bytes inline, no heap block",
        },
        VariantInfo {
            name: "crate",
            summary: "{ addr: ArrayVec<u8, 16>, port }: 24 bytes inline",
        },
        VariantInfo {
            name: "smallvec",
            summary: "{ addr: SmallVec<[u8; 16]>, port }: 40 bytes, inline up to 16",
        },
    ],
    size_unit: "endpoints held (1 024 ingested per operation)",
    work_unit: WorkUnit::Items("endpoints"),
    default_size: 100_000,
    targets: Targets {
        zero_allocs: true,
        peak_heap: true,
        speedup: true,
    },
    source: include_str!("inline_storage.rs"),
    source_file: file!(),
    size_range: (1, 50_000_000),
};

/// Endpoints ingested per operation.
pub const BATCH: usize = 1024;
const SEED: u64 = 0x04_02_04;

/// An endpoint as it arrives off the wire: address bytes (the first `len` of `bytes`) and port.
#[derive(Debug, Clone, Copy)]
struct Incoming {
    bytes: [u8; 16],
    len: usize,
    port: u16,
}

impl Incoming {
    fn next(rng: &mut SplitMix64) -> Self {
        let len = if rng.below(10) < 7 { 4 } else { 16 };
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        let port = rng.below(65_536) as u16;
        Self { bytes, len, port }
    }

    fn addr(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The chapter's `SliceStruct`: the address on the heap.
// region:naive
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// 4 or 16 address bytes, in their own heap block.
    pub addr: Vec<u8>,
    /// The port.
    pub port: u16,
}

impl Endpoint {
    fn new(addr: &[u8], port: u16) -> Self {
        Self {
            addr: addr.to_vec(),
            port,
        }
    }
}
// endregion:naive

/// The chapter's `ArrayStruct`: the address inline, sized for the largest.
// region:optimized
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlineEndpoint {
    bytes: [u8; 16],
    len: u8,
    /// The port.
    pub port: u16,
}

impl InlineEndpoint {
    /// `addr` must be at most 16 bytes (anything longer is cut).
    #[must_use]
    pub fn new(addr: &[u8], port: u16) -> Self {
        let len = addr.len().min(16);
        let mut bytes = [0u8; 16];
        // The two lengths an IP address has are fixed-size moves; a slice copy of a length
        // known only at run time is a call to memcpy (and one to memset for the tail).
        if let Ok(v4) = <[u8; 4]>::try_from(addr) {
            bytes[..4].copy_from_slice(&v4);
        } else if let Ok(v6) = <[u8; 16]>::try_from(addr) {
            bytes = v6;
        } else {
            for (byte, &from) in bytes.iter_mut().zip(addr) {
                *byte = from;
            }
        }
        Self {
            bytes,
            len: len as u8,
            port,
        }
    }

    /// The address bytes.
    #[must_use]
    pub fn addr(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}
// endregion:optimized

// region:crate
/// The same with `arrayvec` keeping the length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayVecEndpoint {
    /// Up to 16 address bytes, inline.
    pub addr: ArrayVec<u8, 16>,
    /// The port.
    pub port: u16,
}

impl ArrayVecEndpoint {
    fn new(addr: &[u8], port: u16) -> Self {
        let mut inline = ArrayVec::new();
        // Never fails: every address is at most 16 bytes.
        let _ = inline.try_extend_from_slice(addr);
        Self { addr: inline, port }
    }
}
// endregion:crate

// region:smallvec
/// The same with `smallvec`: inline up to 16 bytes, on the heap past that (never, here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallVecEndpoint {
    /// Up to 16 address bytes inline; a longer one would spill to the heap.
    pub addr: SmallVec<[u8; 16]>,
    /// The port.
    pub port: u16,
}

impl SmallVecEndpoint {
    fn new(addr: &[u8], port: u16) -> Self {
        Self {
            addr: SmallVec::from_slice(addr),
            port,
        }
    }
}
// endregion:smallvec

/// What the workload needs of an endpoint representation.
trait Stored: Send + 'static {
    fn store(incoming: &Incoming) -> Self;
    fn addr(&self) -> &[u8];
    fn port(&self) -> u16;
}

impl Stored for Endpoint {
    fn store(incoming: &Incoming) -> Self {
        Endpoint::new(incoming.addr(), incoming.port)
    }
    fn addr(&self) -> &[u8] {
        &self.addr
    }
    fn port(&self) -> u16 {
        self.port
    }
}

impl Stored for InlineEndpoint {
    fn store(incoming: &Incoming) -> Self {
        InlineEndpoint::new(incoming.addr(), incoming.port)
    }
    fn addr(&self) -> &[u8] {
        InlineEndpoint::addr(self)
    }
    fn port(&self) -> u16 {
        self.port
    }
}

impl Stored for ArrayVecEndpoint {
    fn store(incoming: &Incoming) -> Self {
        ArrayVecEndpoint::new(incoming.addr(), incoming.port)
    }
    fn addr(&self) -> &[u8] {
        &self.addr
    }
    fn port(&self) -> u16 {
        self.port
    }
}

impl Stored for SmallVecEndpoint {
    fn store(incoming: &Incoming) -> Self {
        SmallVecEndpoint::new(incoming.addr(), incoming.port)
    }
    fn addr(&self) -> &[u8] {
        &self.addr
    }
    fn port(&self) -> u16 {
        self.port
    }
}

/// A ring of endpoints, the newest overwriting the oldest.
struct Table<E> {
    endpoints: Vec<E>,
    next: usize,
    rng: SplitMix64,
}

impl<E: Stored> Table<E> {
    fn new(size: usize) -> Self {
        let mut rng = SplitMix64::new(SEED);
        let mut endpoints = Vec::with_capacity(size);
        for _ in 0..size {
            endpoints.push(E::store(&Incoming::next(&mut rng)));
        }
        Self {
            endpoints,
            next: 0,
            rng,
        }
    }
}

impl<E: Stored> Workload for Table<E> {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        for _ in 0..BATCH {
            let incoming = Incoming::next(&mut self.rng);
            let at = self.next;
            self.next = if at + 1 == self.endpoints.len() {
                0
            } else {
                at + 1
            };
            let slot = &mut self.endpoints[at];
            *slot = E::store(&incoming);
            let mut word = [0u8; 8];
            let addr = slot.addr();
            word[..4].copy_from_slice(&addr[addr.len() - 4..]);
            word[4..6].copy_from_slice(&slot.port().to_le_bytes());
            word[6] = addr.len() as u8;
            checksum.fold(u64::from_le_bytes(word));
        }
        BATCH as u64
    }
}

impl Experiment for InlineStorage {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn layouts(&self) -> Vec<crate::engine::layout::TypeLayout> {
        vec![
            crate::type_layout!(
                "naive",
                Endpoint,
                "plus a heap block per endpoint for its 4 or 16 address bytes",
                [addr, port]
            ),
            crate::type_layout!("optimized", InlineEndpoint, "", [bytes, len, port]),
            crate::type_layout!("crate", ArrayVecEndpoint, "", [addr, port]),
            crate::type_layout!(
                "smallvec",
                SmallVecEndpoint,
                "a heap block only past 16 bytes, never here",
                [addr, port]
            ),
        ]
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        match variant {
            0 => Box::new(Table::<Endpoint>::new(size)),
            1 => Box::new(Table::<InlineEndpoint>::new(size)),
            2 => Box::new(Table::<ArrayVecEndpoint>::new(size)),
            _ => Box::new(Table::<SmallVecEndpoint>::new(size)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn sizes_are_what_the_why_says() {
        assert_eq!(size_of::<Endpoint>(), 32);
        assert_eq!(size_of::<InlineEndpoint>(), 20);
        assert_eq!(size_of::<ArrayVecEndpoint>(), 24);
        assert_eq!(size_of::<SmallVecEndpoint>(), 40);
        assert_eq!(size_of::<std::net::IpAddr>(), 17);
    }

    #[test]
    fn every_representation_keeps_the_address_and_port() {
        let mut rng = SplitMix64::new(1);
        for _ in 0..100 {
            let incoming = Incoming::next(&mut rng);
            let naive = Endpoint::store(&incoming);
            let inline = InlineEndpoint::store(&incoming);
            let crate_ = ArrayVecEndpoint::store(&incoming);
            let small = SmallVecEndpoint::store(&incoming);
            assert!([4, 16].contains(&naive.addr.len()));
            assert_eq!(inline.addr(), naive.addr.as_slice());
            assert_eq!(crate_.addr.as_slice(), naive.addr.as_slice());
            assert_eq!(small.addr.as_slice(), naive.addr.as_slice());
            assert!(!small.addr.spilled());
            assert_eq!(small.port, naive.port);
            assert_eq!((inline.port, crate_.port), (naive.port, naive.port));
        }
    }
}

#[cfg(test)]
mod layout_tests {
    use std::mem::{align_of, offset_of, size_of};

    use super::*;

    #[test]
    fn the_inspector_shows_the_compilers_numbers() {
        let layouts = InlineStorage.layouts();
        let [heap, inline, crate_, small] = &layouts[..] else {
            panic!("four layouts: {layouts:?}")
        };
        assert_eq!(small.size, size_of::<SmallVecEndpoint>());
        assert_eq!(
            (heap.size, heap.align),
            (size_of::<Endpoint>(), align_of::<Endpoint>())
        );
        assert_eq!(inline.size, size_of::<InlineEndpoint>());
        assert_eq!(crate_.size, size_of::<ArrayVecEndpoint>());
        let find = |l: &crate::engine::layout::TypeLayout, name: &str| {
            let f = l.fields.iter().find(|f| f.name == name).expect("field");
            (f.offset, f.size)
        };
        assert_eq!(
            find(heap, "addr"),
            (offset_of!(Endpoint, addr), size_of::<Vec<u8>>())
        );
        assert_eq!(
            find(heap, "port"),
            (offset_of!(Endpoint, port), size_of::<u16>())
        );
        assert_eq!(
            find(inline, "bytes"),
            (offset_of!(InlineEndpoint, bytes), 16)
        );
        assert_eq!(find(inline, "len"), (offset_of!(InlineEndpoint, len), 1));
        assert_eq!(find(inline, "port"), (offset_of!(InlineEndpoint, port), 2));
        assert_eq!(
            find(crate_, "addr"),
            (
                offset_of!(ArrayVecEndpoint, addr),
                size_of::<ArrayVec<u8, 16>>()
            )
        );
        assert_eq!(heap.fields[0].ty, "Vec<u8>");
    }
}
