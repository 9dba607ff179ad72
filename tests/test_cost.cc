// Tests of the cost model (tools/lib/cost.h): hand counts written as
// arithmetic from the definitions, a brute-force count that walks every
// (output, tap) pair, and the book's "over 53 billion operations" example.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "convgen/conv2d.h"
#include "cost.h"

namespace {

using convgen::Conv2dParams;
using convgen::tools::ComputeCost;
using convgen::tools::ComputeLayerCost;
using convgen::tools::ConvCost;
using convgen::tools::LayerCost;

Conv2dParams Layer(int64_t n, int64_t ci, int64_t ih, int64_t iw, int64_t co, int64_t kh,
                   int64_t kw) {
  Conv2dParams p;
  p.batch = n;
  p.in_channels = ci;
  p.in_height = ih;
  p.in_width = iw;
  p.out_channels = co;
  p.kernel_h = kh;
  p.kernel_w = kw;
  return p;
}

// Counts by walking the loops of the three passes, independently of cost.cc:
// one multiplication per (output, tap) pair; each accumulator that receives
// m terms costs m-1 additions (dX accumulates on the padded input).
struct BruteForce {
  double fwd_mults = 0, fwd_adds = 0;
  double dx_mults = 0, dx_adds = 0;
  double dw_mults = 0, dw_adds = 0;
  double db_adds = 0;
};

BruteForce CountByWalking(const Conv2dParams& p, bool with_bias) {
  const int64_t oh = (p.in_height + 2 * p.pad_h - p.dilation_h * (p.kernel_h - 1) - 1) /
                         p.stride_h + 1;
  const int64_t ow = (p.in_width + 2 * p.pad_w - p.dilation_w * (p.kernel_w - 1) - 1) /
                         p.stride_w + 1;
  const int64_t cig = p.in_channels / p.groups, cog = p.out_channels / p.groups;
  const int64_t ph = p.in_height + 2 * p.pad_h, pw = p.in_width + 2 * p.pad_w;
  std::vector<int64_t> dx_terms(static_cast<size_t>(p.batch * p.in_channels * ph * pw), 0);
  std::vector<int64_t> dw_terms(static_cast<size_t>(p.out_channels * cig * p.kernel_h * p.kernel_w),
                                0);
  BruteForce b;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t o = 0; o < p.out_channels; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x) {
          int64_t terms = 0;
          for (int64_t c = 0; c < cig; ++c)
            for (int64_t i = 0; i < p.kernel_h; ++i)
              for (int64_t j = 0; j < p.kernel_w; ++j) {
                ++terms;
                const int64_t ic = (o / cog) * cig + c;
                const int64_t py = y * p.stride_h + i * p.dilation_h;
                const int64_t px = x * p.stride_w + j * p.dilation_w;
                ++dx_terms[static_cast<size_t>(((n * p.in_channels + ic) * ph + py) * pw + px)];
                ++dw_terms[static_cast<size_t>(((o * cig + c) * p.kernel_h + i) * p.kernel_w + j)];
              }
          b.fwd_mults += static_cast<double>(terms);
          b.fwd_adds += static_cast<double>(terms - 1 + (with_bias ? 1 : 0));
        }
  b.dx_mults = b.dw_mults = b.fwd_mults;
  for (int64_t m : dx_terms)
    if (m > 0) b.dx_adds += static_cast<double>(m - 1);
  for (int64_t m : dw_terms) b.dw_adds += static_cast<double>(m - 1);
  if (with_bias) b.db_adds = static_cast<double>(p.out_channels * (p.batch * oh * ow - 1));
  return b;
}

}  // namespace

