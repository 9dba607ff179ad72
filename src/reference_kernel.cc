// The reference as a registry row ("reference"): the last candidate, so that
// no problem is ever refused, and a kernel tests and benchmarks can force.
// Plain scalar loops with double accumulation over one tile; the weights are
// kept in OIHW order. Same code for every target.
#include <algorithm>

#include "kernel.h"
#include "targets.h"

namespace convgen {
namespace internal {
namespace {

bool AppliesAlways(const Conv2dParams&, std::string*) { return true; }
int64_t OihwFloats(const Conv2dParams& p, int64_t) { return p.weight_elements(); }
void PackOihw(const Conv2dParams& p, int64_t, const float* w, float* packed) {
  std::copy(w, w + p.weight_elements(), packed);
}
int64_t NoScratch(const Conv2dParams&) { return 0; }
double EstimateReference(const Conv2dParams&, int64_t) { return 0.0; }

void ReferenceTile(const KernelContext& ctx, const Tile& t, const float* input,
                   float* output, float*) {
  const Conv2dParams& p = ctx.params;
  const int64_t cig = p.in_channels_per_group(), cog = p.out_channels_per_group();
  for (int64_t g = t.g_begin; g < t.g_end; ++g)
    for (int64_t oc = t.co_begin; oc < t.co_end; ++oc) {
      const int64_t co = g * cog + oc;
      float* out_plane =
          output + (t.n * p.out_channels + OutputChannel(ctx, co)) * ctx.out_h * ctx.out_w;
      const float* w = ctx.packed_weights + co * cig * p.kernel_h * p.kernel_w;
      for (int64_t y = t.oh_begin; y < t.oh_end; ++y)
        for (int64_t x = 0; x < ctx.out_w; ++x) {
          double sum = ctx.bias ? double(ctx.bias[co]) : 0.0;
          for (int64_t ic = 0; ic < cig; ++ic) {
            const float* in_plane =
                input + (t.n * p.in_channels + g * cig + ic) * p.in_height * p.in_width;
            for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
              const int64_t iy = y * p.stride_h - p.pad_h + ky * p.dilation_h;
              if (iy < 0 || iy >= p.in_height) continue;
              for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                const int64_t ix = x * p.stride_w - p.pad_w + kx * p.dilation_w;
                if (ix < 0 || ix >= p.in_width) continue;
                sum += double(in_plane[iy * p.in_width + ix]) *
                       double(w[(ic * p.kernel_h + ky) * p.kernel_w + kx]);
              }
            }
          }
          const float r = static_cast<float>(sum);
          out_plane[y * ctx.out_w + x] = std::min(std::max(r, ctx.clamp_min), ctx.clamp_max);
        }
    }
}

KernelFn ResolveReference(int64_t) { return &ReferenceTile; }

}  // namespace

extern const KernelInfo kReferenceKernel;
const KernelInfo kReferenceKernel = {
    "reference", "reference", 0, 0, 0, 0, 0, 0, 1, 0, 1000,
    &AppliesAlways, &OihwFloats, &PackOihw, &NoScratch, &EstimateReference,
    &ResolveReference,
};

}  // namespace internal
}  // namespace convgen
