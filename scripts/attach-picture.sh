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
source scripts/demo-lib.sh
demo_build
demo_dir picture
"$demo" >/dev/null 2>&1 &
pid=$!
demo_socket "$pid"
# Its cache fills in its first second: the picture shows the service as it runs on.
sleep 2
"$heaplab" attach "$pid" --screenshot "$out" --frames 100