TEST_CASE("cost of the book two channel 3x3 example counted by hand", "[cost]") {
  // X: 1 x 2 x 3 x 3, K: 1 x 2 x 2 x 2, no padding, stride 1 -> Y: 1 x 1 x 2 x 2.
  const Conv2dParams p = Layer(1, 2, 3, 3, 1, 2, 2);
  const double outputs = 1 * 1 * 2 * 2;  // N*co*oh*ow
  const double taps = 2 * 2 * 2;         // (ci/g)*kh*kw
  const double weights = 1 * 2 * 2 * 2;  // co*(ci/g)*kh*kw
  const LayerCost c = ComputeLayerCost(p, /*with_bias=*/true);
  CHECK(c.output_elements == outputs);
  CHECK(c.taps_per_output == taps);
  CHECK(c.forward.mults == outputs * taps);                      // 32
  CHECK(c.forward.adds == outputs * (taps - 1) + outputs);       // 28 + 4 bias
  // dX: 32 products on the 3x3 input of each of 2 channels, all reached.
  CHECK(c.backward_input.mults == 32);
  CHECK(c.backward_input.adds == 32 - 1 * 2 * 3 * 3);            // 14
  // dW: 8 weights, each a sum over the 1*2*2 outputs.
  CHECK(c.backward_weights.mults == 32);
  CHECK(c.backward_weights.adds == weights * (1 * 2 * 2 - 1));   // 24
  CHECK(c.backward_bias_adds == 1 * (1 * 2 * 2 - 1));            // 3
  CHECK(c.backward().total() == 32 + 14 + 32 + 24 + 3);
  CHECK(c.parameters == weights + 1);
  CHECK(c.forward_memory.input == 4 * (1 * 2 * 3 * 3));
  CHECK(c.forward_memory.weights == 4 * weights);
  CHECK(c.forward_memory.bias == 4 * 1);
  CHECK(c.forward_memory.output == 4 * outputs);
  CHECK(c.forward_memory.total() == 4 * (18 + 8 + 1 + 4));
  CHECK(c.backward_memory.input == 4 * 18);
  CHECK(c.backward_memory.weights == 4 * 8);
  CHECK(c.backward_memory.grad_output == 4 * 4);
  CHECK(c.backward_memory.grad_input == 4 * 18);
  CHECK(c.backward_memory.grad_weights == 4 * 8);
  CHECK(c.backward_memory.grad_bias == 4 * 1);
  CHECK(c.backward_memory.total() == 4 * (2 * 18 + 2 * 8 + 4 + 1));

  SECTION("without a bias") {
    const LayerCost nb = ComputeLayerCost(p, /*with_bias=*/false);
    CHECK(nb.forward.adds == outputs * (taps - 1));  // 28
    CHECK(nb.backward_bias_adds == 0);
    CHECK(nb.parameters == weights);
    CHECK(nb.forward_memory.bias == 0);
    CHECK(nb.backward_memory.grad_bias == 0);
  }
}

TEST_CASE("cost with stride dilation padding and groups counted by hand", "[cost]") {
  SECTION("1x1 stride 2 skips input rows and columns") {
    // 1 x 1 x 3 x 3, 1x1 kernel, stride 2 -> 2 x 2; dX reaches positions
    // {0, 2} per axis: 4 positions, 4 products, 0 additions.
    Conv2dParams p = Layer(1, 1, 3, 3, 1, 1, 1);
    p.stride_h = p.stride_w = 2;
    const LayerCost c = ComputeLayerCost(p, false);
    CHECK(c.forward.mults == 4);
    CHECK(c.forward.adds == 0);
    CHECK(c.backward_input.adds == 0);
    CHECK(c.backward_weights.adds == 1 * (4 - 1));
  }
  SECTION("dilated 3x3 touches every other input") {
    // 1 x 1 x 5 x 5, 3x3 dilation 2 -> 1 x 1 output; 9 taps on 9 distinct
    // inputs: dX has 9 products and no addition.
    Conv2dParams p = Layer(1, 1, 5, 5, 1, 3, 3);
    p.dilation_h = p.dilation_w = 2;
    const LayerCost c = ComputeLayerCost(p, false);
    CHECK(c.output_elements == 1);
    CHECK(c.forward.mults == 9);
    CHECK(c.forward.adds == 8);
    CHECK(c.backward_input.adds == 0);
    CHECK(c.backward_weights.adds == 0);  // each weight sees one output
  }
  SECTION("padding counts taps on zeros and pads dX") {
    // 1 x 1 x 2 x 2, 3x3, padding 1 -> 2 x 2, all 9 taps counted (nominal).
    // dX accumulates on the 4 x 4 padded input, all 16 positions reached.
    Conv2dParams p = Layer(1, 1, 2, 2, 1, 3, 3);
    p.pad_h = p.pad_w = 1;
    const LayerCost c = ComputeLayerCost(p, true);
    CHECK(c.forward.mults == 4 * 9);
    CHECK(c.forward.adds == 4 * 8 + 4);
    CHECK(c.backward_input.adds == 36 - 16);
    CHECK(c.backward_weights.adds == 9 * (4 - 1));
    CHECK(c.backward_bias_adds == 3);
    CHECK(c.forward_memory.input == 4 * 4);  // the padding is not stored
  }
  SECTION("groups divide the taps") {
    // N2, ci 4, co 6, g 2, 3x3 on 4x4 with padding 1: T = (4/2)*9 = 18.
    Conv2dParams p = Layer(2, 4, 4, 4, 6, 3, 3);
    p.groups = 2;
    p.pad_h = p.pad_w = 1;
    const LayerCost c = ComputeLayerCost(p, true);
    CHECK(c.taps_per_output == 18);
    CHECK(c.output_elements == 2 * 6 * 4 * 4);
    CHECK(c.forward.mults == 2 * 6 * 4 * 4 * 18);
    CHECK(c.parameters == 6 * 2 * 3 * 3 + 6);
    CHECK(c.backward_input.adds == 2 * 6 * 4 * 4 * 18 - 2 * 4 * 6 * 6);
  }
}

