// The Plan API: validation of arguments and options, forced kernels and
// targets, the selection log, and concurrent Run on one plan.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "convgen/plan.h"
#include "convgen/reference.h"

using convgen::Conv2dParams;
using convgen::Plan;
using convgen::PlanOptions;

namespace {
Conv2dParams Small() {
  Conv2dParams p;
  p.batch = 2; p.in_channels = 3; p.in_height = 9; p.in_width = 7; p.out_channels = 5;
  p.kernel_h = p.kernel_w = 3; p.pad_h = p.pad_w = 1;
  return p;
}
std::vector<float> Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-4, 4);
  std::vector<float> v(n);
  for (float& x : v) {
    do x = float(d(rng)); while (x == 0);
  }
  return v;
}
}  // namespace

TEST_CASE("plan runs and matches the reference") {
  const Conv2dParams p = Small();
  auto x = Random(size_t(p.input_elements()), 1), w = Random(size_t(p.weight_elements()), 2),
       b = Random(size_t(p.out_channels), 3);
  PlanOptions o;
  o.clamp_min = -20; o.clamp_max = 30; o.threads = 1;
  std::unique_ptr<Plan> plan;
  REQUIRE(Plan::Create(p, w.data(), b.data(), o, &plan).ok());
  CHECK_FALSE(plan->kernel_name().empty());
  CHECK_FALSE(plan->target_name().empty());
  CHECK(plan->selection_log().find("chose") != std::string::npos);
  std::vector<float> got(size_t(p.output_elements()), NAN), want(got.size());
  REQUIRE(plan->Run(x.data(), got.data()).ok());
  convgen::ReferenceConv2d(p, x.data(), w.data(), b.data(), -20, 30, 0, want.data());
  CHECK(got == want);  // small integers: exact in fp32 in any order
}

TEST_CASE("plan rejects bad arguments with a named field") {
  const Conv2dParams p = Small();
  auto w = Random(size_t(p.weight_elements()), 2);
  std::unique_ptr<Plan> plan;
  PlanOptions o;
  auto err = [&](const Conv2dParams& q, const float* wp, const PlanOptions& opt) {
    convgen::Status s = Plan::Create(q, wp, nullptr, opt, &plan);
    CHECK(plan == nullptr);
    return s.ok() ? std::string("ok") : s.message();
  };
  CHECK(err(p, nullptr, o) == "weights is null");
  Conv2dParams q = p;
  q.groups = 2;
  CHECK(err(q, w.data(), o).find("groups=2") != std::string::npos);
  PlanOptions bad = o;
  bad.clamp_min = 1; bad.clamp_max = 0;
  CHECK(err(p, w.data(), bad).find("clamp_min") != std::string::npos);
  bad = o;
  bad.clamp_max = NAN;
  CHECK(err(p, w.data(), bad).find("NaN") != std::string::npos);
  bad = o;
  bad.shuffle_groups = 2;  // 5 channels
  CHECK(err(p, w.data(), bad).find("shuffle_groups=2") != std::string::npos);
  bad = o;
  bad.threads = -1;
  CHECK(err(p, w.data(), bad).find("threads=-1") != std::string::npos);
  bad = o;
  bad.kernel = "no_such_kernel";
  CHECK(err(p, w.data(), bad).find("kernel=no_such_kernel is not a registered") != std::string::npos);
  bad = o;
  bad.target = "NEON";
  CHECK(err(p, w.data(), bad).find("target=NEON") != std::string::npos);
  bad = o;
  bad.target = "SSSE3";  // a real Highway target that convgen does not compile
  CHECK(err(p, w.data(), bad).find("not compiled") != std::string::npos);
  CHECK_FALSE(Plan::Create(p, w.data(), nullptr, o, nullptr).ok());

  REQUIRE(Plan::Create(p, w.data(), nullptr, o, &plan).ok());
  std::vector<float> y(size_t(p.output_elements()), 7.0f);
  CHECK(plan->Run(nullptr, y.data()).message() == "input is null");
  CHECK(plan->Run(y.data(), nullptr).message() == "output is null");
  for (float v : y) REQUIRE(v == 7.0f);  // nothing written on error
}

TEST_CASE("plan forced reference kernel on every target") {
  const Conv2dParams p = Small();
  auto x = Random(size_t(p.input_elements()), 5), w = Random(size_t(p.weight_elements()), 6);
  std::vector<float> want(size_t(p.output_elements()));
  convgen::ReferenceConv2d(p, x.data(), w.data(), nullptr, -INFINITY, INFINITY, 0, want.data());
  for (const char* t : {"AVX3", "AVX2", "SSE4", "SCALAR"}) {
    PlanOptions o;
    o.kernel = "reference";
    o.target = t;
    std::unique_ptr<Plan> plan;
    convgen::Status s = Plan::Create(p, w.data(), nullptr, o, &plan);
    if (!s.ok()) {  // a target this CPU lacks
      CHECK(s.message().find("not supported by this CPU") != std::string::npos);
      continue;
    }
    CHECK(plan->kernel_name() == "reference");
    CHECK(plan->target_name() == t);
    std::vector<float> got(want.size(), NAN);
    REQUIRE(plan->Run(x.data(), got.data()).ok());
    CHECK(got == want);
  }
}

TEST_CASE("plan is safe to run from several threads at once") {
  Conv2dParams p = Small();
  p.in_channels = 8; p.out_channels = 16; p.in_height = p.in_width = 12;
  auto w = Random(size_t(p.weight_elements()), 9);
  for (int threads : {1, 2}) {
    PlanOptions o;
    o.threads = threads;
    std::unique_ptr<Plan> plan;
    REQUIRE(Plan::Create(p, w.data(), nullptr, o, &plan).ok());
    std::vector<std::thread> callers;
    std::vector<int> ok(4, 0);
    for (int c = 0; c < 4; ++c)
      callers.emplace_back([&, c] {
        auto x = Random(size_t(p.input_elements()), 100 + unsigned(c));
        std::vector<float> want(size_t(p.output_elements())), got(want.size(), NAN);
        convgen::ReferenceConv2d(p, x.data(), w.data(), nullptr, -INFINITY, INFINITY, 0,
                                 want.data());
        bool all = true;
        for (int rep = 0; rep < 5; ++rep) {
          all &= plan->Run(x.data(), got.data()).ok();
          all &= (got == want);
        }
        ok[size_t(c)] = all;
      });
    for (auto& t : callers) t.join();
    for (int v : ok) CHECK(v == 1);
  }
}
