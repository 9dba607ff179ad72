// im2col + GEMM: f32_conv2d_im2col_gemm_r6_w2v (D2L exercise 5, convolution as
// a matrix product for any window).
//
// Per image and group, the tile's output pixels (rows [oh_begin, oh_end),
// flattened: pixel q = oy*ow + ox, which is also its offset in an NCHW output
// plane) are processed in panels of at most NC pixels. For a panel, the column
// matrix cols[k][q] (k = (ci, ky, kx) over the group's ci/g*kh*kw taps; zero
// where the tap lands in the padding) is built in scratch, packed as strips of
// VV*N pixels, [strip][k][VV*N], so that the GEMM micro-kernel (gemm-inl.h)
// streams it contiguously. Then Y[co][q] = W[co][k] . cols[k][q] with an
// R = 6 output channels x VV = 2 vectors of pixels register tile on every
// target (12 accumulators + 2 column vectors + 1 broadcast = 15 registers:
// fits AVX2/SSE4's 16; TOOLCHAIN.md §3: R6V2 is AVX2's fastest block, 92.8
// GFLOP/s). Flattening the pixels is what im2col buys over the direct
// kernels: a 7x7 map is 49 pixels, 2 strips of 32 on AVX3 (77% of lanes)
// instead of 7 rows of 16 (44%).
//
// Weights: packed [group][block of 6 output channels][k][6], missing channels
// zero (the A micro-panel). Scratch: one panel, K * NC floats, NC a multiple
// of 32 (every target's VV*N) chosen so that the panel stays within ~512 KiB
// (half of Zen 4's L2), at least one strip. Output: bias + clamp fused, full
// strips StoreU, the tile's last strip BlendedStore; channel c at
// OutputChannel(ctx, c). Reads only the input (scalar im2col copies) and
// scratch.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/im2col.cc"
#include <hwy/foreach_target.h>  // before highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "kernel.h"
#include "kernels/gemm-inl.h"

#ifndef CONVGEN_SRC_KERNELS_IM2COL_CC_ONCE_
#define CONVGEN_SRC_KERNELS_IM2COL_CC_ONCE_
namespace convgen {
namespace internal {

constexpr int64_t kIm2colR = 6;             // output channels per A micro-panel
constexpr int64_t kIm2colPanelAlign = 32;   // multiple of every target's VV*N
constexpr int64_t kIm2colPanelTargetFloats = 128 * 1024;

inline int64_t Im2colCeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline int64_t Im2colDepth(const Conv2dParams& p) {
  return p.in_channels_per_group() * p.kernel_h * p.kernel_w;
}

// Pixels per panel: a multiple of kIm2colPanelAlign, at least one, at most
// the whole output plane (rounded up).
inline int64_t Im2colPanelPixels(const Conv2dParams& p) {
  const int64_t plane = Im2colCeilDiv(p.out_height() * p.out_width(), kIm2colPanelAlign);
  const int64_t fit = kIm2colPanelTargetFloats / (Im2colDepth(p) * kIm2colPanelAlign);
  return kIm2colPanelAlign * std::max<int64_t>(1, std::min(plane, fit));
}

// A run of strip lanes that lie in one output row.
struct Im2colSegment {
  int64_t lane, len, oy, ox;
};

// Fills cols[k][0..width) for the pixels described by `seg` (lanes past the
// last segment are zero): one strip of the panel. Every element is written
// once (copied or zeroed).
inline void Im2colStrip(const Conv2dParams& p, const float* input_group,
                        const Im2colSegment* seg, int64_t segments, int64_t width,
                        float* strip) {
  const int64_t ih = p.in_height, iw = p.in_width, sw = p.stride_w;
  const int64_t covered = segments > 0 ? seg[segments - 1].lane + seg[segments - 1].len : 0;
  int64_t k = 0;
  for (int64_t c = 0; c < p.in_channels_per_group(); ++c) {
    const float* plane = input_group + c * ih * iw;
    for (int64_t ky = 0; ky < p.kernel_h; ++ky)
      for (int64_t kx = 0; kx < p.kernel_w; ++kx, ++k) {
        float* dst = strip + k * width;
        const int64_t x_off = kx * p.dilation_w - p.pad_w;  // ix = ox*sw + x_off
        // Valid ox of this tap, whatever the row: 0 <= ox*sw + x_off < iw.
        const int64_t ox_lo = x_off >= 0 ? 0 : Im2colCeilDiv(-x_off, sw);
        const int64_t ox_hi = iw - x_off > 0 ? Im2colCeilDiv(iw - x_off, sw) : 0;
        for (int64_t s = 0; s < segments; ++s) {
          const Im2colSegment& g = seg[s];
          float* out = dst + g.lane;
          const int64_t iy = g.oy * p.stride_h - p.pad_h + ky * p.dilation_h;
          const int64_t lo = std::min(g.ox + g.len, std::max(g.ox, ox_lo));
          const int64_t hi = std::max(lo, std::min(g.ox + g.len, ox_hi));
          if (iy < 0 || iy >= ih || lo == hi) {  // all padding
            std::fill(out, out + g.len, 0.0f);
            continue;
          }
          std::fill(out, out + (lo - g.ox), 0.0f);
          const float* src = plane + iy * iw + lo * sw + x_off;
          if (sw == 1) {
            std::memcpy(out + (lo - g.ox), src, sizeof(float) * (hi - lo));
          } else {
            for (int64_t i = 0; i < hi - lo; ++i) out[lo - g.ox + i] = src[i * sw];
          }
          std::fill(out + (hi - g.ox), out + g.len, 0.0f);
        }
        std::fill(dst + covered, dst + width, 0.0f);
      }
  }
}

}  // namespace internal
}  // namespace convgen
#endif  // CONVGEN_SRC_KERNELS_IM2COL_CC_ONCE_

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kIm2colVV = 2;

