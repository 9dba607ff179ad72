#include "convgen/conv2d.h"

#include <string>

#include "checked_math.h"

namespace convgen {
namespace {

using internal::CheckedAdd;
using internal::CheckedProduct;
using internal::kMaxTensorBytes;

std::string Field(const char* name, int64_t value) {
  return std::string(name) + "=" + std::to_string(value);
}

// Output size along one axis, or -1 if it overflows / is empty.
int64_t OutSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                int64_t dilation) {
  int64_t padded, window;
  if (!CheckedProduct({2, pad}, &padded) || !CheckedAdd(in, padded, &padded)) return -1;
  if (!CheckedProduct({dilation, kernel - 1}, &window) ||
      !CheckedAdd(window, 1, &window))
    return -1;
  if (window > padded) return -1;
  return (padded - window) / stride + 1;
}

Status CheckPositive(const char* name, int64_t v) {
  if (v < 1) return InvalidArgument(Field(name, v) + " must be >= 1");
  return Status::Ok();
}

// One spatial axis: kernel window must fit in the padded input.
Status CheckAxis(const char* in_name, int64_t in, const char* k_name,
                 int64_t kernel, const char* pad_name, int64_t pad,
                 const char* d_name, int64_t dilation) {
  int64_t padded, window;
  if (!CheckedProduct({2, pad}, &padded) || !CheckedAdd(in, padded, &padded))
    return OutOfRange(Field(pad_name, pad) + " overflows the padded size");
  if (!CheckedProduct({dilation, kernel - 1}, &window) ||
      !CheckedAdd(window, 1, &window))
    return OutOfRange(Field(k_name, kernel) + " with " + Field(d_name, dilation) +
                      " overflows the window size");
  if (window > padded)
    return InvalidArgument("kernel window " + std::to_string(window) + " (" +
                           Field(k_name, kernel) + ", " + Field(d_name, dilation) +
                           ") is larger than the padded input " +
                           std::to_string(padded) + " (" + Field(in_name, in) +
                           ", " + Field(pad_name, pad) + "): empty output");
  return Status::Ok();
}

Status CheckTensorSize(const char* what, std::initializer_list<int64_t> dims) {
  int64_t elements, bytes;
  if (!CheckedProduct(dims, &elements) ||
      !CheckedProduct({elements, int64_t{sizeof(float)}}, &bytes))
    return OutOfRange(std::string(what) + " element count overflows int64");
  if (bytes > kMaxTensorBytes)
    return OutOfRange(std::string(what) + " needs " + std::to_string(bytes) +
                      " bytes, more than the 2^47-byte address space");
  return Status::Ok();
}

}  // namespace

int64_t Conv2dParams::out_height() const {
  return OutSize(in_height, kernel_h, stride_h, pad_h, dilation_h);
}
int64_t Conv2dParams::out_width() const {
  return OutSize(in_width, kernel_w, stride_w, pad_w, dilation_w);
}
int64_t Conv2dParams::input_elements() const {
  return batch * in_channels * in_height * in_width;
}
int64_t Conv2dParams::weight_elements() const {
  return out_channels * in_channels_per_group() * kernel_h * kernel_w;
}
int64_t Conv2dParams::output_elements() const {
  return batch * out_channels * out_height() * out_width();
}
double Conv2dParams::flops() const {
  return 2.0 * static_cast<double>(batch) * static_cast<double>(out_channels) *
         static_cast<double>(out_height()) * static_cast<double>(out_width()) *
         static_cast<double>(in_channels_per_group()) *
         static_cast<double>(kernel_h) * static_cast<double>(kernel_w);
}

bool Conv2dParams::operator==(const Conv2dParams& o) const {
  return batch == o.batch && in_channels == o.in_channels &&
         in_height == o.in_height && in_width == o.in_width &&
         out_channels == o.out_channels && kernel_h == o.kernel_h &&
         kernel_w == o.kernel_w && stride_h == o.stride_h &&
         stride_w == o.stride_w && pad_h == o.pad_h && pad_w == o.pad_w &&
         dilation_h == o.dilation_h && dilation_w == o.dilation_w &&
         groups == o.groups;
}

Status Validate(const Conv2dParams& p) {
  CONVGEN_RETURN_IF_ERROR(CheckPositive("batch", p.batch));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("in_channels", p.in_channels));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("in_height", p.in_height));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("in_width", p.in_width));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("out_channels", p.out_channels));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("kernel_h", p.kernel_h));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("kernel_w", p.kernel_w));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("stride_h", p.stride_h));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("stride_w", p.stride_w));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("dilation_h", p.dilation_h));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("dilation_w", p.dilation_w));
  CONVGEN_RETURN_IF_ERROR(CheckPositive("groups", p.groups));
  if (p.pad_h < 0) return InvalidArgument(Field("pad_h", p.pad_h) + " must be >= 0");
  if (p.pad_w < 0) return InvalidArgument(Field("pad_w", p.pad_w) + " must be >= 0");
  if (p.in_channels % p.groups != 0)
    return InvalidArgument(Field("groups", p.groups) + " does not divide " +
                           Field("in_channels", p.in_channels));
  if (p.out_channels % p.groups != 0)
    return InvalidArgument(Field("groups", p.groups) + " does not divide " +
                           Field("out_channels", p.out_channels));
  CONVGEN_RETURN_IF_ERROR(CheckAxis("in_height", p.in_height, "kernel_h", p.kernel_h,
                                    "pad_h", p.pad_h, "dilation_h", p.dilation_h));
  CONVGEN_RETURN_IF_ERROR(CheckAxis("in_width", p.in_width, "kernel_w", p.kernel_w,
                                    "pad_w", p.pad_w, "dilation_w", p.dilation_w));
  const int64_t oh = p.out_height(), ow = p.out_width();
  if (oh < 1 || ow < 1)
    return InvalidArgument("empty output: out_height=" + std::to_string(oh) +
                           ", out_width=" + std::to_string(ow));
  CONVGEN_RETURN_IF_ERROR(CheckTensorSize(
      "input", {p.batch, p.in_channels, p.in_height, p.in_width}));
  CONVGEN_RETURN_IF_ERROR(CheckTensorSize(
      "weights", {p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w}));
  CONVGEN_RETURN_IF_ERROR(CheckTensorSize("output", {p.batch, p.out_channels, oh, ow}));
  // Kernels index within one image with int64 but compute tap offsets such as
  // (oh*stride + kh*dilation) * in_width; keep those within int64 too.
  CONVGEN_RETURN_IF_ERROR(CheckTensorSize(
      "padded input plane", {p.in_height + 2 * p.pad_h, p.in_width + 2 * p.pad_w,
                             p.in_channels}));
  return Status::Ok();
}

std::string DebugString(const Conv2dParams& p) {
  return "N" + std::to_string(p.batch) + " C" + std::to_string(p.in_channels) +
         "x" + std::to_string(p.in_height) + "x" + std::to_string(p.in_width) +
         " -> K" + std::to_string(p.out_channels) + " " +
         std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " s" +
         std::to_string(p.stride_h) + "x" + std::to_string(p.stride_w) + " p" +
         std::to_string(p.pad_h) + "x" + std::to_string(p.pad_w) + " d" +
         std::to_string(p.dilation_h) + "x" + std::to_string(p.dilation_w) + " g" +
         std::to_string(p.groups);
}

}  // namespace convgen
