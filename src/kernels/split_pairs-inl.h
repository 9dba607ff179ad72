// convgen internal, per-target (Highway self-include pattern): the stride-2
// de-interleave of one input row, shared by the direct kernels' SplitRows
// (direct-inl.h) and the band builders of smallmap and generic (BuildBand's
// `split_pairs`, generic_band.h).

#if defined(CONVGEN_SRC_KERNELS_SPLIT_PAIRS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef CONVGEN_SRC_KERNELS_SPLIT_PAIRS_INL_H_
#undef CONVGEN_SRC_KERNELS_SPLIT_PAIRS_INL_H_
#else
#define CONVGEN_SRC_KERNELS_SPLIT_PAIRS_INL_H_
#endif

#include <stdint.h>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
// In convgen::HWY_NAMESPACE (as the direct kernels), not
// convgen::internal::HWY_NAMESPACE: declaring the latter in the generated
// TUs would make their HWY_EXPORTs, written inside convgen::internal, look
// for the generated kernels (in convgen::HWY_NAMESPACE) there.
namespace convgen {
namespace HWY_NAMESPACE {

// even[k] = src[2k], odd[k] = src[2k + 1] for k < n: two loads, ConcatEven
// and ConcatOdd per vector of pairs; the last partial vector is done as one
// more full vector ending at n (it rewrites some pairs with the same values:
// rows of 28 pairs go 16 + 12). rn_3x3_s2: replacing BuildBand's scalar
// strided copy, which took 14% of the layer (perf), gained 2-3%.
inline void SplitPairs(const float* HWY_RESTRICT src, int64_t n, float* HWY_RESTRICT even,
                       float* HWY_RESTRICT odd) {
  int64_t k = 0;
#if HWY_TARGET != HWY_SCALAR
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto split = [&](int64_t at) {
    const auto lo = hn::LoadU(d, src + 2 * at), hi = hn::LoadU(d, src + 2 * at + N);
    hn::StoreU(hn::ConcatEven(d, hi, lo), d, even + at);
    hn::StoreU(hn::ConcatOdd(d, hi, lo), d, odd + at);
  };
  for (; k + N <= n; k += N) split(k);
  if (k < n && n >= N) {
    split(n - N);
    k = n;
  }
#endif
  for (; k < n; ++k) {
    even[k] = src[2 * k];
    odd[k] = src[2 * k + 1];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#endif  // include guard (toggle)
