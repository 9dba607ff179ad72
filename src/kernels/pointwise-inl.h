// convgen: pointwise (1×1) convolution as a matrix product, dense ("conv1x1")
// and block-diagonal grouped ("gconv1x1", D2L exercise 7), NCHW fp32.
// Per-target code (Highway self-include pattern): the generated TUs include
// this header after hwy/foreach_target.h and instantiate PointwiseTile<...>
// for each spec row (gen/family_pointwise.py, docs/kernels.md).
//
// Per image and group, Y[co_g][P] = W[co_g][ci_g] · X[ci_g][P] over the
// P = out_h·out_w pixels of the plane. Register tile: RS output channels ×
// a strip of Δ = V·N adjacent pixels (N = lanes of `d`) in RS·V
// accumulators; per input channel, V pixel vectors (loaded once, reused by
// all RS channels), RS weight broadcasts (RS adjacent packed floats,
// pointwise.h; folded into the FMAs as {1to16} on AVX3 when V = 1) and RS·V
// FMAs. The accumulators start from the bias, so the epilogue is only the
// optional clamp and the stores.
//
// The pixel axis. Stride 1 without padding reads the input in place: the
// pixels of a channel are one contiguous run, so strips cross output rows
// freely and only the end of the plane (or of a thread's row band) has a
// tail. Any other 1×1 geometry (stride 2, padding) first gathers a block of
// pixels of kc channels into a panel in scratch, then runs the same product
// on it.
//
// Tails. After the full strips, remaining whole vectors run as V = 1 strips;
// the last partial vector is masked: MaskedLoad / BlendedStore on AVX2/AVX3
// (fault-suppressing, never touching memory past the plane), lane by lane on
// SSE4/SCALAR (Highway's MaskedLoad is a full load there: TOOLCHAIN.md §3).
// On AVX3 a tail of at most 8 pixels runs on a 256-bit vector, half the FMA
// cost of a zmm. Output channels past the group's count exist only in the
// zero-padded packed weights: computed, never stored.
//
// Cache blocking (pointwise.h: ChooseBlocking): for each chunk of kc input
// channels (all of ci_g up to 512), for each block of pixels whose input panel
// fits in L2 (<= 256 KiB), for each block of R output channels (its kc·R
// packed weights stay in L1), for each strip: the kc products accumulate in
// registers; chunks after the first add to the partial sums in the output,
// the last one clamps.
//
// Groups are a loop inside the kernel (a Tile carries the group range), so a
// small group costs no call, no packing and no allocation: per group and R
// block only the R output pointers (the fused channel shuffle,
// OutputChannel) and biases are set up.

