//! `heaplab ps`: the programs a viewer may attach to, one line each (process id, program name
//! from `/proc/PID/comm`, socket, attachable or stale). Nothing is connected to: listing costs
//! the programs nothing.

use std::fmt::Write as _;

use crate::monitor::paths::{self, Found};

/// The table `heaplab ps` prints for `found`, or `None` when there is nothing to list.
#[must_use]
pub fn table(found: &[Found]) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    let names: Vec<String> = found
        .iter()
        .map(|f| {
            if f.alive {
                super::client::program_name(f.pid)
            } else {
                "-".to_owned()
            }
        })
        .collect();
    let width = names.iter().map(String::len).max().unwrap_or(0).max(7);
    let mut text = format!(
        "{:>7}  {:<width$}  {:<10}  SOCKET\n",
        "PID", "PROGRAM", "STATE"
    );
    for (f, name) in found.iter().zip(&names) {
        let state = if f.alive { "attachable" } else { "stale" };
        let _ = writeln!(
            text,
            "{:>7}  {name:<width$}  {state:<10}  {}",
            f.pid,
            f.socket.display()
        );
    }
    Some(text)
}

/// `heaplab ps`'s whole output: the table, or a line saying there is none and how to start
/// a monitor (and a line about stale sockets, which `attach` removes).
#[must_use]
pub fn report() -> (String, Option<String>) {
    let found = paths::sockets();
    let stale = found.iter().filter(|f| !f.alive).count();
    let note = match (found.is_empty(), stale) {
        (true, _) => Some(format!(
            "no program to attach to in {}: {}",
            paths::own_dir().display(),
            super::client::HOW_TO_START
        )),
        (false, 0) => None,
        (false, n) => Some(format!(
            "{} left by programs that are gone; `heaplab attach` removes them",
            crate::units::counted(n as u64, "stale socket")
        )),
    };
    (table(&found).unwrap_or_default(), note)
}

#[cfg(test)]
// Exact figures are the point of these tests, floats included.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_table_names_each_program_and_says_which_are_stale() {
        let me = std::process::id();
        let text = table(&[
            Found {
                pid: me,
                socket: PathBuf::from(format!("/tmp/heaplab-0/{me}.sock")),
                alive: true,
            },
            Found {
                pid: u32::MAX,
                socket: PathBuf::from("/tmp/heaplab-0/4294967295.sock"),
                alive: false,
            },
        ])
        .expect("a table");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains("PID") && lines[0].contains("SOCKET"));
        let comm = super::super::client::program_name(me);
        assert!(
            lines[1].contains(&comm) && lines[1].contains("attachable"),
            "{text}"
        );
        assert!(lines[2].contains("stale") && lines[2].contains("4294967295.sock"));
        assert_eq!(table(&[]), None);
    }
}
