// Small-spatial-map kernel: f32_conv2d_smallmap_p14_c1v (implicit GEMM over
// output channels).
//
// For maps like ResNet's 14x14 and 7x7, a vector along the output row wastes
// lanes (7 of 16 used on AVX-512). This family vectorises over OUTPUT
// CHANNELS instead: a register tile is P adjacent output pixels of one row x
// VV vectors of output channels. Per kernel tap (ci, ky, kx): VV weight vector
// loads, P input scalars broadcast (folded into the FMA as {1to16} on AVX3 when
// VV = 1), P*VV FMAs. Any kernel size, stride, dilation, padding and groups
// (1x1 included); lanes are wasted only when a group's output channels are not
// a multiple of the vector.
//
// Per target (accumulators P*VV + VV weights + 1 broadcast <= registers):
//   AVX3  : VV = 1 (16 channels), P <= 14 -> 14 + 1 zmm of 32;
//   AVX2  : VV = 2 (16 channels), P <= 6  -> 12 + 2 + 1 ymm of 16;
//   SSE4  : VV = 2 (8 channels),  P <= 6;   SCALAR: VV = 4, P <= 4.
// A row of width ow is cut into ceil(ow / Pmax) segments of nearly equal
// width (14 -> 14, 7 -> 7 on AVX3; 14 -> 5+5+4, 7 -> 4+3 on AVX2): P is a
// template parameter, one instantiation per width 1..Pmax.
//
// Padding: the input rows are copied into a zero-padded band in scratch
// (generic_band.h, also de-interleaving strides, so pixel p of a segment is at
// +p whatever the stride); kernel rows in the vertical padding are skipped
// per output row; horizontal padding taps are computed on zeros. On rn_3x3_7
// that computes 90.5% of the nominal taps (real: 82%).
// Weights: packed [group][block of kSmallmapBlock = 16 output channels]
// [ci/g][kh][kw][16], missing channels zero; the block is a multiple of every
// target's VV*lanes so one packing serves all targets.
// Epilogue: bias + clamp on the channel vectors, then the P x channels tile is
// transposed through a small stack buffer into NCHW rows (per channel, P
// contiguous pixels) at OutputChannel(ctx, c) (fused channel shuffle).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/smallmap.cc"
#include <hwy/foreach_target.h>  // before highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <utility>

#include "kernel.h"
#include "kernels/generic_band.h"

#ifndef CONVGEN_SRC_KERNELS_SMALLMAP_CC_ONCE_
#define CONVGEN_SRC_KERNELS_SMALLMAP_CC_ONCE_
namespace convgen {
namespace internal {
// Output channels per packed weight block (and the plan's r).
constexpr int64_t kSmallmapBlock = 16;

// Everything a segment needs; set up once per (sub-block, output row).
struct SmallmapSegmentArgs {
  const float* band;   // band channel 0, first valid kernel row, segment's first pixel
  const float* w;      // packed weights: sub-block's first channel, first valid kernel row
  int64_t cig, nky, kw;
  int64_t band_chan, band_row;  // band strides: channel, kernel row (dilation_h rows)
  int64_t w_chan, w_row;        // weight strides: channel, kernel row
  const BandGeometry* bg;
  int64_t dilation_w;
  const float* bias;            // the sub-block's bias, padded to its width
  float clamp_min, clamp_max;
  float* const* out;            // per channel of the sub-block: output row + ox0
  int64_t channels;             // valid channels in the sub-block
};
}  // namespace internal
}  // namespace convgen
#endif

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr size_t kSmallmapVV = 1, kSmallmapMaxP = 14;
#elif HWY_TARGET == HWY_SCALAR
constexpr size_t kSmallmapVV = 4, kSmallmapMaxP = 4;
#else
constexpr size_t kSmallmapVV = 2, kSmallmapMaxP = 6;
#endif

