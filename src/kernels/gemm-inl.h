// convgen internal: Highway GEMM micro-kernel, C[R][VV*N] = A[R][K] * B[K][VV*N]
// with both operands packed so that the K loop streams contiguous memory:
//   A micro-panel: [K][kAStride] floats, rows r < R broadcast from a[k*kAStride + r]
//   B micro-panel: [K][VV*N] floats, VV full vectors loaded per k
// Per k: VV loads, R broadcasts, R*VV FMAs into R*VV register accumulators.
// The accumulators are stored once, at the end, to `c` ([R][VV*N], aligned).
// The function is not inlined on purpose: nothing but the K loop is live in
// it, so the R*VV accumulators keep their registers. Inlined into the
// caller, GCC 12 kept the caller's epilogue constants (clamp bounds) live
// across the loop and spilled one accumulator on AVX2 (R6 x V2 = 12 + 2 loads
// + 1 broadcast = 15 of 16 ymm): a load-FMA-store chain per k.
#if defined(CONVGEN_SRC_KERNELS_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef CONVGEN_SRC_KERNELS_GEMM_INL_H_
#undef CONVGEN_SRC_KERNELS_GEMM_INL_H_
#else
#define CONVGEN_SRC_KERNELS_GEMM_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <size_t R, size_t VV, size_t kAStride, class D>
HWY_NOINLINE void GemmMicroTile(D d, const float* HWY_RESTRICT a,
                                const float* HWY_RESTRICT b, int64_t K,
                                float* HWY_RESTRICT c) {
  using V = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  V acc[R * VV];
  HWY_UNROLL(32)
  for (size_t i = 0; i < R * VV; ++i) acc[i] = hn::Zero(d);
  for (int64_t k = 0; k < K; ++k, a += kAStride, b += VV * N) {
    V bv[VV];
    HWY_UNROLL(4)
    for (size_t v = 0; v < VV; ++v) bv[v] = hn::LoadU(d, b + v * N);
    HWY_UNROLL(16)
    for (size_t r = 0; r < R; ++r) {
      const V av = hn::Set(d, a[r]);
      HWY_UNROLL(4)
      for (size_t v = 0; v < VV; ++v) acc[r * VV + v] = hn::MulAdd(av, bv[v], acc[r * VV + v]);
    }
  }
  HWY_UNROLL(32)
  for (size_t i = 0; i < R * VV; ++i) hn::Store(acc[i], d, c + i * N);
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#endif  // CONVGEN_SRC_KERNELS_GEMM_INL_H_ toggle
