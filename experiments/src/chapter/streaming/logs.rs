//! The streaming experiment's input: a deterministic access log generated as it is read
//! (`timestamp,LEVEL,service,user[,extra]` lines, a few not UTF-8), so a log of any size costs
//! no memory to make. Apart from `streaming.rs` because it is the input, not the code measured.

use std::io::{self, Read};

use crate::engine::data::SplitMix64;

/// A deterministic access log of exactly `len` bytes, generated as it is read: nothing is
/// held but the line being written.
#[derive(Debug, Clone)]
pub struct LogGenerator {
    rng: SplitMix64,
    remaining: u64,
    timestamp: u64,
    line: [u8; 64],
    line_len: usize,
    line_pos: usize,
}

const SERVICES: [&str; 8] = [
    "api", "auth", "billing", "checkout", "search", "catalog", "gateway", "worker",
];

impl LogGenerator {
    /// A log of `len` bytes, the same for the same `seed`.
    #[must_use]
    pub fn new(seed: u64, len: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            remaining: len,
            timestamp: 1_763_900_000_000,
            line: [0; 64],
            line_len: 0,
            line_pos: 0,
        }
    }

    fn next_line(&mut self) {
        let mut line = Line::default();
        self.timestamp += self.rng.below(50);
        line.decimal(self.timestamp);
        line.push(b",");
        let level = match self.rng.below(100) {
            0..10 => "DEBUG",
            10..90 => "INFO",
            90..97 => "WARN",
            _ => "ERROR",
        };
        line.push(level.as_bytes());
        line.push(b",");
        line.push(self.rng.pick(&SERVICES).as_bytes());
        line.push(b",");
        line.decimal(1 + self.rng.zipf_like(5_000));
        match self.rng.below(500) {
            0 => line.push(b",extra"),
            1 => line.bytes[3] = 0xff, // not UTF-8
            _ => {}
        }
        line.push(b"\n");
        self.line = line.bytes;
        self.line_len = line.len;
        self.line_pos = 0;
    }
}

/// A line being written into a fixed array.
struct Line {
    bytes: [u8; 64],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Self {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl Line {
    fn push(&mut self, s: &[u8]) {
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    fn decimal(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }
}

impl Read for LogGenerator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() && self.remaining > 0 {
            if self.line_pos == self.line_len {
                self.next_line();
            }
            let available = &self.line[self.line_pos..self.line_len];
            let n = available
                .len()
                .min(buf.len() - written)
                .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            buf[written..written + n].copy_from_slice(&available[..n]);
            written += n;
            self.line_pos += n;
            self.remaining -= n as u64;
        }
        Ok(written)
    }
}
