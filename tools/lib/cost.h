// convgen tools: the cost model of one convolution layer — D2L "Multiple Input
// and Multiple Output Channels", exercises 2 and 3, as a tool: operations and
// memory of the forward and backward passes, and how they change when the
// channels or the padding are doubled.
//
// Conventions (CostDefinitions() holds the same text for `convgen cost --help`).
// Notation: N batch, ci/co channels, g groups, kh x kw kernel, oh x ow output,
//   Y = N*co*oh*ow          output elements,
//   T = (ci/g)*kh*kw        kernel taps per output element,
//   W = co*(ci/g)*kh*kw     weights, B = co if there is a bias else 0.
// Counts are nominal: every tap of every output counts, taps that fall on the
// zero padding included (what a direct loop computes; the book's and the
// FLOP convention, DESIGN.md §7). A sum of m terms costs m-1 additions.
//   forward     mults = Y*T     adds = Y*(T-1), plus Y with a bias (one per output)
//   dX          mults = Y*T     adds = Y*T - N*ci*Rh*Rw
//               (dY scattered through the kernel into the padded input; Rh,
//                Rw = padded input rows/cols reached by at least one tap, e.g.
//                ih+2ph for a dense stride-1 kernel; padding gradients are
//                then dropped)
//   dW          mults = Y*T     adds = W*(N*oh*ow - 1)
//   db          adds = co*(N*oh*ow - 1) when there is a bias
// Memory in bytes of float32:
//   forward     input + weights + bias + output
//   backward    kept from the forward pass: input (for dW) and weights (for
//               dX); gradients dY (incoming), dX, dW, db. The output itself is
//               not needed by the convolution's backward pass.
// Figures are doubles: exact integers up to 2^53 (about 9e15), rounded above.
#ifndef CONVGEN_TOOLS_COST_H_
#define CONVGEN_TOOLS_COST_H_

#include <string>

#include "convgen/conv2d.h"

namespace convgen {
namespace tools {

struct OpCount {
  double mults = 0;
  double adds = 0;
  double total() const { return mults + adds; }
};

struct ForwardMemory {  // bytes
  double input = 0, weights = 0, bias = 0, output = 0;
  double total() const { return input + weights + bias + output; }
};

struct BackwardMemory {  // bytes
  double input = 0, weights = 0;  // kept from the forward pass
  double grad_output = 0, grad_input = 0, grad_weights = 0, grad_bias = 0;
  double total() const {
    return input + weights + grad_output + grad_input + grad_weights +
           grad_bias;
  }
};

// The figures of one layer.
struct LayerCost {
  Conv2dParams params;
  bool with_bias = false;
  double output_elements = 0;  // Y
  double taps_per_output = 0;  // T
  double parameters = 0;       // W + B
  OpCount forward;
  OpCount backward_input;    // dX
  OpCount backward_weights;  // dW
  double backward_bias_adds = 0;  // db
  ForwardMemory forward_memory;
  BackwardMemory backward_memory;

  OpCount backward() const {
    return {backward_input.mults + backward_weights.mults,
            backward_input.adds + backward_weights.adds + backward_bias_adds};
  }
};

// The layer and the book's two "what if" variants (exercise 3).
struct ConvCost {
  LayerCost layer;
  LayerCost double_channels;  // ci and co doubled, groups unchanged
  LayerCost double_padding;   // ph and pw doubled (no change when they are 0)
};

// `params` must Validate().
LayerCost ComputeLayerCost(const Conv2dParams& params, bool with_bias);
ConvCost ComputeCost(const Conv2dParams& params, bool with_bias);

// The conventions above, as plain text for help output.
const char* CostDefinitions();

// Human-readable table: one row per figure, columns layer / ci,co x2 /
// padding x2 with the factor against the layer. `title` heads the report
// (e.g. the descriptor as typed).
std::string FormatCostText(const ConvCost& cost, const std::string& title);

// One JSON object: {"title", "with_bias", "layer": {...},
// "double_channels": {...}, "double_padding": {...}}, each layer object with
// "descriptor", "forward": {"multiplications", "additions", "operations",
// "flops"}, "backward_input", "backward_weights", "backward_bias",
// "backward", "parameters", "forward_memory_bytes", "backward_memory_bytes";
// the variants also carry "forward_ops_factor" and "backward_ops_factor".
std::string FormatCostJson(const ConvCost& cost, const std::string& title);

}  // namespace tools
}  // namespace convgen

#endif  // CONVGEN_TOOLS_COST_H_
