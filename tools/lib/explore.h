// convgen tools: `convgen explore` without the CLI (issue 6) — time every
// applicable kernel variant of the registry on one layer, on every target,
// and put a small register-tile model beside each measurement.
//
// Two sweeps:
//  - kernels (default): every registry kernel (internal::AllKernels(), in
//    registry order, never a hand-made list) that applies to the layer and is
//    compiled for the target, filtered by KernelInfo::v (--strips) and ::r
//    (--tiles), is timed through a Plan forced to that kernel and target;
//  - groups (--groups b1,b2,...): the same layer re-grouped (groups = b,
//    channels unchanged; b not dividing ci and co is skipped), timed with the
//    plan's own choice for each b and target.
// Timing is the rule of `convgen bench` (timing.h): one warm-up, `reps`
// repetitions of at least `min_time` each, the median, the kernels of one
// target taking their repetitions in turns (repetition r of each, then r + 1;
// in batches of plans whose weights total at most 512 MiB) — with
// one budget rule for slow calls: when the warm-up call alone shows that
// `reps` calls would exceed `kernel_budget_s`, fewer repetitions are timed
// (at least 1; the record's reps says how many). Data:
// random non-zero values, fixed seeds, the same for every row of a layer.
//
// ---- The model (ModelKernel), per family, from KernelInfo and the target ----
// The tile is the registry row's: r × v, and the lane cap L of a `_w<V>v<L>`
// name (docs/kernels.md). NOTE: the name and KernelInfo describe the AVX3
// tile; the generated rows run a smaller RS × V tile on other targets (e.g.
// r16 as two 8-channel passes on AVX2) which KernelInfo does not expose, so
// on AVX2/SSE4/SCALAR the accumulator and per-FMA figures are those of the
// nominal tile. lanes = internal::FloatLanes(target); registers = 32 on AVX3,
// 16 on AVX2, SSE4 and SCALAR (x86-64 xmm).
//  - strip along the output row (axis "w": direct, generic, dwconv, gconv and
//    any other family with v > 0): per kernel tap, V input vector loads and R
//    weight broadcasts feed R·V FMAs: loads/FMA = 1/R, broadcasts/FMA = 1/V,
//    accumulators R·V; Δ = V · min(L, lanes) outputs; the row's ow outputs
//    take ceil(ow/Δ) strips, tail = ow mod Δ, waste = lanes computed for
//    nothing / lanes computed (the direct kernels' half-width tail halves the
//    real waste on some rows: the model ignores it);
//  - 1×1 and im2col + GEMM (axis "hw": conv1x1, gconv1x1, im2col): the same
//    tile with one tap per input channel (k = 1; im2col: k = ci/g·kh·kw
//    column rows), along the flattened oh·ow pixels, so the tail is over oh·ow;
//  - vectorised over output channels (axis "co": smallmap, name
//    `_p<P>_c<VV>v`): per tap VV weight-vector loads and P input broadcasts
//    feed P·VV FMAs: loads/FMA = 1/P, broadcasts/FMA = 1/VV, accumulators
//    P·VV; Δ = VV·lanes channels, the tail is over co/groups;
//  - reference (and any row with v = 0 that is not one of the above): no
//    register tile; every figure but FLOPs and the estimate is n/a.
// estimate = KernelInfo::estimate(params, target), the plan's heuristic.
//
// ---- CSV (ExploreRecordsToCsv): a header line, then one line per record ----
//   sweep           "kernels" or "groups"
//   layer           name of the explored layer (its n"..." or descriptor)
//   desc            short descriptor of the layer timed (re-grouped for groups)
//   groups          its groups (b)
//   target          Highway target, lanes: its float lanes
//   kernel, family, r, v   the registry row (KernelInfo)
//   plan_choice     1 if a plan without a forced kernel picks this kernel for
//                   this layer and target (always 1 in a groups sweep)
//   axis            w | hw | co (see the model); empty = n/a
//   delta           strip width Δ in outputs (axis co: channels)
//   extent, tail, tail_waste_pct   vectorised axis length, extent mod Δ,
//                   % of computed lanes wasted
//   acc_regs, regs  accumulators of the tile, vector registers of the target
//   loads_per_fma, bcasts_per_fma, estimate, flops (of the layer timed)
//   time_ms, gflops, pct_peak, spread, reps   the measurement (TimeCalls:
//                   median ms per call, (max-min)/median); pct_peak is of the
//                   best target's measured single-core peak × min(threads, cores)
//   note            why a row was skipped (then the measurement is empty)
// An n/a figure is an empty field. Fields are quoted (RFC 4180) only when
// they contain a comma or a quote.
#ifndef CONVGEN_TOOLS_EXPLORE_H_
#define CONVGEN_TOOLS_EXPLORE_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/status.h"
#include "kernel.h"
#include "timing.h"

