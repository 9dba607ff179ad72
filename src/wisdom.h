// convgen internal: wisdom — measured kernel choices saved by `convgen tune`
// and read back by Plan::Create (FFTW's wisdom idea, DESIGN.md §5).
//
// File format, version 1 (human-readable text, one record a line):
//
//   convgen-wisdom 1
//   # '#' starts a comment line; blank lines are skipped
//   desc=g1mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0 target=AVX3 kernel=f32_conv2d_k3x3_s1_r8_w1v r=8 v=1 gflops=93.1 version=0.1.0 date=2025-01-31 cpu="AMD EPYC 9R14 96-Core Processor"
//
// The first non-blank line must be exactly `convgen-wisdom 1` (the format
// version; another number is refused). A record is space-separated key=value
// fields in any order, a value optionally in double quotes (no escapes; the
// only way to hold spaces, as in cpu). Keys:
//   desc     benchdnn descriptor of the layer, batch included; any valid
//            spelling is accepted and canonicalised (FormatDescriptor, name
//            dropped), so the short form works too        (required)
//   target   Highway target name, e.g. AVX3                 (required)
//   kernel   registry name (`convgen kernels`)              (required)
//   version  convgen version that measured it (PROJECT_VERSION) (required)
//   r, v     the kernel's KernelInfo r and v: a check that the registry row
//            still is the one measured                      (optional)
//   gflops   measured GFLOP/s; cpu, date: informational     (optional)
// An unknown key, a missing required key, a bad number or descriptor is a
// syntax error: the file is then unusable as a whole (it was hand-edited
// wrongly, corrupted or truncated; half of it is not to be trusted). When two
// records have the same desc and target, the later one wins. The file ends
// with a newline: a last line without one is taken as a truncated file.
//
// Use by a plan: an entry is used only when its desc equals the plan's
// canonical descriptor, its target the plan's target name and its version
// this library's version, and its kernel is registered, has the recorded r
// and v, applies to the layer and is compiled for the target. Otherwise the
// plan falls back to the heuristic. Problems with a file — unreadable or
// missing, wrong format version, syntax error, an entry written by another
// convgen version, an unknown or changed kernel, one that does not apply to its
// own layer — give ONE warning on stderr per file and process ("convgen:
// warning: wisdom file=PATH:LINE: ..."), never an error: wisdom only ever
// chooses among kernels the heuristic could have chosen. A plain non-match
// (another layer or target) is silent; the plan's selection_log says it.
//
// Files are read and parsed once per path per process (a thread-safe cache),
// so Create stays cheap; a file changed after its first use is not re-read.
#ifndef CONVGEN_SRC_WISDOM_H_
#define CONVGEN_SRC_WISDOM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "convgen/conv2d.h"
#include "convgen/status.h"
#include "kernel.h"

namespace convgen {
namespace internal {

// The header's format version written and read by this library.
constexpr int kWisdomFormatVersion = 1;

// This library's version (CMake PROJECT_VERSION, e.g. "0.1.0"); wisdom
// records carry it and are used only by the same version.
const char* ConvgenVersion();

struct WisdomEntry {
  std::string desc;     // canonical descriptor (FormatDescriptor, no name)
  std::string target;   // Highway target name, e.g. "AVX3"
  std::string kernel;   // registry name
  std::string version;  // convgen version that measured it
  int r = -1, v = -1;   // -1 = not recorded
  double gflops = -1;   // -1 = not recorded
  std::string cpu, date;
  int line = 0;         // line number in the file (0 = not from a file)
};

// The canonical descriptor a plan looks up: FormatDescriptor of the
// parameters with the batch, without a name.
std::string WisdomDescriptor(const Conv2dParams& params);

// Parses a whole file's text. `source` names it in errors, which say
// "<source>:<line>: <what>" with the bad key or value.
Status ParseWisdom(const std::string& text, const std::string& source,
                   std::vector<WisdomEntry>* entries);

// The file text for `entries`: the header, a comment naming the keys, one
// line per entry (in order). ParseWisdom(FormatWisdom(e)) gives e back
// (line numbers aside; the cpu string loses any '"', which it cannot hold).
std::string FormatWisdom(const std::vector<WisdomEntry>& entries);

// What a plan gets from a wisdom file for one layer and target.
struct WisdomChoice {
  const KernelInfo* kernel = nullptr;  // null: use the heuristic
  std::string where;  // "path:line" of the entry used
  // Why no kernel (for the selection log), e.g. "no entry for <desc> on AVX3".
  std::string why_not;
};

// Looks `params` and `hwy_target` up in the wisdom file at `path` (loaded
// and parsed on first use, cached). Never fails: problems are warned about
// once per file and give a null kernel.
WisdomChoice LookupWisdom(const std::string& path, const Conv2dParams& params,
                          int64_t hwy_target);

// Tests: where warnings go (default: "convgen: warning: <msg>" on stderr).
// Returns the previous sink; null restores the default.
using WisdomWarningSink = void (*)(const std::string& message);
WisdomWarningSink SetWisdomWarningSinkForTest(WisdomWarningSink sink);

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_WISDOM_H_
