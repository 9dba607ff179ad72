// The scalar reference: the book's loops, double accumulation, no blocking,
// no vectors. Every test compares against ReferenceConv2d.
#include "convgen/reference.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace convgen {
namespace {

[[noreturn]] void ShapeError(const char* fn, const char* what) {
  std::fprintf(stderr, "convgen::%s: %s\n", fn, what);
  std::abort();
}

int64_t Product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

Tensor::Tensor(std::vector<int64_t> shape_, std::vector<float> data_)
    : shape(std::move(shape_)), data(std::move(data_)) {
  if (Product(shape) != static_cast<int64_t>(data.size()))
    ShapeError("Tensor", "data size does not match shape");
}

Tensor Tensor::Zeros(std::vector<int64_t> shape_) {
  const int64_t n = Product(shape_);
  return Tensor(std::move(shape_), std::vector<float>(static_cast<size_t>(n), 0.0f));
}

// Y[i][j] = sum_{a,b} X[i+a][j+b] * K[a][b]
Tensor corr2d(const Tensor& X, const Tensor& K) {
  if (X.shape.size() != 2 || K.shape.size() != 2) ShapeError("corr2d", "X and K must be 2-D");
  const int64_t h = K.shape[0], w = K.shape[1];
  const int64_t oh = X.shape[0] - h + 1, ow = X.shape[1] - w + 1;
  if (oh < 1 || ow < 1) ShapeError("corr2d", "K is larger than X");
  Tensor Y = Tensor::Zeros({oh, ow});
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) {
      double sum = 0;
      for (int64_t a = 0; a < h; ++a)
        for (int64_t b = 0; b < w; ++b)
          sum += double(X.data[(i + a) * X.shape[1] + j + b]) * double(K.data[a * w + b]);
      Y.data[i * ow + j] = static_cast<float>(sum);
    }
  return Y;
}

// sum(corr2d(x, k) for x, k in zip(X, K)), accumulated in double before the
// single rounding to float.
Tensor corr2d_multi_in(const Tensor& X, const Tensor& K) {
  if (X.shape.size() != 3 || K.shape.size() != 3 || X.shape[0] != K.shape[0])
    ShapeError("corr2d_multi_in", "X [ci][h][w] and K [ci][kh][kw] must agree on ci");
  const int64_t ci = X.shape[0], h = X.shape[1], w = X.shape[2];
  const int64_t kh = K.shape[1], kw = K.shape[2];
  const int64_t oh = h - kh + 1, ow = w - kw + 1;
  if (oh < 1 || ow < 1) ShapeError("corr2d_multi_in", "K is larger than X");
  Tensor Y = Tensor::Zeros({oh, ow});
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) {
      double sum = 0;
      for (int64_t c = 0; c < ci; ++c)
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t b = 0; b < kw; ++b)
            sum += double(X.data[(c * h + i + a) * w + j + b]) *
                   double(K.data[(c * kh + a) * kw + b]);
      Y.data[i * ow + j] = static_cast<float>(sum);
    }
  return Y;
}

// torch.stack([corr2d_multi_in(X, k) for k in K], 0)
Tensor corr2d_multi_in_out(const Tensor& X, const Tensor& K) {
  if (K.shape.size() != 4) ShapeError("corr2d_multi_in_out", "K must be [co][ci][kh][kw]");
  const int64_t co = K.shape[0];
  const int64_t per = K.shape[1] * K.shape[2] * K.shape[3];
  std::vector<float> out;
  int64_t oh = 0, ow = 0;
  for (int64_t o = 0; o < co; ++o) {
    Tensor k({K.shape[1], K.shape[2], K.shape[3]},
             std::vector<float>(K.data.begin() + o * per, K.data.begin() + (o + 1) * per));
    Tensor y = corr2d_multi_in(X, k);
    oh = y.shape[0];
    ow = y.shape[1];
    out.insert(out.end(), y.data.begin(), y.data.end());
  }
  return Tensor({co, oh, ow}, std::move(out));
}

// The book's 1x1 form: X reshaped to [ci][h*w], K to [co][ci], Y = K @ X.
Tensor corr2d_multi_in_out_1x1(const Tensor& X, const Tensor& K) {
  if (X.shape.size() != 3) ShapeError("corr2d_multi_in_out_1x1", "X must be [ci][h][w]");
  const int64_t ci = X.shape[0], hw = X.shape[1] * X.shape[2];
  const bool k4 = K.shape.size() == 4 && K.shape[2] == 1 && K.shape[3] == 1;
  if (!(k4 || K.shape.size() == 2) || K.shape[1] != ci)
    ShapeError("corr2d_multi_in_out_1x1", "K must be [co][ci] or [co][ci][1][1]");
  const int64_t co = K.shape[0];
  Tensor Y = Tensor::Zeros({co, X.shape[1], X.shape[2]});
  for (int64_t o = 0; o < co; ++o)     // rows of K
    for (int64_t p = 0; p < hw; ++p) {  // columns of X
      double sum = 0;
      for (int64_t c = 0; c < ci; ++c) sum += double(K.data[o * ci + c]) * double(X.data[c * hw + p]);
      Y.data[o * hw + p] = static_cast<float>(sum);
    }
  return Y;
}

void ChannelShuffle(int64_t batch, int64_t channels, int64_t plane,
                    int64_t shuffle_groups, const float* in, float* out) {
  const int64_t s = shuffle_groups <= 1 ? 1 : shuffle_groups;
  const int64_t per = channels / s;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      // [s][per] -> [per][s]: channel c = (g, j) goes to j * s + g.
      const int64_t dst = (c % per) * s + c / per;
      std::copy(in + (n * channels + c) * plane, in + (n * channels + c + 1) * plane,
                out + (n * channels + dst) * plane);
    }
}

void ReferenceConv2d(const Conv2dParams& p, const float* input, const float* weights,
                     const float* bias, float clamp_min, float clamp_max,
                     int64_t shuffle_groups, float* output) {
  const int64_t oh = p.out_height(), ow = p.out_width();
  const int64_t cig = p.in_channels / p.groups, cog = p.out_channels / p.groups;
  const int64_t s = shuffle_groups <= 1 ? 1 : shuffle_groups;
  const int64_t per = p.out_channels / s;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t g = 0; g < p.groups; ++g)
      for (int64_t oc = 0; oc < cog; ++oc) {
        const int64_t co = g * cog + oc;
        const int64_t dst_c = (co % per) * s + co / per;
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t x = 0; x < ow; ++x) {
            double sum = bias ? double(bias[co]) : 0.0;
            for (int64_t ic = 0; ic < cig; ++ic) {
              const int64_t ci = g * cig + ic;
              for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
                const int64_t iy = y * p.stride_h - p.pad_h + ky * p.dilation_h;
                if (iy < 0 || iy >= p.in_height) continue;  // zero padding
                for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                  const int64_t ix = x * p.stride_w - p.pad_w + kx * p.dilation_w;
                  if (ix < 0 || ix >= p.in_width) continue;
                  sum += double(input[((n * p.in_channels + ci) * p.in_height + iy) * p.in_width + ix]) *
                         double(weights[((co * cig + ic) * p.kernel_h + ky) * p.kernel_w + kx]);
                }
              }
            }
            float r = static_cast<float>(sum);
            r = std::min(std::max(r, clamp_min), clamp_max);
            output[((n * p.out_channels + dst_c) * oh + y) * ow + x] = r;
          }
      }
}

}  // namespace convgen
