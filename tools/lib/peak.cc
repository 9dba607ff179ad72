// convgen tools: peak FLOP/s, clock and memory bandwidth (see peak.h).
#include "peak.h"

#include <hwy/aligned_allocator.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "targets.h"

namespace convgen {
namespace tools {
namespace {

// Every figure here is timed in CPU time of the calling thread, not wall
// time: the loops touch no shared resource but the core itself, so CPU time
// describes the machine even while other jobs time-share the core (measured
// with load average 6 on this 2-core machine: wall-clock AVX3 58 GFLOP/s,
// half the true peak). The memory figures, too, exclude the time the thread
// was descheduled; they cannot exclude other jobs' DRAM traffic.
struct ThreadCpuClock {
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<ThreadCpuClock, duration>;
  static time_point now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(duration(int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec));
  }
};
using Clock = ThreadCpuClock;

// Upper bound of the bandwidth buffer: far beyond the 32 MiB L3, and small
// enough not to crowd the other users of this shared machine.
constexpr size_t kMaxMemoryBytes = size_t{256} << 20;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Stats {
  double median = 0, min = 0, max = 0;
  double spread() const { return median > 0 ? (max - min) / median : 0; }
};

Stats Summarise(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

// Runs fn(i) for i = 0 .. threads-1 at once, each on its own thread (0 on the
// caller's), released together once all have started, and returns the sum
// of what they return (rates, each timed by its thread's CPU clock).
template <typename Fn>
double SumConcurrently(int threads, const Fn& fn) {
  if (threads <= 1) return fn(0);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> rate(static_cast<size_t>(threads), 0.0);
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i)
    workers.emplace_back([&, i] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      rate[static_cast<size_t>(i)] = fn(i);
    });
  while (ready.load() < threads - 1) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  rate[0] = fn(0);
  for (std::thread& w : workers) w.join();
  double sum = 0;
  for (double r : rate) sum += r;
  return sum;
}

// Doubles `count` from `start` until one call of fn(count) takes at least
// `calibrate_s`, then returns the count for one repetition of `rep_s`. The
// calibration calls also serve as warm-up (clock ramp-up, page faults).
template <typename Fn>
uint64_t Calibrate(const Fn& fn, uint64_t start, double calibrate_s, double rep_s) {
  uint64_t count = std::max<uint64_t>(start, 1);
  for (;;) {
    const auto t0 = Clock::now();
    fn(count);
    const double s = SecondsSince(t0);
    if (s >= calibrate_s || count >= (uint64_t{1} << 40)) {
      const double scaled = static_cast<double>(count) * rep_s / std::max(s, 1e-9);
      return std::max<uint64_t>(1, static_cast<uint64_t>(scaled));
    }
    count *= 2;
  }
}

// Sink for results the optimiser must not see as dead.
volatile double g_sink;

#if defined(__x86_64__) || defined(__i386__)
constexpr int kAddsPerIteration = 128;
// `iterations` x kAddsPerIteration dependent integer adds: one per cycle on
// every x86 core (the loop counter runs on another ALU in parallel), so
// adds / seconds is the core clock. Inline asm: a C++ loop would be folded.
void DependentAdds(uint64_t iterations) {
  uint64_t x = 0;
  __asm__ volatile(
      "1:\n\t"
      ".rept 128\n\t"
      "add $1, %0\n\t"
      ".endr\n\t"
      "dec %1\n\t"
      "jnz 1b\n\t"
      : "+r"(x), "+r"(iterations)
      :
      : "cc");
  g_sink = static_cast<double>(x);
}
#endif

}  // namespace

double CpuinfoClockGhz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 7, "cpu MHz") != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const double mhz = std::atof(line.c_str() + colon + 1);
    if (mhz > 0) return mhz / 1000.0;
  }
  return 0;
}