#if defined(CONVGEN_SRC_KERNELS_POINTWISE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef CONVGEN_SRC_KERNELS_POINTWISE_INL_H_
#undef CONVGEN_SRC_KERNELS_POINTWISE_INL_H_
#else
#define CONVGEN_SRC_KERNELS_POINTWISE_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <algorithm>
#include <cmath>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernel.h"
#include "kernels/pointwise.h"

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace HWY_NAMESPACE {
namespace pointwise {

namespace hn = hwy::HWY_NAMESPACE;

// What every strip of one (chunk, pixel block, R block, RS pass) shares.
struct StripArgs {
  const float* x;         // input panel: first channel of the chunk, first pixel of the block
  ptrdiff_t x_stride;     // floats between two input channels of the panel
  int64_t kc;             // input channels of the chunk
  const float* w;         // packed weights: chunk's first channel, this RS pass
  const float* bias;      // RS biases (0 past the valid channels)
  float* const* out;      // RS output rows at the block's first pixel
  int64_t rs_count;       // valid output channels of the pass (<= RS)
  bool first, last;       // chunk position: first adds the bias, last clamps
  bool clamp;
  float clamp_min, clamp_max;
};

// `valid` lanes of p (kTail) or all of them. The masked forms never touch
// memory past p + valid.
template <bool kTail, class D>
HWY_INLINE hn::Vec<D> LoadPixels(D d, const float* HWY_RESTRICT p, size_t valid) {
  if constexpr (!kTail) {
    return hn::LoadU(d, p);
  } else {
#if HWY_TARGET <= HWY_AVX2
    return hn::MaskedLoad(hn::FirstN(d, valid), d, p);
#else
    HWY_ALIGN float lanes[hn::MaxLanes(d)] = {};
    for (size_t i = 0; i < valid; ++i) lanes[i] = p[i];
    return hn::Load(d, lanes);
#endif
  }
}

template <bool kTail, class D>
HWY_INLINE void StorePixels(D d, hn::Vec<D> v, float* HWY_RESTRICT p, size_t valid) {
  if constexpr (!kTail) {
    hn::StoreU(v, d, p);
  } else {
    hn::BlendedStore(v, hn::FirstN(d, valid), d, p);
  }
}

// One strip: RS channels × V vectors at pixel `pix` of the block (`valid`
// lanes of a single vector when kTail).
template <int R, int RS, int V, bool kTail, class D>
HWY_NOINLINE void Strip(D d, const StripArgs& a, ptrdiff_t pix, size_t valid) {
  static_assert(!kTail || V == 1, "the masked tail is one vector");
  const ptrdiff_t N = static_cast<ptrdiff_t>(hn::Lanes(d));
  hn::Vec<D> acc[RS][V];
  if (a.first) {
    HWY_UNROLL(16)
    for (int r = 0; r < RS; ++r) {
      const hn::Vec<D> b = hn::Set(d, a.bias[r]);
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v) acc[r][v] = b;
    }
  } else {
    HWY_UNROLL(16)
    for (int r = 0; r < RS; ++r) {
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v)
        acc[r][v] = r < a.rs_count ? LoadPixels<kTail>(d, a.out[r] + pix + v * N, valid)
                                   : hn::Zero(d);
    }
  }

  const float* HWY_RESTRICT xp = a.x + pix;
  const float* HWY_RESTRICT wp = a.w;
  HWY_UNROLL(1)
  for (int64_t c = 0; c < a.kc; ++c) {
    hn::Vec<D> x[V];
    HWY_UNROLL(16)
    for (int v = 0; v < V; ++v) x[v] = LoadPixels<kTail>(d, xp + v * N, valid);
    HWY_UNROLL(16)
    for (int r = 0; r < RS; ++r) {
      const hn::Vec<D> wv = hn::Set(d, wp[r]);
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v) acc[r][v] = hn::MulAdd(wv, x[v], acc[r][v]);
    }
    // The input of the strip two strips ahead, same channel: the first R
    // block to walk a pixel block reads its panel from L3 with a stride of a
    // whole plane between channels, which the hardware prefetchers miss
    // (rn_1x1_56 AVX3: 104 -> 114 GFLOP/s cpu time; one strip ahead: 113).
    if constexpr (!kTail) {
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v) hwy::Prefetch(xp + 2 * V * N + v * N);
    }
    xp += a.x_stride;
    wp += R;
  }

  if (a.last && a.clamp) {
    const hn::Vec<D> lo = hn::Set(d, a.clamp_min);
    const hn::Vec<D> hi = hn::Set(d, a.clamp_max);
    HWY_UNROLL(16)
    for (int r = 0; r < RS; ++r) {
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v) acc[r][v] = hn::Min(hn::Max(acc[r][v], lo), hi);
    }
  }
  HWY_UNROLL(16)
  for (int r = 0; r < RS; ++r) {
    if (r >= a.rs_count) break;
    HWY_UNROLL(16)
    for (int v = 0; v < V; ++v) StorePixels<kTail>(d, acc[r][v], a.out[r] + pix + v * N, valid);
  }
}

// Gathers pixels [p_begin, p_end) of `kc` input channels into panel rows of
// `panel_stride` floats: output pixel (oy, ox) reads input (oy·sh − ph,
// ox·sw − pw), zero outside the input.
inline void GatherPanel(const Conv2dParams& p, int64_t out_w, const float* in, int64_t kc,
                        int64_t p_begin, int64_t p_end, float* panel, int64_t panel_stride) {
  const int64_t in_h = p.in_height, in_w = p.in_width, in_plane = in_h * in_w;
  for (int64_t c = 0; c < kc; ++c) {
    const float* src = in + c * in_plane;
    float* dst = panel + c * panel_stride;
    for (int64_t pix = p_begin; pix < p_end;) {
      const int64_t oy = pix / out_w, ox0 = pix % out_w;
      const int64_t run = std::min(out_w - ox0, p_end - pix);
      const int64_t iy = oy * p.stride_h - p.pad_h;
      if (iy < 0 || iy >= in_h) {
        std::fill(dst, dst + run, 0.0f);
      } else {
        const float* row = src + iy * in_w;
        for (int64_t j = 0; j < run; ++j) {
          const int64_t ix = (ox0 + j) * p.stride_w - p.pad_w;
          dst[j] = (ix >= 0 && ix < in_w) ? row[ix] : 0.0f;
        }
      }
      dst += run;
      pix += run;
    }
  }
}

