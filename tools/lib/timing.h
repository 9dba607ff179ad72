// convgen tools: the one timing rule shared by `bench`, `explore`, `tune` and
// the peer runs, so every number in a table is taken the same way.
//
// One untimed warm-up call, then `reps` repetitions; each repetition runs the
// function back to back until at least `min_time_s` has elapsed and records the
// mean time per call. The figure reported is the median repetition; the spread
// is (max - min) / median. Variants compared in one run (several targets;
// convgen and a peer) take their repetitions in turns (TimeCallsInterleaved).
#ifndef CONVGEN_TOOLS_TIMING_H_
#define CONVGEN_TOOLS_TIMING_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace convgen {
namespace tools {

struct Timing {
  std::vector<double> rep_ms;  // mean ms per call, one per repetition
  double median_ms = 0, min_ms = 0, max_ms = 0;
  double spread() const { return median_ms > 0 ? (max_ms - min_ms) / median_ms : 0; }
};

struct TimingSpec {
  int reps = 5;
  double min_time_s = 0.1;
  // Seconds of sleep before each repetition that follows another variant's
  // (0 = none). With several threads, a library's idle workers spin for a
  // while after its last call (pthreadpool's, OpenMP's) and take the cores
  // of the next variant's repetition: `convgen bench --threads 2 --target
  // AVX3,AVX2` (two plans, two pools, in turns) measured rn_3x3_28 on AVX3 at
  // 160 GFLOP/s against 219 alone.
  double settle_s = 0;
  // Optional partner: TimeCalls(fn, spec) then times `partner` and fn in
  // turns (TimeCallsInterleaved({partner, fn})) and writes the partner's
  // timing to *partner_timing. bench times convgen in turns with each peer,
  // so that their ratio is taken over the same seconds of the shared host.
  std::function<void()> partner;
  Timing* partner_timing = nullptr;
};

// Seconds of settling (TimingSpec::settle_s) that `bench` and `explore` give
// variants timed in turns when any of them runs on several threads: idle
// pthreadpool and OpenMP workers spin after a call and took the next
// variant's second core (measurements in docs/performance.md, Method).
constexpr double kMultiThreadSettleS = 0.05;

// One repetition: fn back to back for at least min_time_s; mean ms per call.
inline double TimeOneRepetition(const std::function<void()>& fn, double min_time_s) {
  using Clock = std::chrono::steady_clock;
  int64_t calls = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    fn();
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < min_time_s);
  return elapsed * 1e3 / static_cast<double>(calls);
}

// Median, min and max of t->rep_ms.
inline void Summarise(Timing* t) {
  std::vector<double> sorted = t->rep_ms;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  t->median_ms = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  t->min_ms = sorted.front();
  t->max_ms = sorted.back();
}

// Variants already warmed up, timed in turns: round r times, in order, every
// variant with more than r repetitions (reps[i]; 0 = not timed), each
// repetition that follows another variant's after settle_s of sleep (when
// there are several variants). Timings of untimed variants stay empty.
inline std::vector<Timing> TimeWarmedInTurns(const std::vector<std::function<void()>>& fns,
                                             const std::vector<int>& reps, double min_time_s,
                                             double settle_s) {
  std::vector<Timing> t(fns.size());
  int rounds = 0;
  for (size_t i = 0; i < fns.size() && i < reps.size(); ++i) rounds = std::max(rounds, reps[i]);
  for (int r = 0; r < rounds; ++r)
    for (size_t i = 0; i < fns.size() && i < reps.size(); ++i) {
      if (r >= reps[i]) continue;
      if (settle_s > 0 && fns.size() > 1)
        std::this_thread::sleep_for(std::chrono::duration<double>(settle_s));
      t[i].rep_ms.push_back(TimeOneRepetition(fns[i], min_time_s));
    }
  for (Timing& ti : t)
    if (!ti.rep_ms.empty()) Summarise(&ti);
  return t;
}

// Several variants of one computation (bench --target AVX3,AVX2), timed in
// turns: repetition r of every variant, then repetition r + 1, so that a
// minute in which the shared host slows this core hits all of them alike
// instead of the one whose repetitions it happened to cover.
// (spec.partner is ignored here.)
inline std::vector<Timing> TimeCallsInterleaved(const std::vector<std::function<void()>>& fns,
                                                const TimingSpec& spec) {
  const bool settle = fns.size() > 1 && spec.settle_s > 0;
  for (const auto& fn : fns) {  // warm-up: first-touch pages, caches, lazily created pools
    if (settle) std::this_thread::sleep_for(std::chrono::duration<double>(spec.settle_s));
    fn();
  }
  return TimeWarmedInTurns(fns, std::vector<int>(fns.size(), std::max(1, spec.reps)),
                           spec.min_time_s, spec.settle_s);
}

inline Timing TimeCalls(const std::function<void()>& fn, const TimingSpec& spec) {
  if (!spec.partner) return TimeCallsInterleaved({fn}, spec).front();
  const std::vector<Timing> t = TimeCallsInterleaved({spec.partner, fn}, spec);
  if (spec.partner_timing) *spec.partner_timing = t[0];
  return t[1];
}

}  // namespace tools
}  // namespace convgen

#endif  // CONVGEN_TOOLS_TIMING_H_