double MeasureClockGhz(int reps, double rep_seconds, double* spread) {
#if defined(__x86_64__) || defined(__i386__)
  const uint64_t iters = Calibrate(DependentAdds, 1024, 0.01, rep_seconds);
  std::vector<double> ghz;
  for (int r = 0; r < std::max(1, reps); ++r) {
    const auto t0 = Clock::now();
    DependentAdds(iters);
    ghz.push_back(static_cast<double>(iters) * kAddsPerIteration / SecondsSince(t0) * 1e-9);
  }
  const Stats s = Summarise(ghz);
  if (spread) *spread = s.spread();
  return s.median;
#else
  (void)reps;
  (void)rep_seconds;
  if (spread) *spread = 0;
  return 0;
#endif
}

namespace {

bool IsSupported(int64_t target) {
  const std::vector<int64_t> s = convgen::internal::SupportedCompiledTargets();
  return std::find(s.begin(), s.end(), target) != s.end();
}

// GFLOP/s of each repetition of the FMA loop; 10 ms of calibration first
// (which is also the warm-up).
// With threads > 1, each repetition runs the loop on every thread at once and
// sums their rates.
Stats TimeFmaLoop(const peak_internal::FmaLoop& loop, int reps, double rep_seconds,
                  int threads = 1) {
  const auto run = [&](uint64_t iters) { g_sink = loop.run(iters); };
  const uint64_t iters = Calibrate(run, 1 << 12, 0.01, rep_seconds);
  const double flops_per_call = static_cast<double>(iters) * peak_internal::kFmaChains * 2.0 *
                                static_cast<double>(loop.lanes);
  std::vector<double> gflops;
  for (int r = 0; r < std::max(1, reps); ++r) {
    gflops.push_back(SumConcurrently(threads, [&](int) {
      const auto t0 = Clock::now();
      const volatile double sink = loop.run(iters);  // per thread: no shared write
      (void)sink;
      return flops_per_call / SecondsSince(t0) * 1e-9;
    }));
  }
  return Summarise(gflops);
}

}  // namespace

double MeasureFmaPeakGflops(int64_t target, int reps, double rep_seconds, double* spread) {
  if (spread) *spread = 0;
  if (!IsSupported(target)) return 0;
  const peak_internal::FmaLoop loop = peak_internal::ResolveFmaLoop(target);
  if (loop.run == nullptr) return 0;
  const Stats s = TimeFmaLoop(loop, reps, rep_seconds);
  if (spread) *spread = s.spread();
  return s.median;
}

