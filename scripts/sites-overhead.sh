#!/usr/bin/env bash
# What sampling sites costs a watched program, on the workshop's demo (release builds), with
# one worker (`--workers 1`: three workers on one lock move 30-40% from run to run, which
# would hide a cost of a few percent):
#   1. ROUNDS interleaved rounds of three runs of SECONDS each: the monitor started with
#      sampling off (HEAPLAB_SAMPLE_EVERY=0), started at the default rate with nobody
#      attached, and at the default rate attached by `heaplab attach --trace --sites`; the
#      demo's mean lines/s, each arm's median ratio to sampling off in the same round;
#   2. one run in three equal parts, unwatched, attached (`attach --trace --sites`), unwatched
#      again: the demo's once-a-second rates, attached against the parts around it.
#
# Usage: scripts/sites-overhead.sh [ROUNDS (5)] [SECONDS per run (8)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5}
seconds=${2:-8}
cd "$root"
source scripts/demo-lib.sh
demo_build
demo_dir sites

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $rounds rounds of $seconds s"
declare -a off sampled attached
for round in $(seq 1 "$rounds"); do
  off+=("$(HEAPLAB_SAMPLE_EVERY=0 "$demo" --workers 1 --seconds "$seconds" 2>/dev/null | mean)")
  sampled+=("$("$demo" --workers 1 --seconds "$seconds" 2>/dev/null | mean)")
  "$demo" --workers 1 --seconds "$seconds" >"$HEAPLAB_MONITOR_DIR/out" 2>/dev/null &
  pid=$!
  demo_socket "$pid"
  "$heaplab" attach "$pid" --trace --sites >/dev/null 2>&1 || true
  wait "$pid"
  attached+=("$(mean <"$HEAPLAB_MONITOR_DIR/out")")
  echo "round $round: sampling off ${off[-1]}, sampling ${sampled[-1]}, attached ${attached[-1]} lines/s"
done

# One run: unwatched, attached, unwatched, SECONDS each.
"$demo" --workers 1 --seconds $((3 * seconds)) >"$HEAPLAB_MONITOR_DIR/one" 2>/dev/null &
pid=$!
demo_socket "$pid"
sleep "$seconds"
"$heaplab" attach "$pid" --trace --sites >/dev/null 2>&1 &
viewer=$!
sleep "$seconds"
kill -INT "$viewer" 2>/dev/null || true
wait "$viewer" 2>/dev/null || true
wait "$pid"

python3 - "${off[*]}" "${sampled[*]}" "${attached[*]}" "$seconds" "$HEAPLAB_MONITOR_DIR/one" <<'PY'
import statistics, sys
off, sampled, attached = ([float(x) for x in arg.split()] for arg in sys.argv[1:4])
seconds, one = int(sys.argv[4]), sys.argv[5]
def compare(name, arm, base, base_name):
    ratios = [a / b for a, b in zip(arm, base)]
    print(f"{name}: median {statistics.median(arm):.0f} lines/s against {statistics.median(base):.0f} "
          f"{base_name}; median ratio of the rounds {statistics.median(ratios):.3f} "
          f"({min(ratios):.3f} to {max(ratios):.3f})")
compare("sampling at the default rate, nobody attached", sampled, off, "sampling off")
compare("sampling, attached (attach --trace --sites)", attached, off, "sampling off")
rates = [float(line.split()[0]) for line in open(one) if "lines/s  cache" in line]
# The first second (warm-up) and the seconds at each change are left out.
before = rates[1:seconds - 1]
during = rates[seconds + 1:2 * seconds - 1]
after = rates[2 * seconds + 1:3 * seconds - 1]
around = statistics.median(before + after)
print(f"one run: attached {statistics.median(during):.0f} lines/s (median of {len(during)} s) "
      f"against {around:.0f} unwatched around it ({len(before) + len(after)} s): "
      f"ratio {statistics.median(during) / around:.3f}")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
