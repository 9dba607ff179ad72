// convgen: depthwise k×k convolution (groups = ci, co = m·ci), NCHW fp32, and
// the row-tile core it shares with the grouped family (gconv-inl.h).
// Per-target code (Highway self-include pattern): the generated TUs include
// this header after hwy/foreach_target.h and instantiate DwconvTile<...> for
// each spec row (gen/family_dwconv.py, docs/kernels.md).
//
// Row tile (rowtile::Accumulate). C output channels × T output rows × V
// vectors of N adjacent outputs live in C·T·V accumulators while the kernel
// walks the group's input channels and the (T−1)·SH + KH input rows that the T
// output rows read. Each input row is turned into the KW·V horizontally
// shifted vectors x[v][kw] (input columns c0 + kw + v·N·SW + lane·SW) *once*
// and every one of them feeds the up-to-⌈KH/SH⌉ output rows × C channels that
// use it. So the input traffic per FMA falls from one vector (the naive k×k
// pattern: an unaligned load per tap, two loads per FMA with the weight
// broadcast, load-bound at ~50% on Zen 4) to (T−1+KH)/(T·KH·C) loads per tap.
//
// The shifted vectors, per target (loads vs shuffles, counted per input row
// and vector of outputs):
//  - AVX3, stride 1: two loads (columns c0 + v·N and the next N) and KW−1
//    `valignd` shifts (_mm512_alignr_epi32: Highway 1.0.3's
//    CombineShiftRightBytes/Lanes shift within 128-bit blocks only);
//  - SSE4, stride 1: two loads and KW−1 `palignr` (one 128-bit block, so
//    Highway's CombineShiftRightBytes is the whole-vector shift);
//  - AVX2 (a cross-lane shift costs two shuffles), SCALAR and every stride-2
//    row: one unaligned load per kw (stride 2: two loads de-interleaved with
//    ConcatEven, as in direct-inl.h). Zen 4 issues two ymm loads per cycle.
// On Zen 4 `valignd` runs beside the FMAs (a throwaway microbenchmark: 8
// independent zmm FMAs take 8 cycles with or without 4 `valignd`; 2
// `vpermt2ps` add 1.2 cycles). Replacing the shifts by LoadU at columns +1 and
// +2 (3 loads, no shuffle per row) measured 51 against 67 GFLOP/s on
// dw_3x3_112: GCC folds every load into its FMAs as a memory operand, 72
// loads per 8×16 tile (48 of them line-splitting) instead of 20.
// Weights are broadcast from the packed block ([ci][kh][kw][C], C adjacent
// floats per tap); with one accumulator per broadcast GCC folds them into the
// FMAs ({1toN} memory operands, free on Zen 4: TOOLCHAIN.md §7).
//
// Stores: depthwise 3×3 stride 1 on AVX3 stores each output row as soon as
// its last input row is read (Strips, kStoreRows), from an epilogue set up
// once per run of strips; the other tiles store the T rows after the strip.
//
// Borders, without copying the input (as direct-inl.h):
//  - input rows outside [0, in_h) are skipped (vertical padding = skipped
//    taps); output rows of a partial tile below the band are computed from the
//    rows that exist and not stored;
//  - a strip is interior when every column it loads lies inside the row and
//    its outputs inside the output row: plain LoadU/StoreU;
//  - other strips load with MaskedLoad on AVX2/AVX3 (fault-suppressing, lanes
//    outside the row read as zero), lane by lane on SSE4/SCALAR (Highway's
//    MaskedLoad is a full load there: TOOLCHAIN.md §3); tail outputs are
//    written with BlendedStore. A row tail of at most Δ/2 outputs runs on
//    half-width vectors (AVX3: 8 lanes, AVX2: 4).

