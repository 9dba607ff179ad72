// convgen bench: the peer libraries users would otherwise pick, timed on the
// same layer in the same run as convgen (issue 3). Built only when Debian's
// libdnnl-dev / libxnnpack-dev are found (CMake option CONVGEN_WITH_PEERS).
#ifndef CONVGEN_BENCH_PEERS_H_
#define CONVGEN_BENCH_PEERS_H_

#include <string>
#include <vector>

#include "convgen/conv2d.h"
#include "../../tools/lib/timing.h"

namespace convgen {
namespace peers {

struct PeerProblem {
  Conv2dParams params;
  const float* input = nullptr;    // NCHW
  const float* weights = nullptr;  // OIHW
  const float* bias = nullptr;     // [oc] or null
  float clamp_min, clamp_max;      // ±inf = none
  int threads = 1;
};

struct PeerResult {
  std::string peer;       // e.g. "onednn", "onednn_nchw", "xnnpack"
  bool available = false;  // false: not built, or the peer lacks the operator
  std::string why_not;    // when !available, one phrase for the table
  std::string impl;       // the peer's own name for what ran, if it says
  tools::Timing timing;   // the convolution alone (see each peer's notes)
  std::vector<float> output;  // NCHW, to compare with convgen's
};

// Names of the peers compiled into this binary, in table order (may be empty).
std::vector<std::string> CompiledPeers();

// Times `peer` on the problem with the shared timing rule.
PeerResult RunPeer(const std::string& peer, const PeerProblem& problem,
                   const tools::TimingSpec& spec);

}  // namespace peers
}  // namespace convgen

#endif  // CONVGEN_BENCH_PEERS_H_
