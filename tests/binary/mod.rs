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
