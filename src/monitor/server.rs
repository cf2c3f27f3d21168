//! The monitor's threads: the socket made in its private directory (stale ones cleared), the
//! listener (`heaplab-monitor`), which also samples the peak once an interval, and one thread
//! per viewer (`heaplab-viewer`), which checks who connected, then sends a hello and a frame
//! every interval until the viewer goes, and the sampled sites after every `SITES_EVERY`th.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heaplab_experiments::counting::process_live_bytes;
use rustix::fs::FileType;
use rustix::net::SendFlags;
use rustix::net::sockopt::{Timeout, set_socket_timeout, socket_peercred};

use super::figures::{self, MonitorThread, Reader};
use super::protocol::{Hello, Message, PROTOCOL, REFUSED, SITES_EVERY};
use super::sites::SitesReader;
use super::{MonitorError, paths};

/// Makes the socket `PID.sock` in `dir`, starts sampling sites (one per about `sample_every`
/// bytes a thread allocates; 0: none) and the listener thread; returns the socket.
pub(super) fn start(
    dir: &Path,
    pid: u32,
    interval: Duration,
    sample_every: u64,
) -> Result<PathBuf, MonitorError> {
    paths::private_dir(dir)?;
    remove_stale(dir, pid);
    let socket = paths::socket_in(dir, pid);
    let fail = |action, source| MonitorError::Socket {
        action,
        path: socket.clone(),
        source,
    };
    // A socket of our own id was left by an earlier process that had it and crashed (ids are
    // reused); binding fails while it is there.
    if is_socket(&socket) {
        std::fs::remove_file(&socket).map_err(|e| fail("remove the old", e))?;
    }
    let listener = UnixListener::bind(&socket).map_err(|e| fail("bind", e))?;
    let listening = std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail("set the mode (0600) of", e))
        // Accepting times out once an interval, so that the listener samples the peak while
        // nobody is attached, with no other thread and no busy loop.
        .and_then(|()| {
            set_socket_timeout(&listener, Timeout::Recv, Some(interval))
                .map_err(|e| fail("set the timeout of", e.into()))
        });
    if let Err(error) = listening {
        drop(listener);
        std::fs::remove_file(&socket).ok();
        return Err(error);
    }
    figures::start_clock();
    // Only once the socket is there: a program that cannot be watched pays nothing for sites.
    let sampling = heaplab_experiments::sites::start_live_sampling(sample_every);
    let hello = Hello {
        protocol: PROTOCOL,
        heaplab: env!("CARGO_PKG_VERSION").to_owned(),
        pid,
        program: program_name(),
        interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        counting: heaplab_experiments::counting::installed(),
        sample_every: if sampling {
            heaplab_experiments::sites::live_sample_every()
        } else {
            0
        },
    };
    let spawned = std::thread::Builder::new()
        .name("heaplab-monitor".into())
        .spawn(move || listen(&listener, interval, &hello));
    if let Err(error) = spawned {
        std::fs::remove_file(&socket).ok();
        return Err(MonitorError::Thread(error));
    }
    Ok(socket)
}

/// Removes the sockets in `dir` whose process no longer exists (a program that crashed or was
/// killed leaves its socket behind). Only sockets: the directory is private, but a file of
/// another kind there is not ours to judge.
fn remove_stale(dir: &Path, pid: u32) {
    for found in paths::sockets_in(dir) {
        if !found.alive && found.pid != pid && is_socket(&found.socket) {
            // Another program starting at the same moment may remove it first.
            std::fs::remove_file(&found.socket).ok();
        }
    }
}

fn is_socket(path: &Path) -> bool {
    rustix::fs::lstat(path)
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Socket)
}

/// The program's executable's file name.
fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.file_name()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The listener's loop, for the life of the process: a thread per viewer; the peak sampled
/// once an interval.
fn listen(listener: &UnixListener, interval: Duration, hello: &Hello) {
    let _monitor = MonitorThread::enter();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let hello = hello.clone();
                // If no thread can be had the stream drops here, and the viewer sees the
                // connection closed.
                std::thread::Builder::new()
                    .name("heaplab-viewer".into())
                    .spawn(move || serve(&stream, interval, &hello))
                    .ok();
            }
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            // Out of file descriptors, say: try again an interval later rather than spin.
            Err(_) => std::thread::sleep(interval),
        }
        figures::observe(process_live_bytes());
    }
}

/// One viewer: checked, greeted, then sent a frame every interval until it goes.
fn serve(stream: &UnixStream, interval: Duration, hello: &Hello) {
    let _monitor = MonitorThread::enter();
    if let Err(why) = check_peer(stream, hello.pid) {
        send_all(stream, format!("{REFUSED}{why}\n").as_bytes()).ok();
        return;
    }
    let mut line = Vec::with_capacity(4096);
    if send_message(stream, &mut line, &Message::Hello(hello.clone())).is_err() {
        return;
    }
    let mut reader = Reader::default();
    let mut sites = (hello.sample_every != 0).then(SitesReader::default);
    let mut frames_sent: u64 = 0;
    let mut due = Instant::now();
    loop {
        let frame = reader.frame();
        let at_ms = frame.at_ms;
        if send_message(stream, &mut line, &Message::Frame(frame)).is_err() {
            // The viewer went (detached, or was killed): nothing to clean up but this thread.
            return;
        }
        // Sites right after the first frame (a viewer has something to rank at once), then
        // every SITES_EVERY frames: copying the table costs more than a frame.
        if let Some(sites) = sites.as_mut()
            && frames_sent.is_multiple_of(SITES_EVERY)
        {
            let message = Message::Sites(sites.frame(at_ms));
            let sent = send_message(stream, &mut line, &message);
            if let Message::Sites(frame) = message {
                sites.give_back(frame);
            }
            if sent.is_err() {
                return;
            }
        }
        frames_sent += 1;
        due += interval;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else {
            // Late (a stopped viewer, a busy machine): skip the missed frames, not catch up.
            due = now;
        }
    }
}

/// Whether the peer may watch this process: the same effective user, or root.
fn check_peer(stream: &UnixStream, pid: u32) -> Result<(), String> {
    let me = rustix::process::geteuid();
    match socket_peercred(stream) {
        Ok(peer) if peer.uid == me || peer.uid.is_root() => Ok(()),
        Ok(peer) => Err(format!(
            "uid {} may not watch process {pid}, which runs as uid {}: only the same user or root may attach",
            peer.uid.as_raw(),
            me.as_raw()
        )),
        Err(errno) => Err(format!(
            "cannot tell who connected to process {pid} ({errno}), so it refuses"
        )),
    }
}

fn send_message(stream: &UnixStream, line: &mut Vec<u8>, message: &Message) -> io::Result<()> {
    line.clear();
    serde_json::to_writer(&mut *line, message)?;
    line.push(b'\n');
    send_all(stream, line)
}

/// Writes all of `bytes`. `MSG_NOSIGNAL`: a viewer gone is an error here, never a `SIGPIPE`
/// that would kill a program that did not ignore it.
fn send_all(stream: &UnixStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match rustix::net::send(stream, bytes, SendFlags::NOSIGNAL) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => bytes = &bytes[sent..],
            Err(rustix::io::Errno::INTR) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(())
}