#if defined(CONVGEN_SRC_KERNELS_DWCONV_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef CONVGEN_SRC_KERNELS_DWCONV_INL_H_
#undef CONVGEN_SRC_KERNELS_DWCONV_INL_H_
#else
#define CONVGEN_SRC_KERNELS_DWCONV_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "hwy/cache_control.h"  // Prefetch
#include "hwy/highway.h"
#include "kernel.h"
#include "kernels/dwconv.h"  // StreamsFromMemory

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace HWY_NAMESPACE {
namespace rowtile {

namespace hn = hwy::HWY_NAMESPACE;

// True where x[v][kw] is built by in-register shifts of two loaded vectors.
template <int SW, class D>
constexpr bool ShiftInRegister() {
  return SW == 1 && hn::MaxLanes(D()) >= 4 &&
         (HWY_TARGET <= HWY_AVX3 || (HWY_TARGET == HWY_SSE4 && hn::MaxLanes(D()) == 4));
}

// Lanes kShift .. kShift+N-1 of the concatenation hi:lo (0 < kShift <= N).
template <int kShift, class D>
HWY_INLINE hn::Vec<D> ShiftLanes(D d, hn::Vec<D> hi, hn::Vec<D> lo) {
  constexpr size_t N = hn::MaxLanes(D());
  static_assert(kShift > 0 && kShift <= static_cast<int>(N), "shift within the pair");
  if constexpr (kShift == static_cast<int>(N)) {
    (void)lo;
    return hi;
  } else {
#if HWY_TARGET <= HWY_AVX3
    // valignd: a whole-vector lane shift across both sources.
    if constexpr (N == 16) {
      return hn::Vec<D>{_mm512_castsi512_ps(_mm512_alignr_epi32(
          _mm512_castps_si512(hi.raw), _mm512_castps_si512(lo.raw), kShift))};
    } else if constexpr (N == 8) {
      return hn::Vec<D>{_mm256_castsi256_ps(_mm256_alignr_epi32(
          _mm256_castps_si256(hi.raw), _mm256_castps_si256(lo.raw), kShift))};
    } else {
      return hn::CombineShiftRightBytes<kShift * 4>(d, hi, lo);
    }
#elif HWY_TARGET == HWY_SCALAR
    (void)d;
    return hi;  // unreachable: ShiftInRegister is false on SCALAR
#else
    return hn::CombineShiftRightBytes<kShift * 4>(d, hi, lo);  // SSE4: palignr
#endif
  }
}

// x[1..K] = ShiftLanes<1..K>(hi, lo).
template <class D, size_t... kMinus1>
HWY_INLINE void Shifts(D d, hn::Vec<D> hi, hn::Vec<D> lo, hn::Vec<D>* x,
                       std::index_sequence<kMinus1...>) {
  ((x[kMinus1 + 1] = ShiftLanes<static_cast<int>(kMinus1) + 1>(d, hi, lo)), ...);
}

// Column offsets (from the strip's c0) of the logical loads of one input row,
// and how many there are: kShift: v·N for v = 0..V; otherwise kw + v·step.
template <int KW, int SW, int V, class D>
struct LoadPlan {
  static constexpr bool kShift = ShiftInRegister<SW, D>();
  static constexpr ptrdiff_t N = static_cast<ptrdiff_t>(hn::MaxLanes(D()));
  // One lane per vector on SCALAR: consecutive "vectors" are SW columns apart.
  static constexpr ptrdiff_t kStep = N > 1 ? N * SW : SW;
  static constexpr int kLoads = kShift ? V + 1 : KW * V;
  static constexpr ptrdiff_t Offset(int i) {
    return kShift ? i * N : (i / V) + (i % V) * kStep;
  }
  // Input columns a strip reads from c0 (for the interior test).
  static constexpr ptrdiff_t kSpan =
      kShift ? (V + 1) * N : (KW - 1) + (N > 1 ? V * N * SW : (V - 1) * SW + 1);
};

#if HWY_TARGET <= HWY_AVX2
// Lanes i with 0 <= c + i < width.
template <class D>
HWY_INLINE hn::Mask<D> ColumnsInside(D d, ptrdiff_t c, ptrdiff_t width) {
  const ptrdiff_t N = static_cast<ptrdiff_t>(hn::Lanes(d));
  const ptrdiff_t lo = std::min(std::max(-c, ptrdiff_t{0}), N);
  const ptrdiff_t hi = std::min(std::max(width - c, ptrdiff_t{0}), N);
  return hn::AndNot(hn::FirstN(d, static_cast<size_t>(lo)),
                    hn::FirstN(d, static_cast<size_t>(hi)));
}
#endif

// Border masks of one strip: computed once per strip, used by every input
// row and channel (GCC does not hoist them: direct-inl.h's finding).
template <int KW, int SW, int V, bool kBorder, class D>
struct StripMasks {
  using Plan = LoadPlan<KW, SW, V, D>;
#if HWY_TARGET <= HWY_AVX2
  hn::Mask<D> m[kBorder ? Plan::kLoads * SW : 1];
#endif
  ptrdiff_t in_w;
  HWY_INLINE StripMasks(D d, ptrdiff_t c0, ptrdiff_t width) : in_w(width) {
    (void)d;
    (void)c0;
#if HWY_TARGET <= HWY_AVX2
    if constexpr (kBorder) {
      for (int i = 0; i < Plan::kLoads; ++i)
        for (int j = 0; j < SW; ++j)
          m[i * SW + j] = ColumnsInside(d, c0 + Plan::Offset(i) + j * Plan::N, width);
    }
#endif
  }
};

// Logical load i of a row: N lanes at columns col, col+SW, ... (col = c0 +
// Offset(i)); lanes outside the row are zero on border strips.
template <int KW, int SW, int V, bool kBorder, class D>
HWY_INLINE hn::Vec<D> LoadAt(D d, const float* row, ptrdiff_t col, int i,
                             const StripMasks<KW, SW, V, kBorder, D>& masks) {
  (void)i;
  (void)masks;
  const ptrdiff_t N = static_cast<ptrdiff_t>(hn::Lanes(d));
  if constexpr (!kBorder) {
#if HWY_TARGET == HWY_SCALAR
    (void)N;
    return hn::LoadU(d, row + col);  // one lane: the stride is the caller's step
#else
    if constexpr (SW == 1) {
      return hn::LoadU(d, row + col);
    } else {
      return hn::ConcatEven(d, hn::LoadU(d, row + col + N), hn::LoadU(d, row + col));
    }
#endif
  } else {
#if HWY_TARGET <= HWY_AVX2
    if constexpr (SW == 1) {
      return hn::MaskedLoad(masks.m[i], d, row + col);
    } else {
      return hn::ConcatEven(d, hn::MaskedLoad(masks.m[i * 2 + 1], d, row + col + N),
                            hn::MaskedLoad(masks.m[i * 2], d, row + col));
    }
#else
    HWY_ALIGN float lanes[hn::MaxLanes(d)];
    for (ptrdiff_t l = 0; l < N; ++l) {
      const ptrdiff_t c = col + SW * l;
      lanes[l] = (c >= 0 && c < masks.in_w) ? row[c] : 0.0f;
    }
    return hn::Load(d, lanes);
#endif
  }
}

// True where the KH·KW·C weights of one input channel fit in vector
// registers beside the tile's accumulators and shifted inputs (AVX3: 32;
// other targets: 16, where they never fit and broadcasts are loads).
template <int KW, int SW, int V, class D>
constexpr int InputRegisters() {
  return KW * V + (ShiftInRegister<SW, D>() ? V + 1 : 0);
}
constexpr int VectorRegisters() { return HWY_TARGET <= HWY_AVX3 ? 32 : 16; }

// Odd kernel rows accumulate into a second set of T accumulators (summed
// before the store) where it fits, for one channel (depthwise). Input row i
// feeds output rows i, i−1, i−2 (3×3): with one set, the chains of rows i−1
// and i−2 continue from the previous input row, so about 3 chains are open
// at once against the 4 that the 4-cycle FMA needs (1 zmm FMA per cycle).
// With the odd rows apart, no chain continues from the previous input row.
// Measured on dw_3x3_112 (AVX3): no change beyond the noise (56–59 GFLOP/s
// either way; the out-of-order window already overlaps the rows); kept as it
// costs no instruction on the critical path. The AVX3 3×3 tile (14 rows)
// no longer fits it; forced, it measured the same (78.9 against 79.1, the
// rows stored as they finish, where GCC makes each output row one chain of
// 9 FMAs and the out-of-order window runs ~4 rows' chains at once).
template <int KH, int KW, int SW, int C, int T, int V, class D>
constexpr bool SplitKernelRows() {
  return C == 1 && KH > 1 &&
         2 * T * V + InputRegisters<KW, SW, V, D>() + 1 <= VectorRegisters();
}

template <int KH, int KW, int SW, int C, int T, int V, class D>
constexpr bool WeightsInRegisters() {
  constexpr int kAcc = C * T * V * (SplitKernelRows<KH, KW, SW, C, T, V, D>() ? 2 : 1);
  return KH * KW * C + kAcc + InputRegisters<KW, SW, V, D>() <= VectorRegisters() - 1;
}

// What one call of Accumulate reads: a group's input channels and the
// packed weights of one C-channel block.
struct Source {
  const float* in;       // input channel 0 of the group, this image
  ptrdiff_t in_plane;    // in_h * in_w
  ptrdiff_t in_h, in_w;
  int64_t ci;            // input channels walked
  const float* w;        // packed [ci][KH][KW][C]
  ptrdiff_t ih0;         // input row of output row 0, kernel row 0 (may be < 0)
  ptrdiff_t c0;          // input column of lane 0, kernel column 0 (may be < 0)
};

// Software prefetch, one per cache line, of the input rows that output rows
// [oh0, oh0 + rows) start from (rows oh0·SH up to (oh0 + rows)·SH), in the
// s.ci planes of the next group, which begins right after this one's:
// while this group computes a band, the next group's band comes in.
// internal::rowtile::StreamsFromMemory (dwconv.h) says when.
template <int SH>
HWY_INLINE void PrefetchNextGroupBand(const Source& s, int64_t oh0, int64_t rows) {
  constexpr ptrdiff_t kLineFloats = 64 / sizeof(float);
  const float* next = s.in + s.ci * s.in_plane;
  const ptrdiff_t begin = oh0 * SH * s.in_w;
  const ptrdiff_t end = std::min<ptrdiff_t>(s.in_h, (oh0 + rows) * SH) * s.in_w;
  for (int64_t c = 0; c < s.ci; ++c)
    for (ptrdiff_t i = begin; i < end; i += kLineFloats) hwy::Prefetch(next + c * s.in_plane + i);
}

// Where one tile's outputs go: channels [c_begin, c_end) of the C block,
// the first `rows` of its T rows, `valid` columns from ow0.
struct Sink {
  int64_t n;
  int64_t co_abs;          // absolute output channel of block channel 0
  int c_begin, c_end;
  int64_t oh0, rows;
  int64_t ow0, valid;
};

// The accumulators start at the bias (no add in the epilogue: with 9 FMAs
// per output vector of a 3×3 depthwise layer, an add, a min and a max per
// vector are a third more FP operations), so Store only clamps, and only the
// bounds that are finite.
template <int C, int T, int V, class D>
HWY_INLINE void InitBias(D d, const internal::KernelContext& ctx, const Sink& k,
                         hn::Vec<D> (&acc)[C][T][V]) {
  HWY_UNROLL(16)
  for (int c = 0; c < C; ++c) {
    const float b = ctx.bias && c >= k.c_begin && c < k.c_end ? ctx.bias[k.co_abs + c] : 0.0f;
    HWY_UNROLL(32)
    for (int t = 0; t < T; ++t) {
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v) acc[c][t][v] = hn::Set(d, b);
    }
  }
}

// kFullWidth: all V·N outputs of every row are inside the output row
// (interior strips), so no per-vector tail test.
template <int C, int T, int V, bool kFullWidth, class D>
HWY_INLINE void Store(D d, const internal::KernelContext& ctx, const Sink& k,
                      hn::Vec<D> (&acc)[C][T][V], float* output) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const bool clamp_lo = ctx.clamp_min > -std::numeric_limits<float>::infinity();
  const bool clamp_hi = ctx.clamp_max < std::numeric_limits<float>::infinity();
  const hn::Vec<D> lo = hn::Set(d, ctx.clamp_min);
  const hn::Vec<D> hi = hn::Set(d, ctx.clamp_max);
  const int64_t plane = ctx.out_h * ctx.out_w;
  HWY_UNROLL(16)
  for (int c = 0; c < C; ++c) {
    if (c < k.c_begin || c >= k.c_end) continue;
    const int64_t co = k.co_abs + c;
    float* HWY_RESTRICT out = output +
                              (k.n * ctx.params.out_channels + internal::OutputChannel(ctx, co)) *
                                  plane +
                              k.oh0 * ctx.out_w + k.ow0;
    HWY_UNROLL(32)
    for (int t = 0; t < T; ++t) {
      if (t >= k.rows) break;
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v) {
        hn::Vec<D> y = acc[c][t][v];
        if (clamp_lo) y = hn::Max(y, lo);
        if (clamp_hi) y = hn::Min(y, hi);
        const int64_t left = k.valid - v * N;
        if (kFullWidth || left >= N) {
          hn::StoreU(y, d, out + t * ctx.out_w + v * N);
        } else if (left > 0) {
          hn::BlendedStore(y, hn::FirstN(d, static_cast<size_t>(left)), d,
                           out + t * ctx.out_w + v * N);
        }
      }
    }
  }
}

