// The pointwise families (conv1x1, gconv1x1: src/kernels/pointwise-inl.h) on
// every Highway target the CPU supports, beyond the registry-wide edge matrix
// (test_kernels.cc):
//  - block-diagonal groups from b = 2 to b = ci, with group widths that are
//    not multiples of R or of the lane count (272 channels in 4 groups = 68),
//    stride 2 and padding (gathered panel), ci split into chunks (ci_g > 512:
//    partial sums through the output), several pixel blocks, row bands;
//  - the fused channel shuffle (PlanOptions::shuffle_groups) equals the same
//    convolution followed by a separate convgen::ChannelShuffle, bit for bit.
#include <catch2/catch.hpp>

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "convgen/reference.h"
#include "kernel.h"
#include "kernels/pointwise.h"
#include "targets.h"
#include "test_kernels_util.h"

namespace convgen {
namespace {

using internal::KernelInfo;
using testing::KernelTester;

bool IsPointwise(const KernelInfo& k) {
  const std::string family = k.family;
  return family == "conv1x1" || family == "gconv1x1";
}

// Every (pointwise kernel, compiled and supported target) pair.
template <class Fn>
int ForEachPointwiseKernelAndTarget(Fn&& fn) {
  int pairs = 0;
  for (const KernelInfo* k : internal::AllKernels()) {
    if (!IsPointwise(*k)) continue;
    for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
      if (k->resolve(target) == nullptr) continue;
      fn(*k, std::string(hwy::TargetName(target)));
      ++pairs;
    }
  }
  return pairs;
}

struct Case {
  int64_t groups, ci, co, out_h, out_w, stride, pad;
  int64_t shuffle;
  int threads;
};

KernelTester Make(const Case& c) {
  KernelTester t;
  t.kernel(1, 1).stride(c.stride, c.stride).pad(c.pad, c.pad).dilation(1, 1);
  t.channels(c.ci, c.co).groups(c.groups);
  t.output_width(c.out_w).output_height(c.out_h);
  t.shuffle(c.shuffle).threads(c.threads);
  return t;
}

TEST_CASE("pointwise kernels: group widths, strides, ci chunks, pixel blocks") {
  const std::vector<Case> cases = {
      // Dense: co not a multiple of R, a plane that is not a multiple of the
      // lanes (7x7 = 49), one pixel, ci over 512 (two chunks of 550 through
      // the output), many pixel blocks (kc = 550 -> 192-pixel blocks).
      {1, 3, 21, 7, 7, 1, 0, 0, 1},
      {1, 17, 5, 1, 1, 1, 0, 0, 1},
      {1, 1100, 20, 28, 28, 1, 0, 0, 1},
      {1, 40, 33, 30, 31, 1, 0, 0, 3},
      // Block-diagonal: 68 channels per group, 4..16 per group, b = ci.
      {4, 272, 272, 9, 9, 1, 0, 0, 1},
      {96, 384, 384, 5, 7, 1, 0, 0, 1},
      {16, 48, 80, 6, 11, 1, 0, 0, 1},
      {32, 384, 384, 4, 13, 1, 0, 0, 2},
      {24, 384, 384, 3, 3, 1, 0, 0, 1},
      {12, 12, 12, 10, 10, 1, 0, 0, 1},
      {2, 2100, 6, 3, 5, 1, 0, 0, 1},  // three chunks of 350 per group
      {3, 240, 240, 28, 28, 1, 0, 3, 1},
      // Stride 2 and padding: the gathered panel, with group and shuffle.
      {1, 24, 19, 7, 9, 2, 0, 0, 1},
      {8, 64, 40, 14, 5, 2, 0, 8, 1},
      {3, 9, 12, 6, 6, 1, 1, 2, 1},
      {2, 8, 6, 5, 4, 2, 2, 0, 2},
      {1, 600, 9, 20, 21, 2, 0, 0, 1},  // panel with two ci chunks
  };
  const int pairs = ForEachPointwiseKernelAndTarget([&](const KernelInfo& k, const std::string& target) {
    INFO("kernel=" << k.name << " target=" << target);
    int applied = 0;
    for (const Case& c : cases) {
      const KernelTester t = Make(c);
      if (!t.Applicable(k)) continue;
      ++applied;
      t.Test(k, target);
    }
    CHECK(applied > 0);
  });
  CHECK(pairs > 0);
}

// The kernels peel a first block of pixels so that later loads or stores
// are aligned (when the plane is a whole number of vectors): every
// misalignment of the output and of the input, in 16 pairs, with and
// without a thread split into row bands; 24 input channels a group (loads
// aligned where ci_g >= R) and 6 (stores aligned).
TEST_CASE("pointwise kernels: any input and output alignment") {
  const int pairs = ForEachPointwiseKernelAndTarget([&](const KernelInfo& k, const std::string& target) {
    for (int64_t groups : {1, 4}) {
      Conv2dParams p;
      p.in_channels = 24;
      p.out_channels = 20;
      p.groups = groups;
      p.kernel_h = p.kernel_w = 1;
      p.in_height = 4;
      p.in_width = 16;  // 64 pixels: a multiple of every lane count
      std::string why;
      if (!k.applies(p, &why)) continue;
      std::vector<float> input(static_cast<size_t>(p.input_elements()));
      std::vector<float> weights(static_cast<size_t>(p.weight_elements()));
      testing::FillSmallIntegers(input.data(), input.size(), 7);
      testing::FillSmallIntegers(weights.data(), weights.size(), 8);
      const size_t out_n = static_cast<size_t>(p.output_elements());
      std::vector<float> want(out_n);
      ReferenceConv2d(p, input.data(), weights.data(), nullptr, -INFINITY, INFINITY, 0,
                      want.data());
      for (int threads : {1, 3}) {
        PlanOptions opt;
        opt.kernel = k.name;
        opt.target = target;
        opt.threads = threads;
        std::unique_ptr<Plan> plan;
        REQUIRE(Plan::Create(p, weights.data(), nullptr, opt, &plan).ok());
        for (size_t offset = 0; offset < 16; ++offset) {
          const size_t in_offset = offset * 5 % 16;
          INFO("kernel=" << k.name << " target=" << target << " groups=" << groups
                         << " threads=" << threads << " output offset=" << offset
                         << " input offset=" << in_offset);
          std::vector<float> in_buffer(input.size() + 16);
          std::copy(input.begin(), input.end(), in_buffer.begin() + in_offset);
          std::vector<float> buffer(out_n + 32, testing::Poison());
          float* out = buffer.data() + offset;
          REQUIRE(plan->Run(in_buffer.data() + in_offset, out).ok());
          CHECK(std::memcmp(out, want.data(), out_n * sizeof(float)) == 0);
          CHECK(testing::IsPoison(out[out_n]));
        }
      }
    }
  });
  CHECK(pairs > 0);
}

// Random non-integer data: the fused and the separate shuffle run the same
// kernel with the same summation order, so they must agree bit for bit.
TEST_CASE("pointwise kernels: fused channel shuffle equals conv then ChannelShuffle") {
  struct ShuffleCase {
    int64_t groups, ci, co, hw, stride, shuffle;
  };
  const std::vector<ShuffleCase> cases = {
      {3, 12, 24, 9, 1, 3},   {8, 32, 48, 7, 1, 8},   {4, 272, 272, 6, 1, 4},
      {2, 8, 12, 5, 2, 6},    {1, 16, 36, 11, 1, 3},  {1, 20, 40, 6, 2, 4},
      {16, 64, 64, 8, 1, 2},  {96, 96, 96, 4, 1, 96},
  };
  const int pairs = ForEachPointwiseKernelAndTarget([&](const KernelInfo& k, const std::string& target) {
    for (const ShuffleCase& c : cases) {
      Conv2dParams p;
      p.batch = 2;
      p.in_channels = c.ci;
      p.out_channels = c.co;
      p.groups = c.groups;
      p.kernel_h = p.kernel_w = 1;
      p.stride_h = p.stride_w = c.stride;
      p.in_height = p.in_width = (c.hw - 1) * c.stride + 1;
      std::string why;
      if (!Validate(p).ok() || !k.applies(p, &why)) continue;
      INFO(FormatDescriptor(LayerDesc{p, ""}) << " kernel=" << k.name << " target=" << target
                                              << " shuffle=" << c.shuffle);
      std::mt19937 rng(static_cast<uint32_t>(c.ci * 131 + c.co));
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      std::vector<float> input(static_cast<size_t>(p.input_elements()));
      std::vector<float> weights(static_cast<size_t>(p.weight_elements()));
      std::vector<float> bias(static_cast<size_t>(p.out_channels));
      for (float& v : input) v = dist(rng);
      for (float& v : weights) v = dist(rng);
      for (float& v : bias) v = dist(rng);

      PlanOptions opt;
      opt.kernel = k.name;
      opt.target = target;
      opt.clamp_min = -0.5f;
      opt.clamp_max = 2.0f;
      opt.threads = 1;
      std::unique_ptr<Plan> plain, fused;
      REQUIRE(Plan::Create(p, weights.data(), bias.data(), opt, &plain).ok());
      opt.shuffle_groups = c.shuffle;
      REQUIRE(Plan::Create(p, weights.data(), bias.data(), opt, &fused).ok());

      const size_t out_n = static_cast<size_t>(p.output_elements());
      std::vector<float> y(out_n), want(out_n), got(out_n);
      REQUIRE(plain->Run(input.data(), y.data()).ok());
      ChannelShuffle(p.batch, p.out_channels, p.out_height() * p.out_width(), c.shuffle, y.data(),
                     want.data());
      REQUIRE(fused->Run(input.data(), got.data()).ok());
      CHECK(std::memcmp(want.data(), got.data(), out_n * sizeof(float)) == 0);
    }
  });
  CHECK(pairs > 0);
}

TEST_CASE("two full-width zmm FMA pipes: the CPUID rule") {
  using internal::TwoZmmFmaPipesFor;
  CHECK(TwoZmmFmaPipesFor(true, 0x1A, 0x02));   // EPYC Turin (session 14's host)
  CHECK(TwoZmmFmaPipesFor(true, 0x1A, 0x11));   // EPYC Turin dense
  CHECK(TwoZmmFmaPipesFor(true, 0x1A, 0x44));   // Ryzen 9000
  CHECK_FALSE(TwoZmmFmaPipesFor(true, 0x1A, 0x24));  // Zen 5 laptop: split zmm FMAs
  CHECK_FALSE(TwoZmmFmaPipesFor(true, 0x19, 0x11));  // Zen 4 EPYC Genoa
  CHECK_FALSE(TwoZmmFmaPipesFor(true, 0x19, 0x61));  // Zen 4 Ryzen 7000
  CHECK_FALSE(TwoZmmFmaPipesFor(false, 0x1A, 0x02)); // not AMD: unknown, the default
  CHECK_FALSE(TwoZmmFmaPipesFor(false, 6, 0x55));    // Intel Xeon (Cascade Lake)
}

TEST_CASE("pointwise estimate: the two-pipe model only on zmm targets") {
  namespace pw = internal::pointwise;
  Conv2dParams p;
  p.in_channels = 32;
  p.out_channels = 64;
  p.in_height = p.in_width = 112;
  p.kernel_h = p.kernel_w = 1;
  const pw::TargetTile tiles[] = {{HWY_AVX3, 16, 1, 16, 1.0, 0.5}, {HWY_AVX2, 8, 1, 8, 0.9, 0.3}};
  const double one = pw::EstimateFor(p, HWY_AVX3, 16, tiles, 2, false);
  CHECK(one > 0.9);
  CHECK(pw::EstimateFor(p, HWY_AVX3, 16, tiles, 2, true) == Approx(one * 0.5));
  // AVX2's ymm FMAs run two a cycle on both kinds of CPU: no change.
  CHECK(pw::EstimateFor(p, HWY_AVX2, 16, tiles, 2, true) ==
        pw::EstimateFor(p, HWY_AVX2, 16, tiles, 2, false));
  // Deep reductions on maps of at most 28 x 28: 0.85 more with two pipes
  // (smallmap's turn), not with one, not on AVX2, not on 29 x 29.
  Conv2dParams deep = p;
  deep.in_channels = 512;
  deep.in_height = deep.in_width = 28;
  const double deep_one = pw::EstimateFor(deep, HWY_AVX3, 16, tiles, 2, false);
  CHECK(pw::EstimateFor(deep, HWY_AVX3, 16, tiles, 2, true) == Approx(deep_one * 0.5 * 0.85));
  CHECK(pw::EstimateFor(deep, HWY_AVX2, 16, tiles, 2, true) ==
        pw::EstimateFor(deep, HWY_AVX2, 16, tiles, 2, false));
  deep.in_height = deep.in_width = 29;
  CHECK(pw::EstimateFor(deep, HWY_AVX3, 16, tiles, 2, true) ==
        Approx(pw::EstimateFor(deep, HWY_AVX3, 16, tiles, 2, false) * 0.5));
}

TEST_CASE("dense 1x1 on AVX3: the plan's tile follows the FMA pipe count") {
  // mb_pw_112: 8 x 3 vectors beat 16 x 1 by 1.09-1.27 on Zen 5 (two zmm FMA
  // pipes), 16 x 1 is the fitted choice elsewhere (Zen 4: 93% of peak).
  bool avx3 = false;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) avx3 = avx3 || t == HWY_AVX3;
  if (!avx3) return;
  Conv2dParams p;
  p.in_channels = 32;
  p.out_channels = 64;
  p.in_height = p.in_width = 112;
  p.kernel_h = p.kernel_w = 1;
  std::vector<float> w(static_cast<size_t>(p.weight_elements()), 0.5f);
  PlanOptions o;
  o.target = "AVX3";
  o.threads = 1;
  std::unique_ptr<Plan> plan;
  const Status s = Plan::Create(p, w.data(), nullptr, o, &plan);
  INFO(s.ToString());
  REQUIRE(s.ok());
  INFO("TwoZmmFmaPipes=" << internal::TwoZmmFmaPipes());
  CHECK(plan->kernel_name() ==
        (internal::TwoZmmFmaPipes() ? "f32_conv1x1_r8_w3v" : "f32_conv1x1_r16_w1v"));
  // mb_pw_14 (512 -> 512, 14 x 14): smallmap with two pipes (188-199 GFLOP/s
  // against r8_w3v's 145-183 on Zen 5), a pointwise tile otherwise.
  p.in_channels = p.out_channels = 512;
  p.in_height = p.in_width = 14;
  w.assign(static_cast<size_t>(p.weight_elements()), 0.5f);
  REQUIRE(Plan::Create(p, w.data(), nullptr, o, &plan).ok());
  CHECK((plan->kernel_name() == "f32_conv2d_smallmap_p14_c2v") == internal::TwoZmmFmaPipes());
}

}  // namespace
}  // namespace convgen