// P pixels x kSmallmapVV vectors of channels.
template <size_t P>
HWY_NOINLINE void SmallmapSegment(const SmallmapSegmentArgs& a) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  constexpr size_t VV = kSmallmapVV;
  constexpr size_t N = hn::MaxLanes(hn::ScalableTag<float>());
  V acc[P * VV];
  HWY_UNROLL(64)
  for (size_t i = 0; i < P * VV; ++i) acc[i] = hn::Zero(d);
  const int64_t kw = a.kw;
  for (int64_t c = 0; c < a.cig; ++c) {
    for (int64_t ky = 0; ky < a.nky; ++ky) {
      const float* HWY_RESTRICT row = a.band + c * a.band_chan + ky * a.band_row;
      const float* HWY_RESTRICT wk = a.w + c * a.w_chan + ky * a.w_row;
      TapColumnWalker walk(*a.bg, a.dilation_w);
      for (int64_t kx = 0; kx < kw; ++kx, wk += kSmallmapBlock) {
        const float* HWY_RESTRICT src = row + walk.offset();
        walk.Next();
        V wv[VV];
        HWY_UNROLL(4)
        for (size_t v = 0; v < VV; ++v) wv[v] = hn::LoadU(d, wk + v * N);
        HWY_UNROLL(16)
        for (size_t px = 0; px < P; ++px) {
          const V x = hn::Set(d, src[px]);
          HWY_UNROLL(4)
          for (size_t v = 0; v < VV; ++v)
            acc[px * VV + v] = hn::MulAdd(wv[v], x, acc[px * VV + v]);
        }
      }
    }
  }
  // Epilogue: bias + clamp per channel vector, transpose via the stack.
  HWY_ALIGN float tile[P * VV * N];
  const V lo = hn::Set(d, a.clamp_min), hi = hn::Set(d, a.clamp_max);
  HWY_UNROLL(4)
  for (size_t v = 0; v < VV; ++v) {
    const V bias = hn::LoadU(d, a.bias + v * N);
    HWY_UNROLL(16)
    for (size_t px = 0; px < P; ++px)
      hn::Store(hn::Min(hn::Max(hn::Add(acc[px * VV + v], bias), lo), hi), d,
                tile + px * VV * N + v * N);
  }
  for (int64_t ch = 0; ch < a.channels; ++ch) {
    float* HWY_RESTRICT dst = a.out[ch];
    HWY_UNROLL(16)
    for (size_t px = 0; px < P; ++px) dst[px] = tile[px * VV * N + ch];
  }
}

using SegmentFn = void (*)(const SmallmapSegmentArgs&);

template <size_t... I>
constexpr std::array<SegmentFn, sizeof...(I)> MakeSegmentTable(std::index_sequence<I...>) {
  return {{&SmallmapSegment<I + 1>...}};
}

