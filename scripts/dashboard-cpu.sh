#!/usr/bin/env bash
# The dashboard's own CPU and memory over a long run, read from /proc (not from its status line).
#
#   cargo build --release && scripts/dashboard-cpu.sh                  # 60 minutes, compare mode, 80x24
#   MINUTES=2 COMPARE=0 COLS=140 ROWS=45 scripts/dashboard-cpu.sh       # a short look, one variant
#
# Runs `heaplab run EXPERIMENT` in tmux at COLSxROWS and FPS (default 15), presses `c` (compare
# mode: the variants alternate every 5 s) unless COMPARE=0, then reads the dashboard process's
# CPU ticks every second. The experiment runs in a worker process of its own (a child, not
# counted); any thread named heaplab-worker* in the dashboard's process is subtracted too.
# Prints, per minute: the dashboard's share of one core, its busiest 1-second span, and its RSS;
# then the whole run's share, the busiest 1-second span after the first 10 s, and RSS at start
# and end. Needs tmux and python3.
set -u
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/heaplab}
MINUTES=${MINUTES:-60}
EXPERIMENT=${EXPERIMENT:-buffer-reuse}
COLS=${COLS:-80}
ROWS=${ROWS:-24}
COMPARE=${COMPARE:-1}
session=heaplab-cpu-$$
tmux kill-session -t "$session" 2>/dev/null
tmux new-session -d -s "$session" -x "$COLS" -y "$ROWS" \
  "'$BIN' run $EXPERIMENT --fps ${FPS:-15}"
trap 'tmux kill-session -t "$session" 2>/dev/null' EXIT
sleep 2
pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
[[ -d /proc/$pid ]] || { echo "dashboard did not start" >&2; exit 1; }
[[ $COMPARE == 1 ]] && tmux send-keys -t "$session" c
ticks() {
  local total=0 name f
  for t in /proc/"$pid"/task/*; do
    name=$(cat "$t"/comm 2>/dev/null) || continue
    [[ $name == heaplab-worker* ]] && continue
    read -r -a f < <(sed 's/.*) //' "$t"/stat 2>/dev/null) || continue
    total=$((total + ${f[11]} + ${f[12]}))
  done
  echo "$total"
}
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/"$pid"/status; }
log=$(mktemp)
start=$(date +%s.%N)
for ((s = 0; s <= MINUTES * 60; s++)); do
  [[ -d /proc/$pid ]] || { echo "dashboard exited after $s s" >&2; break; }
  echo "$(date +%s.%N) $(ticks) $(rss_kb)" >>"$log"
  # Sleep to the next whole second of the run, so that spans stay one second long.
  sleep "$(python3 -c "import time; print(max(0.0, $start + $s + 1 - time.time()))")"
done
tmux capture-pane -t "$session" -p | tail -1
tmux send-keys -t "$session" q
python3 - "$log" "$(getconf CLK_TCK)" <<'EOF'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 3]
hz = float(sys.argv[2])
spans = [((b[1] - a[1]) / hz / (b[0] - a[0]) * 100, b[2]) for a, b in zip(rows, rows[1:])]
for minute in range(0, (len(spans) + 59) // 60):
    part = spans[minute * 60:(minute + 1) * 60]
    cpu = sum(c for c, _ in part) / len(part)
    print(f"minute {minute + 1:3}: {cpu:5.2f}% of one core, busiest second {max(c for c, _ in part):5.1f}%, "
          f"RSS {part[-1][1] / 1024:6.1f} MiB")
total = (rows[-1][1] - rows[0][1]) / hz / (rows[-1][0] - rows[0][0]) * 100
late = [c for c, _ in spans[10:]] or [0]
print(f"whole run ({(rows[-1][0] - rows[0][0]) / 60:.1f} min): {total:.2f}% of one core; busiest second after "
      f"the first 10 s: {max(late):.1f}%; RSS {rows[0][2] / 1024:.1f} -> {rows[-1][2] / 1024:.1f} MiB")
EOF
rm -f "$log"
