# Shared by the scripts that run the workshop's demo (examples/monitor_demo.rs) under watch:
# source it, then `demo_build` (release builds of heaplab and the demo; sets $demo, $heaplab)
# and `demo_socket PID` (waits for the demo's socket in $HEAPLAB_MONITOR_DIR).

# Builds heaplab and the demo (release) and sets $target, $demo and $heaplab.
demo_build() {
  cargo build --release --quiet --bin heaplab --example monitor_demo
  target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  demo="$target/release/examples/monitor_demo"
  heaplab="$target/release/heaplab"
}

# Waits (at most 5 s) for the socket of the demo with process id $1.
demo_socket() {
  local pid=$1
  for _ in $(seq 1 500); do
    [[ -S "$HEAPLAB_MONITOR_DIR/$pid.sock" ]] && return 0
    sleep 0.01
  done
  echo "no socket for $pid in $HEAPLAB_MONITOR_DIR" >&2
  return 1
}

# Makes a private monitor directory for the demos this script runs (exported as
# $HEAPLAB_MONITOR_DIR, named after $1), removed when the script ends, with the background
# jobs it started still running (its own only: a demo run elsewhere by the same path is not
# this script's to kill).
demo_dir() {
  export HEAPLAB_MONITOR_DIR
  HEAPLAB_MONITOR_DIR=$(mktemp -d "/tmp/hl-$1.XXXXXX")
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$HEAPLAB_MONITOR_DIR"' EXIT
}

# The demo's mean throughput from its output (its last line, `mean N lines/s ...`).
mean() { sed -n 's/^mean \([0-9]*\) lines\/s.*/\1/p'; }
