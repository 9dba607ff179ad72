// convgen: direct k×k convolution with Δ-wide register-blocked output strips
// (D2L "Multiple Input and Multiple Output Channels", exercise 6), NCHW fp32.
// Per-target code (Highway self-include pattern): the generated TUs include
// this header after hwy/foreach_target.h and instantiate DirectTile<...> for
// each spec row (gen/gen_kernels.py, docs/kernels.md).
//
// Tile shape. For one image, one group, RS output channels and one output row,
// a *strip* of Δ = V·N adjacent outputs (N = lanes of the descriptor `d`)
// lives in RS·V vector accumulators while the kernel walks ci × kh × kw:
// per tap, V input vectors (input columns ow·SW + kw·DW, loaded once and
// reused by all RS channels), RS weight broadcasts (RS adjacent packed floats,
// direct.h) and RS·V FMAs. Registers: RS·V accumulators + V inputs + one
// broadcast (none when the broadcast folds into the FMA as {1toN}, AVX3 V=1)
// must fit 32 (AVX3, including 256-bit CappedTag<8> tiles, which keep the
// EVEX register file) or 16 (AVX2, SSE4); the generator checks this.
//
// Input channels are walked in chunks whose packed weights stay in L1 when a
// block has many strips to reuse them over (DirectTile); partial sums wait in
// the output between chunks.
//
// Stride 2: the input rows of a band and chunk are de-interleaved once into
// scratch ([even columns][odd columns], SplitRows), so each input vector is
// one plain load, as for stride 1 (AccumulateStripSplit); before, two loads
// + ConcatEven per vector and tap: rn_stem AVX3 84 -> 98 GFLOP/s (CPU time),
// rn_3x3_s2 70 -> 81.
//
// Borders, without copying the input:
//  - vertical padding: kernel rows that fall outside the input are skipped
//    (kh range per output row), which also saves their FLOPs on small maps;
//  - a strip is *interior* when every input column it reads lies inside the
//    row and its Δ outputs lie inside the output row: plain LoadU/StoreU;
//  - any other strip (left/right padding, row tail) reads only the columns
//    inside the row: on AVX2/AVX3 with MaskedLoad (vmaskmovps / vmovups{k}{z},
//    fault-suppressing: a masked lane may point before or after the buffer),
//    on SSE4/SCALAR lane by lane into an aligned stack buffer (Highway's
//    MaskedLoad there is a full load, which faults at a page end:
//    TOOLCHAIN.md §3). Tail outputs are written with BlendedStore (masked
//    stores on AVX2/AVX3, per-lane on SSE4/SCALAR). No read or write ever
//    leaves the caller's input and output.
// Output channels past the group's count exist only in the zero-padded packed
// weights; they are computed and not stored.

#if defined(CONVGEN_SRC_KERNELS_DIRECT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef CONVGEN_SRC_KERNELS_DIRECT_INL_H_
#undef CONVGEN_SRC_KERNELS_DIRECT_INL_H_
#else
#define CONVGEN_SRC_KERNELS_DIRECT_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <algorithm>

