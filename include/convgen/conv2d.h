// convgen: the convolution problem, with PyTorch conv2d semantics.
//
//   input   [batch][in_channels][in_height][in_width]                 (NCHW)
//   weights [out_channels][in_channels/groups][kernel_h][kernel_w]    (OIHW)
//   bias    [out_channels] (optional)
//   output  [batch][out_channels][out_height][out_width]              (NCHW)
//
// Cross-correlation (the kernel is not flipped), symmetric zero padding,
// dilation 1 = dense (PyTorch's convention; benchdnn's 0 is converted by the
// descriptor parser), groups split the channels block-diagonally.
//   out = (in + 2*pad - dilation*(kernel-1) - 1) / stride + 1   (floor)
#ifndef CONVGEN_CONV2D_H_
#define CONVGEN_CONV2D_H_

#include <cstdint>
#include <string>

#include "convgen/status.h"

namespace convgen {

struct Conv2dParams {
  int64_t batch = 1;
  int64_t in_channels = 0;
  int64_t in_height = 0;
  int64_t in_width = 0;
  int64_t out_channels = 0;
  int64_t kernel_h = 0;
  int64_t kernel_w = 0;
  int64_t stride_h = 1;
  int64_t stride_w = 1;
  int64_t pad_h = 0;
  int64_t pad_w = 0;
  int64_t dilation_h = 1;
  int64_t dilation_w = 1;
  int64_t groups = 1;

  // Output size per axis; meaningful only for a problem that Validate()s.
  int64_t out_height() const;
  int64_t out_width() const;
  int64_t in_channels_per_group() const { return in_channels / groups; }
  int64_t out_channels_per_group() const { return out_channels / groups; }

  // Element counts (valid problems only: Validate() proves they fit int64).
  int64_t input_elements() const;
  int64_t weight_elements() const;
  int64_t output_elements() const;

  // 2 * N * co * oh * ow * (ci/groups) * kh * kw: one multiply and one add per
  // kernel tap, the convention of DESIGN.md §7 and of the peers' benchmarks.
  double flops() const;

  bool operator==(const Conv2dParams& o) const;
  bool operator!=(const Conv2dParams& o) const { return !(*this == o); }
};

// Checks every field; the message names the first offending field and value.
Status Validate(const Conv2dParams& params);

// Human-readable one-liner, e.g. "N1 C64x56x56 -> K64 3x3 s1 p1 d1 g1".
std::string DebugString(const Conv2dParams& params);

}  // namespace convgen

#endif  // CONVGEN_CONV2D_H_
