// Generic SIMD convolution kernel: f32_conv2d_generic_r8_w1v.
//
// Any kernel size, stride, dilation, padding and groups, all at run time: the
// fallback before the scalar reference, so no shape falls off a cliff.
//
// Vectorised along the output width (a strip of one vector of adjacent
// outputs), like the direct kernels of DESIGN.md §4, rather than over output
// channels (the smallmap family): a group may have a single output channel
// (depthwise) but every row has at least one output, and the width strip
// keeps the direct kernels' memory pattern, so this kernel degrades exactly as
// they would. Narrow maps waste lanes here; the smallmap family covers them.
//
// Register tile: R = 8 output channels x 1 vector of outputs on every target
// (TOOLCHAIN.md §3 register sweep: R8V1 is the fastest 3x3 block on AVX3,
// 100 GFLOP/s, because GCC folds the weight broadcast into the FMA as
// {1to16}; 88 on AVX2 and the best on SSE4, whose 16 registers spill with
// larger tiles). Per kernel tap: 1 load of the input strip, 8 broadcasts,
// 8 FMAs.
//
// Width tail: a last strip of at most half a vector runs on half-width
// vectors (Highway Half<D>): Zen 4 executes a zmm FMA as two 256-bit halves,
// so 8-lane vectors lose no FMA rate and a 7-wide row fills 7 of 8 lanes
// instead of 7 of 16 (rn_3x3_7 on AVX3: 0.44x -> 0.70x of the smallmap
// kernel, measured in one run).
// Input: the tile's input rows are copied into scratch as a zero-padded band,
// de-interleaved by the horizontal stride (generic_band.h), so every tap is a
// contiguous full-vector load inside scratch whatever the stride, dilation,
// padding or width tail; the vertical padding is skipped (kernel rows that
// land outside the image are not computed).
// Weights: packed [group][co block of 8][ci/g][kh][kw][8], the block's missing
// channels zero. Output: full strips StoreU, the last strip BlendedStore
// (fault-safe on every x86 target, TOOLCHAIN.md §3); bias and clamp fused;
// channel c stored at OutputChannel(ctx, c).
// Measured (AVX3, 1 thread, quiet machine, rough +-5%): d2l_5x5 96-102 GFLOP/s
// (87% of peak), rn_3x3_56 79-84, rn_3x3_14 88-95; AVX2 ~70 on rn_3x3_56.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/generic.cc"
#include <hwy/foreach_target.h>  // before highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "kernel.h"
#include "kernels/generic_band.h"
#include "kernels/split_pairs-inl.h"

// Target-independent part, once per TU (foreach_target re-includes this file).
#ifndef CONVGEN_SRC_KERNELS_GENERIC_CC_ONCE_
#define CONVGEN_SRC_KERNELS_GENERIC_CC_ONCE_
namespace convgen {
namespace internal {
// Output channels per register tile and per packed weight block (all targets).
constexpr int64_t kGenericR = 8;
}  // namespace internal
}  // namespace convgen
#endif

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Per (channel block, output row): what every strip of the row shares.
struct GenericRowArgs {
  const float* band;  // band channel 0, band row of the first valid kernel row
  const float* w;     // the block's packed weights at the first valid kernel row
  int64_t nky;        // valid kernel rows
  float* out[kGenericR];  // output row of each channel (the block's last valid
                          // channel repeated past the end: never stored)
  float bias[kGenericR];
  int64_t channels;       // valid channels of the block
};