// Row stores (kStoreRows, Strips): the epilogue of one run of strips, set up
// once per run rather than per strip: each block channel's output row oh0
// (column 0; null when the channel is not stored), its bias, and the clamp
// bounds that are finite. Read from this local copy, the row stores inside
// the unrolled tile do not make GCC reload ctx and recompute the channel's
// address after each store (it cannot prove that the output does not alias
// ctx).
template <int C>
struct Epilogue {
  float* out[C];
  float bias[C];
  int64_t out_w, rows;
  float lo, hi;
  bool clamp_lo, clamp_hi;
  Epilogue(const internal::KernelContext& ctx, const Sink& k, float* output)
      : out_w(ctx.out_w),
        rows(k.rows),
        lo(ctx.clamp_min),
        hi(ctx.clamp_max),
        clamp_lo(ctx.clamp_min > -std::numeric_limits<float>::infinity()),
        clamp_hi(ctx.clamp_max < std::numeric_limits<float>::infinity()) {
    const int64_t plane = ctx.out_h * ctx.out_w;
    for (int c = 0; c < C; ++c) {
      const bool stored = c >= k.c_begin && c < k.c_end;
      const int64_t co = k.co_abs + c;
      out[c] = stored ? output +
                            (k.n * ctx.params.out_channels + internal::OutputChannel(ctx, co)) *
                                plane +
                            k.oh0 * ctx.out_w
                      : nullptr;
      bias[c] = ctx.bias && stored ? ctx.bias[co] : 0.0f;
    }
  }
};

