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
