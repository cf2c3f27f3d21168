#!/usr/bin/env bash
# Do scorecards taken one after the other agree? Runs PAIRS (default 5) pairs of back-to-back
# scorecards and counts, per pair, the verdicts that differ between its two scorecards (every
# experiment's allocations, peak heap, throughput, crate comparison and overall verdict).
#
#   cargo build --release && scripts/scorecard-pairs.sh          # 5 pairs, about 25 minutes
#   PAIRS=1 scripts/scorecard-pairs.sh                           # one pair
#
# Run it on a quiet machine: it measures speed. The goal (issue 28): over 5 pairs, at most one
# verdict differs in total. Needs python3.
set -euo pipefail
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/heaplab}
PAIRS=${PAIRS:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
total=0
for ((p = 1; p <= PAIRS; p++)); do
  "$BIN" scorecard --format json -o "$dir/a.json" 2>/dev/null
  "$BIN" scorecard --format json -o "$dir/b.json" 2>/dev/null
  differ=$(python3 - "$dir/a.json" "$dir/b.json" <<'PY'
import json, sys
a, b = (json.load(open(f))["scores"] for f in sys.argv[1:3])
keys = ["allocations", "peak_heap", "throughput", "crate_variant"]
out = []
for x, y in zip(a, b):
    for k in keys:
        if x[k]["verdict"] != y[k]["verdict"]:
            out.append(f'{x["experiment"]} {k}: {x[k]["verdict"]} / {y[k]["verdict"]} '
                       f'({x[k]["measured"]} / {y[k]["measured"]})')
    if x["overall"] != y["overall"]:
        out.append(f'{x["experiment"]} overall: {x["overall"]} / {y["overall"]}')
print(len(out))
for line in out:
    print("  " + line, file=sys.stderr)
PY
)
  echo "pair $p: $differ verdict(s) differ"
  total=$((total + differ))
done
echo "over $PAIRS pairs: $total verdict(s) differ in total"