TEST_CASE("cost matches a brute force count on many small layers", "[cost]") {
  int checked = 0;
  for (int64_t stride : {1, 2, 3})
    for (int64_t dilation : {1, 2})
      for (int64_t pad : {0, 1, 2})
        for (int64_t k : {1, 2, 3})
          for (int64_t groups : {1, 2})
            for (int64_t ih : {5, 6}) {
              Conv2dParams p = Layer(2, 2 * groups, ih, ih + 1, 3 * groups, k, k == 1 ? 2 : k - 1);
              p.stride_h = stride;
              p.stride_w = stride == 1 ? 2 : stride - 1;
              p.dilation_h = dilation;
              p.dilation_w = 3 - dilation;
              p.pad_h = pad;
              p.pad_w = 2 - pad;
              p.groups = groups;
              if (!convgen::Validate(p).ok()) continue;
              for (bool bias : {false, true}) {
                INFO(convgen::DebugString(p) << (bias ? " with bias" : " no bias"));
                const LayerCost c = ComputeLayerCost(p, bias);
                const BruteForce b = CountByWalking(p, bias);
                CHECK(c.forward.mults == b.fwd_mults);
                CHECK(c.forward.adds == b.fwd_adds);
                CHECK(c.backward_input.mults == b.dx_mults);
                CHECK(c.backward_input.adds == b.dx_adds);
                CHECK(c.backward_weights.mults == b.dw_mults);
                CHECK(c.backward_weights.adds == b.dw_adds);
                CHECK(c.backward_bias_adds == b.db_adds);
                ++checked;
              }
            }
  CHECK(checked > 100);
}

TEST_CASE("cost reproduces the book 53 billion operations", "[cost]") {
  // D2L: a 256 x 256 input, 5x5 kernel, 128 -> 128 channels, padding 2.
  Conv2dParams p = Layer(1, 128, 256, 256, 128, 5, 5);
  p.pad_h = p.pad_w = 2;
  const ConvCost cost = ComputeCost(p, /*with_bias=*/true);
  const double mults = 128.0 * 128 * 256 * 256 * 25;
  CHECK(mults == 26843545600.0);  // "about 26.8 billion multiplications"
  CHECK(cost.layer.forward.mults == mults);
  CHECK(cost.layer.forward.adds == mults);  // T-1 per output, plus its bias
  CHECK(cost.layer.forward.total() == 53687091200.0);
  CHECK(cost.layer.forward.total() > 53e9);  // "over 53 billion operations"
  CHECK(cost.layer.forward.total() == p.flops());
  const ConvCost no_bias = ComputeCost(p, false);
  CHECK(no_bias.layer.forward.total() == 2 * mults - 128.0 * 256 * 256);
  CHECK(no_bias.layer.forward.total() > 53e9);

  // Exercise 3: doubling ci and co multiplies the work by 4 ...
  CHECK(cost.double_channels.params.in_channels == 256);
  CHECK(cost.double_channels.params.out_channels == 256);
  CHECK(cost.double_channels.forward.mults == 4 * mults);
  CHECK(cost.double_channels.forward.total() == 4 * cost.layer.forward.total());
  CHECK(cost.double_channels.parameters == 256.0 * 256 * 25 + 256);
  // ... and doubling the padding grows the output to 260 x 260.
  CHECK(cost.double_padding.params.pad_h == 4);
  CHECK(cost.double_padding.output_elements == 128.0 * 260 * 260);
  CHECK(cost.double_padding.forward.mults == 128.0 * 128 * 260 * 260 * 25);
  CHECK(cost.double_padding.parameters == cost.layer.parameters);

  const std::string text = convgen::tools::FormatCostText(cost, "book");
  CHECK(text.find("26,843,545,600") != std::string::npos);
  CHECK(text.find("53,687,091,200") != std::string::npos);
  const std::string json = convgen::tools::FormatCostJson(cost, "book");
  CHECK(json.find("\"multiplications\": 26843545600") != std::string::npos);
  CHECK(json.find("\"operations\": 53687091200") != std::string::npos);
  CHECK(json.find("\"forward_ops_factor\": 4") != std::string::npos);
}

TEST_CASE("cost padding doubled from zero changes nothing", "[cost]") {
  const ConvCost cost = ComputeCost(Layer(1, 3, 8, 8, 4, 3, 3), true);
  CHECK(cost.double_padding.forward.total() == cost.layer.forward.total());
  CHECK(cost.double_padding.backward().total() == cost.layer.backward().total());
}
