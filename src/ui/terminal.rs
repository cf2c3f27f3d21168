//! What every full-screen view of heaplab runs beside the thread that owns the terminal (the
//! dashboard and the attach view): a signal thread and an input thread, each sending on the
//! view's own channel, and the way the terminal is given back on every way out.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr as _};
use ratatui::crossterm::event::{self, Event, KeyEvent};

use super::keys;

/// What the signal and input threads tell a view.
#[derive(Debug)]
pub(crate) enum TermEvent {
    /// A key (Alt+key arrives as Esc then the key: see `keys::unfold_alt`).
    Key(KeyEvent),
    /// The terminal changed size.
    Resize,
    /// SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
    /// Reading the terminal failed: it is gone (the error's words).
    InputClosed(String),
}

/// The signal thread: SIGINT, SIGTERM and SIGHUP become messages instead of ending the process
/// with the terminal in raw mode.
pub(crate) struct SignalThread {
    handle: signal_hook::iterator::Handle,
    thread: JoinHandle<()>,
}

impl SignalThread {
    /// Installs the handlers and starts the thread `name`, which sends `wrap(Signal(n))`.
    pub(crate) fn spawn<M: Send + 'static>(
        name: &str,
        tx: SyncSender<M>,
        wrap: fn(TermEvent) -> M,
    ) -> Result<Self> {
        let mut signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ])
        .wrap_err("could not install signal handlers")?;
        let handle = signals.handle();
        let thread = thread::Builder::new().name(name.into()).spawn(move || {
            for signal in signals.forever() {
                if tx.send(wrap(TermEvent::Signal(signal))).is_err() {
                    break;
                }
            }
        })?;
        Ok(Self { handle, thread })
    }

    /// Stops the thread and waits for it.
    pub(crate) fn close(self) {
        self.handle.close();
        let _ = self.thread.join();
    }
}

/// The input thread `name`: keys and resizes as `wrap(...)` on `tx` until `stop` is set (seen
/// within its 100 ms poll), the channel closes, or the terminal is gone (then one
/// `InputClosed`).
pub(crate) fn spawn_input<M: Send + 'static>(
    name: &str,
    tx: SyncSender<M>,
    stop: Arc<AtomicBool>,
    wrap: fn(TermEvent) -> M,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name(name.into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            // Poll with a timeout so the thread notices `stop` and ends.
            let event = match event::poll(Duration::from_millis(100)) {
                Ok(false) => continue,
                Ok(true) => event::read(),
                Err(e) => Err(e),
            };
            let message = match event {
                Ok(Event::Key(key)) => {
                    for key in keys::unfold_alt(key) {
                        if tx.send(wrap(TermEvent::Key(key))).is_err() {
                            return;
                        }
                    }
                    continue;
                }
                Ok(Event::Resize(..)) => TermEvent::Resize,
                Ok(_) => continue,
                Err(e) => {
                    let _ = tx.send(wrap(TermEvent::InputClosed(e.to_string())));
                    return;
                }
            };
            if tx.send(wrap(message)).is_err() {
                return;
            }
        }
    })
}

/// Waits for the input thread after `stop` was set. It notices within its 100 ms poll; but on
/// a hung-up terminal crossterm's read can spin without returning, and joining it would hang
/// the exit. Waits a bounded time; a thread still stuck then ends with the process.
pub(crate) fn join_input(input: JoinHandle<()>) {
    let deadline = Instant::now() + Duration::from_millis(500);
    while !input.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    if input.is_finished() {
        let _ = input.join();
    }
}

/// Gives the terminal back: cursor shown, raw mode and the alternate screen left.
pub(crate) fn restore(mut terminal: ratatui::DefaultTerminal) {
    // Dropping a `Terminal` whose cursor is hidden shows it again, and reports a failure with
    // `eprintln!`, which panics when stderr is a closed terminal. Show it here; if even that
    // fails the terminal is gone, and there is nothing for the drop to do.
    if terminal.show_cursor().is_err() {
        std::mem::forget(terminal);
    }
    // Not `ratatui::restore()`: it reports a failure with `eprintln!`, which panics (and so
    // aborts) when the terminal, and stderr with it, is gone. Then nothing is left to restore.
    let _ = ratatui::try_restore();
}
