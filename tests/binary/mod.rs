//! Test support shared by the test files that run the real `heaplab` binary headless.

use std::process::{Command, Output};

/// Runs `heaplab` with `args` and waits for it.
pub fn heaplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(args)
        .output()
        .expect("heaplab runs")
}

/// What a finished run wrote to stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