// One Tile (kernel.h): every group of the tile's range, its channel range,
// the pixels of its row band. R: packed block; RS × V: this target's tile.
template <int R, int RS, int V, class D>
void PointwiseTile(D d, const internal::KernelContext& ctx, const internal::Tile& t,
                   const float* input, float* output, float* scratch) {
  static_assert(R % RS == 0, "the register tile must divide the packed block");
  const Conv2dParams& p = ctx.params;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t delta = V * N;
  const int64_t ci_g = p.in_channels_per_group(), co_g = p.out_channels_per_group();
  const int64_t blocks = (co_g + R - 1) / R;
  const int64_t in_plane = p.in_height * p.in_width;
  const int64_t out_plane = ctx.out_h * ctx.out_w;
  const int64_t p_begin = t.oh_begin * ctx.out_w, p_end = t.oh_end * ctx.out_w;
  const internal::pointwise::Blocking blocking = internal::pointwise::ChooseBlocking(p);
  const bool in_place = internal::pointwise::ReadsInPlace(p);

  // A tail of at most N/2 pixels runs on half-width vectors where that
  // halves the FMA cost (AVX3: 8 lanes = one 256-bit op instead of two).
  constexpr size_t kMaxLanes = hn::MaxLanes(D());
  constexpr bool kHalfTail = kMaxLanes >= 16;
  using DHalf = hn::CappedTag<float, kHalfTail ? kMaxLanes / 2 : kMaxLanes>;

  StripArgs a;
  a.clamp = !(ctx.clamp_min == -INFINITY && ctx.clamp_max == INFINITY);
  a.clamp_min = ctx.clamp_min;
  a.clamp_max = ctx.clamp_max;
  float* out_rows[R];
  float bias[R];

  // Aligned vectors: when every channel plane is a whole number of vectors,
  // all output rows share one alignment (and, read in place, all input
  // rows another), and a first block of `head` pixels aligns every later
  // full vector of one side (a 64-byte zmm access that straddles two cache
  // lines costs two: rn_1x1_up, 3.2 MB of output, 105 -> 110 GFLOP/s cpu
  // time on AVX3 with the stores aligned). The side with more accesses per
  // strip: the input's ci_g·V loads where ci_g >= R, else the output's RS·V
  // stores. Session 15, Zen 5, r8_w3v, 1 thread, every input and output
  // offset of 0/4/8/12 floats: rn_1x1_56 (ci 256) 163-170 GFLOP/s when the
  // offsets differed and the stores were aligned, 182-192 at every
  // offset with the loads aligned; rn_1x1_up (ci 64) and mb_pw_112 (ci 32)
  // unchanged (184-191, 176-182).
  int64_t head = 0;
  if (N > 1 && out_plane % N == 0) {
    const bool align_loads = in_place && ci_g >= R;
    const float* aligned_by_head =
        align_loads ? input + t.n * p.in_channels * in_plane + p_begin : output + p_begin;
    const uintptr_t first = reinterpret_cast<uintptr_t>(aligned_by_head) / sizeof(float);
    head = std::min<int64_t>(p_end - p_begin, static_cast<int64_t>((N - first % N) % N));
  }

  for (int64_t g = t.g_begin; g < t.g_end; ++g) {
    const float* in_g = input + (t.n * p.in_channels + g * ci_g) * in_plane;
    for (int64_t k0 = 0; k0 < ci_g; k0 += blocking.kc) {
      a.kc = std::min(blocking.kc, ci_g - k0);
      a.first = k0 == 0;
      a.last = k0 + a.kc == ci_g;
      for (int64_t pb = p_begin, count; pb < p_end; pb += count) {
        count = pb == p_begin && head > 0 ? head : internal::pointwise::BlockPixels(blocking, p_end - pb);
        if (in_place) {
          a.x = in_g + k0 * in_plane + pb;
          a.x_stride = in_plane;
        } else {
          GatherPanel(p, ctx.out_w, in_g + k0 * in_plane, a.kc, pb, pb + count, scratch, count);
          a.x = scratch;
          a.x_stride = count;
        }
        for (int64_t co0 = t.co_begin; co0 < t.co_end; co0 += R) {
          const float* w_block = ctx.packed_weights + ((g * blocks + co0 / R) * ci_g + k0) * R;
          for (int r = 0; r < R; ++r) {
            const int64_t co = co0 + r;
            const bool valid = co < t.co_end;
            const int64_t co_abs = g * co_g + co;
            out_rows[r] = valid ? output + (t.n * p.out_channels +
                                            internal::OutputChannel(ctx, co_abs)) * out_plane + pb
                                : nullptr;
            bias[r] = valid && ctx.bias ? ctx.bias[co_abs] : 0.0f;
          }
          // RS passes inside the strip loop: the strip's pixels are still in
          // L1 for the second pass (AVX2 runs R = 16 as two 8-channel passes).
          auto passes = [&](auto strip) {
            for (int64_t rs0 = 0; rs0 < R && co0 + rs0 < t.co_end; rs0 += RS) {
              a.w = w_block + rs0;
              a.bias = bias + rs0;
              a.out = out_rows + rs0;
              a.rs_count = std::min<int64_t>(RS, t.co_end - co0 - rs0);
              strip();
            }
          };
          ptrdiff_t pix = 0;
          for (; pix + delta <= count; pix += delta)
            passes([&] { Strip<R, RS, V, false>(d, a, pix, N); });
          for (; pix + N <= count; pix += N)
            passes([&] { Strip<R, RS, 1, false>(d, a, pix, N); });
          if (pix < count) {
            const size_t rem = static_cast<size_t>(count - pix);
            if (kHalfTail && 2 * rem <= static_cast<size_t>(N)) {
              passes([&] { Strip<R, RS, 1, true>(DHalf(), a, pix, rem); });
            } else {
              passes([&] { Strip<R, RS, 1, true>(d, a, pix, rem); });
            }
          }
        }
      }
    }
  }
}

}  // namespace pointwise
}  // namespace HWY_NAMESPACE
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#endif  // include guard (toggle)
