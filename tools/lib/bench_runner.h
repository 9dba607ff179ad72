// convgen tools: the logic of `convgen bench` (issue 3), kept out of the CLI
// so the tests can drive it.
//
// For each layer (a benchdnn descriptor): build one Plan (forced kernel /
// target / threads if asked), fill input, weights and bias with random
// non-zero values (fixed seed: every run times the same data), time
// Plan::Run with tools::TimeCalls (timing.h: warm-up, reps, median, spread)
// and express the median as GFLOP/s and % of the measured peak: peak.h's
// CachedPeakGflops() (one core, best target) x min(threads, hardware threads).
// Times are wall-clock (timing.h), so a busy machine lowers them; the peak is
// CPU time and is not lowered. With `peers`, every peer library of
// bench/peers/peers.h runs the same problem with the same timing rule and
// threads; its output is checked against ours.
#ifndef CONVGEN_TOOLS_BENCH_RUNNER_H_
#define CONVGEN_TOOLS_BENCH_RUNNER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/status.h"
#include "timing.h"

namespace convgen {
namespace tools {

// ---- suite files ------------------------------------------------------------
// One benchdnn descriptor a line; '#' starts a comment (to the end of the
// line), blank lines are skipped. `source` names the text in error messages:
// "<source>:<line>: <parser message>".
Status ParseSuite(const std::string& text, const std::string& source,
                  std::vector<LayerDesc>* layers);
// Reads and parses a suite file; an unreadable file is an error naming it.
Status ReadSuiteFile(const std::string& path, std::vector<LayerDesc>* layers);

// The name shown for a layer: its n"..." name, else its short descriptor.
std::string LayerName(const LayerDesc& layer);
// FormatDescriptorShort without the n"..." name (the "desc" column: the name
// has its own).
std::string ShortDescriptorWithoutName(const LayerDesc& layer);

// ---- running ----------------------------------------------------------------
struct BenchOptions {
  std::string kernel;  // registry name; empty = the plan chooses
  // Highway target name; empty = the plan's default (best supported);
  // "all" (any case) = one row per supported compiled target, best first;
  // "AVX3,AVX2" = one row per listed target, in that order.
  std::string target;
  // The plans' pool sizes (each >= 1, no repeats). Several ("1,2"): one row
  // per thread count and target, every row of a layer timed in turns, so
  // that the scaling (BenchRecord::scaling) is taken over the same seconds
  // of the shared host; the peers run once per thread count, each in turns
  // with our plan of that count.
  std::vector<int> threads = {1};
  TimingSpec timing;   // reps 5, min_time 0.1 s by default
  bool peers = false;  // also run peers::CompiledPeers()
  // Single-core fp32 peak in GFLOP/s for pct_peak; <= 0 = CachedPeakGflops().
  double peak_gflops = 0;
  // Relative error above which a peer's output is a mismatch:
  // max |peer - ours| / max |ours|. Both sides accumulate in fp32 in
  // different orders; 1e-4 is ~1000 ulps, far above what reordering a
  // k x k x ci sum of values in [-1, 1] costs, far below any real bug.
  double peer_tolerance = 1e-4;
};

struct PeerRecord {
  std::string peer;        // "onednn", "onednn_nchw", "xnnpack"
  bool available = false;  // false: see why_not
  std::string why_not;
  std::string impl;        // what the peer says ran
  Timing timing;
  double gflops = 0, pct_peak = 0;
  // Our plan on target `ours_target` (the layer's first), timed in turns with
  // this peer (TimingSpec::partner): the ratio to the peer is ours_gflops /
  // gflops, both taken over the same seconds. 0 / empty: not timed.
  std::string ours_target;
  double ours_gflops = 0;
  double max_rel_err = 0;  // max |peer - ours| / max |ours|
  bool mismatch = false;   // max_rel_err > tolerance (or non-finite)
};

struct BenchRecord {
  std::string layer;   // LayerName()
  std::string desc;    // ShortDescriptorWithoutName()
  std::string kernel;  // plan->kernel_name(); empty if skipped
  std::string target;  // plan->target_name() or the requested target if skipped
  int layer_index = 0;  // position of the layer in the input list
  int threads = 1;
  double time_ms = 0, gflops = 0, pct_peak = 0, spread = 0;
  int reps = 0;
  // With several thread counts: gflops ÷ the same target's gflops at the
  // first thread count listed, both timed in turns (0: not measured, or this
  // is that row).
  double scaling = 0;
  // The plan could not be created (e.g. a forced kernel that does not apply
  // to this layer): the row says why and carries no figures.
  bool skipped = false;
  std::string skip_reason;
  // Peers of this layer at this thread count (same figures repeated on every
  // target row of it: peers run once per layer and thread count).
  std::vector<PeerRecord> peers;
};

// Runs every layer. Errors (unknown kernel or target, threads < 1 or repeated) are
// returned before anything runs; a plan that cannot be created for one layer
// becomes a skipped record. Progress lines ("[3/16] rn_3x3_56 ...") go to
// `progress` if not null; peer mismatches are also reported there, loudly.
Status RunBench(const std::vector<LayerDesc>& layers, const BenchOptions& options,
                std::vector<BenchRecord>* records, std::ostream* progress);

// True if any peer's output disagreed with ours.
bool AnyPeerMismatch(const std::vector<BenchRecord>& records);

// ---- output -----------------------------------------------------------------
// Ours ÷ the peer on row r: the plan's figure timed in turns with the peer
// (peer.ours_gflops) on the row of its target, else the row's own GF/s.
double OursOver(const BenchRecord& r, const PeerRecord& peer);

// A fixed-width text table, one row per record; with peers, columns
// "<peer> GF/s" and "×<peer>" (OursOver) per peer; an unavailable peer
// shows its why_not, a mismatching one MISMATCH in capitals. With several
// thread counts, a "scaling" column (BenchRecord::scaling).
std::string FormatBenchTable(const std::vector<BenchRecord>& records);

// A JSON array: one object per non-skipped record with exactly the keys
//   layer, desc, kernel, target, threads, time_ms, gflops, pct_peak, reps, spread
// then, per available peer of a layer and thread count, one object with the
// same keys plus "peer", "ours_target" and "ours_gflops": kernel = the
// peer's impl string, target = "n/a" (a peer does not run on a convgen
// Highway target), pct_peak relative to our measured peak, ours_gflops our
// plan on ours_target timed in turns with the peer (0 and "" if it was not).
// Non-finite numbers are written as null.
std::string BenchRecordsToJson(const std::vector<BenchRecord>& records);

// ---- small helpers shared with the CLI ---------------------------------------
// A JSON string literal, quoted and escaped (RFC 8259).
std::string JsonString(const std::string& s);
// A JSON number (shortest round-trip form), or null if not finite.
std::string JsonNumber(double v);
// Writes `content` to `path` through a temporary file and a rename, so a
// failure never leaves a partial file. The error names the path.
Status WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace tools
}  // namespace convgen

#endif  // CONVGEN_TOOLS_BENCH_RUNNER_H_
