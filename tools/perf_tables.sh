#!/usr/bin/env bash
# Regenerates the tables of docs/performance.md on this machine:
# the public suite with peers, 1 thread (pinned to one core) and 2 threads,
# 7 repetitions each (medians), then tools/perf_report.py.
#   tools/perf_tables.sh            # uses build/ (BUILD_DIR to change)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -x "$build/convgen" ] || { echo "build first: tools/build.sh test" >&2; exit 2; }
reps=${REPS:-7}
last=$(( $(nproc) - 1 ))
taskset -c "$last" "$build/convgen" bench --suite bench/suite.txt --peers --threads 1 \
  --reps "$reps" --json "$build/perf-1t.json"
if [ "$(nproc)" -ge 2 ]; then
  "$build/convgen" bench --suite bench/suite.txt --peers --threads 2 \
    --reps "$reps" --json "$build/perf-2t.json"
  extra="$build/perf-2t.json"
else
  extra=""
fi
python3 tools/perf_report.py "$build/perf-1t.json" $extra --update docs/performance.md
echo "docs/performance.md updated" >&2
