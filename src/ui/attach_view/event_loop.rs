//! The attach view's loop: one thread owns the terminal; a reader thread reads the program's
//! frames, an input thread the keys, a signal thread the signals, each sending on one bounded
//! channel. It redraws only when a frame or a key changed something, at most `fps` times a
//! second, and sleeps otherwise: watching costs the viewer next to nothing.

use std::io::{self, IsTerminal as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr as _};
use ratatui::crossterm::event::KeyEvent;

use super::{AttachView, KeyOutcome};
use crate::attach::alerts::Alert;

/// How often frames alone redraw the view while the growing sites are open.
const SITES_REDRAW: Duration = Duration::from_secs(1);
use crate::attach::client::{Connection, Read};
use crate::attach::record::FrameRecorder;
use crate::monitor::protocol::{Frame, SitesFrame};
use crate::ui::terminal::{self, TermEvent};

/// How the view opens.
#[derive(Debug)]
pub struct Options {
    /// Redraws per second at most.
    pub fps: u32,
    /// `--alert`s.
    pub alerts: Vec<Alert>,
    /// `--record`, claimed before the terminal was taken.
    pub record: Option<FrameRecorder>,
}

/// How the view ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The user detached (`q`).
    Detached,
    /// The program closed the connection: it exited.
    ProgramExited,
    /// Reading the program failed (its words).
    Lost(String),
    /// A signal, or a terminal that closed (SIGHUP's number then).
    Signal(i32),
}

enum Message {
    Key(KeyEvent),
    Resize,
    Frame(Box<Frame>, u64),
    Sites(Box<SitesFrame>),
    ProgramExited,
    Lost(String),
    Signal(i32),
}

/// What the signal and input threads say, as the view's messages: a terminal that is gone is
/// a hang-up, as in the dashboard.
#[allow(clippy::needless_pass_by_value)] // the threads' `wrap` takes the event by value
fn message(event: TermEvent) -> Message {
    match event {
        TermEvent::Key(key) => Message::Key(key),
        TermEvent::Resize => Message::Resize,
        TermEvent::Signal(signal) => Message::Signal(signal),
        TermEvent::InputClosed(_) => Message::Signal(signal_hook::consts::SIGHUP),
    }
}

/// Opens the view on `connection` and runs it until the user detaches, the program exits or
/// a signal arrives; the terminal is restored on every way out, and `--record` written.
pub fn run(connection: Connection, options: Options) -> Result<Ended> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(crate::ui::NotATerminal.into());
    }
    let Options {
        fps,
        alerts,
        mut record,
    } = options;
    let (tx, rx) = mpsc::sync_channel::<Message>(256);
    let stop = Arc::new(AtomicBool::new(false));
    let signals = terminal::SignalThread::spawn("attach-signals", tx.clone(), message)?;
    let mut view = AttachView::new(connection.hello.clone(), &alerts);
    let reader = spawn_reader(connection, tx.clone(), Arc::clone(&stop))?;
    let mut terminal = ratatui::try_init().wrap_err("could not set up the terminal")?;
    let input = terminal::spawn_input("attach-input", tx.clone(), Arc::clone(&stop), message)?;
    drop(tx);
    let frame_every = Duration::from_secs(1) / fps.max(1);
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let ended = loop {
        if dirty && last_draw.is_none_or(|at| at.elapsed() >= frame_every) {
            if let Err(e) = terminal.draw(|frame| frame.render_widget(&view, frame.area())) {
                break Err(e).wrap_err("could not draw");
            }
            last_draw = Some(Instant::now());
            dirty = false;
        }
        // Asleep until a message comes, or until a redraw held back by `fps` is due.
        let message = if dirty {
            let due =
                frame_every.saturating_sub(last_draw.map_or(Duration::ZERO, |at| at.elapsed()));
            match rx.recv_timeout(due) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break Ok(Ended::Signal(1)),
            }
        } else {
            match rx.recv() {
                Ok(message) => message,
                Err(_) => break Ok(Ended::Signal(1)),
            }
        };
        match message {
            Message::Key(key) => match view.key(&key) {
                KeyOutcome::Quit => break Ok(Ended::Detached),
                KeyOutcome::Changed => dirty = true,
                KeyOutcome::Ignored => {}
            },
            Message::Resize => dirty = true,
            Message::Frame(frame, rss) => {
                if let Some(record) = record.as_mut() {
                    record.record(&frame, rss);
                }
                view.push(&frame, rss);
                // The growing sites change with sites frames (once a second); the rest of what
                // they show (the header's figures) is redrawn with a frame at most once a
                // second: ten draws a second of a still table doubled the viewer's CPU.
                dirty |=
                    !view.sites().open || last_draw.is_none_or(|at| at.elapsed() >= SITES_REDRAW);
            }
            Message::Sites(sites) => {
                // Ranked here, once per sites frame (every few seconds), never per draw.
                view.push_sites(&sites);
                dirty |= view.sites().open;
            }
            Message::ProgramExited => break Ok(Ended::ProgramExited),
            Message::Lost(why) => break Ok(Ended::Lost(why)),
            Message::Signal(signal) => break Ok(Ended::Signal(signal)),
        }
    };
    terminal::restore(terminal);
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    signals.close();
    // The reader notices `stop` within its 100 ms wait.
    let _ = reader.join();
    terminal::join_input(input);
    let ended = ended?;
    if let Some(record) = record {
        record.finish()?;
    }
    Ok(ended)
}

fn spawn_reader(
    mut connection: Connection,
    tx: SyncSender<Message>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    connection.set_timeout(Duration::from_millis(100))?;
    thread::Builder::new()
        .name("attach-reader".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let message = match connection.read() {
                    Ok(Read::Nothing) => continue,
                    Ok(Read::Frame(frame)) => {
                        Message::Frame(Box::new(frame), connection.rss_bytes())
                    }
                    Ok(Read::Sites(sites)) => Message::Sites(sites),
                    Ok(Read::Ended) => Message::ProgramExited,
                    Err(e) => Message::Lost(e.to_string()),
                };
                let last = !matches!(message, Message::Frame(..) | Message::Sites(_));
                if tx.send(message).is_err() || last {
                    return;
                }
            }
        })
}

/// The view on `connection` after `frames` frames (or the program's exit, if sooner), drawn
/// on an off-screen `width` x `height` terminal: what `attach --screenshot` writes as SVG.
pub fn screenshot(
    mut connection: Connection,
    alerts: &[Alert],
    frames: u32,
    width: u16,
    height: u16,
) -> Result<ratatui::buffer::Buffer> {
    let mut view = AttachView::new(connection.hello.clone(), alerts);
    let mut seen = 0;
    while seen < frames {
        match connection.read().wrap_err("could not read the program")? {
            Read::Frame(frame) => {
                view.push(&frame, connection.rss_bytes());
                seen += 1;
            }
            Read::Sites(sites) => view.push_sites(&sites),
            Read::Nothing => {}
            Read::Ended => break,
        }
    }
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))?;
    terminal.draw(|frame| frame.render_widget(&view, frame.area()))?;
    Ok(terminal.backend().buffer().clone())
}
