//! What a watched program sends a viewer over its monitor socket: JSON lines, one
//! [`Message`] each. First a [`Hello`] saying who the program is, then a [`Frame`] every
//! interval with the process's and every thread's counters, cumulative, so that a viewer that
//! misses a line loses nothing but resolution; the viewer derives rates and "since attach".
//! The program never computes for the viewer (it would cost the program, and land in its
//! figures).

use serde::{Deserialize, Serialize};

/// The protocol's version; a viewer refuses a program that speaks another.
pub const PROTOCOL: u32 = 2;

/// How the one line a refused viewer gets begins (it is text, not a [`Message`]: the rest
/// says why, for the viewer to show as it is). The connection closes after it.
pub const REFUSED: &str = "refused: ";

/// One line on the socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// The first line: who the program is.
    Hello(Hello),
    /// Every interval after it.
    Frame(Frame),
    /// Every [`SITES_EVERY`] frames, right after a frame, when the program samples sites.
    Sites(SitesFrame),
}

/// A [`SitesFrame`] follows every this many frames (once a second at the default interval).
pub const SITES_EVERY: u64 = 10;

/// Who the watched program is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL`] as the program knows it.
    pub protocol: u32,
    /// The heaplab version the program was built with.
    pub heaplab: String,
    /// The program's process id.
    pub pid: u32,
    /// The program's name (its executable's file name).
    pub program: String,
    /// Milliseconds between two frames.
    pub interval_ms: u64,
    /// Whether the program's global allocator is heaplab's (if not, every figure stays 0 and
    /// the viewer says so).
    pub counting: bool,
    /// The mean gap in bytes between two sampled allocations of a thread (0: the program
    /// samples no sites, and sends no [`SitesFrame`]).
    #[serde(default)]
    pub sample_every: u64,
}

/// The program's figures at one instant: cumulative since the process started (totals) or
/// since each thread claimed its slot (threads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Milliseconds since the monitor started, on the program's monotonic clock.
    pub at_ms: u64,
    /// The whole process.
    pub totals: Totals,
    /// The highest live heap the monitor saw, sampling every interval since it started
    /// (a sampled peak: one between two samples is missed).
    pub peak_live_bytes: i64,
    /// Every thread with a slot of its own, and the shared bucket of those without.
    pub threads: Vec<ThreadFrame>,
}

/// The process's counts since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Calls to `alloc` and `alloc_zeroed` that succeeded.
    pub allocs: u64,
    /// Calls to `dealloc`.
    pub deallocs: u64,
    /// Calls to `realloc` that succeeded.
    pub reallocs: u64,
    /// Bytes handed out (allocations and the growth of reallocations).
    pub bytes_allocated: u64,
    /// Bytes returned (frees and the shrinking of reallocations).
    pub bytes_freed: u64,
}

impl Totals {
    /// Bytes allocated and not yet freed.
    #[must_use]
    pub fn live_bytes(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }
}

/// Who a thread is to the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadRole {
    /// One of the program's own threads.
    Program,
    /// The monitor's own threads (its listener and one per viewer): what watching costs.
    Monitor,
    /// The shared bucket: threads that found no free slot, or ran before the monitor started.
    Shared,
}

/// One thread's counts since it claimed its slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadFrame {
    /// The kernel's thread id (0 for the shared bucket).
    pub tid: u32,
    /// The thread's name as the kernel has it (at most 15 bytes; the id if it has none).
    pub name: String,
    /// The counter slot and how many times it was claimed before: a viewer tells threads
    /// apart by both, since a slot freed by a finished thread is claimed by a later one.
    pub slot: u16,
    /// See [`ThreadFrame::slot`].
    pub generation: u64,
    /// Who the thread is.
    pub role: ThreadRole,
    /// The thread's counts since it claimed the slot. A thread that frees what another
    /// allocated counts those bytes as freed: its live bytes can be negative.
    pub totals: Totals,
}

/// The program's sampled sites at one instant, cumulative since sampling started: every
/// stack sampled so far with its estimated figures. A stack's frames are sent the first time
/// this viewer sees it, and empty after (the viewer keeps them by `id`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SitesFrame {
    /// Milliseconds since the monitor started, as [`Frame::at_ms`].
    pub at_ms: u64,
    /// The mean gap in bytes between two sampled allocations of a thread.
    pub sample_every: u64,
    /// Sampled events so far.
    pub samples: u64,
    /// Sampled allocations whose free cannot be matched (never in `live_bytes`).
    pub untracked: u64,
    /// Sampled events whose stack found the table full.
    pub unrecorded: u64,
    /// The process's estimated allocations per power-of-two size bucket
    /// (`heaplab_experiments::sites::SIZE_BUCKETS` long).
    pub sizes: Vec<f64>,
    /// Every stack sampled so far.
    pub stacks: Vec<StackFrame>,
}

/// One sampled stack's figures (estimates), as [`heaplab_experiments::sites::LiveStack`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StackFrame {
    /// The stack's id, the same for the life of the program.
    pub id: u32,
    /// Absolute return addresses in the program, innermost first; empty when this viewer was
    /// sent them before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<u64>,
    /// The thread of its latest sample (kernel id).
    pub tid: u32,
    /// Sampled events.
    pub samples: u64,
    /// Estimated allocations.
    pub allocs: f64,
    /// Estimated bytes allocated.
    pub bytes: f64,
    /// Estimated bytes still held.
    pub live_bytes: f64,
    /// Estimated blocks still held.
    pub live_blocks: f64,
    /// The variance of `live_bytes` as an estimate.
    pub live_variance: f64,
    /// Estimated allocations freed within `TEMPORARY_NS` of being made.
    pub temporary: f64,
    /// Estimated allocations per size bucket, sparse: `(bucket, allocations)` for the
    /// non-empty buckets only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<(u8, f64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_one_json_line_tagged_with_its_type() {
        let hello = Message::Hello(Hello {
            protocol: PROTOCOL,
            heaplab: "0.1.0".into(),
            pid: 42,
            program: "ingest".into(),
            interval_ms: 100,
            counting: true,
            sample_every: 65_536,
        });
        let line = serde_json::to_string(&hello).expect("serializes");
        assert!(!line.contains('\n'));
        assert!(line.starts_with(r#"{"type":"hello""#), "{line}");
        assert_eq!(
            serde_json::from_str::<Message>(&line).expect("parses"),
            hello
        );
        let frame = Message::Frame(Frame {
            at_ms: 100,
            totals: Totals {
                allocs: 3,
                bytes_allocated: 30,
                bytes_freed: 40,
                ..Totals::default()
            },
            peak_live_bytes: 30,
            threads: vec![ThreadFrame {
                tid: 7,
                name: "parser-1".into(),
                slot: 3,
                generation: 1,
                role: ThreadRole::Program,
                totals: Totals::default(),
            }],
        });
        let line = serde_json::to_string(&frame).expect("serializes");
        assert_eq!(
            serde_json::from_str::<Message>(&line).expect("parses"),
            frame
        );
        let Message::Frame(frame) = frame else {
            unreachable!()
        };
        assert_eq!(frame.totals.live_bytes(), -10);
    }
}
