// convgen internal: the target-independent half of the generated depthwise
// kernels (applicability, weight packing, cost model) and the row-tile cost
// helpers shared with the grouped family (gconv.h). The SIMD half is
// dwconv-inl.h; gen/family_dwconv.py instantiates both, one registry row per
// spec line (naming grammar: docs/kernels.md).
//
// Packed weight layout: OIHW as is, [co][KH][KW] (one input channel per
// group), so the kernel's block of C = 1 channel reads KH·KW adjacent floats.
#ifndef CONVGEN_SRC_KERNELS_DWCONV_H_
#define CONVGEN_SRC_KERNELS_DWCONV_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "convgen/conv2d.h"
#include "kernels/generic_estimate.h"  // VerticalTapFactor

namespace convgen {
namespace internal {
namespace rowtile {

// The register tile one Highway target runs for a registry row: `rows`
// output rows × v vectors of `lanes` floats (× the row's C channels).
// `efficiency` is the generator's model (gen/family_dwconv.py: RowTileModel)
// of the fraction of this target's FMA peak reached on interior strips.
struct TargetTile {
  int64_t target;  // HWY_AVX3, ...
  int rows, v, lanes;
  double efficiency;
};

inline const TargetTile* FindTile(const TargetTile* tiles, int num_tiles, int64_t target) {
  for (int i = 0; i < num_tiles; ++i)
    if (tiles[i].target == target) return &tiles[i];
  return nullptr;
}

// Fraction of the computed lanes × rows that are stored: strips of Δ with a
// half-width tail of <= Δ/2 where vectors have >= 8 lanes (dwconv-inl.h), and
// tiles of `rows` output rows (the last one partial).
inline double TileUse(const Conv2dParams& p, const TargetTile& t) {
  const int64_t out_w = p.out_width(), out_h = p.out_height();
  const int64_t delta = int64_t{t.v} * t.lanes;
  const int64_t tail = out_w % delta;
  const int64_t covered =
      out_w - tail + (tail == 0 ? 0 : (t.lanes >= 8 && 2 * tail <= delta ? delta / 2 : delta));
  const int64_t row_tiles = (out_h + t.rows - 1) / t.rows;
  return double(out_w) / double(covered) * double(out_h) / double(row_tiles * t.rows);
}

// Nominal taps / computed taps (input rows in the vertical padding are
// skipped): the shared, bounded count of src/kernels/generic_estimate.h
// (per kernel row, never per output row: Create on a 2^40-row layer must
// return promptly).
inline double SkippedRowsFactor(const Conv2dParams& p) { return VerticalTapFactor(p); }

template <int KH, int KW, int SH, int SW>
bool GeometryApplies(const Conv2dParams& p, std::string* why) {
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
  if (p.dilation_h != 1 || p.dilation_w != 1) return no("dilated (row tiles are dense)");
  return true;
}

inline int64_t NoScratch(const Conv2dParams&) { return 0; }

// Whether a call's input and output together (all images) outgrow what the
// last-level cache can be counted on to hold, so that the input streams
// from memory: then the row-tile kernels prefetch the next group's input
// rows, one band ahead (PrefetchNextGroupBand, dwconv-inl.h). The hardware
// prefetcher alone left these kernels latency-bound at 7 GB/s. Session 15,
// Zen 5, 1 thread, GFLOP/s without / with the prefetch (two rounds):
//   rnx_g32_3x3 (3.2 MB an image) mb1 118.0 / 113.7, 116.6 / 121.0;
//     mb2 107.9 / 109.9, 116.7 / 114.7; mb4 79.0 / 93.2, 75.0 / 96.6;
//     mb8 62.8 / 85.4, 57.8 / 79.9
//   dw_3x3_112 (3.2 MB an image) mb1 84.4 / 82.0, 80.6 / 80.0;
//     mb4 68.1 / 76.7, 69.3 / 76.8; mb8 31.4 / 48.7, 32.5 / 47.7
// Neutral to 4% lower where the data stays cached (mb1, mb2: the prefetches
// cost issue slots), so only from kStreamBytes up, between mb2's 6.4 MB and
// mb4's 12.8 MB.
constexpr int64_t kStreamBytes = int64_t{8} << 20;
inline bool StreamsFromMemory(const Conv2dParams& p) {
  return (p.input_elements() + p.output_elements()) * int64_t{sizeof(float)} >= kStreamBytes;
}

}  // namespace rowtile

namespace dwconv {

template <int KH, int KW, int SH, int SW>
bool Applies(const Conv2dParams& p, std::string* why) {
  if (!rowtile::GeometryApplies<KH, KW, SH, SW>(p, why)) return false;
  if (p.in_channels_per_group() != 1) {
    if (why)
      *why = "not depthwise (" + std::to_string(p.in_channels_per_group()) +
             " input channels per group)";
    return false;
  }
  return true;  // any depth multiplier co/groups
}

template <int KH, int KW>
int64_t PackedWeightFloats(const Conv2dParams& p, int64_t /*hwy_target*/) {
  return p.out_channels * KH * KW;
}

template <int KH, int KW>
void PackWeights(const Conv2dParams& p, int64_t /*hwy_target*/, const float* oihw,
                 float* packed) {
  std::memcpy(packed, oihw, sizeof(float) * static_cast<size_t>(p.out_channels * KH * KW));
}

// Modelled fraction of peak: the tile's interior efficiency × useful lanes
// and rows of the tiles × the vertical padding taps skipped.
inline double Estimate(const Conv2dParams& p, int64_t target, const rowtile::TargetTile* tiles,
                       int num_tiles) {
  const rowtile::TargetTile* t = rowtile::FindTile(tiles, num_tiles, target);
  if (t == nullptr) return 0.0;
  return t->efficiency * rowtile::TileUse(p, *t) * rowtile::SkippedRowsFactor(p);
}

}  // namespace dwconv
}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_DWCONV_H_
