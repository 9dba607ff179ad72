// convgen internal: the target-independent half of the generated pointwise
// (1×1) kernels, families "conv1x1" (groups = 1) and "gconv1x1" (groups > 1,
// block-diagonal, D2L exercise 7): applicability, weight packing, cache
// blocking, cost model. The SIMD half is pointwise-inl.h; gen/family_pointwise.py
// instantiates both, one registry row per spec line (docs/kernels.md).
//
// A 1×1 convolution is, per image and group, one matrix product
//   Y[co_g][P] = W[co_g][ci_g] · X[ci_g][P],  P = out_h · out_w pixels.
//
// Packed weight layout, per group g and block b of R output channels:
//   packed[((g * blocks + b) * ci_g + c) * R + r] = w[g*co_g + b*R + r][c]
//                                                  (0 where b*R + r >= co_g)
// so one input channel's R weights are R adjacent floats (broadcast straight
// from memory into the FMAs, {1to16} on AVX3) and a block's weights are read
// linearly as the kernel walks ci.
#ifndef CONVGEN_SRC_KERNELS_POINTWISE_H_
#define CONVGEN_SRC_KERNELS_POINTWISE_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include <hwy/detect_targets.h>  // HWY_AVX2

#include "convgen/conv2d.h"
#include "targets.h"  // TwoZmmFmaPipes

