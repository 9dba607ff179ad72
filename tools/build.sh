#!/usr/bin/env bash
# convgen quick start: check (and, as root, install) the Debian packages,
# build Release with Ninja, then either run the main job or the tests.
#
#   tools/build.sh bench [convgen bench options]   # the per-CPU benchmark of the
#                                                  # public layer suite, with peers
#   tools/build.sh test                            # build and pass the test suite
#
# BUILD_DIR (default: build) picks the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
[ $# -gt 0 ] && shift
case "$mode" in
  bench|test) ;;
  *) echo "usage: tools/build.sh bench|test [options]" >&2; exit 2 ;;
esac

# Required to build and test; the peers (oneDNN, XNNPACK) and numpy are for
# the benchmark's side-by-side columns and the .npy interoperability test.
required="g++ cmake ninja-build python3 libhwy-dev catch2 libbenchmark-dev libpthreadpool-dev libcli11-dev"
optional="libdnnl-dev libxnnpack-dev python3-numpy"
missing=""
for pkg in $required $optional; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "convgen: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing >/dev/null
  else
    echo "convgen: missing Debian packages:$missing" >&2
    echo "run: sudo apt-get install -y$missing" >&2
    for pkg in $required; do
      case " $missing " in *" $pkg "*) exit 2 ;; esac
    done
  fi
fi

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"

if [ "$mode" = bench ]; then
  # One thread, pinned when taskset exists: per-core figures, comparable with
  # the peers (which get the same thread count). Given --threads (e.g.
  # `--threads 1,2`: both counts in turns, with a scaling column), the
  # caller's counts run instead, unpinned: a pin to one core would put a
  # 2-thread pool's workers on that core too.
  threads="--threads 1"
  pin=""
  command -v taskset >/dev/null && pin="taskset -c $(( $(nproc) - 1 ))"
  for arg in "$@"; do
    case "$arg" in --threads|--threads=*) threads=""; pin="" ;; esac
  done
  exec $pin "$build/convgen" bench --suite bench/suite.txt --peers $threads "$@"
else
  cd "$build"
  exec ctest --output-on-failure -j "$(nproc)"
fi
