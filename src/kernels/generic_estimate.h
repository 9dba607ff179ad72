// convgen internal: the pieces of the hand-written families' `estimate`
// (modelled fraction of this CPU's fp32 peak, the plan's ranking key), on the
// same scale as the generated direct kernels' model (src/kernels/direct.h,
// gen/gen_kernels.py: 1.0 = every FMA lane useful at peak; SSE4 and SCALAR
// capped at 0.2 and 0.1, their measured peak is 50 and 13 GFLOP/s against
// 117.5 for AVX3/AVX2, and SSE4 has no FMA).
#ifndef CONVGEN_SRC_KERNELS_GENERIC_ESTIMATE_H_
#define CONVGEN_SRC_KERNELS_GENERIC_ESTIMATE_H_

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
// FLOP count (rn_3x3_7: 21 / 19 = 1.105; rn_3x3_56: 1.012).
inline double VerticalTapFactor(const Conv2dParams& p) {
  const int64_t oh = p.out_height();
  int64_t computed = 0;
  for (int64_t oy = 0; oy < oh; ++oy) {
    int64_t ky0, ky1;
    ValidKernelRows(p, oy, &ky0, &ky1);
    computed += ky1 - ky0;
  }
  return computed > 0 ? double(oh * p.kernel_h) / double(computed) : 1.0;
}

// Fraction of `n` useful when it is computed in blocks of `block`.
inline double BlockUse(int64_t n, int64_t block) {
  return double(n) / double(RoundUp(n, block));
}

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_GENERIC_ESTIMATE_H_
