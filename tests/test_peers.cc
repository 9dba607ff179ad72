// Peers (bench/peers): every compiled peer computes PyTorch conv2d, checked
// against convgen's double-accumulating reference on small layers covering
// dense, strided, dilated, grouped, depthwise and 1x1 convolutions, batch 2,
// with and without bias, and each clamp form the peers map differently
// (none, ReLU [0, inf), two-sided clip, one-sided bounds).
//
// Tolerance: max |peer - ref| / max |ref| <= 1e-4. Peers accumulate in
// float in their own order (oneDNN's GEMM blocks ci, XNNPACK sums kh*kw*ci
// per pixel): with <= 144 products of values in [-1, 1] the accumulated
// rounding error stays near 1e-6 relative to the largest output.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "../bench/peers/peers.h"
#include "convgen/conv2d.h"
#include "convgen/reference.h"

namespace convgen {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct PeerCase {
  const char* name;
  Conv2dParams params;
  bool with_bias;
  float clamp_min, clamp_max;
};

Conv2dParams Layer(int64_t groups, int64_t ic, int64_t ih, int64_t iw, int64_t oc,
                   int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
  Conv2dParams p;
  p.batch = 2;
  p.groups = groups;
  p.in_channels = ic;
  p.in_height = ih;
  p.in_width = iw;
  p.out_channels = oc;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = pad;
  p.dilation_h = p.dilation_w = dilation;
  return p;
}

std::vector<PeerCase> Cases() {
  return {
      {"dense 3x3 pad 1", Layer(1, 8, 10, 9, 16, 3, 1, 1, 1), true, -kInf, kInf},
      {"dense 3x3 stride 2 relu", Layer(1, 6, 11, 12, 10, 3, 2, 1, 1), true, 0.0f, kInf},
      {"dense 3x3 dilation 2", Layer(1, 5, 12, 10, 7, 3, 1, 2, 2), false, -kInf, kInf},
      {"grouped g4 3x3 clip", Layer(4, 16, 9, 9, 8, 3, 1, 1, 1), true, -0.5f, 0.5f},
      {"depthwise 3x3 lower bound", Layer(12, 12, 10, 11, 12, 3, 1, 1, 1), true, -0.25f, kInf},
      {"depthwise 3x3 stride 2", Layer(8, 8, 13, 13, 8, 3, 2, 1, 1), false, -kInf, kInf},
      {"pointwise 1x1 upper bound", Layer(1, 20, 7, 7, 24, 1, 1, 0, 1), false, -kInf, 0.3f},
      {"grouped g3 1x1 relu", Layer(3, 12, 6, 8, 9, 1, 1, 0, 1), true, 0.0f, kInf},
  };
}

std::vector<float> RandomValues(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// max |a - b| / max |b|.
double RelativeMaxError(const std::vector<float>& got, const std::vector<float>& want) {
  double max_err = 0, max_ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_err = std::max(max_err, std::fabs(double(got[i]) - double(want[i])));
    max_ref = std::max(max_ref, std::fabs(double(want[i])));
  }
  return max_ref > 0 ? max_err / max_ref : max_err;
}

TEST_CASE("peers match the reference on small layers") {
  const std::vector<std::string> compiled = peers::CompiledPeers();
  if (compiled.empty()) {
    WARN("no peer compiled into this build");
    return;
  }
  for (const PeerCase& c : Cases()) {
    const Conv2dParams& p = c.params;
    REQUIRE(Validate(p).ok());
    const std::vector<float> input = RandomValues(p.input_elements(), 1);
    const std::vector<float> weights = RandomValues(p.weight_elements(), 2);
    const std::vector<float> bias = RandomValues(p.out_channels, 3);
    std::vector<float> want(static_cast<size_t>(p.output_elements()));
    ReferenceConv2d(p, input.data(), weights.data(), c.with_bias ? bias.data() : nullptr,
                    c.clamp_min, c.clamp_max, /*shuffle_groups=*/0, want.data());

    peers::PeerProblem problem;
    problem.params = p;
    problem.input = input.data();
    problem.weights = weights.data();
    problem.bias = c.with_bias ? bias.data() : nullptr;
    problem.clamp_min = c.clamp_min;
    problem.clamp_max = c.clamp_max;
    problem.threads = 1;
    for (const std::string& peer : compiled) {
      INFO("layer " << c.name << " (" << DebugString(p) << "), peer " << peer);
      const peers::PeerResult r = peers::RunPeer(peer, problem, tools::TimingSpec{1, 0.0});
      INFO("why_not: " << r.why_not << ", impl: " << r.impl);
      CHECK(r.peer == peer);
      REQUIRE(r.available);
      CHECK(r.timing.median_ms > 0);
      REQUIRE(r.output.size() == want.size());
      CHECK(RelativeMaxError(r.output, want) <= 1e-4);
    }
  }
}

TEST_CASE("peers run on two threads") {
  // threads > 1 takes other code paths (OpenMP team / pthreadpool).
  const Conv2dParams p = Layer(1, 16, 12, 12, 16, 3, 1, 1, 1);
  const std::vector<float> input = RandomValues(p.input_elements(), 4);
  const std::vector<float> weights = RandomValues(p.weight_elements(), 5);
  std::vector<float> want(static_cast<size_t>(p.output_elements()));
  ReferenceConv2d(p, input.data(), weights.data(), nullptr, -kInf, kInf, 0, want.data());
  peers::PeerProblem problem;
  problem.params = p;
  problem.input = input.data();
  problem.weights = weights.data();
  problem.threads = 2;
  for (const std::string& peer : peers::CompiledPeers()) {
    INFO("peer " << peer);
    const peers::PeerResult r = peers::RunPeer(peer, problem, tools::TimingSpec{1, 0.0});
    REQUIRE(r.available);
    CHECK(RelativeMaxError(r.output, want) <= 1e-4);
  }
}

TEST_CASE("compiled peers follow the build definitions") {
  // cmake/peers.cmake defines CONVGEN_HAVE_* (PUBLIC) for what it compiled;
  // with neither library found the list is empty.
  std::vector<std::string> expected;
#ifdef CONVGEN_HAVE_ONEDNN
  expected.push_back("onednn");
  expected.push_back("onednn_nchw");
#endif
#ifdef CONVGEN_HAVE_XNNPACK
  expected.push_back("xnnpack");
#endif
  CHECK(peers::CompiledPeers() == expected);
}

TEST_CASE("peers that are not built or unknown are unavailable") {
  const std::vector<std::string> compiled = peers::CompiledPeers();
  peers::PeerProblem problem;
  problem.params = Layer(1, 4, 5, 5, 4, 3, 1, 1, 1);
  const std::vector<float> input = RandomValues(problem.params.input_elements(), 6);
  const std::vector<float> weights = RandomValues(problem.params.weight_elements(), 7);
  problem.input = input.data();
  problem.weights = weights.data();
  for (const char* peer : {"onednn", "onednn_nchw", "xnnpack"}) {
    if (std::find(compiled.begin(), compiled.end(), peer) != compiled.end()) continue;
    const peers::PeerResult r = peers::RunPeer(peer, problem, tools::TimingSpec{1, 0.0});
    CHECK_FALSE(r.available);
    CHECK(r.why_not == "not built");
  }
  const peers::PeerResult unknown =
      peers::RunPeer("no_such_peer", problem, tools::TimingSpec{1, 0.0});
  CHECK_FALSE(unknown.available);
  CHECK(unknown.why_not == "unknown peer");
  CHECK(unknown.output.empty());
}

}  // namespace
}  // namespace convgen