PeakResult MeasurePeak(const PeakOptions& options) {
  PeakResult result;
  result.reps = std::max(1, options.reps);
  result.threads = std::max(1, options.threads);
  const std::vector<int64_t> targets =
      options.targets.empty() ? convgen::internal::SupportedCompiledTargets() : options.targets;
  if (options.measure_clock) {
    result.clock_ghz = MeasureClockGhz(result.reps, options.rep_seconds, &result.clock_spread);
    result.clock_source = "dependent integer-add chain";
    if (result.clock_ghz <= 0) {
      result.clock_ghz = CpuinfoClockGhz();
      result.clock_source =
          result.clock_ghz > 0 ? "/proc/cpuinfo cpu MHz (may be the timer rate)" : "";
    }
  }
  for (int64_t t : targets) {
    if (!IsSupported(t)) continue;
    const peak_internal::FmaLoop loop = peak_internal::ResolveFmaLoop(t);
    if (loop.run == nullptr) continue;
    TargetPeak p;
    p.target = t;
    p.name = convgen::internal::TargetName(t);
    p.lanes = loop.lanes;
    p.native_fma = loop.native_fma;
    const Stats s = TimeFmaLoop(loop, result.reps, options.rep_seconds, result.threads);
    p.gflops = s.median;
    p.best_gflops = s.max;
    p.spread = s.spread();
    if (result.clock_ghz > 0) p.flop_per_cycle = p.gflops / result.clock_ghz;
    result.targets.push_back(p);
  }

  if (options.memory_bytes >= (size_t{1} << 20)) {
    // Floats, rounded down to a multiple of 2 x 64 bytes so each half of the
    // copy is a whole number of cache lines.
    const size_t bytes = std::min(options.memory_bytes, kMaxMemoryBytes);
    const size_t n = bytes / sizeof(float) / 32 * 32;
    hwy::AlignedFreeUniquePtr<float[]> buf = hwy::AllocateAligned<float>(n);
    if (buf) {
      // First touch of every page outside the timed region; non-zero data.
      for (size_t i = 0; i < n; ++i) buf[i] = static_cast<float>(i & 1023) * (1.0f / 1024);
      result.memory_bytes = n * sizeof(float);
      // Each repetition: whole passes until >= rep_seconds (one pass of
      // 256 MiB at ~23 GB/s is ~12 ms); pass(i) returns the bytes it moved.
      // One untimed repetition warms up. With threads > 1, thread i makes
      // passes over its slice i (whole cache lines) and the rates are summed.
      const int threads = result.threads;
      const auto slice = [threads](size_t floats, int i, size_t* begin) {
        const size_t lines = floats / 16, t = static_cast<size_t>(threads);
        const size_t u = static_cast<size_t>(i);
        *begin = lines * u / t * 16;
        return lines * (u + 1) / t * 16 - *begin;
      };
      const auto time_passes = [&](const auto& pass) {
        std::vector<double> gbs;
        for (int r = 0; r <= result.reps; ++r) {
          const double rate = SumConcurrently(threads, [&](int i) {
            int passes = 0;
            double bytes = 0, s = 0;
            const auto t0 = Clock::now();
            do {
              bytes = pass(i);
              ++passes;
              s = SecondsSince(t0);
            } while (s < options.rep_seconds);
            return bytes * passes / s * 1e-9;
          });
          if (r > 0) gbs.push_back(rate);
        }
        return Summarise(gbs);
      };
      const Stats read = time_passes([&](int i) {
        size_t begin = 0;
        const size_t floats = slice(n, i, &begin);
        const volatile double sink = peak_internal::SumFloatsBestTarget(buf.get() + begin, floats);
        (void)sink;
        return static_cast<double>(floats * sizeof(float));
      });
      result.read_gbs = read.median;
      result.read_spread = read.spread();
      // glibc's memcpy switches to non-temporal stores above ~3/4 of the L3
      // size, so no read-for-ownership of the destination: bytes moved = read
      // + written, as STREAM counts them.
      const size_t half = n / 2;
      const Stats copy = time_passes([&](int i) {
        size_t begin = 0;
        const size_t floats = slice(half, i, &begin);
        std::memcpy(buf.get() + half + begin, buf.get() + begin, floats * sizeof(float));
        const volatile float last = buf[half + begin + floats - 1];  // keeps the copy
        (void)last;
        return 2.0 * static_cast<double>(floats * sizeof(float));
      });
      result.copy_gbs = copy.median;
      result.copy_spread = copy.spread();
    }
  }
  return result;
}

namespace {
std::mutex peak_mutex;
bool peak_measured = false;  // guarded by peak_mutex
double peak_cache = 0;       // guarded by peak_mutex

double MeasureBestTargetPeak() {
  PeakOptions o;
  o.reps = 5;
  o.rep_seconds = 0.04;
  o.measure_clock = false;
  o.memory_bytes = 0;
  const std::vector<int64_t> supported = convgen::internal::SupportedCompiledTargets();
  if (!supported.empty()) o.targets = {supported.front()};
  return MeasurePeak(o).best_gflops();
}
}  // namespace

double CachedPeakGflops() {
  std::lock_guard<std::mutex> lock(peak_mutex);
  if (!peak_measured) {  // once per process, as before RefreshPeakGflops (even if 0)
    peak_cache = MeasureBestTargetPeak();
    peak_measured = true;
  }
  return peak_cache;
}

double RefreshPeakGflops() {
  const double again = MeasureBestTargetPeak();
  std::lock_guard<std::mutex> lock(peak_mutex);
  peak_cache = std::max(peak_cache, again);
  peak_measured = true;
  return peak_cache;
}

}  // namespace tools
}  // namespace convgen
