//! The workshop's program to watch while it runs: a log-ingesting service. Three named workers
//! (`ingest-1`..`ingest-3`) parse generated access-log lines into records and fold them into a
//! bounded cache of per-path statistics that evicts its oldest entry when full. One kind of key
//! is never evicted: a login's session, kept "until logout", which never comes. That is the
//! slow leak to find, well under 1% of the bytes the service allocates.
//!
//! `cargo run --release --example monitor_demo` in one terminal, `heaplab attach` in another
//! (docs/monitor.md). It prints its own throughput once a second. `--seconds N` stops it
//! after N seconds (and prints the mean); `--no-monitor` runs it unwatched, for measuring what
//! the monitor costs; `--workers N` runs N workers instead of three.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

/// Paths the cache keeps statistics for, at most; the oldest goes first.
const CACHE_ENTRIES: usize = 10_000;
/// Distinct user pages the generator requests: more than the cache holds, so it evicts.
const USERS: u64 = 50_000;
/// One line in this many is a login, whose session is cached and never evicted.
const LOGIN_EVERY: u64 = 1_000;
/// What a session keeps beside its start time (its user's permissions and preferences, say):
/// what each leaked session holds, so the leak is about half a kilobyte per thousand lines,
/// some 0.3% of what the service allocates.
const SESSION_STATE: usize = 512;
/// Lines a worker parses before it takes the cache's lock once for all of them.
const BATCH: usize = 64;

const USAGE: &str = "usage: monitor_demo [--seconds N] [--workers N] [--no-monitor]";

struct Args {
    /// Run time; `None`: until interrupted.
    seconds: Option<u64>,
    /// Whether to call `heaplab::monitor::start()`.
    monitor: bool,
    /// Worker threads (3; 1 for measuring: no lock contention, whose noise would hide small
    /// costs).
    workers: u64,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        seconds: None,
        monitor: true,
        workers: 3,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs a number of seconds")?;
                let seconds = value.parse::<u64>().ok().filter(|&s| s > 0).ok_or(format!(
                    "--seconds {value}: expected a whole number above 0"
                ))?;
                parsed.seconds = Some(seconds);
            }
            "--workers" => {
                let value = args.next().ok_or("--workers needs a number of threads")?;
                parsed.workers = value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or(format!(
                        "--workers {value}: expected a whole number from 1 to 64"
                    ))?;
            }
            "--no-monitor" => parsed.monitor = false,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(parsed)
}

/// One parsed line: `2026-12-02T08:00:07.123Z level=info svc=api GET /api/users/42 200 1532 12ms`.
struct Record {
    time: String,
    level: String,
    service: String,
    method: String,
    path: String,
    status: u16,
    bytes: u64,
    millis: u32,
    session: Option<String>,
}

fn parse(line: &str) -> Option<Record> {
    let mut field = line.split(' ');
    let time = field.next()?.to_owned();
    let level = field.next()?.strip_prefix("level=")?.to_owned();
    let service = field.next()?.strip_prefix("svc=")?.to_owned();
    let method = field.next()?.to_owned();
    let path = field.next()?.to_owned();
    let status = field.next()?.parse().ok()?;
    let bytes = field.next()?.parse().ok()?;
    let millis = field.next()?.strip_suffix("ms")?.parse().ok()?;
    let session = field
        .next()
        .and_then(|f| f.strip_prefix("session="))
        .map(str::to_owned);
    Some(Record {
        time,
        level,
        service,
        method,
        path,
        status,
        bytes,
        millis,
        session,
    })
}

/// The lines a worker receives (here: made up, deterministically per worker).
struct Source(u64);

impl Source {
    fn next_u64(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn line(&mut self) -> String {
        let r = self.next_u64();
        let (ms, secs) = (r % 1000, (r >> 10) % 60);
        let time = format!("2026-12-02T08:00:{secs:02}.{ms:03}Z");
        if r.is_multiple_of(LOGIN_EVERY) {
            let session = self.next_u64();
            return format!(
                "{time} level=info svc=auth POST /login 200 312 4ms session={session:016x}"
            );
        }
        let user = (r >> 16) % USERS;
        let status = if r % 50 == 1 { 404 } else { 200 };
        let level = if status == 200 { "info" } else { "warn" };
        format!(
            "{time} level={level} svc=api GET /api/users/{user} {status} {} {}ms",
            (r >> 32) % 4096,
            (r >> 48) % 200
        )
    }
}

#[derive(Default)]
struct PathStats {
    requests: u64,
    bytes: u64,
    errors: u64,
    slowest_millis: u32,
}

/// A logged-in user's session. Kept, never read again: that is the leak.
#[expect(
    dead_code,
    reason = "a session is kept and never read: the leak itself"
)]
struct Session {
    /// When it started.
    started: String,
    /// What it keeps for its user, [`SESSION_STATE`] bytes.
    state: Box<[u8]>,
}

