#!/usr/bin/env bash
# Usage: cargo build --release && scripts/dashboard-cpu.sh   (FPS=60 for 60 fps). Needs tmux.
# Dashboard CPU at 15 fps: the dashboard process's CPU, from /proc, over 60 s. The experiment
# runs in a worker process of its own (its child); any thread named heaplab-worker* that
# shows up in the dashboard's process is still subtracted.
set -u
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/heaplab}
SECONDS_MEASURED=${SECONDS_MEASURED:-60}
tmux kill-session -t cpu 2>/dev/null
tmux new-session -d -s cpu -x 140 -y 40 "'$BIN' run buffer-reuse --variant optimized --fps ${FPS:-15}"
sleep 12   # let the 60 s window fill partly and the process settle
pid=$(pgrep -o -x heaplab)   # the oldest: the dashboard, not its worker
tick=$(getconf CLK_TCK)
snap() {
  local total=0 worker=0
  for t in /proc/$pid/task/*; do
    name=$(cat $t/comm); read -r -a f < <(sed 's/.*) //' $t/stat)
    ticks=$(( ${f[11]} + ${f[12]} ))
    total=$((total + ticks)); [[ $name == heaplab-worker* ]] && worker=$((worker + ticks))
  done
  echo "$total $worker"
}
read t0 w0 < <(snap); s0=$(date +%s.%N)
sleep "$SECONDS_MEASURED"
read t1 w1 < <(snap); s1=$(date +%s.%N)
python3 -c "
t=($t1-$t0)/$tick; w=($w1-$w0)/$tick; s=$s1-$s0
print(f'wall {s:.1f}s  process {t:.2f}s  worker {w:.2f}s  dashboard {t-w:.2f}s = {100*(t-w)/s:.2f}% of one core')"
tmux capture-pane -t cpu -p | tail -1
tmux send-keys -t cpu q
