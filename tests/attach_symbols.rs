//! The viewer names an attached program's lines from outside it: this test binary, run again
//! as a child, captures the stacks of allocations it makes at known lines and prints their raw
//! absolute addresses; `Symbols::open(child)` resolves them from `/proc/PID/exe` and its maps,
//! to the child's `file:line`, with std, the test harness and heaplab's own frames folded,
//! even after the child's executable was deleted or rebuilt; a program without line tables is
//! named by its functions; a process that does not exist is a clear error.

use std::hint::black_box;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use heaplab::attach::sites::{PlaceStack, PlacedStack};
use heaplab::attach::symbols::{
    MAX_CACHED_ADDRESSES, MAX_CACHED_BYTES, QUIET_BATCHES_BEFORE_RELEASE, Symbols, SymbolsError,
};
use heaplab_experiments::counting::{self, CountingAlloc};
use heaplab_experiments::sites::Capture;

#[global_allocator]
static ALLOC: CountingAlloc<std::alloc::System> = CountingAlloc::system();

/// Set in the child's environment: the `child` test runs only there.
const CHILD: &str = "HEAPLAB_SYMBOLS_TEST_CHILD";

/// The size of [`allocate_here`]'s allocation, which tells its stack from the other.
const BOX_BYTES: u64 = 40;

/// An allocation of [`BOX_BYTES`] at a line of this file.
#[inline(never)]
fn allocate_here() -> (Box<[u64; 5]>, u32) {
    (black_box(Box::new([7u64; 5])), line!())
}

/// An allocation made inside heaplab (`PlacedStack::location`, in `src/attach/sites.rs`) for
/// this file's line: heaplab's frame folds, the site is this line.
#[inline(never)]
fn allocate_through_heaplab(placed: &PlacedStack) -> (String, u32) {
    (black_box(placed.location()), line!())
}

