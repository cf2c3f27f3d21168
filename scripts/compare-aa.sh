#!/usr/bin/env bash
# How often `heaplab compare --run` cries wolf, and how often it catches a real slowdown, on
# this machine (run it on a quiet one; its figures go in docs/commands.md, never in CI).
#
#   scripts/compare-aa.sh [REPETITIONS]   (default 10)
#
# A/A: the same heaplab binary against itself, REPETITIONS times, over 20 rows of the
# chapter; every row whose time is called changed is a false positive (goal: at most 1 in 20).
# Planted: a lab built twice, once with a variant that does 10% more work per operation, its
# other variant unchanged; caught when that row is called slower (goal: 9 of 10), and a false
# positive when the unchanged row is called changed.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-10}
rounds=${ROUNDS:-6}
time_per_run=${TIME_PER_RUN:-0.1}

cargo build --release --quiet
heaplab=$PWD/target/release/heaplab
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count_changed() { # a compare JSON on stdin -> "changed total" over rows with a time verdict
  python3 -c '
import json, sys
rows = [c for c in json.load(sys.stdin)["comparisons"] if "time_verdict" in c]
print(sum(1 for c in rows if c["significant"]), len(rows))'
}

# 20 rows: buffer-reuse (3), in-place (2), preallocation (3), inline-storage (4),
# sync-pool (3), size-classes (3), low-alloc-api (2).
rows_args=(buffer-reuse in-place preallocation inline-storage sync-pool size-classes
  low-alloc-api --time "$time_per_run")
flagged=0 total=0
for i in $(seq "$reps"); do
  read -r changed rows < <("$heaplab" compare --run "$heaplab" "$heaplab" --rounds "$rounds" \
    --format json -- "${rows_args[@]}" | count_changed)
  flagged=$((flagged + changed)) total=$((total + rows))
  echo "A/A $i: $changed of $rows rows called changed"
done
echo "A/A: $flagged of $total rows called changed (goal: at most 1 in 20)"

# The planted slowdown: the same lab, `work` summing 10% more numbers in the slow build.
mkdir -p "$work/lab/src/bin"
cat > "$work/lab/Cargo.toml" <<TOML
[package]
name = "planted"
version = "0.1.0"
edition = "2024"

[dependencies]
heaplab = { path = "$PWD" }

[workspace]
TOML
cp Cargo.lock "$work/lab/"
for build in base slow; do
  extra=0
  [[ $build == slow ]] && extra=100
  cat > "$work/lab/src/bin/$build.rs" <<RUST
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn main() -> std::process::ExitCode {
    heaplab::Lab::new()
        .experiment("planted", |e| {
            e.size("numbers", 1000)
                .variant("steady", |size| {
                    let data: Vec<u64> = (0..size as u64).collect();
                    move || data.iter().map(|n| n.wrapping_mul(2_654_435_761)).fold(0, u64::wrapping_add)
                })
                .variant("work", |size| {
                    let data: Vec<u64> = (0..(size * (100 + $extra) / 100) as u64).collect();
                    move || data.iter().map(|n| n.wrapping_mul(2_654_435_761)).fold(0, u64::wrapping_add)
                })
        })
        .main()
}
RUST
done
# This checkout's target folder: heaplab is already built there, only the two binaries are new.
target=$PWD/target
(cd "$work/lab" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --bins)
caught=0 wrong=0
for i in $(seq "$reps"); do
  json=$("$target/release/slow" compare --run "$target/release/base" "$target/release/slow" \
    --rounds "$rounds" --format json -- --time "$time_per_run")
  verdicts=$(python3 -c '
import json, sys
rows = {c["variant"]: c for c in json.load(sys.stdin)["comparisons"]}
print(rows["work"]["time_verdict"], rows["steady"]["significant"])' <<<"$json")
  read -r work_verdict steady_flagged <<<"$verdicts"
  [[ $work_verdict == regressed ]] && caught=$((caught + 1))
  [[ $steady_flagged == True ]] && wrong=$((wrong + 1))
  echo "planted $i: work $work_verdict, steady called changed: $steady_flagged"
done
echo "planted 10% slowdown: caught in $caught of $reps (goal: 9 of 10); the unchanged row called changed $wrong times"
