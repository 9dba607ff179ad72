// convgen: grouped k×k convolution for few channels per group (ResNeXt),
// NCHW fp32. Per-target code (Highway self-include pattern): the generated
// TUs include this header after hwy/foreach_target.h and instantiate
// GconvTile<...> for each spec row (gen/family_gconv.py, docs/kernels.md).
//
// Tile: all the group's output channels (padded to the block C: zero packed
// weights, computed and not stored) × T output rows × V vectors of outputs,
// accumulated over the group's input channels by the row-tile core of
// dwconv-inl.h (rowtile::Accumulate: each input row's shifted vectors are
// built once and feed C channels × the output rows that use them; borders,
// skipped padding rows, masked tails as described there). The loop over the
// groups is inside the kernel; per group the weights are one contiguous
// [ci_g][KH][KW][C] block (gconv.h).

#if defined(CONVGEN_SRC_KERNELS_GCONV_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef CONVGEN_SRC_KERNELS_GCONV_INL_H_
#undef CONVGEN_SRC_KERNELS_GCONV_INL_H_
#else
#define CONVGEN_SRC_KERNELS_GCONV_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <algorithm>

#include "hwy/highway.h"
#include "kernel.h"
#include "kernels/dwconv-inl.h"

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace HWY_NAMESPACE {
namespace gconv {

// One Tile (kernel.h): for each group, each band of T output rows, every
// strip of the rows; channels [co_begin, co_end) of the group are stored
// (the plan's tiles start channel ranges at multiples of KernelInfo::r = C,
// and co_g <= C, so a tile holds all of a group's channels).
template <int KH, int KW, int SH, int SW, int C, int T, int V, class D>
void GconvTile(D d, const internal::KernelContext& ctx, const internal::Tile& t,
               const float* input, float* output) {
  const Conv2dParams& p = ctx.params;
  const int64_t ci_g = p.in_channels_per_group(), co_g = p.out_channels_per_group();
  rowtile::Source s;
  s.in_plane = p.in_height * p.in_width;
  s.in_h = p.in_height;
  s.in_w = p.in_width;
  s.ci = ci_g;
  rowtile::Sink k;
  k.n = t.n;
  k.c_begin = static_cast<int>(t.co_begin);
  k.c_end = static_cast<int>(std::min<int64_t>(t.co_end, C));
  const bool prefetch = internal::rowtile::StreamsFromMemory(p);
  for (int64_t g = t.g_begin; g < t.g_end; ++g) {
    s.in = input + (t.n * p.in_channels + g * ci_g) * s.in_plane;
    s.w = ctx.packed_weights + g * ci_g * (KH * KW * C);
    k.co_abs = g * co_g;
    for (int64_t oh0 = t.oh_begin; oh0 < t.oh_end; oh0 += T) {
      k.oh0 = oh0;
      k.rows = std::min<int64_t>(T, t.oh_end - oh0);
      s.ih0 = oh0 * SH - p.pad_h;
      rowtile::RowOfStrips<KH, KW, SH, SW, C, T, V>(d, ctx, s, k, output);
      if (prefetch && g + 1 < t.g_end) rowtile::PrefetchNextGroupBand<SH>(s, oh0, k.rows);
    }
  }
}

}  // namespace gconv
}  // namespace HWY_NAMESPACE
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#endif  // include guard (toggle)
