//! Test support shared by the test files that run the real `heaplab` binary headless.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for what it asked for before calling it a hang. Tests ask for work
/// (lines, samples, operations) and wait for it, never for a length of time: this bound only
/// turns a hang into a failure, minutes past what a machine five times slower than a laptop
/// needs (the suite must pass under `../shared/scripts/slow-machine cargo test --workspace`).
// Not every test file that shares this module waits.
#[allow(dead_code)]
pub const HANG_GUARD: Duration = Duration::from_secs(300);

/// Runs `heaplab` with `args` and waits for it.
// Not every test file that shares this module runs it to the end.
#[allow(dead_code)]
pub fn heaplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(args)
        .output()
        .expect("heaplab runs")
}

/// What a finished run wrote to stderr.
#[allow(dead_code)]
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether valgrind is here to cross-check us; without it, says what is skipped and returns
/// false, unless `HEAPLAB_REQUIRE_VALGRIND` is set (CI sets it, having installed valgrind).
// Not every test file that shares this module checks against valgrind.
#[allow(dead_code)]
pub fn valgrind_available(skipping: &str) -> bool {
    if Command::new("valgrind").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("HEAPLAB_REQUIRE_VALGRIND").is_none(),
        "HEAPLAB_REQUIRE_VALGRIND is set but valgrind is not installed"
    );
    eprintln!("valgrind not installed: skipping {skipping}");
    false
}

/// Runs `heaplab` with `args` and reads its standard output a line at a time until `enough`
/// is satisfied by the lines so far, then closes the pipe (which ends a trace quietly) and
/// waits for the process to exit. Returns the lines read and how it exited (its stderr).
/// Fails, saying it was waiting for `what`, if its output ends first or a line takes longer
/// than [`HANG_GUARD`].
// Not every test file that shares this module reads a trace.
#[allow(dead_code)]
pub fn lines_until(
    args: &[&str],
    what: &str,
    enough: impl Fn(&[String]) -> bool,
) -> (Vec<String>, Output) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("heaplab starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    // The reader owns the pipe: it drops it (closing it) at the first line nobody wants.
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while !enough(&lines) {
        match rx.recv_timeout(HANG_GUARD) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let output = child.wait_with_output().expect("heaplab ends");
                panic!(
                    "heaplab {args:?} ended before {what}; stdout:\n{}\nstderr:\n{}",
                    lines.join("\n"),
                    stderr(&output)
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "no line for {} s while waiting for {what} from heaplab {args:?}; stdout:\n{}",
                    HANG_GUARD.as_secs(),
                    lines.join("\n")
                );
            }
        }
    }
    drop(rx);
    let output = wait_exit(
        child,
        &format!("heaplab {args:?} to end once its reader left"),
    );
    reader.join().expect("reader thread");
    (lines, output)
}

/// Waits for `child` to exit, for at most [`HANG_GUARD`] (then kills it and fails, saying it
/// was waiting for `what`), and returns its output.
// Not every test file that shares this module waits for a process.
#[allow(dead_code)]
pub fn wait_exit(mut child: std::process::Child, what: &str) -> Output {
    let deadline = Instant::now() + HANG_GUARD;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("still waiting for {what} after {} s", HANG_GUARD.as_secs());
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("its output")
}
