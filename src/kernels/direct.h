// convgen internal: the target-independent half of the generated direct k×k
// kernels (applicability, weight packing, cost model). The SIMD half is
// direct-inl.h; gen/gen_kernels.py instantiates both, one registry row per
// spec line (naming grammar: docs/kernels.md).
//
// Packed weight layout, per group g and block b of R output channels:
//   packed[((g * blocks + b) * ci_g + c) * KH*KW*R + (kh*KW + kw) * R + r]
//     = w[g*co_g + b*R + r][c][kh][kw]        (0 where b*R + r >= co_g)
// so the R weights one tap broadcasts are R adjacent floats (folded into
// the FMAs as {1toN} memory operands on AVX3 when V = 1), and the kernel
// walks one block's weights linearly.
#ifndef CONVGEN_SRC_KERNELS_DIRECT_H_
#define CONVGEN_SRC_KERNELS_DIRECT_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include "convgen/conv2d.h"

namespace convgen {
namespace internal {
namespace direct {

// The register tile one Highway target runs for a registry row: rs output
// channels (a divisor of the row's R; AVX2 runs an R=16 row as two 8-channel
// passes per strip) × v vectors of `lanes` floats. `efficiency` is the
// generator's model of the fraction of this target's FMA peak the tile
// reaches on an interior strip (gen/gen_kernels.py: TileModel).
struct TargetTile {
  int64_t target;  // HWY_AVX3, ...
  int rs, v, lanes;
  double efficiency;
};

template <int KH, int KW, int SH, int SW, int DH, int DW>
bool Applies(const Conv2dParams& p, std::string* why) {
  auto no = [why](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  if (p.kernel_h != KH || p.kernel_w != KW)
    return no("kernel " + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) +
              " != " + std::to_string(KH) + "x" + std::to_string(KW));
  if (p.stride_h != SH || p.stride_w != SW)
    return no("stride " + std::to_string(p.stride_h) + "x" + std::to_string(p.stride_w) +
              " != " + std::to_string(SH) + "x" + std::to_string(SW));
  if (p.dilation_h != DH || p.dilation_w != DW)
    return no("dilation " + std::to_string(p.dilation_h) + "x" +
              std::to_string(p.dilation_w) + " != " + std::to_string(DH) + "x" +
              std::to_string(DW));
  // Grouped k×k works (a tile's group range is honoured, weights are packed
  // per group), but the row is tuned for dense layers: with few channels per
  // group the estimate's channel-tail factor lets a grouped kernel win.
  return true;
}

template <int KH, int KW, int R>
int64_t PackedWeightFloats(const Conv2dParams& p) {
  const int64_t blocks = (p.out_channels_per_group() + R - 1) / R;
  return p.groups * blocks * p.in_channels_per_group() * KH * KW * R;
}

template <int KH, int KW, int R>
void PackWeights(const Conv2dParams& p, const float* oihw, float* packed) {
  const int64_t co_g = p.out_channels_per_group(), ci_g = p.in_channels_per_group();
  const int64_t blocks = (co_g + R - 1) / R;
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t c = 0; c < ci_g; ++c)
        for (int t = 0; t < KH * KW; ++t)
          for (int r = 0; r < R; ++r) {
            const int64_t co = b * R + r;
            *packed++ = co < co_g ? oihw[((g * co_g + co) * ci_g + c) * KH * KW + t] : 0.0f;
          }
}

inline int64_t NoScratch(const Conv2dParams&) { return 0; }

// Modelled fraction of the CPU's fp32 FMA peak: the tile's interior
// efficiency × useful lanes of the strips of a row × useful channels of the
// last R block. Border strips (masked loads) and skipped padding rows are
// not modelled: they shift every direct row alike.
inline double Estimate(const Conv2dParams& p, int64_t target, int R,
                       const TargetTile* tiles, int num_tiles) {
  const TargetTile* tile = nullptr;
  for (int i = 0; i < num_tiles; ++i)
    if (tiles[i].target == target) tile = &tiles[i];
  if (tile == nullptr) return 0.0;
  const int64_t out_w = p.out_width();
  const int64_t delta = int64_t{tile->v} * tile->lanes;
  // Full strips, then a tail strip of Δ, or of Δ/2 lanes where vectors have
  // >= 8 lanes (direct-inl.h: half-width tail).
  const int64_t tail = out_w % delta;
  const int64_t covered = out_w - tail +
                          (tail == 0 ? 0 : (tile->lanes >= 8 && 2 * tail <= delta ? delta / 2 : delta));
  const double lane_use = double(out_w) / double(covered);
  const int64_t co_g = p.out_channels_per_group();
  const double co_use = double(co_g) / double((co_g + R - 1) / R * R);
  return tile->efficiency * lane_use * co_use;
}

}  // namespace direct
}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_DIRECT_H_
