// convgen tools: what this machine can do at best, measured — the yardstick
// behind every "% of peak" that `convgen bench` and the benchmarks print.
//
//  - fp32 FMA peak per Highway target (compiled into convgen and supported by
//    this CPU): kFmaChains independent vector accumulator chains, unrolled, in a
//    long loop (peak_simd.cc). FLOPs = 2 * lanes per MulAdd (on SSE4 and
//    SCALAR Highway's MulAdd is a multiply then an add: still 2 FLOPs).
//  - the core clock, from a dependent chain of integer adds (1 cycle each on
//    every x86 core since the P6), so FLOP/cycle can be printed. /proc/cpuinfo
//    is only a fallback: on this machine its "cpu MHz" (2596) is the timer
//    rate, not the 3.67 GHz the core runs at (TOOLCHAIN.md §7).
//  - single-thread memory bandwidth: a streaming read (sum) of a buffer of up
//    to 256 MiB and a copy (memcpy) of one half of it into the other.
//
// Figures are medians of repetitions; the spread is (max - min) / median.
// Every loop is timed in the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
// not wall time, so the figures describe the machine, not its load: at load
// average 7 on this 2-core machine the wall-clock AVX3 figure was 58 GFLOP/s
// (the core time-shared), the CPU-time figure 116.8-117.1.
// Expected here (Zen 4, TOOLCHAIN.md §7): ~117.5 GFLOP/s = 32 FLOP/cycle for
// both AVX3 and AVX2 (a zmm FMA is double-pumped), ~23 GB/s read.
#ifndef CONVGEN_TOOLS_PEAK_H_
#define CONVGEN_TOOLS_PEAK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace convgen {
namespace tools {

struct PeakOptions {
  int reps = 5;
  // Wall time of one repetition of a compute measurement; long enough to
  // dwarf the timer and the loop set-up, short enough that a preemption by
  // a compile job on this shared machine spoils one repetition, not all.
  double rep_seconds = 0.04;
  // Highway targets to measure (HWY_AVX3, ...); empty = every compiled target
  // this CPU supports, best first.
  std::vector<int64_t> targets;
  bool measure_clock = true;
  // Threads running each measurement at once (FMA loop: each the same loop;
  // memory: each its own slice of the buffer); a figure is the sum of the
  // threads' rates, each timed in its own CPU time. 1 = the per-core peak
  // that "% of peak" divides by.
  int threads = 1;
  // Bytes of the memory-bandwidth buffer (read: all of it; copy: one half
  // into the other); 0 skips the memory measurement.
  size_t memory_bytes = size_t{256} << 20;
};

struct TargetPeak {
  int64_t target = 0;         // HWY_AVX3, ...
  std::string name;           // "AVX3"
  size_t lanes = 0;           // fp32 lanes per vector
  bool native_fma = false;    // false: MulAdd is a multiply then an add
  double gflops = 0;          // median of the repetitions
  double best_gflops = 0;     // fastest repetition
  double spread = 0;          // (max - min) / median
  double flop_per_cycle = 0;  // gflops / clock_ghz, 0 without a clock
};

struct PeakResult {
  std::vector<TargetPeak> targets;  // in the order measured (best first)
  double clock_ghz = 0;             // 0 = unknown
  std::string clock_source;         // how clock_ghz was obtained
  double clock_spread = 0;
  size_t memory_bytes = 0;  // 0 = memory not measured
  double read_gbs = 0, read_spread = 0;
  // Copy counts the bytes read plus the bytes written (STREAM's convention).
  double copy_gbs = 0, copy_spread = 0;
  int reps = 0;
  int threads = 1;

  // The first (best) target's median GFLOP/s, 0 if none was measured.
  double best_gflops() const { return targets.empty() ? 0 : targets[0].gflops; }
};

PeakResult MeasurePeak(const PeakOptions& options = PeakOptions());

// FMA peak of one target (GFLOP/s, median of `reps`); *spread may be null.
// Returns 0 if the target is not compiled into convgen_tools or unsupported.
double MeasureFmaPeakGflops(int64_t target, int reps, double rep_seconds, double* spread);

// The best supported target's FMA peak per core, measured once per process on
// first use (~0.3 s) and cached; thread-safe. This is what "% of peak" means
// in `convgen bench` and convgen_gbench.
double CachedPeakGflops();

// Measures the peak again and keeps the larger of the two figures (returned).
// A peak taken while the host steals cycles reads low (a fresh-clone
// `tools/build.sh bench` once measured 66 instead of 117 GFLOP/s and printed
// 162% of peak); `convgen bench` re-measures after its layers and uses the
// larger figure.
double RefreshPeakGflops();

// Core clock in GHz from a dependent integer-add chain (median of `reps`),
// or 0 when not measurable on this architecture.
double MeasureClockGhz(int reps, double rep_seconds, double* spread);

// "cpu MHz" of /proc/cpuinfo in GHz, 0 if unavailable. A poor substitute: on
// VMs and with boost it is not the clock the core runs at.
double CpuinfoClockGhz();

// ---- internals shared with peak_simd.cc (the Highway per-target TU) ----
namespace peak_internal {
// Number of independent accumulator chains of the FMA loop. Zen 4 needs
// latency (4) x throughput (2 ymm FMA/cycle) = 8 for ymm, 4 for zmm; 12 leaves
// margin for cores with more FMA pipes and still fits 16 vector registers
// (12 accumulators + 2 constants) on AVX2/SSE4.
constexpr int kFmaChains = 12;

struct FmaLoop {
  // Runs `iterations` x kFmaChains MulAdds; returns a value depending on all
  // of them so the compiler cannot drop the loop.
  float (*run)(uint64_t iterations) = nullptr;
  size_t lanes = 0;
  bool native_fma = false;
};
// For an explicit target, resolved from the HWY_EXPORT table (not through the
// process-global chosen target); run == null if not compiled.
FmaLoop ResolveFmaLoop(int64_t target);
// Sum of n floats with the best compiled+supported target (streaming read).
double SumFloatsBestTarget(const float* p, size_t n);
}  // namespace peak_internal

}  // namespace tools
}  // namespace convgen

#endif  // CONVGEN_TOOLS_PEAK_H_
