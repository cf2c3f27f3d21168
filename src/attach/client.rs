//! The viewer's connection to a watched program: which socket (`attach PID`, `--socket`, or
//! the only program there is), the connection and its [`Hello`], each later line read as a
//! [`Frame`], and the program's RSS read from `/proc/PID/statm` (the program pays nothing for
//! it). A socket whose program is gone is removed, with a line saying so.

use std::io::{self, BufRead as _, BufReader};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::FileType;

use crate::UsageError;
use crate::monitor::paths;
use crate::monitor::protocol::{Frame, Hello, Message, PROTOCOL, SitesFrame};

/// How long a program has to say hello once connected: it sends it at once, so a silent one
/// is not a heaplab monitor (or is stuck).
const HELLO_WAIT: Duration = Duration::from_secs(10);

/// What the viewer watches, as the command line named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The program's process id, if known (from `PID` or the socket's name).
    pub pid: Option<u32>,
    /// Its socket.
    pub socket: PathBuf,
}

/// How to start the monitor, for every message that found none.
pub const HOW_TO_START: &str = "the program starts its monitor with `heaplab::monitor::start()` \
                                (see docs/attach.md)";

/// Finds the socket `attach` means: `--socket PATH`, `PID`'s, or, without either, the only
/// attachable program (several: they are listed, and the user is asked to pick one). Stale
/// sockets met on the way are removed, each with a line on stderr.
pub fn resolve(pid: Option<u32>, socket: Option<PathBuf>) -> Result<Target, UsageError> {
    if let Some(socket) = socket {
        let pid = pid.or_else(|| {
            socket
                .file_stem()
                .and_then(|stem| stem.to_str())
                .and_then(|stem| stem.parse().ok())
        });
        return Ok(Target { pid, socket });
    }
    let dir = paths::own_dir();
    if let Some(pid) = pid {
        return match paths::find(pid) {
            Some(found) => Ok(Target {
                pid: Some(pid),
                socket: found.socket,
            }),
            None => Err(UsageError(format!(
                "process {pid} has no monitor socket in {}: {HOW_TO_START}",
                dir.display()
            ))),
        };
    }
    let mut alive = Vec::new();
    for found in paths::sockets() {
        if found.alive {
            alive.push(found);
        } else {
            remove_stale(&found.socket, &format!("process {} is gone", found.pid));
        }
    }
    match alive.as_slice() {
        [] => Err(UsageError(format!(
            "no program to attach to: no monitor socket in {}; {HOW_TO_START}",
            dir.display()
        ))),
        [only] => Ok(Target {
            pid: Some(only.pid),
            socket: only.socket.clone(),
        }),
        several => Err(UsageError(format!(
            "{} programs can be attached ({}): pass one's PID, `heaplab attach PID` (`heaplab \
             ps` lists them)",
            several.len(),
            several
                .iter()
                .map(|found| format!("{} {}", found.pid, program_name(found.pid)))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The program's name as the kernel has it (`/proc/PID/comm`), or `?`.
#[must_use]
pub fn program_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map_or_else(|_| "?".to_owned(), |name| name.trim_end().to_owned())
}

/// Removes a socket left behind by a program that is gone, saying so on stderr; anything but
/// a socket is left alone.
fn remove_stale(socket: &Path, why: &str) -> bool {
    let is_socket = rustix::fs::lstat(socket)
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Socket);
    let removed = is_socket && std::fs::remove_file(socket).is_ok();
    if removed {
        let _ = io::Write::write_all(
            &mut io::stderr(),
            format!(
                "heaplab: removed stale monitor socket {} ({why})\n",
                socket.display()
            )
            .as_bytes(),
        );
    }
    removed
}

/// A connection to a watched program, after its [`Hello`].
#[derive(Debug)]
pub struct Connection {
    reader: BufReader<UnixStream>,
    /// Bytes of a line not yet ended (a read that timed out keeps what it had).
    line: Vec<u8>,
    /// Who the program is.
    pub hello: Hello,
    /// Where it was reached.
    pub target: Target,
}

/// What one read of the connection gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// A frame.
    Frame(Frame),
    /// The program's sampled sites (after every `SITES_EVERY`th frame).
    Sites(Box<SitesFrame>),
    /// Nothing within the read timeout.
    Nothing,
    /// The program closed the connection: it exited (or stopped its monitor).
    Ended,
}

impl Connection {
    /// Connects to `target`, reads its hello and checks its protocol. A socket whose
    /// program is gone, or that refuses the connection, is removed with a line on stderr.
    pub fn open(target: Target) -> Result<Self, UsageError> {
        let shown = target.socket.display().to_string();
        if let Some(pid) = target.pid
            && !Path::new(&format!("/proc/{pid}")).exists()
            && remove_stale(&target.socket, &format!("process {pid} is gone"))
        {
            return Err(UsageError(format!(
                "process {pid} is gone (its socket {shown} was left behind, now removed)"
            )));
        }
        let stream = match UnixStream::connect(&target.socket) {
            Ok(stream) => stream,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(UsageError(format!(
                    "no monitor socket at {shown}: {HOW_TO_START}"
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                remove_stale(&target.socket, "nothing listens on it: its program is gone");
                return Err(UsageError(format!(
                    "nothing listens on {shown} (its program is gone); start the program \
                     again, or attach to another (`heaplab ps`)"
                )));
            }
            Err(e) => return Err(UsageError(format!("could not connect to {shown}: {e}"))),
        };
        let failed = |e: io::Error| UsageError(format!("could not read from {shown}: {e}"));
        stream.set_read_timeout(Some(HELLO_WAIT)).map_err(failed)?;
        let mut connection = Self {
            reader: BufReader::new(stream),
            line: Vec::new(),
            hello: Hello {
                protocol: 0,
                heaplab: String::new(),
                pid: 0,
                program: String::new(),
                interval_ms: 0,
                counting: false,
                sample_every: 0,
            },
            target,
        };
        let hello = match connection.next_message() {
            Ok(Some(Message::Hello(hello))) => hello,
            Ok(Some(Message::Frame(_) | Message::Sites(_))) => {
                return Err(UsageError(format!(
                    "{shown} sent a frame before its hello: not a heaplab monitor"
                )));
            }
            Ok(None) => {
                return Err(UsageError(format!(
                    "{shown} closed the connection before saying hello (the monitor refuses \
                     viewers of another user; or the program is exiting)"
                )));
            }
            Err(e) if is_timeout(&e) => {
                return Err(UsageError(format!(
                    "{shown} said nothing within {} s of connecting: not a heaplab monitor, \
                     or the program is stuck",
                    HELLO_WAIT.as_secs()
                )));
            }
            Err(e) => return Err(UsageError(format!("{shown}: {e}"))),
        };
        if hello.protocol != PROTOCOL {
            return Err(UsageError(format!(
                "{} (process {}) speaks monitor protocol {}, this heaplab {PROTOCOL}: attach \
                 with the heaplab it was built with ({})",
                hello.program, hello.pid, hello.protocol, hello.heaplab
            )));
        }
        connection.hello = hello;
        connection.target.pid.get_or_insert(connection.hello.pid);
        Ok(connection)
    }

    /// Sets how long [`Connection::read`] waits for a line before it says [`Read::Nothing`].
    pub fn set_timeout(&self, wait: Duration) -> io::Result<()> {
        self.reader.get_ref().set_read_timeout(Some(wait))
    }

    /// The next frame, if one comes within the timeout.
    pub fn read(&mut self) -> io::Result<Read> {
        match self.next_message() {
            Ok(Some(Message::Frame(frame))) => Ok(Read::Frame(frame)),
            Ok(Some(Message::Sites(sites))) => Ok(Read::Sites(Box::new(sites))),
            Ok(Some(Message::Hello(_))) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the program said hello twice",
            )),
            Ok(None) => Ok(Read::Ended),
            Err(e) if is_timeout(&e) => Ok(Read::Nothing),
            Err(e) => Err(e),
        }
    }

    /// The next whole line as a message; `None` at the end. A read that times out keeps
    /// the part of a line it had, for the next call.
    fn next_message(&mut self) -> io::Result<Option<Message>> {
        let n = self.reader.read_until(b'\n', &mut self.line)?;
        if n == 0 && self.line.is_empty() {
            return Ok(None);
        }
        if self.line.last() != Some(&b'\n') {
            // The end came in the middle of a line: the program died writing it.
            self.line.clear();
            return Ok(None);
        }
        let message = serde_json::from_slice(&self.line).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a monitor line ({e})"),
            )
        });
        self.line.clear();
        message.map(Some)
    }

    /// The watched program's resident set now, in bytes (0 if it cannot be read).
    #[must_use]
    pub fn rss_bytes(&self) -> u64 {
        self.target.pid.map_or(0, rss_bytes)
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Process `pid`'s resident set in bytes, from `/proc/PID/statm` (its second field, in
/// pages); 0 if it cannot be read.
#[must_use]
pub fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * rustix::param::page_size() as u64)
}

#[cfg(test)]
// Exact figures are the point of these tests, floats included.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_from_statm_in_pages() {
        let ours = rss_bytes(std::process::id());
        assert!(ours > 0);
        assert_eq!(ours % rustix::param::page_size() as u64, 0);
        assert_eq!(rss_bytes(u32::MAX), 0, "no such process");
    }
}
