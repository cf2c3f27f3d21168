#!/usr/bin/env sh
# Compare the memory figures of two builds of a heaplab lab (the base branch's and the change's)
# and fail on an allocation regression. Any CI runs it; docs/ci.md shows a GitHub Actions job.
#
#   scripts/ci-memory.sh BASE_BINARY NEW_BINARY [bench arguments...]
#
# Each binary is a program whose main is `heaplab::Lab::...main()` (or heaplab itself). Both are
# benched on this machine with the same fixed operations, so every count is exact and any move
# is a change. Writes $HEAPLAB_CI_DIR (default: heaplab-ci) /base.json, new.json and comment.md,
# the markdown for a pull-request comment, which it also prints. Exit status: 0 when no
# allocation figure regressed, 1 when one did (a line per regression on stderr), 2 when a
# binary could not be benched or compared.
set -eu

if [ "$#" -lt 2 ]; then
  echo "usage: $0 BASE_BINARY NEW_BINARY [bench arguments...]" >&2
  exit 2
fi
base=$1
new=$2
shift 2
out=${HEAPLAB_CI_DIR:-heaplab-ci}
# Fixed operations and runs: counts over the same operations are exact.
iterations=${HEAPLAB_CI_ITERATIONS:-1000}
runs=${HEAPLAB_CI_RUNS:-3}
mkdir -p "$out"

bench() {
  bin=$1
  file=$2
  shift 2
  # A bench whose rows did not all run to the end (a panic, a budget) still wrote its export;
  # any other failure ends here with status 2.
  "$bin" bench --format json --iterations "$iterations" --runs "$runs" -o "$file" "$@" || {
    status=$?
    if [ ! -s "$file" ]; then
      echo "error: $bin bench failed (status $status) and wrote no export" >&2
      exit 2
    fi
  }
}
bench "$base" "$out/base.json" "$@"
bench "$new" "$out/new.json" "$@"

"$new" compare "$out/base.json" "$out/new.json" --format markdown > "$out/comment.md" || exit 2
cat "$out/comment.md"
# The gate: counts only (time from a shared CI runner is too noisy to fail a job on).
"$new" compare "$out/base.json" "$out/new.json" --fail-on allocs,reallocs,bytes,peak > /dev/null
