// Threads: every registered kernel gives bit-identical output whatever the
// thread count and whether the plan's own pool or the caller's pthreadpool
// runs it (no reduction is split across tiles, so there is nothing whose
// order could change).
#include <pthreadpool.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "convgen/plan.h"
#include "kernel.h"

using convgen::Conv2dParams;

namespace {

// A few shapes per kernel: the first the kernel applies to is used.
std::vector<Conv2dParams> CandidateShapes(const convgen::internal::KernelInfo& k) {
  std::vector<Conv2dParams> out;
  const int64_t kh = k.kh ? k.kh : 3, kw = k.kw ? k.kw : 3;
  const int64_t sh = k.sh ? k.sh : 1, sw = k.sw ? k.sw : 1;
  for (int64_t groups : {int64_t{1}, int64_t{4}, int64_t{24}}) {
    Conv2dParams p;
    p.batch = 2;
    p.groups = groups;
    p.in_channels = groups == 24 ? 24 : 16;
    p.out_channels = groups == 24 ? 24 : (groups == 1 ? 20 : 16);
    p.in_height = 23;
    p.in_width = 37;
    p.kernel_h = kh;
    p.kernel_w = kw;
    p.stride_h = sh;
    p.stride_w = sw;
    p.pad_h = kh / 2;
    p.pad_w = kw / 2;
    p.dilation_h = k.dh ? k.dh : 1;
    p.dilation_w = k.dw ? k.dw : 1;
    out.push_back(p);
  }
  return out;
}

std::vector<float> RandomFloats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

}  // namespace

TEST_CASE("every kernel is bit-identical for any thread count and pool") {
  pthreadpool_t external = pthreadpool_create(3);
  REQUIRE(external != nullptr);
  int tested = 0;
  for (const convgen::internal::KernelInfo* k : convgen::internal::AllKernels()) {
    const Conv2dParams* chosen = nullptr;
    std::vector<Conv2dParams> shapes = CandidateShapes(*k);
    for (const Conv2dParams& p : shapes) {
      std::string why;
      if (convgen::Validate(p).ok() && k->applies(p, &why)) {
        chosen = &p;
        break;
      }
    }
    if (chosen == nullptr) {
      WARN("no thread-test shape for kernel " << k->name);
      continue;
    }
    // The shape, and a short map of it (few output rows: the tiling then
    // splits output channels across threads too).
    Conv2dParams short_map = *chosen;
    short_map.in_height = short_map.dilation_h * (short_map.kernel_h - 1) + 1;
    short_map.batch = 1;
    for (const Conv2dParams& p : {*chosen, short_map}) {
      if (!convgen::Validate(p).ok()) continue;
      std::string why_not;
      if (!k->applies(p, &why_not)) continue;
      INFO("kernel " << k->name << " on " << convgen::DebugString(p));
      auto x = RandomFloats(size_t(p.input_elements()), 1);
      auto w = RandomFloats(size_t(p.weight_elements()), 2);
      auto b = RandomFloats(size_t(p.out_channels), 3);
      std::vector<float> first;
      for (int threads : {1, 2, 3, 5}) {
        for (bool use_external : {false, true}) {
          convgen::PlanOptions o;
          o.kernel = k->name;
          o.threads = threads;
          o.clamp_min = -0.5f;
          std::unique_ptr<convgen::Plan> plan;
          REQUIRE(convgen::Plan::Create(p, w.data(), b.data(), o, &plan).ok());
          std::vector<float> y(size_t(p.output_elements()), NAN);
          REQUIRE(plan->Run(x.data(), y.data(), use_external ? external : nullptr).ok());
          if (first.empty()) {
            first = y;
          } else {
            INFO("threads=" << threads << " external_pool=" << use_external);
            CHECK(std::memcmp(first.data(), y.data(), y.size() * sizeof(float)) == 0);
          }
        }
      }
    }
    ++tested;
  }
  pthreadpool_destroy(external);
  CHECK(tested >= 2);
}
