#!/usr/bin/env bash
# How long a user's crate takes to build from scratch with heaplab as a dependency: the full
# build (default features: dashboard and chapter) against the headless one (`default-features
# = false`). Each build is a new crate in a temporary folder, with its own empty target folder,
# depending on this heaplab by path with this workspace's Cargo.lock (same versions), timed for
# `cargo build --release` and, in another empty target folder, `cargo bench --no-run` (what a
# user runs first). Prints one line per build and a summary with the ratio and the machine's
# load. Two figures per build: the wall-clock time (what a user waits for; other work on the
# machine makes it longer) and the CPU time of the build's processes (user + system: what the
# build costs, which other work hardly moves, so its ratio holds on a busy machine too).
#
# Usage: nice -n 10 scripts/build-time.sh        (takes minutes: four builds from scratch)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/heaplab-build-time.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Builds of our own only: nothing from a shared cache or an outer build.
unset CARGO_TARGET_DIR RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER

# A user's crate as docs/your-own-code.md describes it: one experiment of its own, in a
# binary and in a harness-less bench.
user_crate() { # dir dependency-keys
  local dir=$1 keys=$2
  mkdir -p "$dir/src" "$dir/benches"
  cat >"$dir/Cargo.toml" <<TOML
[package]
name = "userlab"
version = "0.1.0"
edition = "2024"

[dependencies]
heaplab = { path = "$root"$keys }

[[bench]]
name = "lab"
harness = false

[profile.release]
debug = "line-tables-only"

[workspace]
TOML
  cp "$root/Cargo.lock" "$dir/Cargo.lock"
  local lab='#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn main() -> std::process::ExitCode {
    heaplab::Lab::new()
        .experiment("join", |e| {
            e.size("words", 100)
                .variant("concat", |size| {
                    let words: Vec<String> = (0..size).map(|i| i.to_string()).collect();
                    move || words.concat().len()
                })
                .variant("join", |size| {
                    let words: Vec<String> = (0..size).map(|i| i.to_string()).collect();
                    move || words.join(" ").len()
                })
        })
        .main()
}'
  printf '%s\n' "$lab" >"$dir/src/main.rs"
  printf '%s\n' "$lab" >"$dir/benches/lab.rs"
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

declare -A took cpu_took
for build in full headless; do
  keys=""
  [[ $build == headless ]] && keys=", default-features = false"
  for command in "build --release" "bench --no-run"; do
    dir="$work/$build-${command%% *}"
    user_crate "$dir" "$keys"
    before=$(load)
    # Wall-clock, user and system seconds of the build and every process it ran.
    # shellcheck disable=SC2086 # the command's words
    if ! timing=$( {
      TIMEFORMAT='%R %U %S'
      # (The braces: a redirection on the timed command itself would take `time`'s report too.)
      time { (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo $command --quiet) >"$work/log" 2>&1; }
    } 2>&1); then
      cat "$work/log" >&2
      exit 1
    fi
    read -r seconds user system <<<"$timing"
    cpu=$(echo "$user + $system" | bc)
    took["$build $command"]=$seconds
    cpu_took["$build $command"]=$cpu
    printf '%-9s %-16s %7.1f s (CPU %7.1f s)   load before %s, after %s\n' \
      "$build" "cargo $command" "$seconds" "$cpu" "$before" "$(load)"
    rm -rf "$dir"
  done
done

echo
echo "machine: $(nproc) cores, $(uname -m), $(rustc --version)"
for command in "build --release" "bench --no-run"; do
  full=${took["full $command"]}
  headless=${took["headless $command"]}
  printf 'cargo %-16s full %6.1f s, headless %6.1f s: headless takes %.0f%% of the full build\n' \
    "$command" "$full" "$headless" "$(echo "100 * $headless / $full" | bc -l)"
  full=${cpu_took["full $command"]}
  headless=${cpu_took["headless $command"]}
  printf '      %-16s CPU  %6.1f s, headless %6.1f s: %.0f%% of the full build'"'"'s CPU time\n' \
    "" "$full" "$headless" "$(echo "100 * $headless / $full" | bc -l)"
done
