// Every registered kernel (generated rows, hand-written families, the
// reference) on every Highway target that the CPU supports and the kernel was
// compiled for, over an edge matrix derived from the kernel's own
// specialisation: output widths around its strip Δ, output channels around
// its block R, every padding, asymmetric right edges under stride, batch 2,
// row bands (threads), bias/clamp/shuffle on and off, groups and dilation
// where the kernel applies. One CTest test per kernel family.
#include <catch2/catch.hpp>

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "kernel.h"
#include "targets.h"
#include "test_kernels_util.h"

namespace convgen {
namespace {

using internal::KernelInfo;
using testing::GuardedFloats;
using testing::KernelTester;

struct Channels {
  int64_t ci, co, groups;
};

struct Geometry {
  int64_t kh, kw, sh, sw, dh, dw;
};

// The cases of one kernel on one target. `lanes` is the target's native
// float lanes: Δ = v·lanes for strip kernels (a row whose AVX3 tile is
// capped at 8 lanes has a Δ/2 strip there, hence the Δ/2 widths below).
std::vector<KernelTester> EdgeMatrix(const KernelInfo& k, int lanes) {
  const int64_t delta = k.v > 0 ? int64_t{k.v} * lanes : 8;
  const int64_t R = std::max(k.r, 1);

  // Shapes the kernel is specialised for, or a few when it takes any (0).
  std::vector<Geometry> geometries;
  {
    std::vector<std::pair<int64_t, int64_t>> ks, ss, ds;
    if (k.kh > 0) ks = {{k.kh, k.kw}}; else ks = {{3, 3}, {1, 1}, {2, 5}, {5, 5}};
    if (k.sh > 0) ss = {{k.sh, k.sw}}; else ss = {{1, 1}, {2, 2}, {1, 2}};
    if (k.dh > 0) ds = {{k.dh, k.dw}}; else ds = {{1, 1}, {2, 2}};
    for (size_t i = 0; i < std::max({ks.size(), ss.size(), ds.size()}); ++i)
      geometries.push_back({ks[i % ks.size()].first, ks[i % ks.size()].second,
                            ss[i % ss.size()].first, ss[i % ss.size()].second,
                            ds[i % ds.size()].first, ds[i % ds.size()].second});
  }
  // Channel settings: dense (co not a multiple of R, a multiple, one
  // channel, many), grouped, depthwise. Each case takes the first one that
  // applies, starting from a rotating index.
  const std::vector<Channels> channels = {
      {3, R + 3, 1}, {1, 1, 1}, {5, 2 * R + 1, 1}, {4, R, 1}, {16, 2 * R, 1},
      {4, 4, 4},     {6, 9, 3}, {4, 2 * R, 2},     {8, 8, 8}, {2, 2 * R + 2, 2},
      // Depth multiplier 2; ResNeXt-like groups (R in and R out for a
      // kernel whose block is the whole group).
      {3, 6, 3},     {2 * R, 2 * R, 2}};

  std::vector<KernelTester> cases;
  size_t rotation = 0;
  auto add = [&](const Geometry& g, int64_t out_w, int64_t out_h, int64_t pad, int64_t extra,
                 auto&& knobs) {
    for (size_t j = 0; j < channels.size(); ++j) {
      const Channels& c = channels[(rotation + j) % channels.size()];
      KernelTester t;
      t.kernel(g.kh, g.kw).stride(g.sh, g.sw).dilation(g.dh, g.dw).pad(pad, pad);
      t.channels(c.ci, c.co).groups(c.groups);
      t.output_width(out_w, extra).output_height(out_h, extra);
      t.input_guard(cases.size() % 2 ? GuardedFloats::kAtStart : GuardedFloats::kAtEnd);
      t.bias(cases.size() % 3 != 2);
      knobs(t);
      if (t.params().in_width < 1 || t.params().in_height < 1) return;
      if (t.Applicable(k)) {
        cases.push_back(t);
        ++rotation;
        return;
      }
    }
  };
  auto none = [](KernelTester&) {};

  std::set<int64_t> widths = {1, delta / 2, delta / 2 + 1, delta - 1, delta, delta + 1,
                              2 * delta, 2 * delta + 3};
  widths.erase(0);
  for (const Geometry& g : geometries) {
    const int64_t same = g.dw * (g.kw - 1) / 2;  // "same" padding
    // Widths below, at, above and a multiple of Δ, without and with padding.
    for (int64_t w : widths)
      for (int64_t pad : std::set<int64_t>{0, same}) add(g, w, 3, pad, 0, none);
    // Every padding; the stride leaves 0..s-1 input columns unused on the
    // right (asymmetric edge).
    for (int64_t pad = 0; pad <= 2; ++pad)
      for (int64_t extra = 0; extra < std::max(g.sh, g.sw); ++extra)
        add(g, delta + 1, 2, pad, extra, none);
    // Every channel setting at least once.
    for (size_t j = 0; j < channels.size(); ++j) add(g, delta + 3, 2, same, 0, none);
    // Batch 2, rows split into bands over threads (tiles not starting at 0).
    add(g, 2 * delta + 3, 5, same, 0, [](KernelTester& t) { t.batch(2).threads(3); });
    // Epilogue: clamp with and without bias, ReLU.
    add(g, delta + 1, 3, same, 0, [](KernelTester& t) { t.bias(false).clamp(-3, 5); });
    add(g, delta - 1, 3, same, 0,
        [](KernelTester& t) { t.bias(true).clamp(0, std::numeric_limits<float>::infinity()); });
    // Fused channel shuffle (the tester skips a shuffle that does not divide co).
    for (int64_t s : {2, 3})
      add(g, delta + 2, 2, same, 0, [s](KernelTester& t) { t.shuffle(s); });
    // Long rows × many channels: the direct kernels then split the output
    // rows into bands of <= 512 KiB of input (direct-inl.h), here 1 row.
    add(g, 1100, 4, same, 0, [R](KernelTester& t) { t.channels(64, R + 1).groups(1); });
    // A small map under large padding: most kernel rows fall outside.
    if (g.kh > 1) add(g, 3, 4, g.dh * (g.kh - 1), 0, none);
  }
  return cases;
}

void TestFamily(const std::string& family, bool others) {
  static const std::set<std::string> kKnown = {"direct", "smallmap", "generic", "im2col",
                                               "conv1x1", "gconv1x1", "dwconv", "gconv",
                                               "reference"};
  // SupportedAndGeneratedTargets() uses this TU's HWY_TARGETS, which equals
  // the library's: CMake passes the same HWY_DISABLED_TARGETS to both.
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  int kernels = 0;
  for (const KernelInfo* k : internal::AllKernels()) {
    const bool match = others ? kKnown.count(k->family) == 0 : family == k->family;
    if (!match) continue;
    ++kernels;
    for (int64_t target : targets) {
      if (k->resolve(target) == nullptr) continue;
      const std::string target_name = hwy::TargetName(target);
      const std::vector<KernelTester> cases = EdgeMatrix(*k, internal::FloatLanes(target));
      INFO("kernel=" << k->name << " target=" << target_name);
      CHECK(!cases.empty());  // the matrix must reach every kernel
      for (const KernelTester& t : cases) t.Test(*k, target_name);
    }
  }
  if (!others) WARN(kernels << " kernels of family " << family);
}

}  // namespace

TEST_CASE("kernel family direct matches the reference on its edge matrix") { TestFamily("direct", false); }
TEST_CASE("kernel family smallmap matches the reference on its edge matrix") { TestFamily("smallmap", false); }
TEST_CASE("kernel family generic matches the reference on its edge matrix") { TestFamily("generic", false); }
TEST_CASE("kernel family im2col matches the reference on its edge matrix") { TestFamily("im2col", false); }
TEST_CASE("kernel family conv1x1 matches the reference on its edge matrix") { TestFamily("conv1x1", false); }
TEST_CASE("kernel family gconv1x1 matches the reference on its edge matrix") { TestFamily("gconv1x1", false); }
TEST_CASE("kernel family dwconv matches the reference on its edge matrix") { TestFamily("dwconv", false); }
TEST_CASE("kernel family gconv matches the reference on its edge matrix") { TestFamily("gconv", false); }
TEST_CASE("kernel family reference matches the reference on its edge matrix") { TestFamily("reference", false); }
TEST_CASE("kernels of other families match the reference on their edge matrix") { TestFamily("", true); }

TEST_CASE("registry names are unique and generated names follow the grammar") {
  // docs/kernels.md; gen/gen_kernels.py --self-test checks the same grammar
  // on the spec side.
  const std::regex direct(
      "f32_conv2d_k([0-9]+)x([0-9]+)_s([0-9]+)(x([0-9]+))?(_d([0-9]+)(x([0-9]+))?)?"
      "_r([0-9]+)_w([0-9]+)v([0-9]+)?");
  std::set<std::string> names;
  for (const internal::KernelInfo* k : internal::AllKernels()) {
    INFO(k->name);
    CHECK(names.insert(k->name).second);
    if (std::string(k->family) != "direct") continue;
    std::smatch m;
    const std::string name = k->name;
    REQUIRE(std::regex_match(name, m, direct));
    CHECK(std::stoi(m[1]) == k->kh);
    CHECK(std::stoi(m[2]) == k->kw);
    CHECK(std::stoi(m[3]) == k->sh);
    CHECK((m[5].matched ? std::stoi(m[5]) : k->sh) == k->sw);
    CHECK((m[7].matched ? std::stoi(m[7]) : 1) == k->dh);
    CHECK(std::stoi(m[10]) == k->r);
    CHECK(std::stoi(m[11]) == k->v);
  }
}

}  // namespace convgen
