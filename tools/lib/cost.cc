// convgen tools: cost model of a convolution layer (conventions in cost.h).
#include "cost.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <utility>

#include "convgen/descriptor.h"

namespace convgen {
namespace tools {
namespace {

constexpr double kFloatBytes = 4;

// Positions along one axis of the padded input that receive a gradient in
// dX: the distinct values of o*stride + k*dilation, o in [0, out), k in
// [0, taps). Tap k reaches the progression k*d + stride*[0, out); taps whose
// k*d share a residue mod stride reach the same lattice, where tap k covers
// the interval [floor(k*d/stride), that + out - 1] in units of stride. Those
// starts grow with k, so the union per residue is a merge of intervals.
double ReachedPositions(int64_t out, int64_t stride, int64_t taps,
                        int64_t dilation) {
  // Closed form of that merge, O(1) (a valid layer may have 2^45 taps): with
  // g = gcd(d, stride), the taps fall into P = stride/g residue classes
  // (k mod P); inside a class consecutive taps start D = d/g lattice units
  // apart, so a class of n taps covers (n-1)*D + out positions when D <= out
  // (the intervals touch or overlap) and n*out otherwise.
  const int64_t g = std::gcd(dilation, stride);
  const int64_t classes = stride / g, step = dilation / g;
  const auto covered = [&](int64_t n) {
    if (n <= 0) return 0.0;
    return step <= out ? static_cast<double>(n - 1) * static_cast<double>(step) +
                             static_cast<double>(out)
                       : static_cast<double>(n) * static_cast<double>(out);
  };
  if (taps <= classes) return static_cast<double>(taps) * static_cast<double>(out);
  const int64_t per_class = taps / classes, longer = taps % classes;
  return static_cast<double>(longer) * covered(per_class + 1) +
         static_cast<double>(classes - longer) * covered(per_class);
}

// 26843545600 -> "26,843,545,600".
std::string Grouped(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.0f", v);
  const std::string digits = buf;
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    out += digits[i];
    const size_t left = n - 1 - i;
    if (left > 0 && left % 3 == 0 && digits[i] != '-') out += ',';
  }
  return out;
}

// 26843545600 -> "26.8e9"; small values as they are.
std::string Short(double v) {
  if (v < 1e4) return Grouped(v);
  const int exponent = 3 * static_cast<int>(std::floor(std::log10(v) / 3));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3ge%d", v / std::pow(10.0, exponent),
                exponent);
  return buf;
}

std::string Integer(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.0f", v);
  return buf;
}

std::string Ratio(double num, double den) {
  char buf[64];
  if (den == 0) return num == 0 ? "1" : "null";
  std::snprintf(buf, sizeof(buf), "%.6g", num / den);
  return buf;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string DescriptorOf(const Conv2dParams& params) {
  LayerDesc desc;
  desc.params = params;
  return FormatDescriptorShort(desc);
}

std::string LayerJson(const LayerCost& c, const LayerCost* base) {
  const OpCount bwd = c.backward();
  std::string j = "{";
  j += "\"descriptor\": " + JsonString(DescriptorOf(c.params));
  j += ", \"output_elements\": " + Integer(c.output_elements);
  j += ", \"taps_per_output\": " + Integer(c.taps_per_output);
  j += ", \"parameters\": " + Integer(c.parameters);
  j += ", \"forward\": {\"multiplications\": " + Integer(c.forward.mults) +
       ", \"additions\": " + Integer(c.forward.adds) +
       ", \"operations\": " + Integer(c.forward.total()) +
       ", \"flops\": " + Integer(c.params.flops()) + "}";
  j += ", \"backward_input\": {\"multiplications\": " +
       Integer(c.backward_input.mults) +
       ", \"additions\": " + Integer(c.backward_input.adds) + "}";
  j += ", \"backward_weights\": {\"multiplications\": " +
       Integer(c.backward_weights.mults) +
       ", \"additions\": " + Integer(c.backward_weights.adds) + "}";
  j += ", \"backward_bias\": {\"additions\": " + Integer(c.backward_bias_adds) +
       "}";
  j += ", \"backward\": {\"multiplications\": " + Integer(bwd.mults) +
       ", \"additions\": " + Integer(bwd.adds) +
       ", \"operations\": " + Integer(bwd.total()) + "}";
  const ForwardMemory& fm = c.forward_memory;
  j += ", \"forward_memory_bytes\": {\"input\": " + Integer(fm.input) +
       ", \"weights\": " + Integer(fm.weights) +
       ", \"bias\": " + Integer(fm.bias) + ", \"output\": " + Integer(fm.output) +
       ", \"total\": " + Integer(fm.total()) + "}";
  const BackwardMemory& bm = c.backward_memory;
  j += ", \"backward_memory_bytes\": {\"input\": " + Integer(bm.input) +
       ", \"weights\": " + Integer(bm.weights) +
       ", \"grad_output\": " + Integer(bm.grad_output) +
       ", \"grad_input\": " + Integer(bm.grad_input) +
       ", \"grad_weights\": " + Integer(bm.grad_weights) +
       ", \"grad_bias\": " + Integer(bm.grad_bias) +
       ", \"total\": " + Integer(bm.total()) + "}";
  if (base) {
    j += ", \"forward_ops_factor\": " +
         Ratio(c.forward.total(), base->forward.total());
    j += ", \"backward_ops_factor\": " +
         Ratio(bwd.total(), base->backward().total());
  }
  return j + "}";
}

}  // namespace

LayerCost ComputeLayerCost(const Conv2dParams& p, bool with_bias) {
  LayerCost c;
  c.params = p;
  c.with_bias = with_bias;
  const double n = static_cast<double>(p.batch);
  const double ci = static_cast<double>(p.in_channels);
  const double co = static_cast<double>(p.out_channels);
  const double oh = static_cast<double>(p.out_height());
  const double ow = static_cast<double>(p.out_width());
  const double inputs = n * ci * static_cast<double>(p.in_height) *
                        static_cast<double>(p.in_width);
  const double taps = static_cast<double>(p.in_channels_per_group()) *
                      static_cast<double>(p.kernel_h) *
                      static_cast<double>(p.kernel_w);
  const double outputs = n * co * oh * ow;
  const double weights = co * taps;
  const double biases = with_bias ? co : 0;
  const double products = outputs * taps;  // one per (output, tap) pair

  c.output_elements = outputs;
  c.taps_per_output = taps;
  c.parameters = weights + biases;

  c.forward.mults = products;
  c.forward.adds = outputs * (taps - 1) + (with_bias ? outputs : 0);

  // dX: every product dY * w lands on one padded-input position; each
  // position reached is one sum.
  const double reached_rows =
      ReachedPositions(p.out_height(), p.stride_h, p.kernel_h, p.dilation_h);
  const double reached_cols =
      ReachedPositions(p.out_width(), p.stride_w, p.kernel_w, p.dilation_w);
  c.backward_input.mults = products;
  c.backward_input.adds = products - n * ci * reached_rows * reached_cols;

  // dW: each weight is one sum over the N*oh*ow outputs it touched.
  c.backward_weights.mults = products;
  c.backward_weights.adds = weights * (n * oh * ow - 1);
  c.backward_bias_adds = with_bias ? co * (n * oh * ow - 1) : 0;

  c.forward_memory.input = inputs * kFloatBytes;
  c.forward_memory.weights = weights * kFloatBytes;
  c.forward_memory.bias = biases * kFloatBytes;
  c.forward_memory.output = outputs * kFloatBytes;

  c.backward_memory.input = inputs * kFloatBytes;
  c.backward_memory.weights = weights * kFloatBytes;
  c.backward_memory.grad_output = outputs * kFloatBytes;
  c.backward_memory.grad_input = inputs * kFloatBytes;
  c.backward_memory.grad_weights = weights * kFloatBytes;
  c.backward_memory.grad_bias = biases * kFloatBytes;
  return c;
}

ConvCost ComputeCost(const Conv2dParams& params, bool with_bias) {
  ConvCost cost;
  cost.layer = ComputeLayerCost(params, with_bias);
  Conv2dParams wider = params;
  wider.in_channels *= 2;
  wider.out_channels *= 2;
  cost.double_channels = ComputeLayerCost(wider, with_bias);
  Conv2dParams padded = params;
  padded.pad_h *= 2;
  padded.pad_w *= 2;
  cost.double_padding = ComputeLayerCost(padded, with_bias);
  return cost;
}

const char* CostDefinitions() {
  return R"(Definitions (float32, all counts nominal):
  N batch, ci/co channels, g groups, kh x kw kernel, oh x ow output;
  Y = N*co*oh*ow outputs, T = (ci/g)*kh*kw taps per output,
  W = co*(ci/g)*kh*kw weights, B = co biases (0 with --no-bias).
  Every tap of every output counts, taps on the zero padding included;
  a sum of m terms costs m-1 additions.
  forward   multiplications Y*T; additions Y*(T-1), plus Y to add the bias
            (flops = 2*Y*T, the benchmark convention)
  dX        multiplications Y*T; additions Y*T - N*ci*Rh*Rw, where Rh x Rw
            padded-input positions receive at least one term (ih+2ph rows
            for a dense stride-1 kernel); padding gradients are then dropped
  dW        multiplications Y*T; additions W*(N*oh*ow - 1)
  db        additions co*(N*oh*ow - 1)
  parameters                  W + B
  forward memory (bytes)      4 * (input + W + B + output)
  backward memory (bytes)     4 * (input and W kept from the forward pass,
                              dY, dX, dW, db); the output is not needed
  What if: the same figures with ci and co doubled (groups unchanged), and
  with the padding doubled (unchanged when it is 0), with factors against
  the layer.)";
}

