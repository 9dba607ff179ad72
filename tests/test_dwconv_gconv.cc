// Family-specific tests of the generated depthwise (dwconv) and grouped
// few-channel (gconv) row-tile kernels (src/kernels/dwconv-inl.h,
// gconv-inl.h), beyond the registry-wide edge matrix (test_kernels.cc):
//  - maps taller than several row tiles (T up to 8 output rows per tile), so
//    full, partial and padding-skipping tiles all occur, under every padding;
//  - widths around the strip (interior, masked border and half-width tail
//    strips) and the 112/56 widths of the benchmark layers;
//  - depth multipliers 1..3, ResNeXt-like 4-in 4-out groups, groups with fewer
//    output channels than the block C (zero weights, not stored);
//  - bias, clamp, fused shuffle, batch 2 and threads (row bands);
//  - calls large enough to prefetch the next group's input rows;
//  - the plan's heuristic choosing these families on dw_3x3_112 and
//    rnx_g32_3x3.
// Every case runs on every compiled target the CPU supports, through the
// Plan API with the kernel forced, with integer data (exact compare), NaN-
// poisoned output and guard pages (tests/test_kernels_util.h).
#include <catch2/catch.hpp>

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <memory>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "kernel.h"
#include "kernels/dwconv.h"  // StreamsFromMemory
#include "test_kernels_util.h"

