#!/usr/bin/env bash
# Regenerates assets/attach.svg, the picture in docs/attach.md: the workshop's demo
# (examples/monitor_demo.rs, release build) watched by `heaplab attach` for 100 frames (10 s),
# the view drawn off-screen at 100x30 (`attach --screenshot`).
#
# Usage: scripts/attach-picture.sh [FILE (assets/attach.svg)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/assets/attach.svg}
cd "$root"
cargo build --release --quiet --bin heaplab --example monitor_demo
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export HEAPLAB_MONITOR_DIR
HEAPLAB_MONITOR_DIR=$(mktemp -d /tmp/hl-picture.XXXXXX)
"$target/release/examples/monitor_demo" >/dev/null 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null || true; rm -rf "$HEAPLAB_MONITOR_DIR"' EXIT
for _ in $(seq 1 500); do
  [[ -S "$HEAPLAB_MONITOR_DIR/$demo.sock" ]] && break
  sleep 0.01
done
# Its cache fills in its first second: the picture shows the service as it runs on.
sleep 2
"$target/release/heaplab" attach "$demo" --screenshot "$out" --frames 100