std::string FormatCostText(const ConvCost& cost, const std::string& title) {
  const LayerCost* cols[3] = {&cost.layer, &cost.double_channels,
                              &cost.double_padding};
  std::string out;
  out += "layer       " + title + "  (" + DebugString(cost.layer.params) +
         (cost.layer.with_bias ? ", with bias" : ", no bias") + ")\n";
  out += "ci,co x2    " + DescriptorOf(cost.double_channels.params) + "\n";
  out += "padding x2  " + DescriptorOf(cost.double_padding.params) + "\n\n";

  char line[256];
  auto header = [&](const char* section) {
    std::snprintf(line, sizeof(line), "%-26s %22s %30s %30s\n", section,
                  "layer", "ci,co x2", "padding x2");
    out += line;
  };
  // One row: the layer's value, then each variant's value and factor.
  auto row = [&](const char* name, double (*get)(const LayerCost&)) {
    const double base = get(*cols[0]);
    std::string cells[3];
    for (int i = 0; i < 3; ++i) {
      cells[i] = Grouped(get(*cols[i]));
      if (i > 0) cells[i] += " (x" + Ratio(get(*cols[i]), base) + ")";
    }
    std::snprintf(line, sizeof(line), "  %-24s %22s %30s %30s\n", name,
                  cells[0].c_str(), cells[1].c_str(), cells[2].c_str());
    out += line;
  };
  header("forward");
  row("multiplications", [](const LayerCost& c) { return c.forward.mults; });
  row("additions", [](const LayerCost& c) { return c.forward.adds; });
  row("operations", [](const LayerCost& c) { return c.forward.total(); });
  header("backward");
  row("dX multiplications",
      [](const LayerCost& c) { return c.backward_input.mults; });
  row("dX additions", [](const LayerCost& c) { return c.backward_input.adds; });
  row("dW multiplications",
      [](const LayerCost& c) { return c.backward_weights.mults; });
  row("dW additions",
      [](const LayerCost& c) { return c.backward_weights.adds; });
  row("db additions", [](const LayerCost& c) { return c.backward_bias_adds; });
  row("operations", [](const LayerCost& c) { return c.backward().total(); });
  header("parameters");
  row("weights + bias", [](const LayerCost& c) { return c.parameters; });
  header("forward memory (bytes)");
  row("input", [](const LayerCost& c) { return c.forward_memory.input; });
  row("weights", [](const LayerCost& c) { return c.forward_memory.weights; });
  row("bias", [](const LayerCost& c) { return c.forward_memory.bias; });
  row("output", [](const LayerCost& c) { return c.forward_memory.output; });
  row("total", [](const LayerCost& c) { return c.forward_memory.total(); });
  header("backward memory (bytes)");
  row("input (kept)",
      [](const LayerCost& c) { return c.backward_memory.input; });
  row("weights (kept)",
      [](const LayerCost& c) { return c.backward_memory.weights; });
  row("dY", [](const LayerCost& c) { return c.backward_memory.grad_output; });
  row("dX", [](const LayerCost& c) { return c.backward_memory.grad_input; });
  row("dW", [](const LayerCost& c) { return c.backward_memory.grad_weights; });
  row("db", [](const LayerCost& c) { return c.backward_memory.grad_bias; });
  row("total", [](const LayerCost& c) { return c.backward_memory.total(); });

  const LayerCost& l = cost.layer;
  out += "\nforward: " + Short(l.forward.mults) + " multiplications + " +
         Short(l.forward.adds) + " additions = " + Short(l.forward.total()) +
         " operations; backward: " + Short(l.backward().total()) +
         " operations\n";
  out += "(counts are nominal, padding taps included; see `convgen cost "
         "--help`)\n";
  return out;
}

std::string FormatCostJson(const ConvCost& cost, const std::string& title) {
  std::string j = "{";
  j += "\"title\": " + JsonString(title);
  j += ", \"with_bias\": ";
  j += cost.layer.with_bias ? "true" : "false";
  j += ", \"layer\": " + LayerJson(cost.layer, nullptr);
  j += ", \"double_channels\": " + LayerJson(cost.double_channels, &cost.layer);
  j += ", \"double_padding\": " + LayerJson(cost.double_padding, &cost.layer);
  return j + "}\n";
}

}  // namespace tools
}  // namespace convgen
