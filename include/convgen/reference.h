// convgen: the scalar reference — the book's loops, plain C++, double
// accumulation. The oracle of every test; deliberately not optimised.
//
// D2L "Multiple Input and Multiple Output Channels" functions, on CHW tensors:
//   corr2d(X[h][w], K[kh][kw])                       -> Y[h-kh+1][w-kw+1]
//   corr2d_multi_in(X[ci][h][w], K[ci][kh][kw])      -> Y[oh][ow] (sum over ci)
//   corr2d_multi_in_out(X[ci][h][w], K[co][ci][kh][kw]) -> Y[co][oh][ow]
//   corr2d_multi_in_out_1x1(X[ci][h][w], K[co][ci][1][1] or K[co][ci])
//                                                    -> Y[co][h][w] as the matrix
//                                                       product K · X[ci][h*w]
#ifndef CONVGEN_REFERENCE_H_
#define CONVGEN_REFERENCE_H_

#include <cstdint>
#include <vector>

#include "convgen/conv2d.h"

namespace convgen {

// A dense row-major float tensor, for the book's functions.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  Tensor() = default;
  Tensor(std::vector<int64_t> shape_, std::vector<float> data_);
  static Tensor Zeros(std::vector<int64_t> shape_);
  int64_t size() const { return static_cast<int64_t>(data.size()); }
};

// The book's functions. Shapes are checked with assert-like aborts: these are
// teaching/oracle functions; the Plan API is the validated entry point.
Tensor corr2d(const Tensor& X, const Tensor& K);
Tensor corr2d_multi_in(const Tensor& X, const Tensor& K);
Tensor corr2d_multi_in_out(const Tensor& X, const Tensor& K);
Tensor corr2d_multi_in_out_1x1(const Tensor& X, const Tensor& K);

// ShuffleNet channel shuffle of an NCHW tensor with `channels` channels of
// `plane` elements each: view as s x channels/s, transpose, flatten.
void ChannelShuffle(int64_t batch, int64_t channels, int64_t plane,
                    int64_t shuffle_groups, const float* in, float* out);

// The general reference convolution (PyTorch conv2d, NCHW/OIHW): batch,
// stride, zero padding, dilation, groups, optional bias (may be null), clamp
// to [clamp_min, clamp_max] and an optional channel shuffle (0/1 = none).
// Accumulates in double, rounds once to float. `params` must Validate().
void ReferenceConv2d(const Conv2dParams& params, const float* input,
                     const float* weights, const float* bias, float clamp_min,
                     float clamp_max, int64_t shuffle_groups, float* output);

}  // namespace convgen

#endif  // CONVGEN_REFERENCE_H_
