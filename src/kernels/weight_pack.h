// convgen internal: the packed weight layout shared by every kernel family
// that broadcasts the weights of `block` output channels from contiguous
// memory (direct, generic, smallmap, im2col):
//   OIHW [co][ci/g][kh][kw]  ->  [g][co/g / block][ci/g][kh][kw][block]
// with the channels past a group's last full block zero-filled, so a kernel
// always runs whole blocks and the padding lanes contribute nothing.
#ifndef CONVGEN_SRC_KERNELS_WEIGHT_PACK_H_
#define CONVGEN_SRC_KERNELS_WEIGHT_PACK_H_

#include <algorithm>
#include <cstdint>

#include "convgen/conv2d.h"

namespace convgen {
namespace internal {

inline int64_t BlockedWeightFloats(const Conv2dParams& p, int64_t block) {
  const int64_t blocks = (p.out_channels_per_group() + block - 1) / block;
  return p.groups * blocks * block * p.in_channels_per_group() * p.kernel_h * p.kernel_w;
}

inline void PackBlockedWeights(const Conv2dParams& p, int64_t block, const float* oihw,
                               float* packed) {
  const int64_t cog = p.out_channels_per_group();
  const int64_t depth = p.in_channels_per_group() * p.kernel_h * p.kernel_w;
  const int64_t blocks = (cog + block - 1) / block;
  std::fill(packed, packed + BlockedWeightFloats(p, block), 0.0f);
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t oc = 0; oc < cog; ++oc) {
      float* dst = packed + (g * blocks + oc / block) * depth * block + oc % block;
      const float* src = oihw + (g * cog + oc) * depth;
      for (int64_t k = 0; k < depth; ++k) dst[k * block] = src[k];
    }
}

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_WEIGHT_PACK_H_