namespace convgen {
namespace internal {
namespace pointwise {

// The register tile one Highway target runs for a registry row (see
// direct::TargetTile): rs output channels × v vectors of `lanes` pixels.
struct TargetTile {
  int64_t target;  // HWY_AVX3, ...
  int rs, v, lanes;
  double efficiency;  // generator's model, fraction of the target's FMA peak
  // The same model on a CPU with two full-width zmm FMA pipes (AVX3 only;
  // TwoZmmFmaPipes): two zmm FMAs and two zmm loads a cycle.
  double efficiency_two_zmm_pipes;
};

// True when the input can be read in place: output pixel p is input pixel p
// (stride 1, no padding), so the pixel axis of every input channel is one
// contiguous run of out_h·out_w floats. Any other 1×1 geometry (stride,
// padding) first gathers a block of pixels into a packed panel in scratch.
inline bool ReadsInPlace(const Conv2dParams& p) {
  return p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
}

// Cache blocking, the same for every target (the scratch size depends on it).
//  - kc: input channels accumulated in registers before the partial sums go
//    to the output. All of ci_g up to kMaxKc; above, ci is split into equal
//    chunks so that a block's weights (kc·R floats: 16 KiB at R=16, kc=256)
//    stay in L1 beside the input strips.
//  - pixels: a pixel block whose input panel (kc × pixels floats, <= 256 KiB)
//    stays in L2 while every R block of output channels walks it. A multiple
//    of 192 = every strip width Δ (16·{1,2,3,6}, 8·{1,3}, 4·2, 1·2).
constexpr int64_t kMaxKc = 512;
constexpr int64_t kPanelBytes = 256 * 1024;
constexpr int64_t kPixelQuantum = 192;

struct Blocking {
  int64_t kc;      // input channels per chunk
  int64_t pixels;  // pixels per block
};

inline Blocking ChooseBlocking(const Conv2dParams& p) {
  const int64_t ci_g = p.in_channels_per_group();
  const int64_t chunks = (ci_g + kMaxKc - 1) / kMaxKc;
  Blocking b;
  b.kc = (ci_g + chunks - 1) / chunks;
  const int64_t fit = kPanelBytes / (b.kc * static_cast<int64_t>(sizeof(float)));
  b.pixels = std::max<int64_t>(1, fit / kPixelQuantum) * kPixelQuantum;
  return b;
}

inline bool Applies(const Conv2dParams& p, bool grouped, std::string* why) {
  auto no = [why](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  if (p.kernel_h != 1 || p.kernel_w != 1)
    return no("kernel " + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) +
              " is not 1x1");
  // Dilation does not matter for a 1x1 window; stride and padding are
  // handled by the packed panel (ReadsInPlace).
  if (grouped && p.groups == 1) return no("groups=1: dense, see the conv1x1 rows");
  if (!grouped && p.groups != 1)
    return no("groups=" + std::to_string(p.groups) + ": grouped, see the gconv1x1 rows");
  return true;
}

inline bool AppliesDense(const Conv2dParams& p, std::string* why) { return Applies(p, false, why); }
inline bool AppliesGrouped(const Conv2dParams& p, std::string* why) { return Applies(p, true, why); }

template <int R>
int64_t PackedWeightFloats(const Conv2dParams& p, int64_t /*hwy_target*/) {
  const int64_t blocks = (p.out_channels_per_group() + R - 1) / R;
  return p.groups * blocks * p.in_channels_per_group() * R;
}

template <int R>
void PackWeights(const Conv2dParams& p, int64_t /*hwy_target*/, const float* oihw,
                 float* packed) {
  const int64_t co_g = p.out_channels_per_group(), ci_g = p.in_channels_per_group();
  const int64_t blocks = (co_g + R - 1) / R;
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t c = 0; c < ci_g; ++c)
        for (int r = 0; r < R; ++r) {
          const int64_t co = b * R + r;
          *packed++ = co < co_g ? oihw[(g * co_g + co) * ci_g + c] : 0.0f;
        }
}

// Pixels of the block starting `left` pixels before the end of the range:
// a remainder of less than half a block joins the last block, so that no
// block is a sliver that re-reads every R block's weights for a few pixels
// (mb_pw_14: 196 = 192 + 4 re-read its 1 MiB of weights for 4 pixels).
inline int64_t BlockPixels(const Blocking& b, int64_t left) {
  return left < b.pixels + b.pixels / 2 ? left : b.pixels;
}

// The gathered input panel: kc × (at most 1.5 blocks of) pixels floats, only
// when the input is not read in place.
inline int64_t ScratchFloats(const Conv2dParams& p) {
  if (ReadsInPlace(p)) return 0;
  const Blocking b = ChooseBlocking(p);
  return b.kc * (b.pixels + b.pixels / 2);
}

// Modelled fraction of the CPU's fp32 FMA peak (same scale as
// direct::Estimate): the tile's interior efficiency × useful lanes of the
// pixel axis × useful channels of the last R block of a group × the per-strip
// epilogue (R·V bias loads and stores against ci_g·R·V FMAs).
// `two_zmm_pipes` picks the tile model (TargetTile): on such a CPU, AMD Zen
// 5, the 16 x 1-vector AVX3 tile (17 loads per 16 FMAs) is load-bound and
// the 8 x 3 tiles win (session 14, explore, three rounds, AVX3 GFLOP/s of
// r8_w3v over r16_w1v: mb_pw_112 1.09-1.27, mb_pw_14 1.11, rn_1x1_up 1.06,
// shuffle_g3 / g8 1.06 / 1.10; rn_1x1_56 0.92-1.0, the one loss).
inline double EstimateFor(const Conv2dParams& p, int64_t target, int R, const TargetTile* tiles,
                          int num_tiles, bool two_zmm_pipes) {
  const TargetTile* tile = nullptr;
  for (int i = 0; i < num_tiles; ++i)
    if (tiles[i].target == target) tile = &tiles[i];
  if (tile == nullptr) return 0.0;
  const int64_t pixels = p.out_height() * p.out_width();
  // The last vector of a plane is masked; on 16-lane targets a tail of at
  // most 8 pixels runs on a half-width vector (half the FMA cost).
  const int64_t lanes = tile->lanes;
  const int64_t tail = pixels % lanes;
  const double covered = double(pixels - tail) +
                         (tail == 0 ? 0.0 : (lanes >= 16 && 2 * tail <= lanes ? lanes / 2 : lanes));
  const double lane_use = double(pixels) / covered;
  const int64_t co_g = p.out_channels_per_group();
  const double co_use = double(co_g) / double((co_g + R - 1) / R * R);
  const double ci_g = double(p.in_channels_per_group());
  const double epilogue = ci_g / (ci_g + 2.0);
  // A gathered panel (stride or padding) costs one pass over the input.
  const double gather = ReadsInPlace(p) ? 1.0 : 0.97;
  // AVX2 with deep groups: its 4-channel tile streams ~16 B of input per
  // cycle from L2, so ci_g >= 128 runs at ~0.6 of peak (one quiet `convgen
  // tune`: rn_1x1_56 66.5, mb_pw_14 69.8 GFLOP/s, where smallmap ran 81 and
  // 97), against ~0.9 for ci_g <= 80 (shuffle_g3/g8: 103-105).
  const double deep_avx2 = (target == HWY_AVX2 && ci_g >= 128) ? 0.65 : 1.0;
  const bool zmm = target == HWY_AVX3 || target == HWY_AVX3_DL;
  const double efficiency =
      zmm && two_zmm_pipes ? tile->efficiency_two_zmm_pipes : tile->efficiency;
  // Two zmm pipes, deep reductions on small maps: smallmap (which packs its
  // input band) runs ahead of every pointwise tile from ci_g = 512 on maps
  // of at most 28 x 28, not below, not on 56 x 56. Session 15, Zen 5, 1
  // thread, each shape's kernels in turns (bench --kernel, medians of 2,
  // GFLOP/s r8_w3v / r16_w1v / smallmap): ci 512 -> 256 14x14 180.2 / 160.6
  // / 189.1, 28x28 176.0 / 176.6 / 190.8, 56x56 185.9 / 176.8 / 180.0; ci
  // 1024 -> 256 14x14 181.3 / 160.6 / 198.1, 28x28 184.4 / 176.2 / 200.9,
  // 56x56 179.1 / 179.8 / 150.6; ci 256 -> 256 14x14 178.7 / 163.2 / 176.6,
  // 28x28 184.6 / 170.6 / 180.3. mb_pw_14 (512 -> 512, 14x14), three
  // rounds: r8_w3v 144.7 / 182.1 / 182.7, smallmap 187.8 / 194.6 / 198.6.
  // 0.85 puts these pointwise estimates (0.98-1.0) under smallmap's
  // (0.87-0.89). Not measured on Zen 4 (the flag is false there).
  const double deep_two_pipes =
      zmm && two_zmm_pipes && ci_g >= 512 && pixels <= 28 * 28 ? 0.85 : 1.0;
  return efficiency * lane_use * co_use * epilogue * gather * deep_avx2 * deep_two_pipes;
}

inline double Estimate(const Conv2dParams& p, int64_t target, int R, const TargetTile* tiles,
                       int num_tiles) {
  return EstimateFor(p, target, R, tiles, num_tiles, TwoZmmFmaPipes());
}

}  // namespace pointwise
}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_POINTWISE_H_
