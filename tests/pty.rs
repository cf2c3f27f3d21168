//! The real binary in a pseudo-terminal, used as a person would: keys in, screen read back
//! through a VT100 parser, exit status and terminal state checked at the end. Every wait is
//! for a screen, an exit or a process to end, bounded only by [`HANG_GUARD`].

mod binary;

use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use binary::HANG_GUARD;
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

const ROWS: u16 = 36;
const COLS: u16 = 120;

struct Session {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn std::io::Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    master: Box<dyn MasterPty + Send>,
    /// Tells the reader thread to stop (and drop its copy of the master) at its next read.
    stop_reading: Arc<AtomicBool>,
    /// The reader thread: it ends once every byte heaplab wrote has been parsed.
    reader: JoinHandle<()>,
    /// heaplab's data directory for this session (exports, the session file), unless the
    /// test names another: never the user's own.
    data: tempfile::TempDir,
}

impl Session {
    fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_program(env!("CARGO_BIN_EXE_heaplab"), args, env, None)
    }

    fn start_program(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        cwd: Option<&std::path::Path>,
    ) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut command = CommandBuilder::new(program);
        command.args(args);
        command.env("TERM", "xterm-256color");
        let data = tempfile::tempdir().expect("a data directory");
        command.env("HEAPLAB_DATA_DIR", data.path());
        if let Some(dir) = cwd {
            command.cwd(dir);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let child = pty.slave.spawn_command(command).expect("heaplab starts");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let parser = Arc::clone(&screen);
        let stop_reading = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stop_reading);
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || stop.load(Ordering::Relaxed) {
                    break;
                }
                parser.lock().expect("parser").process(&buf[..n]);
            }
        });
        Self {
            child,
            writer,
            screen,
            master: pty.master,
            stop_reading,
            reader,
            data,
        }
    }

    /// Resizes the terminal, as a window's edge dragged, and the screen we read back with it.
    fn resize(&self, rows: u16, cols: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize");
        self.screen
            .lock()
            .expect("parser")
            .screen_mut()
            .set_size(rows, cols);
    }

    fn contents(&self) -> String {
        self.screen.lock().expect("parser").screen().contents()
    }

    /// Waits until the screen satisfies `pred`, and returns it; fails with the screen shown.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let text = self.contents();
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{text}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("keys sent");
        self.writer.flush().expect("flushed");
    }

    fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.exit_code();
            }
            assert!(
                Instant::now() < deadline,
                "heaplab did not exit; screen:\n{}",
                self.contents()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The terminal is as heaplab found it: main screen, cursor shown. Call it after
    /// [`Self::wait_exit`].
    fn assert_restored(&self) {
        // heaplab has exited: the reader ends at the end of its output, every byte parsed.
        let deadline = Instant::now() + HANG_GUARD;
        while !self.reader.is_finished() {
            assert!(
                Instant::now() < deadline,
                "heaplab's output never ended after it exited; screen:\n{}",
                self.contents()
            );
            thread::sleep(Duration::from_millis(20));
        }
        let parser = self.screen.lock().expect("parser");
        assert!(
            !parser.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!parser.screen().hide_cursor(), "cursor left hidden");
    }

    fn signal(&self, name: &str) {
        let pid = self.child.process_id().expect("a pid");
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

fn has_braille(text: &str) -> bool {
    text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
}

#[test]
fn start_switch_variant_and_quit() {
    let mut s = Session::start(&[]);
    s.wait_for("the first frame", |t| {
        t.contains("experiments") && t.contains("04-01")
    });
    s.keys("\r"); // Enter: start the selected experiment, buffer-reuse, naive.
    s.wait_for("naive running", |t| {
        t.contains("buffer-reuse naive") && t.contains("1.00")
    });
    s.keys(" "); // Space: switch to optimized.
    let screen = s.wait_for("optimized measured against naive", |t| {
        t.contains("buffer-reuse optimized") && t.contains("optimized vs naive")
    });
    assert!(screen.contains("100% fewer allocs/op"), "{screen}");
    assert!(has_braille(&screen), "charts are empty:\n{screen}");
    s.keys("?");
    s.wait_for("the help overlay", |t| t.contains("keys and figures"));
    s.keys("\x1b"); // Esc closes the overlay...
    s.wait_for("the overlay closed", |t| !t.contains("keys and figures"));
    s.keys("q"); // ...and q quits.
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn esc_and_a_key_typed_together_are_two_keys_and_arrows_stay_arrows() {
    let mut s = Session::start(&[]);
    s.wait_for("the first frame", |t| t.contains("04-01"));
    s.keys("?");
    s.wait_for("the help overlay", |t| t.contains("keys and figures"));
    // Esc and s in one write, as a quick typist sends them: the terminal cannot tell this from
    // Alt+s. Esc closes the overlay, then s opens the source view.
    s.keys("\x1bs");
    s.wait_for("the source view, overlay closed", |t| {
        !t.contains("keys and figures") && t.contains(" source · buffer-reuse · ")
    });
    // Arrow keys are escape sequences too, and stay arrows: → three times scrolls sideways.
    s.keys("\x1b[C\x1b[C\x1b[C");
    s.wait_for("the source view scrolled sideways", |t| {
        t.contains("(from column 25)") && t.contains("output buffer too small")
    });
    s.keys("\x1b"); // back to the dashboard...
    s.wait_for("the dashboard", |t| {
        !t.contains(" source · buffer-reuse · ")
    });
    s.keys("q"); // ...and quit.
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

/// A user's lab (the repository's example) gets the same dashboard: its experiment listed in
/// a section of its own, run and switched with the same keys, the chapter's below it.
#[test]
fn a_users_lab_opens_the_same_dashboard_on_its_own_experiments() {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "parse_csv"])
        .status()
        .expect("cargo runs");
    assert!(status.success());
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_heaplab"))
        .with_file_name("examples")
        .join("parse_csv");
    let mut s = Session::start_program(&program.to_string_lossy(), &[], &[], None);
    s.wait_for("the user's section above the chapter's", |t| {
        t.contains("lab Your experiments") && t.contains("parse-csv") && t.contains("04-01")
    });
    s.keys("\r");
    s.wait_for("owned running", |t| {
        t.contains("parse-csv owned") && t.contains("3001.00")
    });
    s.keys(" ");
    s.wait_for("reused against owned", |t| {
        t.contains("parse-csv reused") && t.contains("reused vs owned: 100% fewer allocs/op")
    });
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn run_opens_with_the_experiment_running() {
    let mut s = Session::start(&["run", "string-processing", "--variant", "optimized"]);
    s.wait_for("optimized running", |t| {
        t.contains("string-processing optimized") && t.contains("0.00")
    });
    s.keys("\x03"); // Ctrl-C
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn signals_end_it_cleanly_with_the_conventional_status() {
    for (name, number) in [("TERM", 15), ("HUP", 1), ("INT", 2)] {
        let mut s = Session::start(&["run", "buffer-reuse"]);
        s.wait_for("running", |t| t.contains("buffer-reuse naive"));
        s.signal(name);
        assert_eq!(s.wait_exit(), 128 + number, "SIG{name}");
        s.assert_restored();
    }
}

#[test]
fn a_tiny_terminal_gets_a_message_not_a_broken_layout() {
    let mut s = Session::start(&["run", "buffer-reuse"]);
    s.wait_for("running", |t| t.contains("buffer-reuse naive"));
    s.resize(10, 40);
    s.wait_for("the enlarge message", |t| t.contains("Enlarge the window"));
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
}

#[test]
fn a_closed_terminal_ends_heaplab_like_a_hangup() {
    let s = Session::start(&["run", "buffer-reuse"]);
    s.wait_for("running", |t| t.contains("buffer-reuse naive"));
    let Session {
        mut child,
        writer,
        master,
        stop_reading,
        ..
    } = s;
    // Closing the terminal's master side (every copy: the reader thread drops its own at its
    // next read) hangs up the session, as closing a terminal window does.
    stop_reading.store(true, Ordering::Relaxed);
    drop(writer);
    drop(master);
    let deadline = Instant::now() + HANG_GUARD;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "heaplab kept running without its terminal"
        );
        thread::sleep(Duration::from_millis(50));
    };
    // SIGHUP (129), or the input thread's read error first: either way a clean, signalled end.
    assert_eq!(status.exit_code(), 128 + 1, "{status:?}");
}

#[test]
fn a_resize_storm_down_to_20x5_never_breaks_it() {
    let mut s = Session::start(&["run", "buffer-reuse"]);
    s.wait_for("running", |t| t.contains("buffer-reuse naive"));
    let sizes = [
        (5, 20),
        (36, 120),
        (24, 80),
        (5, 20),
        (12, 40),
        (50, 200),
        (5, 20),
    ];
    for round in 0..40 {
        let (rows, cols) = sizes[round % sizes.len()];
        s.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize");
        thread::sleep(Duration::from_millis(10));
    }
    s.screen
        .lock()
        .expect("parser")
        .screen_mut()
        .set_size(5, 20);
    s.wait_for("the enlarge message at 20x5", |t| {
        t.contains("heaplab needs")
    });
    assert!(
        s.child.try_wait().expect("wait").is_none(),
        "heaplab died in the storm"
    );
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
}

/// The worker processes `pid` has started (Linux's /proc; empty elsewhere).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}

#[test]
fn a_crashing_worker_is_that_runs_error_and_the_dashboard_goes_on() {
    let env = [(heaplab_experiments::fault::ENABLE, "1")];
    let mut s = Session::start_with_env(&["run", "fault", "--variant", "segfault"], &env);
    s.wait_for("the crash reported", |t| t.contains("crashed: SIGSEGV"));
    // It goes on: select the experiment above and run it.
    s.keys("k\r");
    s.wait_for("low-alloc-api running", |t| {
        t.contains("low-alloc-api naive") && t.contains("57.00")
    });
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

#[test]
fn a_worker_ends_when_its_dashboard_is_killed() {
    let s = Session::start(&["run", "buffer-reuse"]);
    s.wait_for("running", |t| {
        t.contains("buffer-reuse naive") && t.contains("1.00")
    });
    let pid = s.child.process_id().expect("a pid");
    let workers = children(pid);
    if cfg!(target_os = "linux") {
        assert_eq!(workers.len(), 1, "one worker process: {workers:?}");
    }
    s.signal("KILL");
    let deadline = Instant::now() + HANG_GUARD;
    while workers.iter().any(|&w| alive(w)) {
        assert!(
            Instant::now() < deadline,
            "worker {workers:?} outlived its parent"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// `a` on a running experiment: its worker captures sites, the view lists the lines it
/// allocates on; after a switch the old variant is the ghost, and the source view's gutters
/// carry the same figures, at the test's size and at 80x24.
#[test]
fn a_shows_where_the_running_variant_allocates_and_the_gutter_agrees() {
    // The naive variant's three allocating lines, found in its source (not numbers that move
    // when the file above them changes).
    let source = heaplab::catalog::find("in-place")
        .expect("in the catalog")
        .info()
        .source;
    let at = |code: &str| {
        let line = source
            .lines()
            .position(|l| l.contains(code))
            .unwrap_or_else(|| panic!("no line with {code:?}"));
        format!("chapter/in_place.rs:{}", line + 1)
    };
    let (valid, distinct, reversed) = (
        at(".filter(|&r| r != DROPOUT).collect();"),
        at("distinct.push(reading);"),
        at("distinct.into_iter().rev().map(to_fahrenheit).collect()"),
    );
    let mut s = Session::start(&["run", "in-place"]);
    s.wait_for("naive running", |t| t.contains("in-place naive"));
    s.keys("a");
    s.wait_for("naive's sites", |t| {
        t.contains("allocation sites · in-place · naive")
            && t.contains(&valid)
            && t.contains(&distinct)
            && t.contains(&reversed)
            && t.contains("the sites add up to 3.00 allocs/op")
    });
    s.keys(" ");
    s.wait_for("optimized, naive as the ghost", |t| {
        t.contains("allocation sites · in-place · optimized · ghost: naive")
            && t.contains("the sites add up to 0.00 allocs/op")
            && t.contains(&valid)
    });
    s.keys("s");
    s.wait_for("the gutters", |t| {
        t.contains(" source · in-place · ")
            && t.contains("measured: 3.00 allocs/op")
            && t.contains("measured: 0 allocs/op over")
            && t.contains("1.00")
    });
    s.resize(24, 80);
    s.wait_for("the gutters at 80x24", |t| {
        t.contains(" source · in-place · ") && t.contains("1.00") && t.contains("measured: 3.00")
    });
    s.keys("a");
    s.wait_for("the sites view at 80x24", |t| {
        t.contains("allocation sites · in-place") && t.contains(&valid)
    });
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}

/// Item 11 of "Nothing lost, nothing misread": quitting keeps what was measured, in a session
/// file whose path is printed on the way out, and `heaplab compare` reads it, saying that its
/// intervals are the dashboard's samples.
#[test]
fn quitting_keeps_the_sessions_figures_in_a_file_compare_reads() {
    let mut s = Session::start(&["run", "buffer-reuse"]);
    s.wait_for("naive measured", |t| {
        t.contains("allocation rate: ") && t.contains("1.00")
    });
    s.keys(" ");
    s.wait_for("optimized measured", |t| t.contains("optimized vs naive"));
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    let files: Vec<_> = std::fs::read_dir(s.data.path())
        .expect("the data directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "one session file: {files:?}");
    let path = &files[0];
    let screen: String = s.contents().lines().map(str::trim).collect();
    assert!(
        screen.contains(&path.display().to_string()),
        "the path is printed on exit: {}\n{screen}",
        path.display()
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("readable")).expect("JSON");
    assert_eq!(json["session"]["source"], "dashboard");
    let results = json["results"].as_array().expect("results");
    let variants: Vec<&str> = results
        .iter()
        .filter_map(|r| r["variant"].as_str())
        .collect();
    assert_eq!(variants, ["naive", "optimized"], "{json}");
    assert_eq!(results[0]["allocs_per_op"], 1.0, "naive's exact count");
    assert_eq!(results[1]["allocs_per_op"], 0.0, "optimized's exact count");
    let compared = std::process::Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .arg("compare")
        .args([path, path])
        .output()
        .expect("compare runs");
    let out = String::from_utf8_lossy(&compared.stdout);
    assert!(compared.status.success(), "{out}");
    assert!(out.contains("is a dashboard session"), "{out}");
}

/// `e` writes its SVG into heaplab's data directory (here `$XDG_DATA_HOME/heaplab`), never
/// into the directory the user stands in (a repository, often), and says the whole path.
#[test]
fn e_exports_into_the_data_directory_and_shows_the_whole_path() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("temp dir");
    let data_text = data.path().to_str().expect("utf-8");
    let mut s = Session::start_program(
        env!("CARGO_BIN_EXE_heaplab"),
        &["run", "buffer-reuse"],
        &[("XDG_DATA_HOME", data_text), ("HEAPLAB_DATA_DIR", "")],
        Some(cwd.path()),
    );
    s.wait_for("the experiment running", |t| {
        t.contains("buffer-reuse naive")
    });
    s.keys("e");
    let screen = s.wait_for("the export's notice", |t| {
        t.contains("wrote ") || t.contains("could not export")
    });
    let dir = data.path().join("heaplab");
    let written: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert_eq!(written.len(), 1, "{written:?}; screen:\n{screen}");
    let name = written[0]
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("heaplab-buffer-reuse-")
            && written[0].extension().is_some_and(|e| e == "svg"),
        "{name}"
    );
    // The whole path, wherever the notice wraps it.
    let unwrapped: String = screen.lines().map(str::trim).collect();
    assert!(
        unwrapped.contains(&written[0].display().to_string()),
        "{}; screen:\n{screen}",
        written[0].display()
    );
    let here: Vec<_> = std::fs::read_dir(cwd.path()).expect("list").collect();
    assert!(here.is_empty(), "written where the user stands: {here:?}");
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
}
