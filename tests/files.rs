//! Every file heaplab writes, by the rules of `src/files.rs`, through the real binary's `-o`:
//! devices and FIFOs written in place (never replaced), symlinks followed to their target,
//! standard output written where it points, errors naming the user's path.

mod binary;

use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output};

use binary::{heaplab, stderr};
use rustix::fs::{CWD, FileType, Mode, makedev, mknodat};
use serde_json::Value;

/// A quick report (one row, measured in this process) written to `-o path`.
fn bench_to(path: &Path) -> Output {
    bench_command(path).output().expect("heaplab runs")
}

fn bench_command(path: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_heaplab"));
    command
        .args(["bench", "buffer-reuse", "--variant", "naive", "--runs", "1"])
        .args([
            "--iterations",
            "10",
            "--format",
            "json",
            "--in-process",
            "-o",
        ])
        .arg(path);
    command
}

fn is_report(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok_and(|json| {
        json["results"]
            .as_array()
            .is_some_and(|rows| rows.len() == 1)
    })
}

/// Makes the character device `major:minor` at `path`; `false` (and why, printed) where this
/// process may not (not root, or a container without the capability).
fn make_device(path: &Path, major: u32, minor: u32) -> bool {
    match mknodat(
        CWD,
        path,
        FileType::CharacterDevice,
        Mode::from_raw_mode(0o666),
        makedev(major, minor),
    ) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipped: cannot make a device node here ({e}); mknod needs CAP_MKNOD");
            false
        }
    }
}

fn is_char_device(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

/// Every file in `dir` but `keep`: temporary files left behind.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !keep.contains(&name.as_str()))
        .collect()
}

#[test]
fn a_device_is_written_in_place_and_stays_a_device() {
    let dir = tempfile::tempdir().expect("temp dir");
    let null = dir.path().join("null");
    if !make_device(&null, 1, 3) {
        return;
    }
    let out = bench_to(&null);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(is_char_device(&null), "the device was replaced");
    assert!(leftovers(dir.path(), &["null"]).is_empty());
}

#[test]
fn a_full_device_is_a_one_line_error_with_status_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let full = dir.path().join("full");
    if !make_device(&full, 1, 7) {
        return;
    }
    let out = bench_to(&full);
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert!(
        message.starts_with(&format!("error: could not write `{}`", full.display()))
            && message.contains("No space left on device"),
        "{message}"
    );
    assert!(is_char_device(&full), "the device was replaced");
}

#[test]
fn a_fifo_is_written_in_place_when_the_report_is_ready() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("report.fifo");
    mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o600), 0).expect("mkfifo");
    // Opening for reading blocks until heaplab opens it for writing, with the report ready.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut report = Vec::new();
            std::fs::File::open(&fifo)
                .and_then(|mut file| file.read_to_end(&mut report))
                .map(|_| report)
        })
    };
    let out = bench_command(&fifo).output().expect("heaplab runs");
    assert!(out.status.success(), "{}", stderr(&out));
    // Checked before the reader is joined: had the FIFO been replaced, it would wait forever.
    let kind = std::fs::symlink_metadata(&fifo)
        .expect("still there")
        .file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
    let report = reader.join().expect("reader").expect("read");
    assert!(is_report(&report), "{}", String::from_utf8_lossy(&report));
}

#[test]
fn a_symlink_is_followed_and_its_target_replaced_in_its_own_directory() {
    let links = tempfile::tempdir().expect("temp dir");
    let targets = tempfile::tempdir().expect("temp dir");
    let target = targets.path().join("report.json");
    std::fs::write(&target, "old").expect("written");
    // A private report stays private.
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let link = links.path().join("latest.json");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");

    let out = bench_to(&link);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert_eq!(std::fs::read_link(&link).expect("link"), target);
    assert!(is_report(&std::fs::read(&target).expect("target")));
    let meta = std::fs::metadata(&target).expect("target");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(leftovers(links.path(), &["latest.json"]).is_empty());
    assert!(leftovers(targets.path(), &["report.json"]).is_empty());
}