/// The child: captures two allocations' stacks, prints them (`STACK WHICH LINE ADDR...`, the
/// addresses absolute, in hex), then `READY`, and waits for its standard input to close.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let placed = PlacedStack {
        function: "f".to_owned(),
        file: "a.rs".to_owned(),
        line: 1,
        stack: Vec::new(),
    };
    let slot = counting::register_worker().expect("a slot");
    let capture = Capture::begin(&slot).expect("the only capture");
    let (boxed, box_line) = allocate_here();
    let (text, heaplab_line) = allocate_through_heaplab(&placed);
    let raw = capture.end(1);
    black_box((boxed, text));
    for stack in &raw.stacks {
        let (which, line) = if stack.bytes == BOX_BYTES {
            ("box", box_line)
        } else {
            ("heaplab", heaplab_line)
        };
        let frames: Vec<String> = stack.frames.iter().map(|ip| format!("{ip:x}")).collect();
        println!("STACK {which} {line} {}", frames.join(" "));
    }
    println!("READY");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// A child process, ended when dropped (its standard input closed, then waited for).
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    /// (which, line, absolute addresses) of each stack it printed.
    stacks: Vec<(String, u32, Vec<u64>)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Running {
    /// Runs `exe` (this test binary, or a copy) as the child; returns once it printed READY.
    fn start(exe: &Path) -> Self {
        let mut attempts = 0;
        let mut child = loop {
            let spawned = Command::new(exe)
                .args(["--exact", "child", "--nocapture", "--test-threads=1"])
                .env(CHILD, "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn();
            match spawned {
                Ok(child) => break child,
                // A copy just written can be busy while another test's fork still holds it.
                Err(e) if e.raw_os_error() == Some(26) && attempts < 100 => {
                    attempts += 1;
                    std::thread::yield_now();
                }
                Err(e) => panic!("cannot run {}: {e}", exe.display()),
            }
        };
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut stacks = Vec::new();
        for line in stdout.lines() {
            let line = line.expect("the child's output");
            if line.contains("READY") {
                break;
            }
            let Some((_, stack)) = line.split_once("STACK ") else {
                continue;
            };
            let mut fields = stack.split_whitespace();
            let which = fields.next().expect("which").to_owned();
            let at = fields.next().expect("line").parse().expect("line");
            let frames = fields
                .map(|ip| u64::from_str_radix(ip, 16).expect("an address"))
                .collect();
            stacks.push((which, at, frames));
        }
        assert_eq!(stacks.len(), 2, "the child printed both stacks");
        Self {
            child,
            stdin,
            stacks,
        }
    }

    /// The line and addresses of the stack the child called `which`.
    fn stack(&self, which: &str) -> (u32, &[u64]) {
        let (_, line, frames) = self
            .stacks
            .iter()
            .find(|(w, _, _)| w == which)
            .unwrap_or_else(|| panic!("no {which} stack"));
        (*line, frames)
    }
}

const THIS_FILE: &str = "tests/attach_symbols.rs";

/// The box's stack placed at its line of this file, the frames around it folded.
fn check_box_stack(symbols: &mut Symbols, child: &Running) {
    let (line, frames) = child.stack("box");
    let placed = symbols.place(frames);
    assert_eq!(
        placed.location(),
        format!("{THIS_FILE}:{line}"),
        "{placed:#?}"
    );
    assert!(placed.function.ends_with("allocate_here"), "{placed:#?}");
    let own: Vec<_> = placed.stack.iter().filter(|f| !f.folded).collect();
    assert!(
        own.iter().all(|f| f.file == THIS_FILE),
        "only this file's frames are the program's own: {placed:#?}"
    );
    assert!(
        own.iter().any(|f| f.function.ends_with("child")),
        "the caller's frame is there too: {placed:#?}"
    );
    // The harness that ran the test (libtest, std) is there, folded.
    assert!(
        placed
            .stack
            .iter()
            .any(|f| f.folded && f.function.starts_with("test::")),
        "{placed:#?}"
    );
    assert!(!symbols.missing_line_tables());
}

#[test]
fn an_attached_programs_stacks_are_named_from_outside_with_their_lines() {
    let child = Running::start(&std::env::current_exe().expect("this test"));
    let mut symbols = Symbols::open(child.child.id()).expect("the child's symbols");
    check_box_stack(&mut symbols, &child);

    // Allocated inside heaplab (a file of this very workspace): heaplab's frame folds, and
    // the site is the line that called it.
    let (line, frames) = child.stack("heaplab");
    let placed = symbols.place(frames);
    assert_eq!(
        placed.location(),
        format!("{THIS_FILE}:{line}"),
        "{placed:#?}"
    );
    let heaplab = placed
        .stack
        .iter()
        .find(|f| f.file == "src/attach/sites.rs")
        .unwrap_or_else(|| panic!("heaplab's frame: {placed:#?}"));
    assert!(heaplab.folded, "{placed:#?}");
}

#[test]
fn the_debug_information_is_let_go_when_no_new_address_comes_and_read_again() {
    let child = Running::start(&std::env::current_exe().expect("this test"));
    let mut symbols = Symbols::open(child.child.id()).expect("the child's symbols");
    let (_, frames) = child.stack("box");
    let first = symbols.place(frames);
    let cached = symbols.cached_addresses();
    assert!(cached > 0 && cached <= frames.len(), "{cached}");
    // A batch that brought new addresses keeps the reader; quiet ones let it go.
    symbols.settle();
    assert!(symbols.holds_debug_info());
    for _ in 0..QUIET_BATCHES_BEFORE_RELEASE {
        assert!(symbols.holds_debug_info());
        assert_eq!(symbols.place(frames), first, "placed from the cache");
        symbols.settle();
    }
    assert!(!symbols.holds_debug_info());
    // A new stack reads it again.
    let (line, frames) = child.stack("heaplab");
    assert_eq!(
        symbols.place(frames).location(),
        format!("{THIS_FILE}:{line}")
    );
    assert!(symbols.holds_debug_info());
    // Read again after a release, it is kept twice as long: a program that keeps bringing new
    // stacks does not make the viewer parse its debug information over and over.
    symbols.settle();
    for _ in 0..2 * QUIET_BATCHES_BEFORE_RELEASE {
        assert!(symbols.holds_debug_info());
        symbols.settle();
    }
    assert!(!symbols.holds_debug_info());
}

/// However many addresses come, the cache stays within its bounds (it starts again when full).
#[test]
fn the_cache_of_resolved_addresses_stays_bounded() {
    let child = Running::start(&std::env::current_exe().expect("this test"));
    let mut symbols = Symbols::open(child.child.id()).expect("the child's symbols");
    let (_, frames) = child.stack("box");
    // Every address from the box's innermost frame on: each a new address of the program.
    let start = frames[0];
    let mut most = 0;
    for address in start..start + MAX_CACHED_ADDRESSES as u64 {
        symbols.place(&[address]);
        assert!(symbols.cached_bytes() <= MAX_CACHED_BYTES, "{address:#x}");
        assert!(symbols.cached_addresses() <= MAX_CACHED_ADDRESSES);
        if symbols.cached_addresses() < most {
            return;
        }
        most = symbols.cached_addresses();
    }
    panic!("the cache never started again: {most} addresses");
}

/// Set in the environment of a child that plays the viewer, alone in its process so that its
/// memory is its own: the `viewer` test runs only there.
const VIEWER: &str = "HEAPLAB_SYMBOLS_TEST_VIEWER";

/// This process's anonymous resident memory (the heap's pages), in KiB.
fn anonymous_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("our status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("RssAnon in /proc/self/status")
}

/// The viewer's side, alone in its process: resolves a child's stacks, then lets the debug
/// information go; prints `RSS HELD RELEASED` (anonymous KiB).
#[test]
fn viewer() {
    if std::env::var_os(VIEWER).is_none() {
        return;
    }
    let child = Running::start(&std::env::current_exe().expect("this test"));
    let mut symbols = Symbols::open(child.child.id()).expect("the child's symbols");
    check_box_stack(&mut symbols, &child);
    let held = anonymous_rss_kib();
    for _ in 0..=QUIET_BATCHES_BEFORE_RELEASE {
        symbols.settle();
    }
    assert!(!symbols.holds_debug_info());
    println!("RSS {held} {}", anonymous_rss_kib());
}

/// Reading a program's debug information takes tens of MB of small blocks; once let go, the
/// viewer's heap gives them back to the system instead of staying at its peak.
#[test]
fn the_viewers_memory_goes_back_down_when_the_debug_information_is_let_go() {
    let out = Command::new(std::env::current_exe().expect("this test"))
        .args(["--exact", "viewer", "--nocapture", "--test-threads=1"])
        .env(VIEWER, "1")
        .stdin(Stdio::null())
        .output()
        .expect("the viewer runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let (held, released): (u64, u64) = stdout
        .split_once("RSS ")
        .and_then(|(_, rest)| {
            let mut fields = rest.split_whitespace();
            Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
        })
        .unwrap_or_else(|| panic!("no RSS line: {stdout}"));
    assert!(
        released * 2 < held,
        "anonymous RSS {released} KiB once released, {held} KiB while held"
    );
}

#[test]
fn a_deleted_or_rebuilt_executable_still_resolves() {
    let dir = tempfile::tempdir().expect("a folder");
    let copy = dir.path().join("attach_symbols_copy");
    std::fs::copy(std::env::current_exe().expect("this test"), &copy).expect("a copy");
    let child = Running::start(&copy);
    // Rebuilt: the path now holds another file; the running program keeps the old one.
    std::fs::remove_file(&copy).expect("deleted");
    std::fs::write(&copy, b"not the program any more").expect("rebuilt");
    let mut symbols = Symbols::open(child.child.id()).expect("the child's symbols");
    check_box_stack(&mut symbols, &child);
}

#[test]
fn a_process_that_does_not_exist_is_a_clear_error() {
    // One above the largest id the kernel gives: no process can have it.
    let pid_max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .expect("pid_max")
        .trim()
        .parse()
        .expect("a number");
    let error = Symbols::open(pid_max + 1).expect_err("no such process");
    assert!(
        matches!(error, SymbolsError::NoProcess { pid } if pid == pid_max + 1),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&(pid_max + 1).to_string()), "{message}");
    assert!(message.contains("heaplab ps"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

/// A program built without debug information (`debug = 0`, as a release profile without
/// `debug = "line-tables-only"`): its function named from the symbol table, and the symbols
/// say line tables are missing.
#[test]
fn without_line_tables_the_function_names_the_site() {
    let dir = tempfile::tempdir().expect("a folder");
    let source = dir.path().join("tiny.rs");
    std::fs::write(
        &source,
        "#[inline(never)]\nfn keeps_growing() -> Vec<u8> { vec![1; 64] }\n\
         fn main() {\n    println!(\"{:x}\", keeps_growing as fn() -> Vec<u8> as usize);\n    \
         std::hint::black_box(keeps_growing());\n    \
         let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());\n}\n",
    )
    .expect("the source");
    let exe = dir.path().join("tiny");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let built = Command::new(rustc)
        .args(["-C", "debuginfo=0", "-C", "strip=debuginfo", "-o"])
        .arg(&exe)
        .arg(&source)
        .status()
        .expect("rustc runs");
    assert!(built.success(), "rustc built the tiny program");
    let mut child = Command::new(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the tiny program runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("its address");
    let function = u64::from_str_radix(line.trim(), 16).expect("an address");
    let mut symbols = Symbols::open(child.id()).expect("its symbols");
    // As a return address would be: inside the function (one byte in).
    let placed = symbols.place(&[function + 1]);
    drop(child.stdin.take());
    let _ = child.wait();
    assert_eq!(placed.function, "tiny::keeps_growing", "{placed:#?}");
    assert_eq!((placed.file.as_str(), placed.line), ("", 0));
    assert_eq!(placed.location(), "tiny::keeps_growing");
    assert!(symbols.missing_line_tables());
}