// As InitBias below, from the Epilogue.
template <int C, int T, int V, class D>
HWY_INLINE void InitBias(D d, const Epilogue<C>& e, hn::Vec<D> (&acc)[C][T][V]) {
  HWY_UNROLL(16)
  for (int c = 0; c < C; ++c) {
    const hn::Vec<D> b = hn::Set(d, e.bias[c]);
    HWY_UNROLL(32)
    for (int t = 0; t < T; ++t) {
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v) acc[c][t][v] = b;
    }
  }
}

// Stores output row t of the tile (if t < rows): `valid` outputs from column
// ow0. kFullWidth: all V·N outputs are inside the output row (interior
// strips), so no per-vector tail test. kClamp: at least one bound is finite.
template <int C, int T, int V, bool kFullWidth, bool kClamp, class D>
HWY_INLINE void StoreRow(D d, const Epilogue<C>& e, int t, int64_t ow0, int64_t valid,
                         hn::Vec<D> (&acc)[C][T][V]) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  if (t >= e.rows) return;
  HWY_UNROLL(16)
  for (int c = 0; c < C; ++c) {
    if (e.out[c] == nullptr) continue;
    float* HWY_RESTRICT out = e.out[c] + t * e.out_w + ow0;
    HWY_UNROLL(16)
    for (int v = 0; v < V; ++v) {
      hn::Vec<D> y = acc[c][t][v];
      if (kClamp && e.clamp_lo) y = hn::Max(y, hn::Set(d, e.lo));
      if (kClamp && e.clamp_hi) y = hn::Min(y, hn::Set(d, e.hi));
      const int64_t left = valid - v * N;
      if (kFullWidth || left >= N) {
        hn::StoreU(y, d, out + v * N);
      } else if (left > 0) {
        hn::BlendedStore(y, hn::FirstN(d, static_cast<size_t>(left)), d, out + v * N);
      }
    }
  }
}

