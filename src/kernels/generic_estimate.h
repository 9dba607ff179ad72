// convgen internal: the pieces of the hand-written families' `estimate`
// (modelled fraction of this CPU's fp32 peak, the plan's ranking key), on the
// same scale as the generated direct kernels' model (src/kernels/direct.h,
// gen/gen_kernels.py: 1.0 = every FMA lane useful at peak; SSE4 and SCALAR
// capped at 0.2 and 0.1, their measured peak is 50 and 13 GFLOP/s against
// 117.5 for AVX3/AVX2, and SSE4 has no FMA).
#ifndef CONVGEN_SRC_KERNELS_GENERIC_ESTIMATE_H_
#define CONVGEN_SRC_KERNELS_GENERIC_ESTIMATE_H_

#include <algorithm>
#include <cstdint>

#include <hwy/targets.h>

#include "convgen/conv2d.h"
#include "kernels/generic_band.h"

namespace convgen {
namespace internal {

inline double TargetCeiling(int64_t target) {
  if (target == HWY_SSE4 || target == HWY_SSSE3) return 0.2;
  if (target == HWY_SCALAR || target == HWY_EMU128) return 0.1;
  return 1.0;
}

// Nominal kernel rows / computed kernel rows: the families that skip the
// kernel rows landing in the vertical padding do fewer FMAs than the nominal
// FLOP count (rn_3x3_7: 21 / 19 = 1.105; rn_3x3_56: 1.012). Counted per
// kernel row or per output row, whichever is fewer (it runs in Plan::Create
// for every problem: a 2^40-row layer must not loop 2^40 times); 1.0 (no
// credit) beyond 2^20 of both.
inline double VerticalTapFactor(const Conv2dParams& p) {
  const int64_t oh = p.out_height(), kh = p.kernel_h;
  constexpr int64_t kMaxLoop = int64_t{1} << 20;
  int64_t computed = 0;
  if (kh <= oh && kh <= kMaxLoop) {
    // Kernel row ky is computed for output rows with 0 <= oy*sh - ph + ky*dh < ih.
    for (int64_t ky = 0; ky < kh; ++ky) {
      const int64_t shift = p.pad_h - ky * p.dilation_h;  // oy*sh >= shift
      const int64_t lo = shift > 0 ? CeilDiv(shift, p.stride_h) : 0;
      const int64_t limit = p.in_height - 1 + shift;      // oy*sh <= limit
      const int64_t hi = limit < 0 ? 0 : std::min(oh, limit / p.stride_h + 1);
      if (hi > lo) computed += hi - lo;
    }
  } else if (oh <= kMaxLoop) {
    for (int64_t oy = 0; oy < oh; ++oy) {
      int64_t ky0, ky1;
      ValidKernelRows(p, oy, &ky0, &ky1);
      computed += ky1 - ky0;
    }
  } else {
    return 1.0;
  }
  return computed > 0 ? double(oh) * double(kh) / double(computed) : 1.0;
}

// Fraction of `n` useful when it is computed in blocks of `block`.
inline double BlockUse(int64_t n, int64_t block) {
  return double(n) / double(RoundUp(n, block));
}

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_GENERIC_ESTIMATE_H_