// One strip: kGenericR channels x Lanes(d) outputs at column ox of one row,
// `valid` of them stored. Accumulators are locals of this function so that
// they live in registers across the runtime tap loops.
template <class D>
HWY_NOINLINE void GenericStrip(D d, const KernelContext& ctx, const BandGeometry& bg,
                               const GenericRowArgs& a, int64_t ox, int64_t valid) {
  using V = hn::Vec<D>;
  const Conv2dParams& p = ctx.params;
  const int64_t kw = p.kernel_w, nky = a.nky, cig = bg.cig;
  const int64_t w_chan = p.kernel_h * kw * kGenericR, w_row = kw * kGenericR;
  const int64_t band_row = p.dilation_h * bg.row_step, band_chan = bg.chan_stride;
  const TapColumnSteps steps(bg, p.dilation_w);
  V acc[kGenericR];
  HWY_UNROLL(8)
  for (int r = 0; r < kGenericR; ++r) acc[r] = hn::Zero(d);
  for (int64_t c = 0; c < cig; ++c) {
    const float* HWY_RESTRICT wc = a.w + c * w_chan;
    const float* HWY_RESTRICT bc = a.band + c * band_chan + ox;
    for (int64_t ky = 0; ky < nky; ++ky) {
      const float* HWY_RESTRICT row = bc + ky * band_row;
      const float* HWY_RESTRICT wk = wc + ky * w_row;
      TapColumnWalker walk(steps);
      for (int64_t kx = 0; kx < kw; ++kx, wk += kGenericR) {
        const V x = hn::LoadU(d, row + walk.offset());
        walk.Next();
        HWY_UNROLL(8)
        for (int r = 0; r < kGenericR; ++r)
          acc[r] = hn::MulAdd(hn::Set(d, wk[r]), x, acc[r]);
      }
    }
  }
  const V lo = hn::Set(d, ctx.clamp_min), hi = hn::Set(d, ctx.clamp_max);
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  HWY_UNROLL(8)
  for (int r = 0; r < kGenericR; ++r) {
    if (r >= a.channels) break;
    const V y = hn::Min(hn::Max(hn::Add(acc[r], hn::Set(d, a.bias[r])), lo), hi);
    if (valid == N) {
      hn::StoreU(y, d, a.out[r] + ox);
    } else {
      hn::BlendedStore(y, hn::FirstN(d, static_cast<size_t>(valid)), d, a.out[r] + ox);
    }
  }
}