/// Per-path statistics, bounded (oldest first out), and the sessions, which nothing evicts.
#[derive(Default)]
struct Cache {
    paths: HashMap<String, PathStats>,
    order: VecDeque<String>,
    evicted: u64,
    /// The leak: a session is kept until its logout, and no logout ever comes. (Ordered by id,
    /// in a B-tree, which grows a node at a time: the heap climbs steadily, with none of a
    /// hash table's doublings.)
    sessions: BTreeMap<String, Session>,
    /// The bytes the sessions' keys, start times and states hold (their table not counted).
    session_bytes: u64,
}

impl Cache {
    fn add(&mut self, record: Record) {
        if let Some(session) = record.session {
            let state = vec![0u8; SESSION_STATE].into_boxed_slice();
            self.session_bytes +=
                (session.capacity() + record.time.capacity() + state.len()) as u64;
            let kept = Session {
                started: record.time,
                state,
            };
            self.sessions.insert(session, kept);
            return;
        }
        if !self.paths.contains_key(&record.path) {
            if self.order.len() == CACHE_ENTRIES
                && let Some(oldest) = self.order.pop_front()
            {
                self.paths.remove(&oldest);
                self.evicted += 1;
            }
            self.order.push_back(record.path.clone());
        }
        let stats = self.paths.entry(record.path).or_default();
        stats.requests += 1;
        stats.bytes += record.bytes;
        stats.errors += u64::from(record.status >= 400 || record.level != "info");
        stats.slowest_millis = stats.slowest_millis.max(record.millis);
        // The service and method would go to other aggregates; here they are only parsed.
        drop((record.service, record.method));
    }
}

/// What the workers share.
#[derive(Default)]
struct Service {
    cache: Mutex<Cache>,
    lines: AtomicU64,
    stop: AtomicBool,
}

fn ingest(service: &Service, seed: u64) {
    let mut source = Source(seed);
    let mut batch = Vec::with_capacity(BATCH);
    while !service.stop.load(Ordering::Relaxed) {
        batch.extend((0..BATCH).filter_map(|_| parse(&source.line())));
        let mut cache = service.cache.lock().unwrap_or_else(PoisonError::into_inner);
        for record in batch.drain(..) {
            cache.add(record);
        }
        drop(cache);
        service.lines.fetch_add(BATCH as u64, Ordering::Relaxed);
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("monitor_demo: {message}");
            return ExitCode::from(2);
        }
    };
    if args.monitor {
        if let Err(error) = heaplab::monitor::start() {
            eprintln!("monitor_demo: {error}");
            return ExitCode::FAILURE;
        }
        eprintln!(
            "monitor_demo: pid {}; watch it with `heaplab attach {}`",
            std::process::id(),
            std::process::id()
        );
    }
    let service = Arc::new(Service::default());
    let mut workers = Vec::new();
    for n in 1..=args.workers {
        let service = Arc::clone(&service);
        let spawned = std::thread::Builder::new()
            .name(format!("ingest-{n}"))
            .spawn(move || ingest(&service, n));
        match spawned {
            Ok(worker) => workers.push(worker),
            Err(error) => {
                eprintln!("monitor_demo: cannot start worker ingest-{n}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let start = Instant::now();
    let mut last = (start, 0u64);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = Instant::now();
        let lines = service.lines.load(Ordering::Relaxed);
        let rate = (lines - last.1) as f64 / (now - last.0).as_secs_f64();
        let cache = service.cache.lock().unwrap_or_else(PoisonError::into_inner);
        println!(
            "{rate:>10.0} lines/s  cache {} paths ({} evicted)  {} sessions holding {} bytes \
             (never evicted)",
            cache.paths.len(),
            cache.evicted,
            cache.sessions.len(),
            cache.session_bytes
        );
        drop(cache);
        last = (now, lines);
        if args
            .seconds
            .is_some_and(|s| now - start >= Duration::from_secs(s))
        {
            break;
        }
    }
    service.stop.store(true, Ordering::Relaxed);
    for worker in workers {
        if worker.join().is_err() {
            eprintln!("monitor_demo: a worker panicked");
            return ExitCode::FAILURE;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let lines = service.lines.load(Ordering::Relaxed);
    println!(
        "mean {:.0} lines/s ({lines} lines in {elapsed:.1} s, monitor {})",
        lines as f64 / elapsed,
        if args.monitor { "started" } else { "off" }
    );
    ExitCode::SUCCESS
}
