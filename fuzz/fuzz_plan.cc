// libFuzzer target: plan creation and execution from arbitrary parameters.
//
// The input is decoded (FuzzedDataProvider) into a small bounded problem —
// batch 1..2, groups 1..4, 1..4 input and 1..20 output channels per group,
// windows 1..5, strides 1..3, dilations 1..3, padding 0..4, maps up to 12×72
// — plus options: a forced kernel (any registry row) or none, a forced
// Highway target or none, clamp (none, ReLU, a range, an invalid one),
// channel shuffle 0..4, threads 0..3, bias on/off, the plan's pool or a
// caller's pool. In "hostile" mode one field is replaced by an arbitrary
// int64: then only Validate() and Create()'s refusal are checked (a valid
// problem that is too big to run here is skipped).
//
// Properties:
//  - Create succeeds exactly when it should: a valid problem with valid
//    options and no forced kernel is never refused (the candidate list ends
//    with generic kernels and the reference); a forced kernel is refused only
//    when it does not apply or is not compiled for the target; a forced
//    target only when the CPU lacks it. Every error has a message.
//  - A created plan runs, writes every output element, and matches
//    convgen::ReferenceConv2d within a relative error of 1e-4 of the sum of
//    the absolute values of the terms (|w|·|x| products and |bias|): fp32
//    summation in any order is far inside that for <= 4·5·5 = 100 taps.
#include <pthreadpool.h>

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "convgen/reference.h"
#include "kernel.h"
#include "targets.h"

namespace {

using convgen::Conv2dParams;
using convgen::PlanOptions;
using convgen::Status;

std::string Describe(const Conv2dParams& p, const PlanOptions& o, bool bias, bool external) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                " kernel='%s' target='%s' clamp=[%g,%g] shuffle=%lld threads=%d bias=%d "
                "external_pool=%d",
                o.kernel.c_str(), o.target.c_str(), o.clamp_min, o.clamp_max,
                static_cast<long long>(o.shuffle_groups), o.threads, bias ? 1 : 0,
                external ? 1 : 0);
  return convgen::DebugString(p) + buf;
}

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_plan: %s\n  %s\n", what, detail.c_str());
  std::abort();
}