// acc[c][t][v] += sum over ci, kh, kw of w[ci][kh][kw][c] * x(row t·SH + kh, kw, v).
// kRowsInside: every input row of the tile lies inside the input (no
// per-row test). The weights are held in registers where they fit beside the
// tile (WeightsInRegisters), else broadcast per use from the packed block.
//
// kStoreRows (the tile reads one input channel: depthwise, s.ci == 1): each
// output row is finished (odd rows added) and stored by StoreRow as soon as
// its last input row t·SH + KH − 1 has been read, instead of all T rows after
// the last input row. Measured on dw_3x3_112 (AVX3): see Strips.
template <int KH, int KW, int SH, int SW, int C, int T, int V, bool kBorder, bool kRowsInside,
          bool kStoreRows, bool kClamp, class D>
HWY_INLINE void Accumulate(D d, const Source& s, hn::Vec<D> (&acc)[C][T][V],
                           hn::Vec<D> (&odd)[C][T][V], const Epilogue<C>* e, int64_t ow0,
                           int64_t valid) {
  constexpr bool kSplit = SplitKernelRows<KH, KW, SW, C, T, V, D>();
  if constexpr (kSplit) {  // the odd kernel rows' accumulators start at zero
    HWY_UNROLL(32)
    for (int t = 0; t < T; ++t) {
      HWY_UNROLL(16)
      for (int v = 0; v < V; ++v) odd[0][t][v] = hn::Zero(d);
    }
  }
  using Plan = LoadPlan<KW, SW, V, D>;
  constexpr int kRows = (T - 1) * SH + KH;
  constexpr bool kHold = WeightsInRegisters<KH, KW, SW, C, T, V, D>();
  const StripMasks<KW, SW, V, kBorder, D> masks(d, s.c0, s.in_w);
  (void)e;
  (void)ow0;
  (void)valid;
  const int64_t channels = kStoreRows ? 1 : s.ci;  // kStoreRows: s.ci == 1
  HWY_UNROLL(1)
  for (int64_t ci = 0; ci < channels; ++ci) {
    const float* HWY_RESTRICT plane = s.in + ci * s.in_plane;
    const float* HWY_RESTRICT wc = s.w + ci * (KH * KW * C);
    hn::Vec<D> held[kHold ? KH * KW * C : 1];
    if constexpr (kHold) {
      HWY_UNROLL(32)
      for (int j = 0; j < KH * KW * C; ++j) held[j] = hn::Set(d, wc[j]);
    }
    HWY_UNROLL(32)
    for (int i = 0; i < kRows; ++i) {
      const ptrdiff_t ih = s.ih0 + i;
      // Vertical padding: no taps (but a row may still be finished below).
      if (kRowsInside || (ih >= 0 && ih < s.in_h)) {
        const float* row = plane + ih * s.in_w;
        hn::Vec<D> x[V][KW];
        if constexpr (Plan::kShift) {
          hn::Vec<D> base[V + 1];
          HWY_UNROLL(16)
          for (int l = 0; l <= V; ++l)
            base[l] = LoadAt<KW, SW, V, kBorder>(d, row, s.c0 + Plan::Offset(l), l, masks);
          HWY_UNROLL(16)
          for (int v = 0; v < V; ++v) {
            x[v][0] = base[v];
            Shifts(d, base[v + 1], base[v], x[v], std::make_index_sequence<KW - 1>());
          }
        } else {
          HWY_UNROLL(16)
          for (int l = 0; l < Plan::kLoads; ++l)
            x[l % V][l / V] = LoadAt<KW, SW, V, kBorder>(d, row, s.c0 + Plan::Offset(l), l, masks);
        }
        HWY_UNROLL(32)
        for (int t = 0; t < T; ++t) {
          const int kh = i - t * SH;
          if (kh < 0 || kh >= KH) continue;  // compile time after unrolling
          HWY_UNROLL(16)
          for (int kw = 0; kw < KW; ++kw) {
            HWY_UNROLL(16)
            for (int c = 0; c < C; ++c) {
              const int j = (kh * KW + kw) * C + c;
              const hn::Vec<D> wv = kHold ? held[kHold ? j : 0] : hn::Set(d, wc[j]);
              HWY_UNROLL(16)
              for (int v = 0; v < V; ++v) {
                if (kSplit && (kh & 1)) {
                  odd[c][t][v] = hn::MulAdd(wv, x[v][kw], odd[c][t][v]);
                } else {
                  acc[c][t][v] = hn::MulAdd(wv, x[v][kw], acc[c][t][v]);
                }
              }
            }
          }
        }
      }
      if constexpr (kStoreRows) {
        // Output row t is complete once input row t·SH + KH − 1 is read
        // (compile time after unrolling).
        const int done = i - (KH - 1);
        if (done >= 0 && done % SH == 0 && done / SH < T) {
          const int t = done / SH;
          if constexpr (kSplit) {
            HWY_UNROLL(16)
            for (int v = 0; v < V; ++v) acc[0][t][v] = hn::Add(acc[0][t][v], odd[0][t][v]);
          }
          StoreRow<C, T, V, !kBorder, kClamp>(d, *e, t, ow0, valid, acc);
        }
      }
    }
  }
}

