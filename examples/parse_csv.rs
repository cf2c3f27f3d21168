//! Your own code in heaplab: access-log lines parsed into records that own their text (three
//! `String`s a line), into records that reuse their buffers, and into records that borrow from
//! the line. `cargo run --release --example parse_csv` opens the dashboard on them;
//! `cargo run --release --example parse_csv -- bench` measures them headless.

use std::process::ExitCode;

#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

/// `2026-12-02T08:00:07Z,GET,/api/users/42,200,1532`
struct Owned {
    time: String,
    method: String,
    path: String,
    status: u16,
    bytes: u64,
}

struct Borrowed<'a> {
    time: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    bytes: u64,
}

fn parse_borrowed(line: &str) -> Option<Borrowed<'_>> {
    let mut field = line.split(',');
    Some(Borrowed {
        time: field.next()?,
        method: field.next()?,
        path: field.next()?,
        status: field.next()?.parse().ok()?,
        bytes: field.next()?.parse().ok()?,
    })
}

fn parse_owned(line: &str) -> Option<Owned> {
    let r = parse_borrowed(line)?;
    Some(Owned {
        time: r.time.to_owned(),
        method: r.method.to_owned(),
        path: r.path.to_owned(),
        status: r.status,
        bytes: r.bytes,
    })
}

/// Parses into `out`, keeping its strings' buffers: no allocation once they are long enough.
fn parse_into(line: &str, out: &mut Owned) -> bool {
    let Some(r) = parse_borrowed(line) else {
        return false;
    };
    for (to, from) in [
        (&mut out.time, r.time),
        (&mut out.method, r.method),
        (&mut out.path, r.path),
    ] {
        to.clear();
        to.push_str(from);
    }
    (out.status, out.bytes) = (r.status, r.bytes);
    true
}

/// `lines` log lines, the same every run.
fn make_log(lines: usize) -> Vec<String> {
    let methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];
    (0..lines)
        .map(|i| {
            let status = [200, 200, 200, 304, 404, 500][i * 7 % 6];
            let path = format!("/api/users/{}/orders/{}", i * 31 % 997, i % 13);
            format!(
                "2026-12-02T08:{:02}:{:02}Z,{},{path},{status},{}",
                i / 60 % 60,
                i % 60,
                methods[i % 6],
                i * 37 % 4096
            )
        })
        .collect()
}

/// What a batch adds up to: errors, bytes sent, and the length of the paths and times seen.
fn summary<'a>(
    records: impl Iterator<Item = (&'a str, &'a str, &'a str, u16, u64)>,
) -> (u64, u64, usize) {
    records.fold(
        (0, 0, 0),
        |(errors, bytes, text), (time, method, path, status, sent)| {
            (
                errors + u64::from(status >= 500),
                bytes + sent,
                text + time.len() + method.len() + path.len(),
            )
        },
    )
}

fn main() -> ExitCode {
    heaplab::Lab::new()
        .experiment("parse-csv", |e| {
            e.title("Access-log lines into records")
                .why("owned records allocate three strings a line; reused records keep their buffers; borrowed records point into the line and allocate nothing")
                .size("lines per batch", 1_000)
                .input(make_log)
                .work("lines", |log| log.len() as u64)
                .op("owned", |log| {
                    let records: Vec<Owned> = log.iter().filter_map(|l| parse_owned(l)).collect();
                    summary(records.iter().map(|r| (&*r.time, &*r.method, &*r.path, r.status, r.bytes)))
                })
                .op_mut("reused", |log| {
                    let mut records: Vec<Owned> = log
                        .iter()
                        .map(|_| Owned { time: String::new(), method: String::new(), path: String::new(), status: 0, bytes: 0 })
                        .collect();
                    move |log| {
                        let mut n = 0;
                        for line in log {
                            n += usize::from(parse_into(line, &mut records[n]));
                        }
                        summary(records[..n].iter().map(|r| (&*r.time, &*r.method, &*r.path, r.status, r.bytes)))
                    }
                })
                .op("borrowed", |log| {
                    summary(log.iter().filter_map(|l| parse_borrowed(l)).map(|r| (r.time, r.method, r.path, r.status, r.bytes)))
                })
        })
        .with_chapter()
        .main()
}
