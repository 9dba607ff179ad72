// convgen bench peers: what each peer's translation unit exports to peers.cc
// (the registry) and the layout helpers they share. Not a public header.
#ifndef CONVGEN_BENCH_PEERS_INTERNAL_H_
#define CONVGEN_BENCH_PEERS_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "peers.h"

namespace convgen {
namespace peers {

// Each returns a complete PeerResult (peer name filled in); none throws.
#ifdef CONVGEN_HAVE_ONEDNN
PeerResult RunOneDnnBlocked(const PeerProblem& problem, const tools::TimingSpec& spec);
PeerResult RunOneDnnNchw(const PeerProblem& problem, const tools::TimingSpec& spec);
#endif
#ifdef CONVGEN_HAVE_XNNPACK
PeerResult RunXnnpack(const PeerProblem& problem, const tools::TimingSpec& spec);
#endif

// [n][c][plane] <-> [n][plane][c] (NCHW <-> NHWC with plane = h*w); used
// outside every timed region.
inline void NchwToNhwc(int64_t n, int64_t c, int64_t plane, const float* in, float* out) {
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < plane; ++i)
        out[(b * plane + i) * c + ch] = in[(b * c + ch) * plane + i];
}
inline void NhwcToNchw(int64_t n, int64_t c, int64_t plane, const float* in, float* out) {
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < plane; ++i)
        out[(b * c + ch) * plane + i] = in[(b * plane + i) * c + ch];
}

}  // namespace peers
}  // namespace convgen

#endif  // CONVGEN_BENCH_PEERS_INTERNAL_H_
