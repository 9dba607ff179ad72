// convgen tools: `convgen tune` without the CLI (issue 6) — measure every
// applicable kernel of each layer on each target (explore.h's kernel sweep,
// the TimeCalls rule of bench) and keep the fastest as wisdom
// (src/wisdom.h: the file format and how plans use it).
//
// Budget: the public suite (16 layers) on all four targets must take under 10
// minutes on this 2-core machine. The defaults (3 reps of >= 0.05 s, at
// most ~3 s of timed calls per kernel) give 4 calls of a kernel on a heavy
// layer on AVX3 (d2l_5x5: 53.7 GFLOP, ~1 s per call at 50 GFLOP/s), 2 on
// SCALAR, and a handful of 0.05-s repetitions on light layers; the
// reference is not timed above 0.25 GFLOP (explore.h).
//
// With every candidate measured in the same run, the heuristic's choice (a
// plan without wisdom) is one of them: TuneRecord carries both, so the table
// "heuristic vs tuned" (FormatTuneComparison) compares like with like.
#ifndef CONVGEN_TOOLS_WISDOM_TOOLS_H_
#define CONVGEN_TOOLS_WISDOM_TOOLS_H_

#include <ostream>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/status.h"
#include "explore.h"
#include "wisdom.h"

namespace convgen {
namespace tools {

struct TuneOptions {
  std::vector<std::string> targets;  // empty = every compiled target this CPU supports
  int threads = 1;
  TimingSpec timing{3, 0.05};
  // explore.h's budget rule: a kernel whose warm-up call shows that `reps`
  // calls would take over 3 s gets fewer repetitions (d2l_5x5: SCALAR
  // ~13 s a call -> 1 rep; AVX3 ~1 s -> 3 reps).
  double kernel_budget_s = 3;
  double reference_max_gflop = 0.25;
  double peak_gflops = 0;  // for explore's pct_peak; <= 0 = measured
};

// One (layer, target).
struct TuneRecord {
  std::string layer;   // LayerName
  std::string desc;    // internal::WisdomDescriptor (canonical, batch, no name)
  std::string target;
  int candidates = 0;  // kernels timed
  // The fastest (empty kernel: nothing could be timed).
  std::string best_kernel;
  int best_r = 0, best_v = 0;
  double best_gflops = 0;
  // The plan's heuristic choice and its GFLOP/s in the same sweep (0 if it
  // was not timed, e.g. the reference on a large layer).
  std::string heuristic_kernel;
  double heuristic_gflops = 0;
};

// Runs the sweep for every layer and target. A plan that a kernel cannot
// make is skipped; an option error is returned before anything runs. Every
// explore record is appended to *all_records when not null (for a CSV).
// Plans here honour CONVGEN_WISDOM; `convgen tune` unsets it first, so that
// "heuristic" means the heuristic.
Status RunTune(const std::vector<LayerDesc>& layers, const TuneOptions& options,
               std::vector<TuneRecord>* records, std::vector<ExploreRecord>* all_records,
               std::ostream* progress);

// Wisdom entries for the records that have a best kernel.
std::vector<internal::WisdomEntry> WisdomFromTune(const std::vector<TuneRecord>& records,
                                                  const std::string& cpu,
                                                  const std::string& date);

// layer | target | heuristic kernel | GF/s | tuned kernel | GF/s | heuristic/tuned
std::string FormatTuneComparison(const std::vector<TuneRecord>& records);

// /proc/cpuinfo "model name" (first CPU), or "unknown".
std::string CpuModelName();
// Today's date, UTC, YYYY-MM-DD.
std::string TodayUtc();

}  // namespace tools
}  // namespace convgen

#endif  // CONVGEN_TOOLS_WISDOM_TOOLS_H_