void GenericTile(const KernelContext& ctx, const Tile& t, const float* input,
                 float* output, float* scratch) {
  const hn::ScalableTag<float> d;
  const hn::Half<decltype(d)> dh;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const Conv2dParams& p = ctx.params;
  const BandGeometry bg = BandGeometry::Make(p);
  const int64_t cig = p.in_channels_per_group(), cog = p.out_channels_per_group();
  const int64_t blocks = CeilDiv(cog, kGenericR);
  const int64_t block_floats = cig * p.kernel_h * p.kernel_w * kGenericR;
  const int64_t ow = ctx.out_w, plane = ctx.out_h * ctx.out_w;

  for (int64_t g = t.g_begin; g < t.g_end; ++g) {
    for (int64_t oy0 = t.oh_begin; oy0 < t.oh_end; oy0 += bg.out_rows) {
      const int64_t oy1 = std::min(t.oh_end, oy0 + bg.out_rows);
      int64_t iy_begin, iy_end;
      BandInputRows(p, oy0, oy1, &iy_begin, &iy_end);
      BuildBand(p, bg, input, t.n, g * cig, iy_begin, iy_end, scratch,
                &convgen::HWY_NAMESPACE::SplitPairs);

      for (int64_t b = t.co_begin / kGenericR; b * kGenericR < t.co_end; ++b) {
        const float* w_block = ctx.packed_weights + (g * blocks + b) * block_floats;
        const int64_t co0 = b * kGenericR;
        GenericRowArgs a;
        a.channels = std::min(kGenericR, t.co_end - co0);
        float* out_chan[kGenericR];
        for (int64_t r = 0; r < kGenericR; ++r) {
          const int64_t c = g * cog + co0 + std::min(r, a.channels - 1);
          out_chan[r] = output + (t.n * p.out_channels + OutputChannel(ctx, c)) * plane;
          a.bias[r] = ctx.bias ? ctx.bias[c] : 0.0f;
        }
        for (int64_t oy = oy0; oy < oy1; ++oy) {
          int64_t ky0, ky1;
          ValidKernelRows(p, oy, &ky0, &ky1);
          a.nky = ky1 - ky0;
          const int64_t band_row0 = oy * p.stride_h - p.pad_h + ky0 * p.dilation_h - iy_begin;
          a.band = scratch + band_row0 * bg.row_step;
          a.w = w_block + ky0 * p.kernel_w * kGenericR;
          for (int64_t r = 0; r < kGenericR; ++r) a.out[r] = out_chan[r] + oy * ow;
          int64_t ox = 0;
          for (; ox + N <= ow; ox += N) GenericStrip(d, ctx, bg, a, ox, N);
          if (ox < ow && 2 * (ow - ox) <= N && N >= 8) {
            // Half-width tail strip: same FMA rate per lane on Zen 4 (two
            // 256-bit pipes), half the wasted lanes (rn_3x3_7 on AVX3: 7 of
            // 8 lanes instead of 7 of 16).
            GenericStrip(dh, ctx, bg, a, ox, ow - ox);
          } else if (ox < ow) {
            GenericStrip(d, ctx, bg, a, ox, ow - ox);
          }
        }
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "dispatch.h"
#include "kernels/generic_estimate.h"
#include "kernels/weight_pack.h"
#include "targets.h"

namespace convgen {
namespace internal {
namespace {

HWY_EXPORT(GenericTile);

bool GenericApplies(const Conv2dParams& p, std::string* why) { return BandApplies(p, why); }

int64_t GenericPackedFloats(const Conv2dParams& p, int64_t /*hwy_target*/) {
  return BlockedWeightFloats(p, kGenericR);
}

void GenericPack(const Conv2dParams& p, int64_t /*hwy_target*/, const float* oihw, float* packed) {
  PackBlockedWeights(p, kGenericR, oihw, packed);
}

int64_t GenericScratch(const Conv2dParams& p) { return BandGeometry::Make(p).floats(); }

// Modelled fraction of peak: 0.8 (measured per useful lane on AVX3: 0.87 on
// d2l_5x5, 0.81 on rn_3x3_56) x useful lanes of the width strips x useful
// channels of the 8-channel blocks x the vertical padding taps skipped. Below
// the specialised kernels where they apply (their model reaches 1.0); the
// fallback for shapes nothing else covers.
double GenericEstimate(const Conv2dParams& p, int64_t target) {
  const int64_t lanes = FloatLanes(target), ow = p.out_width(), tail = ow % lanes;
  const int64_t covered =
      ow - tail + (tail == 0 ? 0 : (lanes >= 8 && 2 * tail <= lanes ? lanes / 2 : lanes));
  // Measured rate per useful lane: ~0.8 of peak on AVX3 (79-102 GFLOP/s on
  // rn_3x3_56 / d2l_5x5), ~0.6 on AVX2 (58-84 on the suite's k x k layers,
  // one quiet `convgen tune` run), where its 8x1 tile issues a load and eight
  // separate broadcasts per eight FMAs.
  const double rate = lanes == 8 ? 0.6 : 0.8;
  return TargetCeiling(target) * rate * (double(ow) / double(covered)) *
         BlockUse(p.out_channels_per_group(), kGenericR) * VerticalTapFactor(p);
}

KernelFn ResolveGeneric(int64_t target) { return CONVGEN_RESOLVE(GenericTile, target); }

}  // namespace

extern const KernelInfo kGenericKernel;
const KernelInfo kGenericKernel = {
    "f32_conv2d_generic_r8_w1v", "generic", 0, 0, 0, 0, 0, 0,
    static_cast<int>(kGenericR), 1, /*priority=*/100,
    &GenericApplies, &GenericPackedFloats, &GenericPack, &GenericScratch,
    &GenericEstimate, &ResolveGeneric,
};

}  // namespace internal
}  // namespace convgen
#endif  // HWY_ONCE
