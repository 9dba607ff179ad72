#!/usr/bin/env bash
# Regenerates the tables of docs/performance.md on this machine: the public
# suite with peers at 1 and 2 threads (`--threads 1,2`: each layer's 1- and
# 2-thread plans take their repetitions in turns, so the scaling is taken
# over the same seconds; each peer runs at both counts, in turns with our
# plan of that count), and issue
# 4's eight k×k layers (taken from bench/suite.txt by perf_report.py
# --kxk-suite) on AVX3 and AVX2, their repetitions in turns, RUNS times
# (default 3), 7 repetitions each (medians), then tools/perf_report.py, which
# reports per layer the median over the runs of each figure and of each
# per-run ratio (the host is shared: a slow minute then moves one run of
# three, not the table). About 4 minutes per run (peers timed in turns with
# convgen since session 12).
#   tools/perf_tables.sh            # uses build/ (BUILD_DIR to change)
#   RUNS=1 tools/perf_tables.sh     # one run
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -x "$build/convgen" ] || { echo "build first: tools/build.sh test" >&2; exit 2; }
reps=${REPS:-7}
runs=${RUNS:-3}
last=$(( $(nproc) - 1 ))
counts=1
[ "$(nproc)" -ge 2 ] && counts=1,2
python3 tools/perf_report.py --kxk-suite bench/suite.txt > "$build/suite_kxk.txt"
files=()
targets=()
peaks=()
for run in $(seq 1 "$runs"); do
  echo "run $run of $runs" >&2
  "$build/convgen" bench --suite bench/suite.txt --peers --threads "$counts" \
    --reps "$reps" --json "$build/perf-threads-$run.json"
  files+=("$build/perf-threads-$run.json")
  taskset -c "$last" "$build/convgen" bench --suite "$build/suite_kxk.txt" --target AVX3,AVX2 \
    --threads 1 --reps "$reps" --json "$build/perf-targets-$run.json"
  targets+=("$build/perf-targets-$run.json")
  # Each target's FMA peak on this core: AVX2's is AVX3's on Zen 4, half of
  # it on Zen 5 (perf_report.py compares the targets' shares of their peaks).
  taskset -c "$last" "$build/convgen" peak --json "$build/perf-peak-$run.json" >/dev/null
  peaks+=("$build/perf-peak-$run.json")
done
python3 tools/perf_report.py "${files[@]}" --targets "${targets[@]}" --peaks "${peaks[@]}" \
  --update docs/performance.md
echo "docs/performance.md updated" >&2