namespace convgen {
namespace {

using internal::KernelInfo;
using testing::GuardedFloats;
using testing::KernelTester;

std::vector<const KernelInfo*> Family(const std::string& family) {
  std::vector<const KernelInfo*> out;
  for (const KernelInfo* k : internal::AllKernels())
    if (family == k->family) out.push_back(k);
  return out;
}

// Runs `make(t)` cases for every kernel of `family` on every target; `make`
// fills a tester for the kernel's geometry and returns false to skip.
template <class Make>
void Sweep(const std::string& family, Make&& make) {
  const std::vector<const KernelInfo*> kernels = Family(family);
  REQUIRE(!kernels.empty());
  int ran = 0;
  for (const KernelInfo* k : kernels) {
    for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
      if (k->resolve(target) == nullptr) continue;
      const std::string target_name = hwy::TargetName(target);
      for (int i = 0;; ++i) {
        KernelTester t;
        t.kernel(k->kh, k->kw).stride(k->sh, k->sw);
        if (!make(t, i)) break;
        if (!t.Applicable(*k)) continue;
        t.Test(*k, target_name);
        ++ran;
      }
    }
  }
  CHECK(ran > 0);
}

TEST_CASE("dwconv: tall maps, every padding, widths around the strip, multipliers") {
  const int64_t widths[] = {1, 5, 8, 9, 16, 17, 24, 33, 56, 112};
  Sweep("dwconv", [&](KernelTester& t, int i) {
    constexpr int kHeights = 8, kWidths = 10;
    if (i >= kHeights * kWidths) return false;
    // Around the AVX3 tiles of 4 and 14 rows (gen/dwconv_spec.txt).
    const int64_t heights[kHeights] = {1, 7, 8, 9, 14, 15, 17, 20};
    const int64_t h = heights[i % kHeights], w = widths[(i / kHeights) % kWidths];
    const int64_t pad = i % 3 == 0 ? 0 : (t.params().kernel_h - 1) / 2 + (i % 3 == 2 ? 1 : 0);
    const int64_t m = 1 + i % 3;  // depth multiplier
    const int64_t c = 1 + i % 4;
    t.pad(pad, pad).channels(c, c * m).groups(c);
    t.output_width(w, i % 2).output_height(h, (i / 2) % 2);
    t.bias(i % 5 != 0);
    if (i % 7 == 3) t.clamp(-20, 30);
    if (i % 11 == 4 && (c * m) % 2 == 0) t.shuffle(2);
    if (i % 13 == 5) t.batch(2).threads(3);
    t.input_guard(i % 2 ? GuardedFloats::kAtStart : GuardedFloats::kAtEnd);
    return true;
  });
}

TEST_CASE("gconv: ResNeXt-like groups, fewer channels than the block, tall maps") {
  Sweep("gconv", [&](KernelTester& t, int i) {
    constexpr int kCases = 24;
    if (i >= kCases) return false;
    const int64_t R = 4;  // the family's smallest block; larger blocks see cog < C
    struct G { int64_t ci_g, co_g, groups; };
    const G gs[] = {{R, R, 4}, {2, 3, 3}, {R, R - 1, 2}, {1, 1, 5}, {5, 2, 1}, {8, 8, 2}};
    const G g = gs[i % 6];
    const int64_t heights[] = {1, 9, 20, 6};
    const int64_t widths[] = {56, 7, 17, 33, 28, 1};
    const int64_t pad = (i / 6) % 3;
    t.pad(pad, pad).channels(g.ci_g * g.groups, g.co_g * g.groups).groups(g.groups);
    t.output_width(widths[i % 6], i % 2).output_height(heights[i % 4], (i / 4) % 2);
    t.bias(i % 3 != 1);
    if (i % 5 == 2) t.clamp(0, 40);
    if (i % 7 == 1 && g.groups % 2 == 0) t.shuffle(2);
    if (i % 8 == 6) t.batch(2).threads(2);
    t.input_guard(i % 2 ? GuardedFloats::kAtStart : GuardedFloats::kAtEnd);
    return true;
  });
}

// Calls whose input and output outgrow kStreamBytes (8 MiB) prefetch the
// next group's input rows while a group computes (dwconv.h): batch 6 of 8
// groups of 192 x 192 (9.4 MB at stride 1, 8.8 MB at stride 2), groups
// of 1 and 2 channels, 2 threads (so the last group of every tile and of
// each thread's range occurs). Exact results, guard pages, every target.
TEST_CASE("dwconv and gconv on calls that stream from memory (next-group prefetch)") {
  for (const char* family : {"dwconv", "gconv"}) {
    Sweep(family, [&](KernelTester& t, int i) {
      if (i >= 1) return false;  // one case per kernel and target: 0.1-0.2 s each
      const int64_t per_group = std::string(family) == "gconv" ? 2 : 1;
      const int64_t pad = (t.params().kernel_h - 1) / 2;
      t.batch(6).channels(8 * per_group, 8 * per_group).groups(8).pad(pad, pad);
      t.input_size(192, 192).bias(true).threads(2);
      REQUIRE(internal::rowtile::StreamsFromMemory(t.params()));
      return true;
    });
  }
}

// The heuristic picks the row-tile families where they are the fastest
// (docs/kernels.md, measured): dw_3x3_112 and rnx_g32_3x3 on AVX3 and AVX2.
TEST_CASE("dwconv and gconv are the plan's choice on the suite's depthwise and ResNeXt layers") {
  struct Case { const char* desc; const char* family; };
  const Case cases[] = {{"g32mb1ic32ih112oc32oh112kh3ph1", "dwconv"},
                        {"g32mb1ic32ih112oc32oh56kh3sh2ph1", "dwconv"},
                        {"g32mb1ic128ih56oc128oh56kh3ph1", "gconv"}};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    if (target != HWY_AVX3 && target != HWY_AVX2) continue;
    for (const Case& c : cases) {
      LayerDesc desc;
      REQUIRE(ParseDescriptor(c.desc, &desc).ok());
      const Conv2dParams& p = desc.params;
      std::vector<float> w(static_cast<size_t>(p.weight_elements()), 1.0f);
      PlanOptions opt;
      opt.target = hwy::TargetName(target);
      opt.threads = 1;
      std::unique_ptr<Plan> plan;
      REQUIRE(Plan::Create(p, w.data(), nullptr, opt, &plan).ok());
      INFO(c.desc << " target=" << opt.target << "\n" << plan->selection_log());
      const KernelInfo* k = internal::FindKernel(plan->kernel_name());
      REQUIRE(k != nullptr);
      CHECK(std::string(k->family) == c.family);
    }
  }
}

}  // namespace
}  // namespace convgen
