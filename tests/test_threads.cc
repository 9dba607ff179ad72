// Threads: every registered kernel gives bit-identical output whatever the
// thread count and whether the plan's own pool or the caller's pthreadpool
// runs it (no reduction is split across tiles, so there is nothing whose
// order could change).
#include <pthreadpool.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "convgen/plan.h"
#include "convgen/reference.h"
#include "kernel.h"
#include "targets.h"
#include "tiling.h"

using convgen::Conv2dParams;

namespace {

// Thread every layer, however small: the tests' shapes are mostly under
// kMinThreadedFlops, which plans run on the calling thread only (tiling.h).
// Set before main, for every test of this binary; the case "layers under
// 1 MFLOP run on the calling thread" restores the real threshold.
const double kProductMinThreadedFlops = convgen::internal::SetMinThreadedFlops(0.0);

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

// MakeTiles: for every thread count, every output element (image, group,
// output channel, row) lies in exactly one tile and channel blocks start on
// the register block; shuffle_g3_1x1's 2-thread cut is even (the balancing
// step: it was 8 blocks' work : 7); TileImbalance models pthreadpool's deal.
TEST_CASE("tiles cover the output exactly once, evenly, for any thread count") {
  struct Shape {
    int64_t batch, groups, ci, co, hw, k, r;
  };
  const Shape shapes[] = {
      {1, 3, 240, 240, 28, 1, 16},  // shuffle_g3_1x1 (small 1x1 map, 5 blocks a group)
      {1, 8, 384, 384, 28, 1, 16},  // shuffle_g8_1x1
      {1, 1, 512, 512, 7, 3, 16},   // rn_3x3_7 (weights dominate)
      {1, 1, 64, 64, 56, 3, 16},    // rn_3x3_56 (row bands)
      {1, 1, 256, 64, 56, 1, 8},    // rn_1x1_56 (1x1 row bands: one per thread)
      {1, 3, 240, 240, 28, 1, 8},   // shuffle_g3_1x1 with R = 8 (10 blocks a group)
      {1, 32, 32, 32, 112, 3, 8},   // dw_3x3_112
      {8, 1, 64, 64, 14, 3, 16},    // batch 8
      {3, 5, 20, 35, 9, 1, 8},      // odd everything, channel tail (7 per group)
      {2, 1, 3, 13, 1, 3, 8},       // one output row
  };
  for (const Shape& sh : shapes) {
    Conv2dParams p;
    p.batch = sh.batch;
    p.groups = sh.groups;
    p.in_channels = sh.ci;
    p.out_channels = sh.co;
    p.in_height = p.in_width = sh.hw;
    p.kernel_h = p.kernel_w = sh.k;
    p.pad_h = p.pad_w = sh.k / 2;
    const int64_t oh = p.out_height(), ow = p.out_width(), cog = p.out_channels_per_group();
    for (int threads = 1; threads <= 6; ++threads) {
      CAPTURE(sh.batch, sh.groups, sh.co, sh.hw, sh.k, threads);
      const std::vector<convgen::internal::Tile> tiles =
          convgen::internal::MakeTiles(p, oh, ow, sh.r, threads);
      std::vector<int> covered(static_cast<size_t>(p.batch * p.groups * cog * oh), 0);
      for (const auto& t : tiles) {
        REQUIRE(t.co_begin % sh.r == 0);
        for (int64_t g = t.g_begin; g < t.g_end; ++g)
          for (int64_t c = t.co_begin; c < t.co_end; ++c)
            for (int64_t y = t.oh_begin; y < t.oh_end; ++y)
              ++covered[static_cast<size_t>(((t.n * p.groups + g) * cog + c) * oh + y)];
      }
      for (int count : covered) REQUIRE(count == 1);
      if (threads == 1) CHECK(tiles.size() == static_cast<size_t>(p.batch));
    }
  }
  // The shuffle_g3_1x1 cut for 2 threads is even (it was 8 blocks : 7).
  Conv2dParams p;
  p.groups = 3;
  p.in_channels = p.out_channels = 240;
  p.in_height = p.in_width = 28;
  p.kernel_h = p.kernel_w = 1;
  const auto tiles = convgen::internal::MakeTiles(p, 28, 28, 16, 2);
  CHECK(convgen::internal::TileImbalance(tiles, 2) < 1.005);
  // With R = 8 the fewest even tiles: 3 groups x 2 chunks of 5 blocks, all
  // rows (it was 30 tiles of one block each: 360.6 against 371.8 GFLOP/s).
  const auto r8 = convgen::internal::MakeTiles(p, 28, 28, 8, 2);
  CHECK(convgen::internal::TileImbalance(r8, 2) < 1.005);
  CHECK(r8.size() == 6);
  for (const auto& t : r8) CHECK((t.oh_begin == 0 && t.oh_end == 28));
  // A 1x1 layer on a large map: one band of rows per thread (tiling.cc).
  Conv2dParams pw;
  pw.in_channels = 256;
  pw.out_channels = 64;
  pw.in_height = pw.in_width = 56;
  pw.kernel_h = pw.kernel_w = 1;
  const auto bands = convgen::internal::MakeTiles(pw, 56, 56, 8, 2);
  REQUIRE(bands.size() == 2);
  CHECK(bands[0].oh_end == 28);
  CHECK(bands[1].co_end == 64);
  // The model: 3 equal tiles on 2 workers keep one worker busy for 2 of them.
  std::vector<convgen::internal::Tile> three(3);
  for (auto& t : three) {
    t.co_end = 16;
    t.oh_end = 1;
  }
  CHECK(convgen::internal::TileImbalance(three, 2) == Approx(4.0 / 3.0));
}

// smallmap on narrow maps: AVX2's column tiles add a pixel's taps in another
// order than row tiles, so every thread count's tiling must give a pixel the
// same kind of tile (until session 12, tilings that cut rows sent interior
// rows to row tiles: AVX2 results differed in the last bits on the 7x7, 6x6,
// 14x14 and 13x7 shapes below). Every target this CPU runs; the reference,
// poisoned outputs and a guard past the end, 1 to 4 threads and a caller's
// pool.
TEST_CASE("smallmap narrow maps: same bits for any thread count") {
  struct Shape {
    int64_t batch, ci, co, h, w, k, stride;
  };
  const Shape shapes[] = {
      {1, 64, 48, 7, 7, 3, 1},    // rn_3x3_7-like: channel blocks, 3 threads cut rows
      {2, 5, 40, 7, 7, 3, 1},     // batch 2, 5 input channels
      {1, 24, 32, 6, 6, 3, 1},    // 3 threads cut rows (two channel blocks)
      {1, 16, 64, 14, 14, 3, 1},  // 14 x 14 (column tiles on AVX2)
      {1, 37, 64, 13, 7, 3, 1},   // odd channels, tall narrow map
      {1, 64, 96, 9, 9, 5, 1},    // 5 x 5
      {1, 32, 96, 15, 15, 3, 2},  // stride 2
  };
  pthreadpool_t external = pthreadpool_create(3);
  REQUIRE(external != nullptr);
  for (const Shape& sh : shapes) {
    Conv2dParams p;
    p.batch = sh.batch;
    p.in_channels = sh.ci;
    p.out_channels = sh.co;
    p.in_height = sh.h;
    p.in_width = sh.w;
    p.kernel_h = p.kernel_w = sh.k;
    p.stride_h = p.stride_w = sh.stride;
    p.pad_h = p.pad_w = sh.k / 2;
    REQUIRE(convgen::Validate(p).ok());
    const auto x = RandomFloats(size_t(p.input_elements()), 4);
    const auto w = RandomFloats(size_t(p.weight_elements()), 5);
    const auto b = RandomFloats(size_t(p.out_channels), 6);
    std::vector<float> ref(size_t(p.output_elements()));
    convgen::ReferenceConv2d(p, x.data(), w.data(), b.data(), -INFINITY, INFINITY, 0, ref.data());
    for (int64_t target : convgen::internal::SupportedCompiledTargets()) {
      std::vector<float> first;
      for (int threads : {1, 2, 3, 4}) {
        for (bool use_external : {false, true}) {
          CAPTURE(convgen::DebugString(p), convgen::internal::TargetName(target), threads,
                  use_external);
          convgen::PlanOptions o;
          o.kernel = "f32_conv2d_smallmap_p14_c2v";
          o.target = convgen::internal::TargetName(target);
          o.threads = threads;
          std::unique_ptr<convgen::Plan> plan;
          REQUIRE(convgen::Plan::Create(p, w.data(), b.data(), o, &plan).ok());
          constexpr size_t kGuard = 64;
          std::vector<float> y(ref.size() + kGuard, NAN);
          REQUIRE(plan->Run(x.data(), y.data(), use_external ? external : nullptr).ok());
          for (size_t i = ref.size(); i < y.size(); ++i) REQUIRE(std::isnan(y[i]));
          // fp32 sums of ci * k * k products of values in [-1, 1] (at most
          // 64 * 25 = 1600 terms here) against the reference's double sums:
          // 1e-3 is far above the reordering error (~1e-5), far below a
          // missing or doubled tap (>= 1e-2 typically).
          double max_err = 0;
          for (size_t i = 0; i < ref.size(); ++i) {
            REQUIRE_FALSE(std::isnan(y[i]));
            max_err = std::max(max_err, double(std::fabs(y[i] - ref[i])));
          }
          CHECK(max_err < 1e-3);
          y.resize(ref.size());
          if (first.empty())
            first = y;
          else
            CHECK(std::memcmp(first.data(), y.data(), y.size() * sizeof(float)) == 0);
        }
      }
    }
  }
  pthreadpool_destroy(external);
}

// Below kMinThreadedFlops a plan cuts one tile per image and runs them on
// the calling thread, its own pool or a caller's (a dispatch cost 3 us
// against 0.25 us of work on the tiny layer); at and above, it threads.
TEST_CASE("layers under 1 MFLOP run on the calling thread") {
  struct Restore {
    double was = convgen::internal::SetMinThreadedFlops(kProductMinThreadedFlops);
    ~Restore() { convgen::internal::SetMinThreadedFlops(was); }
  } restore;
  REQUIRE(kProductMinThreadedFlops == convgen::internal::kMinThreadedFlops);
  Conv2dParams tiny;  // mb1ic4ih8oc4oh8kh3ph1: 18.4 KFLOP
  tiny.in_channels = tiny.out_channels = 4;
  tiny.in_height = tiny.in_width = 8;
  tiny.kernel_h = tiny.kernel_w = 3;
  tiny.pad_h = tiny.pad_w = 1;
  Conv2dParams big = tiny;  // 16 -> 16 channels, 16x16: 1.18 MFLOP
  big.in_channels = big.out_channels = 16;
  big.in_height = big.in_width = 16;
  CHECK_FALSE(convgen::internal::WorthThreads(tiny));
  CHECK(convgen::internal::WorthThreads(big));
  CHECK(convgen::internal::MakeTiles(tiny, 8, 8, 8, 2).size() == 1);
  CHECK(convgen::internal::MakeTiles(big, 16, 16, 8, 2).size() > 1);
  tiny.batch = 3;  // 55 KFLOP: one tile per image, still on the caller
  CHECK(convgen::internal::MakeTiles(tiny, 8, 8, 8, 2).size() == 3);

  // The result is the reference's, with the plan's pool and a caller's.
  const auto in = RandomFloats(static_cast<size_t>(tiny.input_elements()), 5);
  const auto w = RandomFloats(static_cast<size_t>(tiny.weight_elements()), 6);
  std::vector<float> want(static_cast<size_t>(tiny.output_elements()));
  convgen::ReferenceConv2d(tiny, in.data(), w.data(), nullptr, -INFINITY, INFINITY, 0, want.data());
  convgen::PlanOptions o;
  o.threads = 2;
  std::unique_ptr<convgen::Plan> plan;
  REQUIRE(convgen::Plan::Create(tiny, w.data(), nullptr, o, &plan).ok());
  pthreadpool_t external = pthreadpool_create(2);
  for (pthreadpool_t pool : {pthreadpool_t{nullptr}, external}) {
    std::vector<float> got(want.size(), std::nanf(""));
    REQUIRE(plan->Run(in.data(), got.data(), pool).ok());
    for (size_t i = 0; i < got.size(); ++i)
      REQUIRE(std::fabs(got[i] - want[i]) <= 1e-4f * (1.0f + std::fabs(want[i])));
  }
  pthreadpool_destroy(external);
}