#include "hwy/highway.h"
#include "kernel.h"
#include "kernels/direct.h"
#include "kernels/split_pairs-inl.h"

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace HWY_NAMESPACE {
namespace direct {

namespace hn = hwy::HWY_NAMESPACE;

// Loads lanes in[c], in[c + SW], ... (N lanes), all inside the row.
template <int SW, class D>
HWY_INLINE hn::Vec<D> LoadInterior(D d, const float* HWY_RESTRICT row, ptrdiff_t c) {
  static_assert(SW == 1 || SW == 2, "direct kernels support stride 1 and 2");
#if HWY_TARGET == HWY_SCALAR
  return hn::LoadU(d, row + c);  // one lane: the stride is the caller's step
#else
  if constexpr (SW == 1) {
    return hn::LoadU(d, row + c);
  } else {
    const size_t N = hn::Lanes(d);
    return hn::ConcatEven(d, hn::LoadU(d, row + c + N), hn::LoadU(d, row + c));
  }
#endif
}

#if HWY_TARGET <= HWY_AVX2
// Border loads are masked: lanes outside the row read as zero and are not
// accessed (AVX-512 / vmaskmovps suppress faults on masked-off lanes, so the
// address may lie before or after the buffer).

// Lanes i with 0 <= c + i < width.
template <class D>
HWY_INLINE hn::Mask<D> ColumnsInside(D d, ptrdiff_t c, ptrdiff_t width) {
  const ptrdiff_t N = static_cast<ptrdiff_t>(hn::Lanes(d));
  const ptrdiff_t lo = std::min(std::max(-c, ptrdiff_t{0}), N);
  const ptrdiff_t hi = std::min(std::max(width - c, ptrdiff_t{0}), N);
  return hn::AndNot(hn::FirstN(d, static_cast<size_t>(lo)),
                    hn::FirstN(d, static_cast<size_t>(hi)));
}

// `masks` are ColumnsInside(c) and, for stride 2, ColumnsInside(c + N).
template <int SW, class D>
HWY_INLINE hn::Vec<D> LoadMasked(D d, const float* row, ptrdiff_t c, const hn::Mask<D>* masks) {
  if constexpr (SW == 1) {
    return hn::MaskedLoad(masks[0], d, row + c);
  } else {
    const ptrdiff_t N = static_cast<ptrdiff_t>(hn::Lanes(d));
    return hn::ConcatEven(d, hn::MaskedLoad(masks[1], d, row + c + N),
                          hn::MaskedLoad(masks[0], d, row + c));
  }
}
#else
// SSE4 / SCALAR: Highway's MaskedLoad is a full load there (it faults at a
// page end), so border lanes are gathered one by one, only inside the row.

template <int SW, class D>
HWY_INLINE hn::Vec<D> LoadLanewise(D d, const float* row, ptrdiff_t c, ptrdiff_t width) {
  HWY_ALIGN float lanes[hn::MaxLanes(d)];
  for (size_t i = 0; i < hn::Lanes(d); ++i) {
    const ptrdiff_t col = c + SW * static_cast<ptrdiff_t>(i);
    lanes[i] = (col >= 0 && col < width) ? row[col] : 0.0f;
  }
  return hn::Load(d, lanes);
}
#endif

// Everything one strip needs; computed per (row, strip) by DirectTile.
struct StripArgs {
  // Channel 0 of the chunk: the caller's input (stride 1), or for stride 2
  // its de-interleaved rows in scratch (SplitRows), ih0 then relative to the
  // first row stored.
  const float* in;
  ptrdiff_t in_plane;  // distance between channels
  ptrdiff_t in_w;
  int64_t ci;          // input channels of the group
  ptrdiff_t ih0;       // input row of kernel row 0 (may be negative)
  int kh_begin, kh_end;  // kernel rows inside the input
  ptrdiff_t c0;        // input column of lane 0, kernel column 0 (may be < 0)
  const float* w;      // packed weights: this R block, offset by the RS pass
  // Border strip on AVX2 whose every address (all lanes, also the ones
  // outside the row) lies inside the caller's input or the scratch: loads
  // are plain loads with the outside lanes zeroed (vblendv-free `and`)
  // instead of vmaskmovps, which cost ~20% on border-only rows (AVX2 4x2v:
  // rn_3x3_28 62 -> 76, rn_3x3_14 65 -> 77 GFLOP/s, CPU time).
  bool blend;
};

// Stride 2 on de-interleaved rows (SplitRows): a stored row is [even
// columns: (w+1)/2][odd columns: w/2], so the lanes of tap kw, input columns
// col, col+2, ..., are *adjacent* floats of one half, starting at col >> 1 of
// the half of col's parity: one plain load per vector, as for stride 1.
// Replaces 2 loads + 1 ConcatEven per vector and tap (vpermt2ps, which
// shares the FMA pipes) by a de-interleave of each input row once per
// chunk, reused by every R block and kernel row.
template <int KH, int KW, int DH, int DW, int R, int RS, int V, bool kBorder, bool kBlend,
          class D>
HWY_INLINE void AccumulateStripSplit(D d, const StripArgs& a, hn::Vec<D> (&acc)[RS][V]) {
  const ptrdiff_t N = static_cast<ptrdiff_t>(hn::Lanes(d));
  const ptrdiff_t even_len = (a.in_w + 1) / 2, odd_len = a.in_w / 2;
  ptrdiff_t first[KW], offset[KW], length[KW];  // per tap: half index, row offset, half size
  for (int kw = 0; kw < KW; ++kw) {
    const ptrdiff_t col = a.c0 + kw * DW;
    const bool odd = (col & 1) != 0;
    first[kw] = col >> 1;  // floor, also for columns left of the row
    offset[kw] = (odd ? even_len : 0) + first[kw];
    length[kw] = odd ? odd_len : even_len;
  }
  (void)first;
  (void)length;
#if HWY_TARGET <= HWY_AVX2
  hn::Mask<D> masks[kBorder ? KW * V : 1];
  if constexpr (kBorder) {
    for (int kw = 0; kw < KW; ++kw)
      for (int v = 0; v < V; ++v)
        masks[kw * V + v] = ColumnsInside(d, first[kw] + v * N, length[kw]);
  }
#endif
  HWY_UNROLL(1)
  for (int64_t c = 0; c < a.ci; ++c) {
    const float* HWY_RESTRICT plane = a.in + c * a.in_plane;
    const float* HWY_RESTRICT wc = a.w + c * (KH * KW * R);
    HWY_UNROLL(1)
    for (int kh = a.kh_begin; kh < a.kh_end; ++kh) {
      const float* row = plane + (a.ih0 + kh * DH) * a.in_w;
      const float* HWY_RESTRICT wk = wc + kh * (KW * R);
      HWY_UNROLL(16)
      for (int kw = 0; kw < KW; ++kw) {
        hn::Vec<D> x[V];
        HWY_UNROLL(16)
        for (int v = 0; v < V; ++v) {
          if constexpr (!kBorder) {
            x[v] = hn::LoadU(d, row + offset[kw] + v * N);
          } else {
#if HWY_TARGET <= HWY_AVX2
            x[v] = kBlend ? hn::IfThenElseZero(masks[kw * V + v],
                                               hn::LoadU(d, row + offset[kw] + v * N))
                          : hn::MaskedLoad(masks[kw * V + v], d, row + offset[kw] + v * N);
#else
            x[v] = LoadLanewise<1>(d, row + (offset[kw] - first[kw]), first[kw] + v * N,
                                   length[kw]);
#endif
          }
        }
        HWY_UNROLL(16)
        for (int r = 0; r < RS; ++r) {
          const hn::Vec<D> wv = hn::Set(d, wk[kw * R + r]);
          HWY_UNROLL(16)
          for (int v = 0; v < V; ++v) acc[r][v] = hn::MulAdd(wv, x[v], acc[r][v]);
        }
      }
    }
  }
}

// Writes rows [ih_begin, ih_end) of `channels` input planes de-interleaved
// into `split` (layout of AccumulateStripSplit; rows in_w apart, planes
// rows·in_w apart).
inline void SplitRows(const float* in, int64_t in_plane, int64_t in_w, int64_t channels,
                      int64_t ih_begin, int64_t ih_end, float* HWY_RESTRICT split) {
  const int64_t even_len = (in_w + 1) / 2;
  const int64_t rows = ih_end - ih_begin;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < rows; ++r) {
      const float* HWY_RESTRICT src = in + c * in_plane + (ih_begin + r) * in_w;
      float* HWY_RESTRICT even = split + (c * rows + r) * in_w;
      HWY_NAMESPACE::SplitPairs(src, in_w / 2, even, even + even_len);
      if (in_w % 2 != 0) even[in_w / 2] = src[in_w - 1];  // the unpaired last column
    }
}

// Accumulates one RS × V strip from the caller's input rows (stride 1; with
// stride 2 the ConcatEven path, now unused: see AccumulateStripSplit).
// kBorder selects bounded loads.
template <int KH, int KW, int SW, int DH, int DW, int R, int RS, int V, bool kBorder,
          bool kBlend, class D>
HWY_INLINE void AccumulateStripDense(D d, const StripArgs& a, hn::Vec<D> (&acc)[RS][V]) {
  const ptrdiff_t N = static_cast<ptrdiff_t>(hn::Lanes(d));
  // One lane per vector on SCALAR: consecutive "vectors" are SW columns apart.
  const ptrdiff_t vector_step = (HWY_TARGET == HWY_SCALAR) ? SW : N * SW;
#if HWY_TARGET <= HWY_AVX2
  // Border masks depend on the strip only: computed once here, not per tap
  // (GCC did not hoist them: bzhi+kmov per load, rn_3x3_56 border strips).
  hn::Mask<D> masks[kBorder ? KW * V * SW : 1];
  if constexpr (kBorder) {
    for (int kw = 0; kw < KW; ++kw)
      for (int v = 0; v < V; ++v)
        for (int j = 0; j < SW; ++j)
          masks[(kw * V + v) * SW + j] =
              ColumnsInside(d, a.c0 + kw * DW + v * vector_step + j * N, a.in_w);
  }
#endif
  HWY_UNROLL(1)
  for (int64_t c = 0; c < a.ci; ++c) {
    const float* HWY_RESTRICT plane = a.in + c * a.in_plane;
    const float* HWY_RESTRICT wc = a.w + c * (KH * KW * R);
    HWY_UNROLL(1)
    for (int kh = a.kh_begin; kh < a.kh_end; ++kh) {
      const float* row = plane + (a.ih0 + kh * DH) * a.in_w;
      const float* HWY_RESTRICT wk = wc + kh * (KW * R);
      HWY_UNROLL(16)
      for (int kw = 0; kw < KW; ++kw) {
        hn::Vec<D> x[V];
        HWY_UNROLL(16)
        for (int v = 0; v < V; ++v) {
          const ptrdiff_t col = a.c0 + kw * DW + v * vector_step;
          if constexpr (!kBorder) {
            x[v] = LoadInterior<SW>(d, row, col);
          } else {
#if HWY_TARGET <= HWY_AVX2
            if constexpr (kBlend && SW == 1) {
              x[v] = hn::IfThenElseZero(masks[kw * V + v], hn::LoadU(d, row + col));
            } else {
              x[v] = LoadMasked<SW>(d, row, col, &masks[(kw * V + v) * SW]);
            }
#else
            x[v] = LoadLanewise<SW>(d, row, col, a.in_w);
#endif
          }
        }
        HWY_UNROLL(16)
        for (int r = 0; r < RS; ++r) {
          const hn::Vec<D> wv = hn::Set(d, wk[kw * R + r]);
          HWY_UNROLL(16)
          for (int v = 0; v < V; ++v) acc[r][v] = hn::MulAdd(wv, x[v], acc[r][v]);
        }
      }
    }
  }
}

// Accumulates one RS × V strip: stride 2 from de-interleaved rows. On AVX2,
// border strips with a.blend use plain loads (see StripArgs::blend).
template <int KH, int KW, int SW, int DH, int DW, int R, int RS, int V, bool kBorder, class D>
HWY_INLINE void AccumulateStrip(D d, const StripArgs& a, hn::Vec<D> (&acc)[RS][V]) {
  constexpr bool kCanBlend = kBorder && HWY_TARGET == HWY_AVX2;
  if (kCanBlend && a.blend) {
    if constexpr (SW == 2) {
      AccumulateStripSplit<KH, KW, DH, DW, R, RS, V, kBorder, kCanBlend>(d, a, acc);
    } else {
      AccumulateStripDense<KH, KW, SW, DH, DW, R, RS, V, kBorder, kCanBlend>(d, a, acc);
    }
  } else if constexpr (SW == 2) {
    AccumulateStripSplit<KH, KW, DH, DW, R, RS, V, kBorder, false>(d, a, acc);
  } else {
    AccumulateStripDense<KH, KW, SW, DH, DW, R, RS, V, kBorder, false>(d, a, acc);
  }
}

// Output address of channel co_abs + r, row oh, column ow0.
HWY_INLINE float* OutputAt(const internal::KernelContext& ctx, float* output, int64_t n,
                           int64_t co, int64_t oh, int64_t ow0) {
  const int64_t plane = ctx.out_h * ctx.out_w;
  return output + (n * ctx.params.out_channels + internal::OutputChannel(ctx, co)) * plane +
         oh * ctx.out_w + ow0;
}

// Continues the partial sums an earlier channel chunk stored (`valid`
// outputs of the strip; a partial vector is read lane by lane: Highway's
// MaskedLoad faults at a page end on SSE4/SCALAR, and these are row tails).
template <int RS, int V, class D>
HWY_INLINE void LoadPartialSums(D d, const internal::KernelContext& ctx, hn::Vec<D> (&acc)[RS][V],
                                int64_t n, int64_t co_abs, int64_t co_count, int64_t oh,
                                int64_t ow0, int64_t valid, float* output) {
  const size_t N = hn::Lanes(d);
  HWY_UNROLL(16)
  for (int r = 0; r < RS; ++r) {
    if (r >= co_count) break;
    const float* HWY_RESTRICT out = OutputAt(ctx, output, n, co_abs + r, oh, ow0);
    HWY_UNROLL(16)
    for (int v = 0; v < V; ++v) {
      const int64_t left = valid - static_cast<int64_t>(v * N);
      if (left >= static_cast<int64_t>(N)) {
        acc[r][v] = hn::LoadU(d, out + v * N);
      } else if (left > 0) {
        HWY_ALIGN float lanes[hn::MaxLanes(d)] = {};
        for (int64_t i = 0; i < left; ++i) lanes[i] = out[v * N + i];
        acc[r][v] = hn::Load(d, lanes);
      }
    }
  }
}

// Stores one RS × V strip at output column ow0 (`valid` outputs of the strip
// are inside the row; < Δ only on the row tail): with bias and clamp after
// the last channel chunk, as raw partial sums before it.
template <int RS, int V, class D>
HWY_INLINE void StoreStrip(D d, const internal::KernelContext& ctx, hn::Vec<D> (&acc)[RS][V],
                           int64_t n, int64_t co_abs, int64_t co_count, int64_t oh, int64_t ow0,
                           int64_t valid, bool finish, float* output) {
  const size_t N = hn::Lanes(d);
  const hn::Vec<D> lo = hn::Set(d, ctx.clamp_min);
  const hn::Vec<D> hi = hn::Set(d, ctx.clamp_max);
  HWY_UNROLL(16)
  for (int r = 0; r < RS; ++r) {
    if (r >= co_count) break;
    const int64_t co = co_abs + r;
    const hn::Vec<D> b = hn::Set(d, ctx.bias ? ctx.bias[co] : 0.0f);
    float* HWY_RESTRICT out = OutputAt(ctx, output, n, co, oh, ow0);
    HWY_UNROLL(16)
    for (int v = 0; v < V; ++v) {
      const hn::Vec<D> y = finish ? hn::Min(hn::Max(hn::Add(acc[r][v], b), lo), hi) : acc[r][v];
      const int64_t left = valid - static_cast<int64_t>(v * N);
      if (left >= static_cast<int64_t>(N)) {
        hn::StoreU(y, d, out + v * N);
      } else if (left > 0) {
        hn::BlendedStore(y, hn::FirstN(d, static_cast<size_t>(left)), d, out + v * N);
      }
    }
  }
}

// `first`: the strip starts from zero (first channel chunk), else from the
// partial sums in the output; `finish`: last chunk, bias and clamp applied.
template <int KH, int KW, int SW, int DH, int DW, int R, int RS, int V, bool kBorder, class D>
HWY_NOINLINE void Strip(D d, const internal::KernelContext& ctx, const StripArgs& a, int64_t n,
                        int64_t co_abs, int64_t co_count, int64_t oh, int64_t ow0, int64_t valid,
                        bool first, bool finish, float* output) {
  hn::Vec<D> acc[RS][V];
  HWY_UNROLL(16)
  for (int r = 0; r < RS; ++r) {
    HWY_UNROLL(16)
    for (int v = 0; v < V; ++v) acc[r][v] = hn::Zero(d);
  }
  if (!first) LoadPartialSums<RS, V>(d, ctx, acc, n, co_abs, co_count, oh, ow0, valid, output);
  AccumulateStrip<KH, KW, SW, DH, DW, R, RS, V, kBorder>(d, a, acc);
  StoreStrip<RS, V>(d, ctx, acc, n, co_abs, co_count, oh, ow0, valid, finish, output);
}

// One Tile (kernel.h); scratch: ScratchFloats (direct.h) floats, used by
// stride 2 for the de-interleaved input rows of a band and chunk.
// One Tile (kernel.h): for each group, band of output rows, block of R output
// channels, output row and strip; RS-channel passes over the block inside the strip loop so that
// the strip's input is still in L1 for the second pass.
template <int KH, int KW, int SH, int SW, int DH, int DW, int R, int RS, int V, class D>
void DirectTile(D d, const internal::KernelContext& ctx, const internal::Tile& t,
                const float* input, float* output, float* scratch) {
  static_assert(R % RS == 0, "the register tile must divide the packed block");
  const Conv2dParams& p = ctx.params;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t delta = V * N;  // outputs per strip
  const int64_t ci_g = p.in_channels_per_group(), co_g = p.out_channels_per_group();
  const int64_t in_h = p.in_height, in_w = p.in_width;
  const int64_t out_w = ctx.out_w;
  const int64_t blocks = (co_g + R - 1) / R;
  const int64_t block_floats = ci_g * KH * KW * R;
  // Input columns one strip reads from its column c0 (lane 0, kw 0).
  const int64_t span = (KW - 1) * DW + (N > 1 ? delta * SW : (delta - 1) * SW + 1);
  const int64_t strips = (out_w + delta - 1) / delta;
  // A row tail of at most Δ/2 outputs is not run at full width: a 56-wide
  // row is 16+16+16+8 on AVX3 instead of 4×16, so the 12.5% of wasted lanes
  // on the ResNet widths 56/28/14 are gone. Two shapes (compile time: one
  // more border variant):
  //  - kTailWide (V even, 2·RS divides R): 2·RS channels × V/2 full vectors,
  //    the same number of accumulators. AVX2 4x2v: an 8-wide tail as 8x1v
  //    ymm instead of 4 × 2 xmm vectors, which halved the FMA rate of the
  //    tail (t56p0 AVX2, 1/7 of the outputs: 76.7 GFLOP/s vs 86.9 on 64-wide);
  //  - otherwise, where a vector has >= 8 lanes, half-width vectors with the
  //    same RS, V (AVX3 8x1v: CappedTag<8>, 8 ymm accumulators, still the
  //    full FMA rate).
  constexpr size_t kMaxLanes = hn::MaxLanes(D());
  constexpr bool kTailWide = V % 2 == 0 && R % (2 * RS) == 0;
  constexpr bool kHalfTail = !kTailWide && kMaxLanes >= 8;
  using DHalf = hn::CappedTag<float, kHalfTail ? kMaxLanes / 2 : kMaxLanes>;
  constexpr int kTailRS = kTailWide ? 2 * RS : RS;
  constexpr int kTailV = kTailWide ? V / 2 : V;

  // Row bands: the input rows one band of output rows reads (ci × rows ×
  // in_w floats, at most ~512 KiB, half of Zen 4's L2) come from memory once
  // and are reused from L2 by every R block. Without bands a layer whose
  // input exceeds the caches (d2l_5x5: 33.5 MB) streamed its whole input
  // from DRAM once per R block: 44 -> 69 GFLOP/s on AVX3 with bands.
  // (kBandBytes, direct.h: BandOutputRows.)
  const int64_t band = internal::direct::BandOutputRows(p);

  // Channel chunks: the packed weights of one R block for one chunk of input
  // channels (chunk × KH·KW·R floats) fit in half of the 32 KiB L1d, so every
  // strip of the band reads them from L1 instead of streaming the whole
  // block (d2l_5x5: 128 × 25 × 8 floats = 100 KiB) from L2 per strip. The
  // first chunk starts from zero, later ones continue the partial sums left
  // in the output, the last adds bias and clamps. Measured (AVX3, r8, CPU
  // time): d2l_5x5 66 -> 91, c100_5x5 85 -> 92, rn_3x3_56 92 -> 99 GFLOP/s;
  // but rn_3x3_28 98 -> 94 and rn_3x3_14 99 -> 94, where an R block has
  // only 56 and 14 strips to reuse the chunk over: so chunks only when a
  // block runs at least kChunkMinStrips strips (rn_3x3_56: 224).
  constexpr int64_t kChunkWeightBytes = 16 * 1024;
  constexpr int64_t kChunkMinStrips = 128;
  const int64_t chunk_max =
      (t.oh_end - t.oh_begin) * strips < kChunkMinStrips
          ? ci_g
          : std::max<int64_t>(1, kChunkWeightBytes /
                                     (KH * KW * R * static_cast<int64_t>(sizeof(float))));
  const int64_t chunks = (ci_g + chunk_max - 1) / chunk_max;
  const int64_t chunk = (ci_g + chunks - 1) / chunks;  // balanced sizes

  // Readable ranges for StripArgs::blend: the caller's whole input, the
  // scratch (stride 2).
  const float* const readable_begin = SW == 2 ? scratch : input;
  const float* const readable_end =
      SW == 2 ? scratch + internal::direct::ScratchFloats<SW>(p)
              : input + p.batch * p.in_channels * in_h * in_w;

  for (int64_t g = t.g_begin; g < t.g_end; ++g) {
    const float* in_group = input + (t.n * p.in_channels + g * ci_g) * in_h * in_w;
    StripArgs a;
    a.in_plane = in_h * in_w;
    a.in_w = in_w;
    for (int64_t band_begin = t.oh_begin; band_begin < t.oh_end; band_begin += band) {
      const int64_t band_end = std::min(t.oh_end, band_begin + band);
      // Input rows the band reads (stride 2: de-interleaved into scratch).
      const int64_t ih_lo = std::max<int64_t>(0, band_begin * SH - p.pad_h);
      const int64_t ih_hi = std::max(
          ih_lo, std::min(in_h, (band_end - 1) * SH - p.pad_h + (KH - 1) * DH + 1));
      for (int64_t c_begin = 0; c_begin < ci_g; c_begin += chunk) {
        a.ci = std::min(chunk, ci_g - c_begin);
        if constexpr (SW == 2) {
          SplitRows(in_group + c_begin * in_h * in_w, in_h * in_w, in_w, a.ci, ih_lo, ih_hi,
                    scratch);
          a.in = scratch;
          a.in_plane = (ih_hi - ih_lo) * in_w;
        } else {
          a.in = in_group + c_begin * in_h * in_w;
        }
        const bool first = c_begin == 0, finish = c_begin + chunk >= ci_g;
        for (int64_t co0 = t.co_begin; co0 < t.co_end; co0 += R) {
          const float* w_block = ctx.packed_weights + (g * blocks + co0 / R) * block_floats +
                                 c_begin * (KH * KW * R);
          for (int64_t oh = band_begin; oh < band_end; ++oh) {
            a.ih0 = oh * SH - p.pad_h;
            // Kernel rows kh with 0 <= ih0 + kh*DH < in_h.
            int kh_begin = 0, kh_end = KH;
            while (kh_begin < KH && a.ih0 + kh_begin * DH < 0) ++kh_begin;
            while (kh_end > kh_begin && a.ih0 + (kh_end - 1) * DH >= in_h) --kh_end;
            a.kh_begin = kh_begin;
            a.kh_end = kh_end;
            if constexpr (SW == 2) a.ih0 -= ih_lo;  // rows of the band in scratch
            for (int64_t s = 0; s < strips; ++s) {
              const int64_t ow0 = s * delta;
              const int64_t valid = std::min(delta, out_w - ow0);
              a.c0 = ow0 * SW - p.pad_w;
              const bool interior = valid == delta && a.c0 >= 0 && a.c0 + span <= in_w;
              a.blend = false;
              if (HWY_TARGET == HWY_AVX2 && !interior && kh_end > kh_begin) {
                // Lowest and one-past-highest address any lane may read.
                const float* first_row = a.in + (a.ih0 + kh_begin * DH) * in_w;
                const float* last_row =
                    a.in + (a.ci - 1) * a.in_plane + (a.ih0 + (kh_end - 1) * DH) * in_w;
                const float* lowest;
                const float* highest;
                if (SW == 2) {  // de-interleaved: [even (w+1)/2][odd w/2]
                  lowest = first_row + (a.c0 >> 1);
                  highest = last_row + (in_w + 1) / 2 + ((a.c0 + (KW - 1) * DW) >> 1) + delta;
                } else {
                  lowest = first_row + a.c0;
                  highest = last_row + a.c0 + span;
                }
                a.blend = lowest >= readable_begin && highest <= readable_end;
              }
              if (kTailWide && !interior && 2 * valid <= delta) {
                for (int64_t rs0 = 0; rs0 < R && co0 + rs0 < t.co_end; rs0 += kTailRS) {
                  a.w = w_block + rs0;
                  Strip<KH, KW, SW, DH, DW, R, kTailRS, kTailV, true>(
                      d, ctx, a, t.n, g * co_g + co0 + rs0,
                      std::min<int64_t>(kTailRS, t.co_end - co0 - rs0), oh, ow0, valid, first,
                      finish, output);
                }
                continue;
              }
              for (int64_t rs0 = 0; rs0 < R && co0 + rs0 < t.co_end; rs0 += RS) {
                a.w = w_block + rs0;
                const int64_t co_abs = g * co_g + co0 + rs0;
                const int64_t co_count = std::min<int64_t>(RS, t.co_end - co0 - rs0);
                if (interior) {
                  Strip<KH, KW, SW, DH, DW, R, RS, V, false>(d, ctx, a, t.n, co_abs, co_count, oh,
                                                             ow0, valid, first, finish, output);
                } else if (kHalfTail && 2 * valid <= delta) {
                  Strip<KH, KW, SW, DH, DW, R, RS, V, true>(DHalf(), ctx, a, t.n, co_abs,
                                                            co_count, oh, ow0, valid, first,
                                                            finish, output);
                } else {
                  Strip<KH, KW, SW, DH, DW, R, RS, V, true>(d, ctx, a, t.n, co_abs, co_count, oh,
                                                            ow0, valid, first, finish, output);
                }
              }
            }
          }
        }
      }  // chunk
    }    // band
  }
}

}  // namespace direct
}  // namespace HWY_NAMESPACE
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#endif  // include guard (toggle)
