// The scalar reference: the book's numbers, exercise 4, and the general
// reference against an independent formulation.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "convgen/reference.h"

using convgen::Conv2dParams;
using convgen::Tensor;

namespace {

// The book's X (2 x 3 x 3) and K (2 x 2 x 2).
Tensor BookX() {
  return Tensor({2, 3, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}
Tensor BookK() { return Tensor({2, 2, 2}, {0, 1, 2, 3, 1, 2, 3, 4}); }

std::vector<float> RandomVector(size_t n, std::mt19937& rng, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) {
    do x = dist(rng); while (x == 0.0f);  // non-zero: every tap must matter
  }
  return v;
}

}  // namespace

TEST_CASE("book corr2d single channel") {
  // d2l 6.2: X = [[0,1,2],[3,4,5],[6,7,8]], K = [[0,1],[2,3]] -> [[19,25],[37,43]]
  Tensor X({3, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8});
  Tensor K({2, 2}, {0, 1, 2, 3});
  Tensor Y = convgen::corr2d(X, K);
  CHECK(Y.shape == std::vector<int64_t>{2, 2});
  CHECK(Y.data == std::vector<float>{19, 25, 37, 43});
}

TEST_CASE("book corr2d_multi_in gives 56 72 104 120") {
  Tensor Y = convgen::corr2d_multi_in(BookX(), BookK());
  CHECK(Y.shape == std::vector<int64_t>{2, 2});
  CHECK(Y.data == std::vector<float>{56, 72, 104, 120});
}

TEST_CASE("book corr2d_multi_in_out stacks K K+1 K+2") {
  Tensor K = BookK();
  std::vector<float> stacked;
  for (int add = 0; add < 3; ++add)
    for (float k : K.data) stacked.push_back(k + static_cast<float>(add));
  Tensor Y = convgen::corr2d_multi_in_out(BookX(), Tensor({3, 2, 2, 2}, stacked));
  CHECK(Y.shape == std::vector<int64_t>{3, 2, 2});
  CHECK(Y.data == std::vector<float>{56, 72, 104, 120, 76, 100, 148, 172, 96, 128, 192, 224});
}

TEST_CASE("book 1x1 matrix product form equals the loop form bit for bit") {
  // Exercise 4: are corr2d_multi_in_out_1x1 (Y = K @ X[ci][h*w]) and
  // corr2d_multi_in_out with a 1x1 kernel identical in this implementation?
  // Yes, bit for bit: both accumulate in double, starting from 0, over the
  // input channels in the same order c = 0..ci-1, and each float*float
  // product is exact in double (24+24 significand bits < 53). With the same
  // operands in the same order the roundings are the same. They would differ
  // in the last bits if either accumulated in float in another order (e.g. a
  // blocked GEMM summing partial sums, or FMA vs multiply-then-add): float
  // addition is not associative, which the second section shows.
  std::mt19937 rng(4);
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t ci = 1 + trial % 7, co = 1 + trial % 5, h = 1 + trial % 4, w = 2 + trial % 3;
    Tensor X({ci, h, w}, RandomVector(size_t(ci * h * w), rng));
    Tensor K({co, ci, 1, 1}, RandomVector(size_t(co * ci), rng));
    Tensor loop = convgen::corr2d_multi_in_out(X, K);
    Tensor matmul = convgen::corr2d_multi_in_out_1x1(X, K);
    REQUIRE(loop.shape == matmul.shape);
    CHECK(std::memcmp(loop.data.data(), matmul.data.data(), loop.data.size() * sizeof(float)) == 0);
  }
  SECTION("float summation order changes the last bits") {
    volatile float a = 1e8f, b = -1e8f, c = 1.0f;
    const float left = (a + b) + c;   // 0 + 1 = 1
    const float right = a + (b + c);  // -1e8 + 1 rounds back to -1e8: 0
    CHECK(left == 1.0f);
    CHECK(right == 0.0f);
  }
}