#[test]
fn a_dangling_symlink_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("latest.json");
    std::os::unix::fs::symlink(dir.path().join("nowhere.json"), &link).expect("symlink");
    let out = bench_to(&link);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("which does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(leftovers(dir.path(), &["latest.json"]).is_empty());
}

#[test]
fn dash_and_dev_stdout_write_to_standard_output_in_place() {
    let out = bench_to(Path::new("-"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(is_report(&out.stdout));

    // `heaplab ... -o /dev/stdout > out.json`: the shell's file, written through, not renamed
    // over (renaming would leave the shell's descriptor on a file no name reaches).
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.json");
    let file = std::fs::File::create(&path).expect("created");
    let inode = file.metadata().expect("meta").ino();
    let out = bench_command(Path::new("/dev/stdout"))
        .stdout(file)
        .output()
        .expect("heaplab runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::metadata(&path).expect("meta").ino(), inode);
    assert!(is_report(&std::fs::read(&path).expect("read")));
    assert!(leftovers(dir.path(), &["out.json"]).is_empty());
}

#[test]
fn errors_name_the_users_path_never_the_temporary_file() {
    let out = heaplab(&["bench", "-o", "/nonexistent/dir/report.json"]);
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{message}");
    assert!(
        message.contains("cannot write to `/nonexistent/dir/report.json`"),
        "{message}"
    );
    assert!(!message.contains(".heaplab-"), "{message}");
    assert!(!message.contains(".tmp"), "{message}");
}

/// A read-only directory, tried as an unprivileged user: root writes through permissions.
#[test]
fn a_read_only_directory_is_refused_before_any_work_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let read_only = dir.path().join("read-only");
    std::fs::create_dir(&read_only).expect("mkdir");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = read_only.join("report.json");
    let mut command = bench_command(&path);
    // `/proc/self` belongs to this process's effective user.
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        // As nobody: root is not refused by permissions.
        std::os::unix::process::CommandExt::uid(&mut command, 65534);
        std::os::unix::process::CommandExt::gid(&mut command, 65534);
    }
    let out = match command.output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: cannot run heaplab as an unprivileged user here: {e}");
            return;
        }
    };
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{message}");
    assert!(
        message.contains(&format!("cannot write to `{}`", path.display())),
        "{message}"
    );
    assert!(!message.contains(".heaplab-"), "{message}");
    assert!(leftovers(&read_only, &[]).is_empty());
}

/// What took the file's place between the claim and the commit is never removed: a FIFO made
/// where a new file was to go, or where a regular file was, stays, and the write is an error
/// naming the path (the rename swaps the names and puts back what is not a regular file).
#[test]
fn a_file_replaced_by_a_fifo_after_the_claim_is_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let existing = dir.path().join("existing.json");
    std::fs::write(&existing, "old").expect("written");
    for path in [dir.path().join("new.json"), existing] {
        let output = heaplab::files::Output::create(&path).expect("claimed");
        let _ = std::fs::remove_file(&path);
        mknodat(CWD, &path, FileType::Fifo, Mode::from_raw_mode(0o600), 0).expect("mkfifo");
        let error = output.commit(b"report").expect_err("refused").to_string();
        assert!(
            error.contains(&format!("`{}`", path.display())) && error.contains("became a FIFO"),
            "{error}"
        );
        let kind = std::fs::symlink_metadata(&path).expect("there").file_type();
        assert!(kind.is_fifo(), "{}: replaced by {kind:?}", path.display());
    }
    let mut left = leftovers(dir.path(), &["new.json", "existing.json"]);
    left.sort();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// A regular file that appeared after the claim of a new path is replaced like any other.
#[test]
fn a_file_made_after_the_claim_is_replaced_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json");
    let output = heaplab::files::Output::create(&path).expect("claimed");
    std::fs::write(&path, "someone else's").expect("written");
    output.commit(b"report").expect("written");
    assert_eq!(std::fs::read(&path).expect("read"), b"report");
    assert!(leftovers(dir.path(), &["report.json"]).is_empty());
}
