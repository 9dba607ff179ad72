// convgen bench peers: XNNPACK, Debian's 2022-02 snapshot (ae108ef), through
// its operator API (xnnpack.h). XNNPACK convolves NHWC only:
//   input   [n][ih][iw][ic]                  (NCHW transposed, not timed)
//   weights [g][oc/g][kh][kw][ic/g]          (OIHW repacked, not timed;
//                                             XNNPACK packs them again into
//                                             its micro-kernel layout at
//                                             operator creation)
//   output  [n][oh][ow][oc]                  (back to NCHW after timing)
// The operator is created once per RunPeer; the timed function is
// xnn_setup_convolution2d_nhwc_f32 + xnn_run_operator, the pair an
// application calls per inference (setup is cheap when the shape and
// pointers repeat: the indirection buffer is kept).
//
// Flags = 0: with XNN_FLAG_DEPTHWISE_CONVOLUTION the weights would have to be
// [kh][kw][oc]; without it XNNPACK still detects 1 input and 1 output channel
// per group and runs its depthwise micro-kernels on the [g][1][kh][kw][1]
// layout, which is then OIHW itself.
//
// Threads: a pthreadpool of `threads` workers, none for 1 (XNNPACK then runs
// on the calling thread); <= 0 = pthreadpool's default, one per CPU.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "peers_internal.h"

namespace convgen {
namespace peers {
namespace {

const char* XnnStatusName(xnn_status s) {
  switch (s) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
  }
  return "unknown status";
}

// xnn_initialize once per process (it is reference counted and idempotent,
// but it also probes the CPU); never deinitialised: operators may be
// created until exit.
xnn_status InitializeOnce() {
  static const xnn_status status = xnn_initialize(/*allocator=*/nullptr);
  return status;
}

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using Operator = std::unique_ptr<xnn_operator, OperatorDeleter>;

struct PoolDeleter {
  void operator()(pthreadpool_t pool) const { pthreadpool_destroy(pool); }
};
using Pool = std::unique_ptr<pthreadpool, PoolDeleter>;

PeerResult Failed(const std::string& why) {
  PeerResult r;
  r.peer = "xnnpack";
  r.available = false;
  r.why_not = why;
  return r;
}

// OIHW [oc][ic/g][kh][kw] -> [oc][kh][kw][ic/g] (g-major over oc already).
std::vector<float> RepackWeights(const Conv2dParams& p, const float* oihw) {
  const int64_t oc = p.out_channels, icg = p.in_channels_per_group();
  const int64_t taps = p.kernel_h * p.kernel_w;
  std::vector<float> ohwi(static_cast<size_t>(p.weight_elements()));
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t c = 0; c < icg; ++c)
      for (int64_t t = 0; t < taps; ++t)
        ohwi[(o * taps + t) * icg + c] = oihw[(o * icg + c) * taps + t];
  return ohwi;
}

}  // namespace

PeerResult RunXnnpack(const PeerProblem& pb, const tools::TimingSpec& spec) {
  const xnn_status init = InitializeOnce();
  if (init != xnn_status_success)
    return Failed(std::string("xnn_initialize: ") + XnnStatusName(init));

  const Conv2dParams& p = pb.params;
  const int64_t oh = p.out_height(), ow = p.out_width();
  const std::vector<float> weights = RepackWeights(p, pb.weights);
  xnn_operator_t raw_op = nullptr;
  const xnn_status created = xnn_create_convolution2d_nhwc_f32(
      static_cast<uint32_t>(p.pad_h), static_cast<uint32_t>(p.pad_w),
      static_cast<uint32_t>(p.pad_h), static_cast<uint32_t>(p.pad_w),
      static_cast<uint32_t>(p.kernel_h), static_cast<uint32_t>(p.kernel_w),
      static_cast<uint32_t>(p.stride_h), static_cast<uint32_t>(p.stride_w),
      static_cast<uint32_t>(p.dilation_h), static_cast<uint32_t>(p.dilation_w),
      static_cast<uint32_t>(p.groups),
      /*group_input_channels=*/static_cast<size_t>(p.in_channels_per_group()),
      /*group_output_channels=*/static_cast<size_t>(p.out_channels_per_group()),
      /*input_channel_stride=*/static_cast<size_t>(p.in_channels),
      /*output_channel_stride=*/static_cast<size_t>(p.out_channels), weights.data(),
      pb.bias, pb.clamp_min, pb.clamp_max, /*flags=*/0, &raw_op);
  if (created != xnn_status_success)
    return Failed(std::string("cannot create operator: ") + XnnStatusName(created));
  const Operator op(raw_op);

  Pool pool(pb.threads == 1 ? nullptr
                            : pthreadpool_create(pb.threads > 0
                                                     ? static_cast<size_t>(pb.threads)
                                                     : 0));

  std::vector<float> input_nhwc(static_cast<size_t>(p.input_elements()));
  NchwToNhwc(p.batch, p.in_channels, p.in_height * p.in_width, pb.input,
             input_nhwc.data());
  std::vector<float> output_nhwc(static_cast<size_t>(p.output_elements()));

  // One untimed setup + run checks the shape before timing: a failure here
  // is reported, not timed.
  xnn_status status = xnn_setup_convolution2d_nhwc_f32(
      op.get(), static_cast<size_t>(p.batch), static_cast<size_t>(p.in_height),
      static_cast<size_t>(p.in_width), input_nhwc.data(), output_nhwc.data(),
      pool.get());
  if (status == xnn_status_success) status = xnn_run_operator(op.get(), pool.get());
  if (status != xnn_status_success)
    return Failed(std::string("cannot run operator: ") + XnnStatusName(status));

  PeerResult r;
  r.peer = "xnnpack";
  // XNNPACK names neither its micro-kernel nor its ISA through the API.
  r.impl = p.groups > 1 && p.in_channels_per_group() == 1 &&
                   p.out_channels_per_group() == 1
               ? "convolution2d_nhwc_f32 (depthwise)"
               : "convolution2d_nhwc_f32";
  r.timing = tools::TimeCalls(
      [&] {
        xnn_setup_convolution2d_nhwc_f32(
            op.get(), static_cast<size_t>(p.batch), static_cast<size_t>(p.in_height),
            static_cast<size_t>(p.in_width), input_nhwc.data(), output_nhwc.data(),
            pool.get());
        xnn_run_operator(op.get(), pool.get());
      },
      spec);
  r.output.resize(output_nhwc.size());
  NhwcToNchw(p.batch, p.out_channels, oh * ow, output_nhwc.data(), r.output.data());
  r.available = true;
  return r;
}

}  // namespace peers
}  // namespace convgen
