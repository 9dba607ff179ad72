// convgen bench: the peer libraries users would otherwise pick, timed on the
// same layer in the same run as convgen (issue 3). Built only when Debian's
// libdnnl-dev / libxnnpack-dev are found (CMake option CONVGEN_WITH_PEERS,
// cmake/peers.cmake); CONVGEN_HAVE_ONEDNN / CONVGEN_HAVE_XNNPACK say which.
//
// The peers, in table order:
//   "onednn"       oneDNN 2.6 in its own blocked layout (format_tag::any),
//                  algorithm::convolution_direct; timed: the convolution
//                  primitive alone (input/weights reordered before, output
//                  reordered back to NCHW after).
//   "onednn_nchw"  oneDNN handed plain NCHW / OIHW tensors: what an
//                  application holding NCHW data pays. Timed: the nchw
//                  primitive (oneDNN's im2col + GEMM), or, when oneDNN only
//                  has its reference for nchw, reorder-in + blocked
//                  convolution + reorder-out (impl then reads "reorder+...").
//   "xnnpack"      XNNPACK (Debian's 2022-02 snapshot), NHWC; timed:
//                  xnn_setup_convolution2d_nhwc_f32 + xnn_run_operator (the
//                  NCHW <-> NHWC transposes and the weight repack are not).
// Each is timed with tools::TimeCalls, the rule convgen's own figures use.
#ifndef CONVGEN_BENCH_PEERS_H_
#define CONVGEN_BENCH_PEERS_H_

#include <limits>
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
  float clamp_min = -std::numeric_limits<float>::infinity();  // -inf = none
  float clamp_max = std::numeric_limits<float>::infinity();   // +inf = none
  // Worker threads the peer may use; 1 = the calling thread only, <= 0 = one
  // per CPU. oneDNN (Debian builds it on OpenMP): omp_set_num_threads around
  // the run; XNNPACK: a pthreadpool of this size (none for 1).
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

// Times `peer` on the problem with the shared timing rule. Never throws: a
// peer that is not built, does not know the name, or cannot create an
// operator for this layer returns available = false and a why_not phrase.
PeerResult RunPeer(const std::string& peer, const PeerProblem& problem,
                   const tools::TimingSpec& spec);

}  // namespace peers
}  // namespace convgen

#endif  // CONVGEN_BENCH_PEERS_H_