// Strips [ow_begin, ow_end) (steps of Δ) of the tile's T output rows, all of
// one kind: interior (kBorder false) or bounded loads; the loop is inside
// the out-of-line function so that the row set-up is paid once per run of
// strips, not per strip.
//
// kStoreRows (depthwise 3×3, DwconvTile): each output row is stored as soon
// as it is finished (Accumulate), from an Epilogue set up once per run, with
// one loop per clamp mode. Measured on dw_3x3_112 (AVX3, thread CPU time, a
// throwaway harness calling DwconvTile on 16-byte-aligned buffers as in
// `convgen bench`; 64-byte-aligned in brackets), GFLOP/s:
//   h8, T stores after the strip's last input row (before)   60–63 (65–68)
//   h8, Epilogue + clamp loops, stores at the end             68
//   h8, rows stored as they finish                            68–69 (72–73)
//   h14, stores at the end (14 accumulators live to the end)  59    (65)
//   h14, rows stored as they finish                           71–74 (77–79)
// The per-strip epilogue had been reloading ctx after every store and, with
// the clamp decided per row, GCC if-converted it into a broadcast + max + min
// per vector. With rows stored as they finish GCC sinks each output row's 9
// FMAs next to its store, so only ~3 rows of shifted inputs and the 9
// weights are live and the tile can grow to 14 rows (2 of 16 input rows
// re-read instead of 2 of 10) without spills of accumulators.
template <int KH, int KW, int SH, int SW, int C, int T, int V, bool kBorder, bool kRowsInside,
          bool kClamp, class D>
