//! A viewer's [`SitesFrame`]s from the engine's live sampled sites: the engine's table copied
//! into a buffer kept from one frame to the next, each stack's raw frames sent to a viewer
//! only the first time it sees that stack (a stack's id stays the same for the life of the
//! program, and the viewer keeps its frames), sizes sent sparse.

use std::collections::HashSet;

use heaplab_experiments::sites::{LiveSites, LiveStack, live_snapshot};

use super::protocol::{SitesFrame, StackFrame};

/// One viewer's sites: what the engine's table held at the last frame, and which stacks this
/// viewer was sent the frames of.
#[derive(Debug, Default)]
pub(super) struct SitesReader {
    live: LiveSites,
    sent: HashSet<u32>,
    frame: SitesFrame,
}

impl SitesReader {
    /// The program's sampled sites now, stamped `at_ms` (the frame they follow). The frame
    /// is lent: give it back with [`SitesReader::give_back`] so its buffers serve the next.
    pub(super) fn frame(&mut self, at_ms: u64) -> SitesFrame {
        live_snapshot(&mut self.live);
        let mut frame = std::mem::take(&mut self.frame);
        fill(&mut frame, &self.live, at_ms, &mut self.sent);
        frame
    }

    /// Takes back a frame [`SitesReader::frame`] lent, to reuse its buffers.
    pub(super) fn give_back(&mut self, frame: SitesFrame) {
        self.frame = frame;
    }
}

/// Fills `frame` from `live`: every stack, with its frames only if `sent` does not hold its id
/// yet (then it does), reusing `frame`'s buffers.
fn fill(frame: &mut SitesFrame, live: &LiveSites, at_ms: u64, sent: &mut HashSet<u32>) {
    frame.at_ms = at_ms;
    frame.sample_every = live.sample_every;
    frame.samples = live.samples;
    frame.untracked = live.untracked;
    frame.unrecorded = live.unrecorded;
    frame.sizes.clone_from(&live.sizes);
    frame
        .stacks
        .resize_with(live.stacks.len(), StackFrame::default);
    for (out, stack) in frame.stacks.iter_mut().zip(&live.stacks) {
        fill_stack(out, stack, sent.insert(stack.id));
    }
}

fn fill_stack(out: &mut StackFrame, stack: &LiveStack, first_time: bool) {
    out.id = stack.id;
    out.frames.clear();
    if first_time {
        out.frames.extend_from_slice(&stack.frames);
    }
    out.tid = stack.tid;
    out.samples = stack.samples;
    out.allocs = stack.allocs;
    out.bytes = stack.bytes;
    out.live_bytes = stack.live_bytes;
    out.live_blocks = stack.live_blocks;
    out.live_variance = stack.live_variance;
    out.temporary = stack.temporary;
    out.sizes.clear();
    out.sizes.extend(
        stack
            .sizes
            .iter()
            .enumerate()
            .filter(|&(_, &allocs)| allocs != 0.0)
            .filter_map(|(bucket, &allocs)| Some((u8::try_from(bucket).ok()?, allocs))),
    );
}

#[cfg(test)]
// The figures compared are sums of small, exactly representable numbers: equal, not close.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use heaplab_experiments::sites::SIZE_BUCKETS;

    fn stack(id: u32, frames: &[u64], live_bytes: f64) -> LiveStack {
        let mut sizes = vec![0.0; SIZE_BUCKETS];
        sizes[6] = 3.5;
        sizes[12] = 1.0;
        LiveStack {
            id,
            frames: frames.to_vec(),
            tid: 77,
            samples: 4,
            allocs: 4.5,
            reallocs: 0.0,
            bytes: 9000.0,
            live_bytes,
            live_blocks: 2.0,
            live_variance: 16.0,
            temporary: 1.5,
            sizes,
        }
    }

    fn live(stacks: Vec<LiveStack>) -> LiveSites {
        LiveSites {
            sample_every: 65_536,
            samples: 12,
            untracked: 1,
            unrecorded: 2,
            sizes: vec![1.0; SIZE_BUCKETS],
            stacks,
        }
    }

    #[test]
    fn a_stacks_frames_are_sent_once_per_viewer_and_its_figures_every_time() {
        let mut sent = HashSet::new();
        let mut frame = SitesFrame::default();
        fill(
            &mut frame,
            &live(vec![stack(3, &[0x10, 0x20], 100.0)]),
            1000,
            &mut sent,
        );
        assert_eq!(frame.at_ms, 1000);
        assert_eq!(
            (
                frame.sample_every,
                frame.samples,
                frame.untracked,
                frame.unrecorded
            ),
            (65_536, 12, 1, 2)
        );
        assert_eq!(frame.sizes.len(), SIZE_BUCKETS);
        assert_eq!(frame.stacks.len(), 1);
        let first = &frame.stacks[0];
        assert_eq!((first.id, first.tid, first.samples), (3, 77, 4));
        assert_eq!(first.frames, [0x10, 0x20]);
        assert_eq!(
            first.sizes,
            [(6, 3.5), (12, 1.0)],
            "sparse: non-empty buckets"
        );
        assert_eq!(
            (
                first.allocs,
                first.bytes,
                first.live_bytes,
                first.live_blocks
            ),
            (4.5, 9000.0, 100.0, 2.0)
        );
        assert_eq!((first.live_variance, first.temporary), (16.0, 1.5));

        // The next frame: stack 3 again (frames left out), and a new stack 9 (frames sent).
        fill(
            &mut frame,
            &live(vec![stack(3, &[0x10, 0x20], 250.0), stack(9, &[0x30], 5.0)]),
            2000,
            &mut sent,
        );
        assert_eq!(frame.stacks.len(), 2);
        assert!(frame.stacks[0].frames.is_empty(), "sent before");
        assert_eq!(frame.stacks[0].live_bytes, 250.0);
        assert_eq!(frame.stacks[1].frames, [0x30]);

        // Another viewer is sent every stack's frames.
        let mut other = SitesFrame::default();
        fill(
            &mut other,
            &live(vec![stack(3, &[0x10, 0x20], 250.0)]),
            2000,
            &mut HashSet::new(),
        );
        assert_eq!(other.stacks[0].frames, [0x10, 0x20]);
        // Fewer stacks than the buffer held (a new table): no stale stack is left.
        fill(&mut frame, &live(vec![]), 3000, &mut sent);
        assert!(frame.stacks.is_empty());
    }

    #[test]
    fn the_line_sent_round_trips_with_sparse_sizes() {
        let mut frame = SitesFrame::default();
        fill(
            &mut frame,
            &live(vec![stack(1, &[0xdead], 7.0)]),
            5,
            &mut HashSet::new(),
        );
        let message = super::super::protocol::Message::Sites(frame);
        let line = serde_json::to_string(&message).expect("serializes");
        assert!(line.starts_with(r#"{"type":"sites""#), "{line}");
        assert!(line.contains(r#""sizes":[[6,3.5],[12,1.0]]"#), "{line}");
        assert_eq!(
            serde_json::from_str::<super::super::protocol::Message>(&line).expect("parses"),
            message
        );
    }
}