pthreadpool_t ExternalPool() {
  static pthreadpool_t pool = pthreadpool_create(2);
  return pool;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const bool hostile = fdp.ConsumeIntegralInRange<int>(0, 7) == 0;

  Conv2dParams p;
  p.batch = fdp.ConsumeIntegralInRange<int64_t>(1, 2);
  p.groups = fdp.ConsumeIntegralInRange<int64_t>(1, 4);
  p.in_channels = p.groups * fdp.ConsumeIntegralInRange<int64_t>(1, 4);
  p.out_channels = p.groups * fdp.ConsumeIntegralInRange<int64_t>(1, 20);
  p.kernel_h = fdp.ConsumeIntegralInRange<int64_t>(1, 5);
  p.kernel_w = fdp.ConsumeIntegralInRange<int64_t>(1, 5);
  p.stride_h = fdp.ConsumeIntegralInRange<int64_t>(1, 3);
  p.stride_w = fdp.ConsumeIntegralInRange<int64_t>(1, 3);
  p.dilation_h = fdp.ConsumeIntegralInRange<int64_t>(1, 3);
  p.dilation_w = fdp.ConsumeIntegralInRange<int64_t>(1, 3);
  p.pad_h = fdp.ConsumeIntegralInRange<int64_t>(0, 4);
  p.pad_w = fdp.ConsumeIntegralInRange<int64_t>(0, 4);
  p.in_height = fdp.ConsumeIntegralInRange<int64_t>(1, 12);
  p.in_width = fdp.ConsumeIntegralInRange<int64_t>(1, 72);
  if (hostile) {
    int64_t* fields[] = {&p.batch,    &p.in_channels, &p.in_height, &p.in_width,
                         &p.out_channels, &p.kernel_h, &p.kernel_w,  &p.stride_h,
                         &p.stride_w, &p.pad_h,       &p.pad_w,      &p.dilation_h,
                         &p.dilation_w, &p.groups};
    const int n = fdp.ConsumeIntegralInRange<int>(1, 3);
    for (int i = 0; i < n; ++i)
      *fields[fdp.ConsumeIntegralInRange<size_t>(0, 13)] = fdp.ConsumeIntegral<int64_t>();
  }

  const auto& kernels = convgen::internal::AllKernels();
  static const char* const kTargets[] = {"", "AVX3", "AVX2", "SSE4", "SCALAR", "SSSE3", "NEON"};
  PlanOptions o;
  const size_t k = fdp.ConsumeIntegralInRange<size_t>(0, kernels.size() + 1);
  if (k > 0) o.kernel = k <= kernels.size() ? kernels[k - 1]->name : "no_such_kernel";
  o.target = kTargets[fdp.ConsumeIntegralInRange<int>(0, 6)];
  const float inf = std::numeric_limits<float>::infinity();
  switch (fdp.ConsumeIntegralInRange<int>(0, 5)) {
    case 1: o.clamp_min = 0; break;
    case 2:
      o.clamp_min = static_cast<float>(fdp.ConsumeIntegralInRange<int>(-8, 0)) / 4;
      o.clamp_max = static_cast<float>(fdp.ConsumeIntegralInRange<int>(0, 8)) / 4;
      break;
    case 3: o.clamp_min = 1; o.clamp_max = -1; break;  // invalid
    case 4: o.clamp_min = std::nanf(""); break;        // invalid
    case 5: o.clamp_max = -inf; break;                  // valid only with min -inf
    default: break;
  }
  o.shuffle_groups = fdp.ConsumeIntegralInRange<int64_t>(-1, 4);
  o.threads = fdp.ConsumeIntegralInRange<int>(-1, 3);
  const bool use_bias = fdp.ConsumeBool();
  const bool external = fdp.ConsumeBool();
  const uint32_t seed = fdp.ConsumeIntegral<uint32_t>();
  const std::string what = Describe(p, o, use_bias, external);

  const Status valid = convgen::Validate(p);
  if (!valid.ok() && valid.message().empty()) Fail("Validate error without a message", what);
  if (valid.ok()) {
    const int64_t oh = p.out_height(), ow = p.out_width();
    if (oh != (p.in_height + 2 * p.pad_h - p.dilation_h * (p.kernel_h - 1) - 1) / p.stride_h + 1 ||
        ow != (p.in_width + 2 * p.pad_w - p.dilation_w * (p.kernel_w - 1) - 1) / p.stride_w + 1)
      Fail("out_height/out_width disagree with PyTorch's formula", what);
  }
  // Too big to run here (only reachable in hostile mode): Validate is enough.
  constexpr int64_t kMaxElements = int64_t{1} << 18;
  if (valid.ok() && (p.input_elements() > kMaxElements || p.weight_elements() > kMaxElements ||
                     p.output_elements() > kMaxElements || p.in_channels > 4096 ||
                     p.out_channels > 4096 || p.in_height * p.in_width > kMaxElements))
    return 0;
  if (!valid.ok()) {
    // Create refuses before touching the weights: a 1-float buffer is enough.
    float dummy = 0;
    std::unique_ptr<convgen::Plan> plan(nullptr);
    const Status s = convgen::Plan::Create(p, &dummy, nullptr, o, &plan);
    if (s.ok() || plan) Fail("Create accepted a problem that Validate refuses", what);
    if (s.code() != valid.code() || s.message() != valid.message())
      Fail("Create's error differs from Validate's", what + "\n  " + s.ToString() + "\n  " +
                                                          valid.ToString());
    return 0;
  }

  // Should Create succeed?
  bool expect_ok = true;
  if (std::isnan(o.clamp_min) || std::isnan(o.clamp_max) || o.clamp_min > o.clamp_max)
    expect_ok = false;
  if (o.shuffle_groups < 0 || (o.shuffle_groups > 1 && p.out_channels % o.shuffle_groups != 0))
    expect_ok = false;
  if (o.threads < 0) expect_ok = false;
  int64_t target = convgen::internal::BestTarget();
  if (!o.target.empty() && !convgen::internal::TargetFromName(o.target, &target).ok())
    expect_ok = false;
  if (!o.kernel.empty()) {
    const convgen::internal::KernelInfo* info = convgen::internal::FindKernel(o.kernel);
    std::string why;
    if (info == nullptr || !info->applies(p, &why) || info->resolve(target) == nullptr)
      expect_ok = false;
  }

  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto random = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = dist(rng);
    return v;
  };
  const std::vector<float> x = random(p.input_elements());
  const std::vector<float> w = random(p.weight_elements());
  const std::vector<float> b = random(p.out_channels);
  const float* bias = use_bias ? b.data() : nullptr;

  std::unique_ptr<convgen::Plan> plan;
  const Status s = convgen::Plan::Create(p, w.data(), bias, o, &plan);
  if (s.ok() != expect_ok)
    Fail(s.ok() ? "Create accepted invalid options" : "Create refused a valid problem",
         what + "\n  " + s.ToString());
  if (!s.ok()) {
    if (s.message().empty()) Fail("Create error without a message", what);
    if (plan) Fail("Create failed but left a plan", what);
    return 0;
  }
  if (!plan) Fail("Create succeeded without a plan", what);

  const size_t out_n = static_cast<size_t>(p.output_elements());
  std::vector<float> got(out_n, std::numeric_limits<float>::quiet_NaN());
  const Status r = plan->Run(x.data(), got.data(), external ? ExternalPool() : nullptr);
  if (!r.ok()) Fail("Run failed", what + "\n  " + r.ToString());

  const int64_t shuffle = o.shuffle_groups;
  std::vector<float> want(out_n), mag(out_n);
  convgen::ReferenceConv2d(p, x.data(), w.data(), bias, o.clamp_min, o.clamp_max, shuffle,
                           want.data());
  std::vector<float> ax(x.size()), aw(w.size()), ab(b.size());
  for (size_t i = 0; i < x.size(); ++i) ax[i] = std::fabs(x[i]);
  for (size_t i = 0; i < w.size(); ++i) aw[i] = std::fabs(w[i]);
  for (size_t i = 0; i < b.size(); ++i) ab[i] = std::fabs(b[i]);
  convgen::ReferenceConv2d(p, ax.data(), aw.data(), use_bias ? ab.data() : nullptr, -inf, inf,
                           shuffle, mag.data());
  for (size_t i = 0; i < out_n; ++i) {
    if (got[i] == want[i]) continue;  // also a clamp to +-inf
    const double err = std::fabs(double(got[i]) - double(want[i]));
    if (!(err <= 1e-4 * double(mag[i]))) {
      char buf[200];
      std::snprintf(buf, sizeof(buf), "\n  output[%zu] = %.9g, reference %.9g (|terms| %.6g), "
                    "kernel %s on %s", i, got[i], want[i], mag[i], plan->kernel_name().c_str(),
                    plan->target_name().c_str());
      Fail("plan output differs from the reference", what + buf);
    }
  }
  return 0;
}
