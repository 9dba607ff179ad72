// convgen internal: the target-independent half of the generated grouped k×k
// kernels for few channels per group (applicability, weight packing, cost
// model). The SIMD half is gconv-inl.h; gen/family_gconv.py instantiates both,
// one registry row per spec line (naming grammar: docs/kernels.md).
//
// Packed weight layout, per group g, one block of C output channels:
//   packed[((g * ci_g + c) * KH*KW + kh*KW + kw) * C + r]
//     = w[g*co_g + r][c][kh][kw]        (0 where r >= co_g)
// so the C broadcasts of one tap are adjacent floats and a group's weights
// (ci_g·KH·KW·C floats: 576 B for ResNeXt's 4×4 groups) are contiguous.
#ifndef CONVGEN_SRC_KERNELS_GCONV_H_
#define CONVGEN_SRC_KERNELS_GCONV_H_

#include <cstdint>
#include <string>

#include "convgen/conv2d.h"
#include "kernels/dwconv.h"

namespace convgen {
namespace internal {
namespace gconv {

template <int KH, int KW, int SH, int SW, int C>
bool Applies(const Conv2dParams& p, std::string* why) {
  if (!rowtile::GeometryApplies<KH, KW, SH, SW>(p, why)) return false;
  if (p.out_channels_per_group() > C) {
    if (why)
      *why = std::to_string(p.out_channels_per_group()) + " output channels per group > " +
             std::to_string(C);
    return false;
  }
  return true;
}

template <int KH, int KW, int C>
int64_t PackedWeightFloats(const Conv2dParams& p, int64_t /*hwy_target*/) {
  return p.groups * p.in_channels_per_group() * KH * KW * C;
}

template <int KH, int KW, int C>
void PackWeights(const Conv2dParams& p, int64_t /*hwy_target*/, const float* oihw,
                 float* packed) {
  const int64_t co_g = p.out_channels_per_group(), ci_g = p.in_channels_per_group();
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t c = 0; c < ci_g; ++c)
      for (int t = 0; t < KH * KW; ++t)
        for (int r = 0; r < C; ++r)
          *packed++ = r < co_g ? oihw[((g * co_g + r) * ci_g + c) * KH * KW + t] : 0.0f;
}

// Modelled fraction of peak: the tile's interior efficiency × useful lanes
// and rows × useful channels of the C block × the vertical padding taps
// skipped.
inline double Estimate(const Conv2dParams& p, int64_t target, int C,
                       const rowtile::TargetTile* tiles, int num_tiles) {
  const rowtile::TargetTile* t = rowtile::FindTile(tiles, num_tiles, target);
  if (t == nullptr) return 0.0;
  const double channel_use = double(p.out_channels_per_group()) / double(C);
  return t->efficiency * rowtile::TileUse(p, *t) * channel_use * rowtile::SkippedRowsFactor(p);
}

}  // namespace gconv
}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_GCONV_H_
