#!/usr/bin/env bash
# What watching a program costs, on the workshop's demo (examples/monitor_demo.rs), release
# builds, one session, rounds interleaved so that the machine's drift hits every arm alike:
#   1. the demo's own throughput (its `mean N lines/s` over --seconds) in three arms:
#      `--no-monitor`, the monitor started with nobody attached, and attached by
#      `heaplab attach --trace` for the whole run; medians, and each arm's median ratio to
#      the unwatched run of the same round;
#   2. the viewer's CPU: `heaplab attach PID` drawing in a pseudo-terminal (at --fps 15) for
#      SECS seconds, its charts and then its growing sites (`g`), `heaplab attach --trace` and
#      `--trace --sites`, each from utime + stime in /proc/PID/stat.
#
# Usage: [WARM=seconds before measuring a viewer (3)] scripts/monitor-overhead.sh [ROUNDS (5; 0: the
#        viewer only)] [SECONDS per run (8)] [VIEWER SECONDS (60)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5}
seconds=${2:-8}
viewer_seconds=${3:-60}
cd "$root"
source scripts/demo-lib.sh
demo_build
demo_dir overhead

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $rounds rounds of $seconds s"
declare -a off started attached
for round in $(seq 1 "$rounds"); do
  off+=("$("$demo" --no-monitor --seconds "$seconds" 2>/dev/null | mean)")
  started+=("$("$demo" --seconds "$seconds" 2>/dev/null | mean)")
  "$demo" --seconds "$seconds" >"$HEAPLAB_MONITOR_DIR/out" 2>/dev/null &
  pid=$!
  demo_socket "$pid"
  "$heaplab" attach "$pid" --trace >/dev/null 2>&1 || true
  wait "$pid"
  attached+=("$(mean <"$HEAPLAB_MONITOR_DIR/out")")
  echo "round $round: off ${off[-1]}, started ${started[-1]}, attached ${attached[-1]} lines/s"
done

(( rounds > 0 )) && python3 - "${off[*]}" "${started[*]}" "${attached[*]}" <<'PY'
import statistics, sys
off, started, attached = ([float(x) for x in arg.split()] for arg in sys.argv[1:4])
def compare(name, arm, base, base_name):
    ratios = [a / b for a, b in zip(arm, base)]
    print(f"{name}: median {statistics.median(arm):.0f} lines/s against {statistics.median(base):.0f} "
          f"{base_name}; median ratio of the rounds {statistics.median(ratios):.3f} "
          f"({min(ratios):.3f} to {max(ratios):.3f})")
# Unwatched, the demo's threads share one counter slot (atomics every thread writes: contended);
# started, each has its own, so "started" is the baseline of what attaching costs.
compare("monitor started, nobody attached", started, off, "with --no-monitor")
compare("attached (attach --trace)", attached, started, "started, nobody attached")
PY

# The viewer's own CPU, drawing at 15 fps in a pseudo-terminal, then tracing.
"$demo" --seconds $(((viewer_seconds + ${WARM:-3}) * 4 + 40)) >/dev/null 2>&1 &
pid=$!
demo_socket "$pid"
python3 - "$heaplab" "$pid" "$viewer_seconds" <<'PY'
import fcntl, os, pty, struct, sys, termios, threading, time
heaplab, pid, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
warm = max(0.0, float(os.environ.get("WARM", "3")) - 1.5)
tick = os.sysconf("SC_CLK_TCK")
def monitor_cpu():
    """The demo's CPU ticks: its monitor's threads (heaplab-*), and the whole process."""
    own = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{task}/comm").read().strip()
            fields = open(f"/proc/{pid}/task/{task}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if name.startswith("heaplab-"):
            own += int(fields[11]) + int(fields[12])
    return own, cpu(pid)
def cpu(child):
    fields = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
def measure(args, label, keys=b""):
    child, fd = pty.fork()
    if child == 0:
        os.environ["TERM"] = "xterm-256color"
        # 80x24, as a terminal of its own would be (a new pty has no size).
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.execv(heaplab, [heaplab] + args)
    def drain():
        while True:
            try:
                if not os.read(fd, 65536):
                    return
            except OSError:
                return
    threading.Thread(target=drain, daemon=True).start()
    time.sleep(1.5)
    os.write(fd, keys)  # a view to open (g: the growing sites), if any
    time.sleep(warm)  # start-up and the first frames (WARM seconds in all), not counted
    a, t, (own_a, all_a) = cpu(child), time.monotonic(), monitor_cpu()
    time.sleep(secs)
    b, elapsed, (own_b, all_b) = cpu(child), time.monotonic() - t, monitor_cpu()
    print(f"{label}: {(b - a) / tick:.2f} s of CPU over {elapsed:.0f} s = "
          f"{100 * (b - a) / tick / elapsed:.2f}% of a core")
    # What serving the viewer costs the program, from its own threads' CPU: a bound on the
    # throughput it can lose that does not drown in the demo's run-to-run noise.
    print(f"  the demo's monitor threads meanwhile: {(own_b - own_a) / tick:.2f} s of CPU, "
          f"{100 * (own_b - own_a) / max(1, all_b - all_a):.3f}% of the demo's "
          f"{(all_b - all_a) / tick:.1f} s")
    os.kill(child, 2)
    os.waitpid(child, 0)
measure(["attach", pid, "--fps", "15"], "viewer (heaplab attach, 15 fps, 80x24 pty)")
measure(["attach", pid, "--fps", "15"], "viewer, growing sites open (g)", b"g")
measure(["attach", pid, "--trace"], "viewer (heaplab attach --trace)")
measure(["attach", pid, "--trace", "--sites"], "viewer (heaplab attach --trace --sites)")
PY
kill "$pid" 2>/dev/null || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
