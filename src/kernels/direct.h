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
#include "kernels/generic_estimate.h"  // VerticalTapFactor
#include "kernels/weight_pack.h"

namespace convgen {
namespace internal {
namespace direct {

// The register tile one Highway target runs for a registry row: rs output
// channels (a divisor of the row's R; AVX2 runs an R=16 row as two 8-channel
// passes per strip) × v vectors of `lanes` floats, and the measured fraction
// of peak of its three kinds of strips (gen/family_direct.py: FITTED):
// interior (plain loads), border (masked loads: padding or a row tail wider
// than Δ/2), tail (a row tail of <= Δ/2 outputs on the tail tile,
// direct-inl.h; 0 = the target has none and runs a border strip).
struct TargetTile {
  int64_t target;  // HWY_AVX3, ...
  int rs, v, lanes;
  double interior, border, tail;
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
int64_t PackedWeightFloats(const Conv2dParams& p, int64_t /*hwy_target*/) {
  return BlockedWeightFloats(p, R);
}

template <int KH, int KW, int R>
void PackWeights(const Conv2dParams& p, int64_t /*hwy_target*/, const float* oihw,
                 float* packed) {
  PackBlockedWeights(p, R, oihw, packed);
}

// Output rows per band: the input rows a band reads (ci × rows × in_w
// floats, at most ~512 KiB, half of Zen 4's L2) come from memory once and are
// reused from L2 by every R block. Without bands a layer whose input exceeds
// the caches (d2l_5x5: 33.5 MB) streamed its whole input from DRAM once per
// R block: 44 -> 69 GFLOP/s on AVX3 with bands.
inline int64_t BandOutputRows(const Conv2dParams& p) {
  constexpr int64_t kBandBytes = 512 * 1024;
  const int64_t input_row_bytes =
      p.in_channels_per_group() * p.in_width * static_cast<int64_t>(sizeof(float));
  const int64_t band_input_rows =
      std::max<int64_t>(p.kernel_h, kBandBytes / std::max<int64_t>(input_row_bytes, 1));
  return std::max<int64_t>(
      1, (band_input_rows - (p.kernel_h - 1) * p.dilation_h - 1) / p.stride_h + 1);
}

// Stride 2 de-interleaves the input rows of one band and channel chunk into
// scratch (direct-inl.h: SplitRows): at most ci × band input rows × in_w.
template <int SW>
int64_t ScratchFloats(const Conv2dParams& p) {
  if (SW != 2) return 0;
  const int64_t rows = std::min<int64_t>(
      p.in_height,
      (BandOutputRows(p) - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h + 1);
  return p.in_channels_per_group() * rows * p.in_width;
}

// Modelled fraction of the CPU's fp32 FMA peak in *nominal* FLOPs (every
// tap counted, as the benchmarks count them), from measured strip rates:
//   time of a row = sum over its strips of (strip width / strip rate), each
//   strip classified as the kernel does (interior, border, tail);
//   × useful channels of the last R block;
//   ÷ the fraction of kernel rows inside the input (vertical padding taps are
//   skipped, so small padded maps run above the strip rate: rn_3x3_7 0.905).
// Within ~10% of the CPU-time measurements of the eight suite layers it was
// fitted on (docs/kernels.md); what it ignores (chunking, ci depth) moves
// every direct row alike.
inline double Estimate(const Conv2dParams& p, int64_t target, int R,
                       const TargetTile* tiles, int num_tiles) {
  const TargetTile* tile = nullptr;
  for (int i = 0; i < num_tiles; ++i)
    if (tiles[i].target == target) tile = &tiles[i];
  if (tile == nullptr) return 0.0;
  const int64_t out_w = p.out_width();
  const int64_t delta = int64_t{tile->v} * tile->lanes;
  const int64_t kw_span = (p.kernel_w - 1) * p.dilation_w;
  const int64_t span = kw_span + (tile->lanes > 1 ? delta * p.stride_w
                                                  : (delta - 1) * p.stride_w + 1);
  // Strips of a row, counted in closed form (Plan::Create runs this for every
  // problem, 2^40-wide rows included): strip i (ow0 = i*delta) is interior
  // when it is full and its input columns [c0, c0 + span) lie inside the row,
  // c0 = ow0*stride - pad; a partial last strip is a tail (half-width vector)
  // or a border strip; every other strip is a border strip.
  const int64_t strips = (out_w + delta - 1) / delta;
  const int64_t full = out_w / delta;
  const int64_t step = delta * p.stride_w;
  const int64_t first_interior = (p.pad_w + step - 1) / step;
  const int64_t right_room = p.in_width - span + p.pad_w;  // c0 + span <= in_width
  const int64_t last_interior = right_room < 0 ? -1 : std::min(full - 1, right_room / step);
  const int64_t interior = std::max<int64_t>(0, last_interior - first_interior + 1);
  const bool partial = full < strips;
  const int64_t border = strips - interior - (partial ? 1 : 0);
  double row_time = double(interior) * delta / tile->interior + double(border) * delta / tile->border;
  if (partial) {
    const int64_t valid = out_w - full * delta;
    row_time += (tile->tail > 0 && 2 * valid <= delta) ? (delta / 2) / tile->tail
                                                       : delta / tile->border;
  }
  // Nominal kernel rows / computed ones: rows in the vertical padding are
  // skipped (bounded count, src/kernels/generic_estimate.h).
  const double vertical = 1.0 / VerticalTapFactor(p);
  const int64_t co_g = p.out_channels_per_group();
  const double co_use = double(co_g) / double((co_g + R - 1) / R * R);
  return double(out_w) / row_time * co_use / vertical;
}

}  // namespace direct
}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_DIRECT_H_