namespace convgen {
namespace tools {

// Register-tile model of one kernel on one layer and target (see above).
// Negative numbers mean n/a.
struct KernelModel {
  std::string axis;        // "w", "hw", "co"; "" = no register tile (n/a)
  int lanes = 0;           // float lanes of the target
  int regs = 0;            // vector registers of the target
  int tile_rows = -1;      // R (axis w, hw) or P pixels (axis co)
  int tile_vectors = -1;   // V (axis w, hw) or VV (axis co)
  int64_t delta = -1;      // Δ: outputs (channels on axis co) per strip
  int64_t extent = -1;     // length of the vectorised axis
  int64_t tail = -1;       // extent mod Δ
  double tail_waste_pct = -1;
  int acc_regs = -1;
  double loads_per_fma = -1;
  double bcasts_per_fma = -1;
  double estimate = 0;     // KernelInfo::estimate (0.1 if null)
  double flops = 0;        // Conv2dParams::flops()
};
KernelModel ModelKernel(const internal::KernelInfo& kernel, const Conv2dParams& params,
                        int64_t hwy_target);

struct ExploreOptions {
  std::vector<int> strips;           // keep kernels whose v is listed; empty = all
  std::vector<int> tiles;            // keep kernels whose r is listed; empty = all
  std::vector<int64_t> groups;       // non-empty: a groups sweep over these b
  std::vector<std::string> targets;  // Highway target names; empty = every
                                     // compiled target this CPU supports
  int threads = 1;
  TimingSpec timing;
  // Seconds of timed calls per kernel beyond which reps is reduced (see
  // above); 0 = no limit. d2l_5x5 on SCALAR is ~13 s per call.
  double kernel_budget_s = 0;
  // The scalar reference is not timed on layers above this many GFLOP (it
  // runs ~1-2 GFLOP/s: seconds per call); the row says so.
  double reference_max_gflop = 0.25;
  // Single-core peak GFLOP/s for pct_peak; <= 0 = CachedPeakGflops().
  double peak_gflops = 0;
};

struct ExploreRecord {
  std::string sweep;   // "kernels" or "groups"
  std::string layer;   // LayerName of the explored layer
  std::string desc;    // ShortDescriptorWithoutName of the layer timed
  int64_t groups = 1;
  std::string target;  // e.g. "AVX3"
  std::string kernel, family;
  int r = 0, v = 0;
  bool plan_choice = false;
  std::string chosen_by;  // groups sweep: "heuristic" or "wisdom"
  KernelModel model;
  bool skipped = false;
  std::string note;    // why skipped
  int threads = 1;
  double time_ms = 0, gflops = 0, pct_peak = 0, spread = 0;
  int reps = 0;
};

// Parses "1,2,4" (no spaces needed, spaces allowed) into positive integers;
// `what` names the option in the error ("--strips: 'x' is not ...").
Status ParseIntList(const std::string& text, const std::string& what, std::vector<int64_t>* out);
// Parses "AVX3,avx2" or "all" into canonical target names (checked: compiled
// and supported); empty or "all" = every supported compiled target.
Status ParseTargetList(const std::string& text, std::vector<std::string>* out);

// Runs the sweep. Option errors (unknown target, threads < 1, reps < 1) are
// returned before anything runs; a kernel whose plan cannot be created
// becomes a skipped record. Progress lines go to `progress` if not null.
Status RunExplore(const LayerDesc& layer, const ExploreOptions& options,
                  std::vector<ExploreRecord>* records, std::ostream* progress);

// Fixed-width table. Kernel sweep: per target (best first), fastest first;
// groups sweep: per target
// in order of b, with the column t·b/t1 = time × b / time at the smallest b
// (1 = the b× FLOP saving fully kept). "*" marks the plan's own choice.
std::string FormatExploreTable(const std::vector<ExploreRecord>& records);

std::string ExploreRecordsToCsv(const std::vector<ExploreRecord>& records);


}  // namespace tools
}  // namespace convgen

#endif  // CONVGEN_TOOLS_EXPLORE_H_