void Im2colTile(const KernelContext& ctx, const Tile& t, const float* input,
                float* output, float* scratch) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t width = static_cast<int64_t>(kIm2colVV) * N;  // pixels per strip
  const Conv2dParams& p = ctx.params;
  const int64_t cig = p.in_channels_per_group(), cog = p.out_channels_per_group();
  const int64_t K = Im2colDepth(p), NC = Im2colPanelPixels(p);
  const int64_t blocks = Im2colCeilDiv(cog, kIm2colR);
  const int64_t ow = ctx.out_w, plane = ctx.out_h * ctx.out_w;
  const int64_t q_begin = t.oh_begin * ow, q_end = t.oh_end * ow;
  const V lo = hn::Set(d, ctx.clamp_min), hi = hn::Set(d, ctx.clamp_max);
  HWY_ALIGN float tile[kIm2colR * kIm2colVV * hn::MaxLanes(hn::ScalableTag<float>())];
  Im2colSegment seg[2 * kIm2colPanelAlign + 1];

  for (int64_t g = t.g_begin; g < t.g_end; ++g) {
    const float* input_group = input + (t.n * p.in_channels + g * cig) * p.in_height * p.in_width;
    for (int64_t q0 = q_begin; q0 < q_end; q0 += NC) {
      const int64_t q1 = std::min(q_end, q0 + NC);
      const int64_t strips = Im2colCeilDiv(q1 - q0, width);
      // im2col: one strip of `width` pixels at a time.
      for (int64_t s = 0; s < strips; ++s) {
        int64_t segments = 0;
        for (int64_t q = q0 + s * width, lane = 0; q < q1 && lane < width;) {
          const int64_t oy = q / ow, ox = q % ow;
          const int64_t len = std::min({width - lane, ow - ox, q1 - q});
          seg[segments++] = Im2colSegment{lane, len, oy, ox};
          lane += len;
          q += len;
        }
        Im2colStrip(p, input_group, seg, segments, width, scratch + s * K * width);
      }
      // GEMM over the panel.
      for (int64_t b = t.co_begin / kIm2colR; b * kIm2colR < t.co_end; ++b) {
        const float* a = ctx.packed_weights + (g * blocks + b) * K * kIm2colR;
        const int64_t co0 = b * kIm2colR;
        const int64_t channels = std::min(kIm2colR, t.co_end - co0);
        float* out_chan[kIm2colR];
        float bias[kIm2colR];
        for (int64_t r = 0; r < kIm2colR; ++r) {
          const int64_t c = g * cog + co0 + std::min(r, channels - 1);
          out_chan[r] = output + (t.n * p.out_channels + OutputChannel(ctx, c)) * plane;
          bias[r] = ctx.bias ? ctx.bias[c] : 0.0f;
        }
        for (int64_t s = 0; s < strips; ++s) {
          const int64_t q = q0 + s * width;
          const int64_t valid = std::min(width, q1 - q);
          GemmMicroTile<kIm2colR, kIm2colVV, kIm2colR>(d, a, scratch + s * K * width, K,
                                                       tile);
          for (int64_t r = 0; r < channels; ++r) {
            const V vb = hn::Set(d, bias[r]);
            for (int64_t lane0 = 0; lane0 < valid; lane0 += N) {
              const V acc = hn::Load(d, tile + (r * static_cast<int64_t>(kIm2colVV)) * N + lane0);
              const V y = hn::Min(hn::Max(hn::Add(acc, vb), lo), hi);
              float* dst = out_chan[r] + q + lane0;
              if (valid - lane0 >= N) {
                hn::StoreU(y, d, dst);
              } else {
                hn::BlendedStore(y, hn::FirstN(d, static_cast<size_t>(valid - lane0)), d, dst);
              }
            }
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

HWY_EXPORT(Im2colTile);

bool Im2colApplies(const Conv2dParams&, std::string*) { return true; }

int64_t Im2colPackedFloats(const Conv2dParams& p, int64_t /*hwy_target*/) {
  return BlockedWeightFloats(p, kIm2colR);
}

// OIHW -> [g][co block][k = (ci, ky, kx)][kIm2colR]: the GEMM's packed A panel.
void Im2colPack(const Conv2dParams& p, int64_t /*hwy_target*/, const float* oihw, float* packed) {
  PackBlockedWeights(p, kIm2colR, oihw, packed);
}

int64_t Im2colScratch(const Conv2dParams& p) {
  return Im2colDepth(p) * Im2colPanelPixels(p);
}

// Modelled fraction of peak: 0.75 (measured on AVX3 per useful lane: 0.76 on
// rn_3x3_56 and d2l_5x5; the column copy and the padded taps it computes cost
// the rest) x lanes used by the flattened pixel strips x channels used by the
// 6-channel blocks. Above the generic kernel on narrow maps (rn_3x3_7: 49
// pixels fill 77% of two 32-pixel strips, 7-wide rows fill 44% of a vector).
double Im2colEstimate(const Conv2dParams& p, int64_t target) {
  return TargetCeiling(target) * 0.75 *
         BlockUse(p.out_height() * p.out_width(), 2 * FloatLanes(target)) *
         BlockUse(p.out_channels_per_group(), kIm2colR);
}

KernelFn ResolveIm2col(int64_t target) { return CONVGEN_RESOLVE(Im2colTile, target); }

}  // namespace

extern const KernelInfo kIm2colGemmKernel;
const KernelInfo kIm2colGemmKernel = {
    "f32_conv2d_im2col_gemm_r6_w2v", "im2col", 0, 0, 0, 0, 0, 0,
    static_cast<int>(kIm2colR), 2, /*priority=*/110,
    &Im2colApplies, &Im2colPackedFloats, &Im2colPack, &Im2colScratch,
    &Im2colEstimate, &ResolveIm2col,
};

}  // namespace internal
}  // namespace convgen
#endif  // HWY_ONCE
