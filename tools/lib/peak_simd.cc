// convgen tools: the per-target loops of the peak measurement (peak.h),
// compiled once per Highway target (skeleton pattern: this file re-includes
// itself through foreach_target.h) and resolved for an explicit target with
// CONVGEN_RESOLVE, never through Highway's process-global chosen target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "peak_simd.cc"  // reachable through -I tools/lib
#include <hwy/foreach_target.h>            // must precede highway.h
#include <hwy/highway.h>

#include "peak.h"

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace tools {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// kFmaChains independent chains acc = acc * m + c. The accumulator feeds the
// multiply, so on SSE4/SCALAR (no FMA: MulAdd = Mul then Add) the compiler
// cannot hoist the product out of the loop and the chain is honest. With
// m = 1 - 2^-10 and c = 2^-10 the fixed point is 1: no overflow, no
// subnormals (which would slow the non-FMA targets, TOOLCHAIN.md §6).
float FmaChainsLoop(uint64_t iterations) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  constexpr int kChains = peak_internal::kFmaChains;
  const V m = hn::Set(d, 1.0f - 1.0f / 1024);
  const V c = hn::Set(d, 1.0f / 1024);
  V acc[kChains];
  HWY_UNROLL(16)
  for (int i = 0; i < kChains; ++i) acc[i] = hn::Set(d, 0.5f + 0.01f * i);
  for (uint64_t it = 0; it < iterations; ++it) {
    HWY_UNROLL(16)
    for (int i = 0; i < kChains; ++i) acc[i] = hn::MulAdd(acc[i], m, c);
  }
  V sum = acc[0];
  HWY_UNROLL(16)
  for (int i = 1; i < kChains; ++i) sum = hn::Add(sum, acc[i]);
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

size_t FloatLanes() { return hn::Lanes(hn::ScalableTag<float>()); }
bool NativeFma() { return HWY_NATIVE_FMA != 0; }

// Streaming read: 4 vector accumulators (enough to keep loads, not adds, the
// bottleneck once the data come from DRAM).
double SumFloats(const float* HWY_RESTRICT p, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::Add(s0, hn::LoadU(d, p + i));
    s1 = hn::Add(s1, hn::LoadU(d, p + i + N));
    s2 = hn::Add(s2, hn::LoadU(d, p + i + 2 * N));
    s3 = hn::Add(s3, hn::LoadU(d, p + i + 3 * N));
  }
  double total = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < n; ++i) total += p[i];
  return total;
}

}  // namespace HWY_NAMESPACE
}  // namespace tools
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "dispatch.h"
#include "targets.h"

namespace convgen {
namespace tools {

HWY_EXPORT(FmaChainsLoop);
HWY_EXPORT(FloatLanes);
HWY_EXPORT(NativeFma);
HWY_EXPORT(SumFloats);

namespace peak_internal {

FmaLoop ResolveFmaLoop(int64_t target) {
  FmaLoop loop;
  auto run = CONVGEN_RESOLVE(FmaChainsLoop, target);
  auto lanes = CONVGEN_RESOLVE(FloatLanes, target);
  auto fma = CONVGEN_RESOLVE(NativeFma, target);
  if (run == nullptr || lanes == nullptr || fma == nullptr) return loop;
  loop.run = run;
  loop.lanes = lanes();
  loop.native_fma = fma();
  return loop;
}

double SumFloatsBestTarget(const float* p, size_t n) {
  auto sum = CONVGEN_RESOLVE(SumFloats, convgen::internal::BestTarget());
  if (sum == nullptr) sum = CONVGEN_RESOLVE(SumFloats, HWY_STATIC_TARGET);
  return sum(p, n);
}

}  // namespace peak_internal
}  // namespace tools
}  // namespace convgen
#endif  // HWY_ONCE