HWY_INLINE void RowStoreStrips(D d, const Epilogue<C>& e, const internal::KernelContext& ctx,
                               Source s, int64_t ow_begin, int64_t ow_end) {
  const int64_t delta = V * static_cast<int64_t>(hn::Lanes(d));
  const int64_t out_w = ctx.out_w;
  const ptrdiff_t pad_w = static_cast<ptrdiff_t>(ctx.params.pad_w);
  for (int64_t ow0 = ow_begin; ow0 < ow_end; ow0 += delta) {
    s.c0 = ow0 * SW - pad_w;
    const int64_t valid = std::min(delta, out_w - ow0);
    hn::Vec<D> acc[C][T][V], odd[C][T][V];
    InitBias<C, T, V>(d, e, acc);
    Accumulate<KH, KW, SH, SW, C, T, V, kBorder, kRowsInside, true, kClamp>(d, s, acc, odd, &e,
                                                                           ow0, valid);
  }
}

template <int KH, int KW, int SH, int SW, int C, int T, int V, bool kBorder, bool kRowsInside,
          bool kStoreRows, class D>
HWY_NOINLINE void Strips(D d, const internal::KernelContext& ctx, Source s, Sink k,
                         int64_t ow_begin, int64_t ow_end, float* output) {
  if constexpr (kStoreRows) {
    const Epilogue<C> e(ctx, k, output);
    if (e.clamp_lo || e.clamp_hi) {
      RowStoreStrips<KH, KW, SH, SW, C, T, V, kBorder, kRowsInside, true>(d, e, ctx, s,
                                                                           ow_begin, ow_end);
    } else {
      RowStoreStrips<KH, KW, SH, SW, C, T, V, kBorder, kRowsInside, false>(d, e, ctx, s,
                                                                            ow_begin, ow_end);
    }
  } else {
    const int64_t delta = V * static_cast<int64_t>(hn::Lanes(d));
    for (int64_t ow0 = ow_begin; ow0 < ow_end; ow0 += delta) {
      s.c0 = ow0 * SW - ctx.params.pad_w;
      k.ow0 = ow0;
      k.valid = std::min(delta, ctx.out_w - ow0);
      hn::Vec<D> acc[C][T][V], odd[C][T][V];
      InitBias<C, T, V>(d, ctx, k, acc);
      Accumulate<KH, KW, SH, SW, C, T, V, kBorder, kRowsInside, false, false>(
          d, s, acc, odd, static_cast<const Epilogue<C>*>(nullptr), ow0, k.valid);
      if constexpr (SplitKernelRows<KH, KW, SW, C, T, V, D>()) {
        HWY_UNROLL(32)
        for (int t = 0; t < T; ++t) {
          HWY_UNROLL(16)
          for (int v = 0; v < V; ++v) acc[0][t][v] = hn::Add(acc[0][t][v], odd[0][t][v]);
        }
      }
      Store<C, T, V, !kBorder>(d, ctx, k, acc, output);
    }
  }
}

