#!/usr/bin/env bash
# convgen reliability CI (issue 8): sanitizers and fuzzers.
#
#   tools/ci_reliability.sh            # asan tsan fuzz
#   tools/ci_reliability.sh asan tsan  # some parts: asan tsan fuzz huge
#
# Parts, each in its own build directory, each printing one PASS/FAIL line:
#   asan  the whole test suite (ctest) under ASan + UBSan, g++
#         (build-asan; UBSan findings are fatal: -fno-sanitize-recover=all)
#   tsan  the concurrency tests (CTest names matching thread|concurrent) under
#         TSan, g++ (build-tsan), with pthreadpool replaced by the
#         TSan-visible fuzz/tsan_pthreadpool.cc (Debian's is uninstrumented:
#         every tile would be a false race)
#   fuzz  each libFuzzer target for FUZZ_SECONDS (default 60), JOBS at a
#         time, under ASan (+ UBSan outside the kernel TUs: see
#         cmake/sanitize.cmake), clang (build-fuzz), after replaying the seed
#         corpora and fuzz/regressions/ through CTest
#
# Duration, fresh clone on this 2-core machine (apt packages present, JOBS=2):
# asan 298 s, tsan 79 s, fuzz 292 s; with the README test command (127 s)
# .ci/run took 13 min 18 s.
#   huge  (only when named, or CONVGEN_HUGE=1) the hidden [.huge] tests:
#         8.6 GB layers, > 2^31 elements, in the ASan build, only when
#         MemAvailable >= 14 GiB. Long: 690 s + 68 s in a Release build on
#         this 2-core machine under load, several times that under ASan.
#
# Environment: FUZZ_SECONDS (60), JOBS (nproc), BUILD_PREFIX (build).
# Exit status: 0 when every part that ran passed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=${JOBS:-$(nproc)}
prefix=${BUILD_PREFIX:-build}
parts=("$@")
if [ ${#parts[@]} -eq 0 ]; then
  parts=(asan tsan fuzz)
  [ "${CONVGEN_HUGE:-0}" = 1 ] && parts+=(huge)
fi

# Sanitizer runtime options. ASan: leaks are errors, a failed huge malloc
# returns null (so bad_alloc / error paths are tested rather than ASan's
# abort). UBSan: stack traces, stop at the first finding.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4"
unset CONVGEN_KERNEL CONVGEN_TARGET CONVGEN_WISDOM CONVGEN_VERBOSE

summary=()
failed=0
log_dir="$root/$prefix-reliability-logs"
mkdir -p "$log_dir"

now() { date +%s; }
# report NAME START RC DETAIL
report() {
  local name=$1 start=$2 rc=$3 detail=$4 secs=$(( $(now) - $2 ))
  local word=PASS
  [ "$rc" -ne 0 ] && { word=FAIL; failed=1; }
  local line
  line=$(printf '%-5s %-4s %4ss  %s' "$name" "$word" "$secs" "$detail")
  echo "=== $line"
  summary+=("$line")
}

configure() {  # DIR extra cmake args...
  local dir=$1
  shift
  cmake -S "$root" -B "$root/$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCONVGEN_BUILD_BENCH=OFF "$@" >"$log_dir/$dir.configure.log" 2>&1
}

part_asan() {
  local t0 dir=$prefix-asan
  t0=$(now)
  echo "=== asan: build $dir (g++, -fsanitize=address,undefined)"
  if ! configure "$dir" -DCONVGEN_SANITIZE=address,undefined ||
     ! cmake --build "$root/$dir" -j "$JOBS" >"$log_dir/asan.build.log" 2>&1; then
    tail -n 30 "$log_dir/asan.build.log"
    report asan "$t0" 1 "build failed ($log_dir/asan.build.log)"
    return
  fi
  echo "=== asan: ctest (whole suite)"
  (cd "$root/$dir" && ctest --output-on-failure -j "$JOBS" --timeout 1500) >"$log_dir/asan.ctest.log" 2>&1
  local rc=$?
  tail -n 15 "$log_dir/asan.ctest.log"
  report asan "$t0" $rc "$(grep -E 'tests passed' "$log_dir/asan.ctest.log" | tail -n 1)"
}

part_tsan() {
  local t0 dir=$prefix-tsan
  t0=$(now)
  echo "=== tsan: build $dir (g++, -fsanitize=thread)"
  # Peers off: oneDNN's OpenMP runtime is not TSan-instrumented either, and
  # the peers are not convgen's concurrency. TSan checks the plan's
  # threading (pool, tilings cache, per-thread scratch, tiles), not SIMD
  # code: AVX3 (this CPU's best) and SCALAR only, which roughly halves the
  # build; the target-by-target tests are the ASan part's.
  if ! configure "$dir" -DCONVGEN_SANITIZE=thread -DCONVGEN_WITH_PEERS=OFF \
       "-DCONVGEN_HWY_DISABLED_TARGETS=HWY_SSSE3|HWY_SSE4|HWY_AVX2" ||
     ! cmake --build "$root/$dir" -j "$JOBS" --target convgen_tests >"$log_dir/tsan.build.log" 2>&1; then
    tail -n 30 "$log_dir/tsan.build.log"
    report tsan "$t0" 1 "build failed ($log_dir/tsan.build.log)"
    return
  fi
  echo "=== tsan: ctest -R 'thread|concurrent'"
  (cd "$root/$dir" && ctest --output-on-failure -R 'thread|concurrent' --timeout 1500) >"$log_dir/tsan.ctest.log" 2>&1
  local rc=$?
  tail -n 12 "$log_dir/tsan.ctest.log"
  if grep -q "No tests were found" "$log_dir/tsan.ctest.log"; then rc=1; fi
  report tsan "$t0" $rc "$(grep -E 'tests passed' "$log_dir/tsan.ctest.log" | tail -n 1)"
}

part_fuzz() {
  local t0 dir=$prefix-fuzz
  t0=$(now)
  echo "=== fuzz: build $dir (clang, -fsanitize=fuzzer,address + undefined outside the kernel TUs)"
  if ! CXX=clang++ configure "$dir" -DCONVGEN_BUILD_FUZZERS=ON -DCONVGEN_WITH_PEERS=OFF ||
     ! cmake --build "$root/$dir" -j "$JOBS" --target fuzz_descriptor fuzz_npy fuzz_plan \
         $(grep -q 'src/wisdom.cc' "$root/CMakeLists.txt" && echo fuzz_wisdom) \
         >"$log_dir/fuzz.build.log" 2>&1; then
    tail -n 30 "$log_dir/fuzz.build.log"
    report fuzz "$t0" 1 "build failed ($log_dir/fuzz.build.log)"
    return
  fi
  local rc=0 detail="" name
  # Seeds and past crashes first (seconds).
  (cd "$root/$dir" && ctest --output-on-failure -R '^fuzz_') >"$log_dir/fuzz.seeds.log" 2>&1 || rc=1
  # The fuzzers run JOBS at a time (each is single-threaded).
  local bins=("$root/$dir"/fuzz/fuzz_*) pids=() names=() i
  for bin in "${bins[@]}"; do
    name=${bin##*/fuzz_}
    local corpus="$root/$dir/corpus/$name" artifacts="$root/$dir/artifacts/$name/"
    mkdir -p "$corpus" "$artifacts"
    local dict=()
    [ -f "$root/fuzz/$name.dict" ] && dict=(-dict="$root/fuzz/$name.dict")
    echo "=== fuzz: $name for ${FUZZ_SECONDS}s"
    # -rss_limit_mb / -malloc_limit_mb: a parser that allocates what a
    # hostile header declares is a finding, not a slow run.
    "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=4096 -malloc_limit_mb=2048 \
      -timeout=30 -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" \
      "$corpus" "$root/fuzz/corpus/$name" >"$log_dir/fuzz.$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
    if [ ${#pids[@]} -ge "$JOBS" ] || [ "$bin" = "${bins[-1]}" ]; then
      for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        local frc=$? runs
        name=${names[$i]}
        runs=$(grep -E '^stat::number_of_executed_units' "$log_dir/fuzz.$name.log" | awk '{print $2}')
        if [ $frc -ne 0 ]; then
          rc=1
          grep -E 'ERROR|fuzz_|SUMMARY|Test unit written' "$log_dir/fuzz.$name.log" | head -n 8
        fi
        detail+="$name=${runs:-?} runs$([ $frc -ne 0 ] && echo ' CRASH') "
      done
      pids=()
      names=()
    fi
  done
  report fuzz "$t0" $rc "$detail(${FUZZ_SECONDS}s each; artifacts in $dir/artifacts)"
}

part_huge() {
  local t0 dir=$prefix-asan avail
  t0=$(now)
  avail=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
  if [ "${avail:-0}" -lt 14 ]; then
    report huge "$t0" 0 "skipped: MemAvailable ${avail} GiB < 14 GiB"
    return
  fi
  if [ ! -x "$root/$dir/convgen_tests" ] && [ ! -x "$root/$dir/tests/convgen_tests" ]; then
    part_asan
  fi
  local bin="$root/$dir/tests/convgen_tests"
  [ -x "$bin" ] || bin="$root/$dir/convgen_tests"
  echo "=== huge: $bin [.huge] (8.6 GB layers)"
  "$bin" "[.huge]" --warn NoTests >"$log_dir/huge.log" 2>&1
  local rc=$?
  tail -n 5 "$log_dir/huge.log"
  report huge "$t0" $rc "$(grep -E 'test cases|All tests passed' "$log_dir/huge.log" | tail -n 1)"
}

for p in "${parts[@]}"; do
  case "$p" in
    asan) part_asan ;;
    tsan) part_tsan ;;
    fuzz) part_fuzz ;;
    huge) part_huge ;;
    *) echo "unknown part '$p' (asan tsan fuzz huge)" >&2; exit 2 ;;
  esac
done

echo
echo "convgen reliability summary (logs: $log_dir)"
for line in "${summary[@]}"; do echo "  $line"; done
exit $failed