// An independent formulation of PyTorch conv2d: materialise the zero-padded
// input, dilate the kernel into a dense (zero-filled) one, slide it with the
// stride, and apply bias/clamp after; groups as separate convolutions. It
// shares no indexing code with ReferenceConv2d.
static std::vector<float> IndependentConv2d(const Conv2dParams& p, const std::vector<float>& in,
                                            const std::vector<float>& w,
                                            const std::vector<float>* bias, float lo, float hi) {
  const int64_t H = p.in_height + 2 * p.pad_h, W = p.in_width + 2 * p.pad_w;
  const int64_t KH = p.dilation_h * (p.kernel_h - 1) + 1, KW = p.dilation_w * (p.kernel_w - 1) + 1;
  const int64_t OH = (H - KH) / p.stride_h + 1, OW = (W - KW) / p.stride_w + 1;
  const int64_t cig = p.in_channels / p.groups, cog = p.out_channels / p.groups;
  std::vector<double> padded(size_t(p.batch * p.in_channels * H * W), 0.0);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t c = 0; c < p.in_channels; ++c)
      for (int64_t y = 0; y < p.in_height; ++y)
        for (int64_t x = 0; x < p.in_width; ++x)
          padded[size_t(((n * p.in_channels + c) * H + y + p.pad_h) * W + x + p.pad_w)] =
              in[size_t(((n * p.in_channels + c) * p.in_height + y) * p.in_width + x)];
  std::vector<double> dense(size_t(p.out_channels * cig * KH * KW), 0.0);
  for (int64_t o = 0; o < p.out_channels; ++o)
    for (int64_t c = 0; c < cig; ++c)
      for (int64_t a = 0; a < p.kernel_h; ++a)
        for (int64_t b = 0; b < p.kernel_w; ++b)
          dense[size_t(((o * cig + c) * KH + a * p.dilation_h) * KW + b * p.dilation_w)] =
              w[size_t(((o * cig + c) * p.kernel_h + a) * p.kernel_w + b)];
  std::vector<float> out(size_t(p.batch * p.out_channels * OH * OW));
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t o = 0; o < p.out_channels; ++o) {
      const int64_t g = o / cog;
      for (int64_t y = 0; y < OH; ++y)
        for (int64_t x = 0; x < OW; ++x) {
          double s = 0;
          for (int64_t c = 0; c < cig; ++c)
            for (int64_t a = 0; a < KH; ++a)
              for (int64_t b = 0; b < KW; ++b)
                s += padded[size_t(((n * p.in_channels + g * cig + c) * H + y * p.stride_h + a) * W +
                                   x * p.stride_w + b)] *
                     dense[size_t(((o * cig + c) * KH + a) * KW + b)];
          if (bias) s += (*bias)[size_t(o)];
          float r = float(s);
          r = r < lo ? lo : (r > hi ? hi : r);
          out[size_t(((n * p.out_channels + o) * OH + y) * OW + x)] = r;
        }
    }
  return out;
}

TEST_CASE("general reference agrees with an independent formulation") {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> pick(0, 1000);
  int checked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Conv2dParams p;
    p.batch = 1 + pick(rng) % 3;
    p.groups = 1 + pick(rng) % 3;
    p.in_channels = p.groups * (1 + pick(rng) % 3);
    p.out_channels = p.groups * (1 + pick(rng) % 3);
    p.kernel_h = 1 + pick(rng) % 4;
    p.kernel_w = 1 + pick(rng) % 4;
    p.stride_h = 1 + pick(rng) % 3;
    p.stride_w = 1 + pick(rng) % 3;
    p.pad_h = pick(rng) % 3;
    p.pad_w = pick(rng) % 3;
    p.dilation_h = 1 + pick(rng) % 3;
    p.dilation_w = 1 + pick(rng) % 3;
    p.in_height = 1 + pick(rng) % 9;
    p.in_width = 1 + pick(rng) % 9;
    if (!convgen::Validate(p).ok()) continue;  // window larger than the input
    const bool with_bias = pick(rng) % 2;
    const float lo = pick(rng) % 2 ? -0.5f : -INFINITY, hi = pick(rng) % 2 ? 0.75f : INFINITY;
    auto in = RandomVector(size_t(p.input_elements()), rng);
    auto w = RandomVector(size_t(p.weight_elements()), rng);
    auto b = RandomVector(size_t(p.out_channels), rng);
    std::vector<float> got(size_t(p.output_elements()), NAN);
    convgen::ReferenceConv2d(p, in.data(), w.data(), with_bias ? b.data() : nullptr, lo, hi, 0,
                             got.data());
    auto want = IndependentConv2d(p, in, w, with_bias ? &b : nullptr, lo, hi);
    REQUIRE(got.size() == want.size());
    // Both sum exact double products; the orders differ only in where the
    // bias enters, so agreement is to double rounding, far below 1e-6.
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == Approx(want[i]).margin(1e-6));
    ++checked;
  }
  CHECK(checked > 100);
}

TEST_CASE("reference channel shuffle matches the ShuffleNet definition") {
  // 6 channels, s = 2: [a0 a1 a2 | b0 b1 b2] -> [a0 b0 a1 b1 a2 b2]
  std::vector<float> in = {0, 1, 2, 10, 11, 12}, out(6);
  convgen::ChannelShuffle(1, 6, 1, 2, in.data(), out.data());
  CHECK(out == std::vector<float>{0, 10, 1, 11, 2, 12});
  // Fused shuffle in the reference == convolution then a separate shuffle.
  std::mt19937 rng(7);
  Conv2dParams p;
  p.batch = 2; p.in_channels = 4; p.out_channels = 6; p.in_height = 5; p.in_width = 4;
  p.kernel_h = p.kernel_w = 3; p.pad_h = p.pad_w = 1; p.groups = 2;
  auto x = RandomVector(size_t(p.input_elements()), rng);
  auto w = RandomVector(size_t(p.weight_elements()), rng);
  std::vector<float> plain(size_t(p.output_elements())), fused(plain.size()), shuffled(plain.size());
  convgen::ReferenceConv2d(p, x.data(), w.data(), nullptr, -INFINITY, INFINITY, 0, plain.data());
  convgen::ReferenceConv2d(p, x.data(), w.data(), nullptr, -INFINITY, INFINITY, 3, fused.data());
  convgen::ChannelShuffle(p.batch, p.out_channels, p.out_height() * p.out_width(), 3,
                          plain.data(), shuffled.data());
  CHECK(fused == shuffled);
}