// Every strip of T output rows [oh0, oh0 + rows): the interior strips (a
// contiguous run) on full vectors with plain loads, border strips masked,
// a tail of <= Δ/2 outputs on half vectors. Interior rows (every input row
// of the tile inside the input) skip the per-row test.
// kStoreRows: see Accumulate (one input channel per tile only).
template <int KH, int KW, int SH, int SW, int C, int T, int V, bool kStoreRows = false, class D>
HWY_INLINE void RowOfStrips(D d, const internal::KernelContext& ctx, const Source& s,
                            const Sink& k, float* output) {
  const Conv2dParams& p = ctx.params;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t delta = V * N;
  const int64_t out_w = ctx.out_w;
  constexpr size_t kMaxLanes = hn::MaxLanes(D());
  constexpr bool kHalfTail = kMaxLanes >= 8;
  using DHalf = hn::CappedTag<float, kHalfTail ? kMaxLanes / 2 : kMaxLanes>;
  constexpr ptrdiff_t kSpan = LoadPlan<KW, SW, V, D>::kSpan;
  constexpr int kRows = (T - 1) * SH + KH;
  const bool rows_inside = s.ih0 >= 0 && s.ih0 + kRows <= s.in_h;
  // Interior strips: ow0 = j·Δ with c0 = ow0·SW − pad >= 0, c0 + span <= in_w
  // and a full Δ of outputs.
  const int64_t strips = (out_w + delta - 1) / delta;
  int64_t first = 0;
  while (first < strips && first * delta * SW - p.pad_w < 0) ++first;
  int64_t last = first;  // one past the interior run
  while (last < strips && (last + 1) * delta <= out_w &&
         last * delta * SW - p.pad_w + kSpan <= s.in_w)
    ++last;
  if (last == first) first = last = 0;
  auto border = [&](int64_t j) {
    const int64_t ow0 = j * delta;
    if (kHalfTail && 2 * (out_w - ow0) <= delta) {
      Strips<KH, KW, SH, SW, C, T, V, true, false, kStoreRows>(DHalf(), ctx, s, k, ow0, out_w,
                                                               output);
    } else {
      Strips<KH, KW, SH, SW, C, T, V, true, false, kStoreRows>(d, ctx, s, k, ow0, ow0 + delta,
                                                               output);
    }
  };
  for (int64_t j = 0; j < first; ++j) border(j);
  if (last > first) {
    if (rows_inside) {
      Strips<KH, KW, SH, SW, C, T, V, false, true, kStoreRows>(d, ctx, s, k, first * delta,
                                                               last * delta, output);
    } else {
      Strips<KH, KW, SH, SW, C, T, V, false, false, kStoreRows>(d, ctx, s, k, first * delta,
                                                                last * delta, output);
    }
  }
  for (int64_t j = last; j < strips; ++j) border(j);
}

}  // namespace rowtile

namespace dwconv {

// One Tile (kernel.h) of a depthwise layer: groups = ci, so group g reads
// input channel g and writes its co/groups = m output channels (m = 1:
// plain depthwise; m > 1: depth multiplier, each output channel a pass over
// the same input plane, still in L2). Weights: OIHW as is ([co][KH][KW]).
template <int KH, int KW, int SH, int SW, int T, int V, class D>
void DwconvTile(D d, const internal::KernelContext& ctx, const internal::Tile& t,
                const float* input, float* output) {
  const Conv2dParams& p = ctx.params;
  const int64_t cog = p.out_channels_per_group();
  rowtile::Source s;
  s.in_plane = p.in_height * p.in_width;
  s.in_h = p.in_height;
  s.in_w = p.in_width;
  s.ci = 1;
  rowtile::Sink k;
  k.n = t.n;
  k.c_begin = 0;
  k.c_end = 1;
  // Rows stored as they finish (rowtile::Strips) on stride 1 where the
  // weights are held in registers (3×3 on AVX3). Where they are not (5×5,
  // and every AVX2/SSE4 tile), GCC keeps the shifted vectors of KH input
  // rows live to sink each output row's FMAs next to its store, and spills:
  // 5×5 s1 (AVX3 4x1v, 64 channels 56×56) ran 68.5 against 73.5 GFLOP/s with
  // the rows stored after the strip's last input row. 3×3 stride 2 (AVX3
  // 4x1v): 19.5 → 23 on 112 → 56 but 19–20 → 17–18.5 on 56 → 28 and
  // 28 → 14, so left as it was.
  constexpr bool kStoreRows =
      SH == 1 && SW == 1 && rowtile::WeightsInRegisters<KH, KW, SW, 1, T, V, D>();
  const bool prefetch = internal::rowtile::StreamsFromMemory(p);
  for (int64_t g = t.g_begin; g < t.g_end; ++g) {
    s.in = input + (t.n * p.in_channels + g) * s.in_plane;
    for (int64_t j = t.co_begin; j < t.co_end; ++j) {
      k.co_abs = g * cog + j;
      s.w = ctx.packed_weights + k.co_abs * (KH * KW);
      for (int64_t oh0 = t.oh_begin; oh0 < t.oh_end; oh0 += T) {
        k.oh0 = oh0;
        k.rows = std::min<int64_t>(T, t.oh_end - oh0);
        s.ih0 = oh0 * SH - p.pad_h;
        rowtile::RowOfStrips<KH, KW, SH, SW, 1, T, V, kStoreRows>(d, ctx, s, k, output);
        if (prefetch && j + 1 == t.co_end && g + 1 < t.g_end)  // the plane's last pass
          rowtile::PrefetchNextGroupBand<SH>(s, oh0, k.rows);
      }
    }
  }
}

}  // namespace dwconv
}  // namespace HWY_NAMESPACE
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#endif  // include guard (toggle)