void SmallmapTile(const KernelContext& ctx, const Tile& t, const float* input,
                  float* output, float* scratch) {
  static constexpr auto kSegments =
      MakeSegmentTable(std::make_index_sequence<kSmallmapMaxP>());
  const hn::ScalableTag<float> d;
  const int64_t sub_width = static_cast<int64_t>(kSmallmapVV * hn::Lanes(d));
  const Conv2dParams& p = ctx.params;
  const BandGeometry bg = BandGeometry::Make(p);
  const int64_t cig = p.in_channels_per_group(), cog = p.out_channels_per_group();
  const int64_t blocks = CeilDiv(cog, kSmallmapBlock);
  const int64_t block_floats = cig * p.kernel_h * p.kernel_w * kSmallmapBlock;
  const int64_t ow = ctx.out_w, plane = ctx.out_h * ctx.out_w;
  // Segments of nearly equal width: `wide` segments of base + 1, then base.
  const int64_t segments = CeilDiv(ow, static_cast<int64_t>(kSmallmapMaxP));
  const int64_t base = ow / segments, wide = ow % segments;

  SmallmapSegmentArgs a;
  a.cig = cig;
  a.kw = p.kernel_w;
  a.band_chan = bg.chan_stride;
  a.band_row = p.dilation_h * bg.row_stride;
  a.w_chan = p.kernel_h * p.kernel_w * kSmallmapBlock;
  a.w_row = p.kernel_w * kSmallmapBlock;
  a.bg = &bg;
  a.dilation_w = p.dilation_w;
  a.clamp_min = ctx.clamp_min;
  a.clamp_max = ctx.clamp_max;
  HWY_ALIGN float bias[kSmallmapBlock];
  float* out[kSmallmapBlock];
  a.bias = bias;
  a.out = out;

  for (int64_t g = t.g_begin; g < t.g_end; ++g) {
    for (int64_t oy0 = t.oh_begin; oy0 < t.oh_end; oy0 += bg.out_rows) {
      const int64_t oy1 = std::min(t.oh_end, oy0 + bg.out_rows);
      int64_t iy_begin, iy_end;
      BandInputRows(p, oy0, oy1, &iy_begin, &iy_end);
      BuildBand(p, bg, input, t.n, g * cig, iy_begin, iy_end, scratch);
      for (int64_t co0 = t.co_begin / kSmallmapBlock * kSmallmapBlock +
                         (t.co_begin % kSmallmapBlock) / sub_width * sub_width;
           co0 < t.co_end; co0 += sub_width) {
        const int64_t b = co0 / kSmallmapBlock;
        const float* w_sub = ctx.packed_weights + (g * blocks + b) * block_floats +
                             (co0 % kSmallmapBlock);
        a.channels = std::min(sub_width, t.co_end - co0);
        for (int64_t ch = 0; ch < sub_width; ++ch)
          bias[ch] = (ch < a.channels && ctx.bias) ? ctx.bias[g * cog + co0 + ch] : 0.0f;
        int64_t out_chan[kSmallmapBlock];
        for (int64_t ch = 0; ch < a.channels; ++ch)
          out_chan[ch] = (t.n * p.out_channels + OutputChannel(ctx, g * cog + co0 + ch)) * plane;
        for (int64_t oy = oy0; oy < oy1; ++oy) {
          int64_t ky0, ky1;
          ValidKernelRows(p, oy, &ky0, &ky1);
          a.nky = ky1 - ky0;
          const int64_t band_row0 = oy * p.stride_h - p.pad_h + ky0 * p.dilation_h - iy_begin;
          a.w = w_sub + ky0 * a.w_row;
          int64_t ox0 = 0;
          for (int64_t s = 0; s < segments; ++s) {
            const int64_t width = base + (s < wide ? 1 : 0);
            a.band = scratch + band_row0 * bg.row_stride + ox0;
            for (int64_t ch = 0; ch < a.channels; ++ch)
              out[ch] = output + out_chan[ch] + oy * ow + ox0;
            kSegments[width - 1](a);
            ox0 += width;
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
#include "targets.h"

namespace convgen {
namespace internal {
namespace {

HWY_EXPORT(SmallmapTile);

bool SmallmapApplies(const Conv2dParams&, std::string*) { return true; }

int64_t SmallmapPackedFloats(const Conv2dParams& p) {
  return p.groups * RoundUp(p.out_channels_per_group(), kSmallmapBlock) *
         p.in_channels_per_group() * p.kernel_h * p.kernel_w;
}

// OIHW -> [g][co block][ci/g][kh][kw][kSmallmapBlock], missing channels zero.
void SmallmapPack(const Conv2dParams& p, const float* oihw, float* packed) {
  const int64_t cig = p.in_channels_per_group(), cog = p.out_channels_per_group();
  const int64_t taps = p.kernel_h * p.kernel_w, blocks = CeilDiv(cog, kSmallmapBlock);
  std::fill(packed, packed + SmallmapPackedFloats(p), 0.0f);
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t oc = 0; oc < cog; ++oc) {
      const int64_t b = oc / kSmallmapBlock, r = oc % kSmallmapBlock;
      float* dst = packed + (g * blocks + b) * cig * taps * kSmallmapBlock + r;
      const float* src = oihw + (g * cog + oc) * cig * taps;
      for (int64_t i = 0; i < cig * taps; ++i) dst[i * kSmallmapBlock] = src[i];
    }
}

int64_t SmallmapScratch(const Conv2dParams& p) { return BandGeometry::Make(p).floats(); }

double SmallmapEstimate(const Conv2dParams& p, int64_t target) {
  (void)target;
  const int64_t cog = p.out_channels_per_group();
  return 0.8 * double(cog) / double(RoundUp(cog, kSmallmapBlock));
}

KernelFn ResolveSmallmap(int64_t target) { return CONVGEN_RESOLVE(SmallmapTile, target); }

}  // namespace

extern const KernelInfo kSmallmapKernel;
const KernelInfo kSmallmapKernel = {
    "f32_conv2d_smallmap_p14_c1v", "smallmap", 0, 0, 0, 0, 0, 0,
    static_cast<int>(kSmallmapBlock), 0, /*priority=*/90,
    &SmallmapApplies, &SmallmapPackedFloats, &SmallmapPack, &SmallmapScratch,
    &SmallmapEstimate, &ResolveSmallmap,
};

}  // namespace internal
}  // namespace convgen
#endif  // HWY_ONCE
