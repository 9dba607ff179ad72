// convgen internal: the contract between the plan and every kernel.
//
// A kernel computes one *tile* of the output: for one image, a range of groups,
// within each group a range of output channels and a range of output rows,
// every output column. It allocates nothing, creates no threads and checks no
// shapes beyond debug asserts: the plan has validated the problem and asked
// `applies` first. A kernel writes exactly the output elements of its tile
// (bias, clamp and the optional channel shuffle fused) and reads only inside
// the caller's input, the plan's packed weights and bias, and `scratch`.
//
// Per-target code is reached through `resolve(target)`, called once at plan
// creation: dispatch is never per tile. No Highway types appear here.
#ifndef CONVGEN_SRC_KERNEL_H_
#define CONVGEN_SRC_KERNEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "convgen/conv2d.h"

namespace convgen {
namespace internal {

// Fixed for the life of a plan.
struct KernelContext {
  Conv2dParams params;
  int64_t out_h = 0, out_w = 0;     // params.out_height(), out_width()
  const float* packed_weights = nullptr;  // layout chosen by the kernel
  const float* bias = nullptr;            // [out_channels] or null
  float clamp_min = 0, clamp_max = 0;     // always applied (±inf = none)
  int64_t shuffle_groups = 1;             // 1 = no shuffle
};

// Output channel c (absolute) is stored at channel OutputChannel(ctx, c):
// ShuffleNet order = view co as s x co/s, transpose to co/s x s, flatten.
inline int64_t OutputChannel(const KernelContext& ctx, int64_t c) {
  const int64_t s = ctx.shuffle_groups;
  if (s <= 1) return c;
  const int64_t per = ctx.params.out_channels / s;
  return (c % per) * s + c / per;
}

// One unit of work. Channel ranges are relative to the group's first channel.
struct Tile {
  int64_t n = 0;                     // image
  int64_t g_begin = 0, g_end = 1;    // groups [g_begin, g_end)
  int64_t co_begin = 0, co_end = 0;  // output channels within each group
  int64_t oh_begin = 0, oh_end = 0;  // output rows
};

// input: the whole NCHW input; output: the whole NCHW output; scratch:
// `scratch_floats(params)` floats private to this call (64-byte aligned).
using KernelFn = void (*)(const KernelContext& ctx, const Tile& tile,
                          const float* input, float* output, float* scratch);

struct KernelInfo {
  const char* name;    // grammar: docs/kernels.md, e.g. f32_conv2d_k3x3_s1_r4_w2v
  const char* family;  // "direct", "smallmap", "generic", "im2col", "conv1x1",
                       // "gconv1x1", "dwconv", "reference"
  // Specialisation (0 = any / runtime).
  int kh, kw, sh, sw, dh, dw;
  int r;  // output channels per register tile (tile co_begin is a multiple)
  int v;  // vectors of outputs per strip (Δ = v * lanes); 0 = not a strip kernel
  // Tie-break among applicable kernels with equal estimates: lower first.
  int priority;
  // True if applicable; otherwise *why says why not (one short phrase).
  bool (*applies)(const Conv2dParams& p, std::string* why);
  // Weight packing, done once at plan creation, for the plan's Highway
  // target (smallmap packs 32-channel blocks for AVX3, 16 for the others).
  int64_t (*packed_weight_floats)(const Conv2dParams& p, int64_t hwy_target);
  void (*pack_weights)(const Conv2dParams& p, int64_t hwy_target, const float* oihw,
                       float* packed);
  // Per-call scratch need in floats (0 = none).
  int64_t (*scratch_floats)(const Conv2dParams& p);
  // The default heuristic: modelled fraction of peak on `hwy_target` (0..1,
  // e.g. useful lanes x register reuse); the plan takes the applicable kernel
  // with the highest estimate. Null = 0.1 (a fallback).
  double (*estimate)(const Conv2dParams& p, int64_t hwy_target);
  // The function for a Highway target (HWY_AVX3, ...) or null if that target
  // was not compiled for this kernel.
  KernelFn (*resolve)(int64_t hwy_target);
};

// Every registered kernel: generated rows (registry .inc) then hand-written
// families, then the reference. Stable order.
const std::vector<const KernelInfo*>& AllKernels();
const KernelInfo* FindKernel(const std::string& name);

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNEL_H_
