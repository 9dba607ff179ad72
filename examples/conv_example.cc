// A tiny application: a 3-channel 64x64 "image", 16 output channels of 3x3
// filters with bias and a fused ReLU, run through a convgen plan; prints the
// kernel chosen and a checksum (and checks it against the scalar reference).
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <convgen/conv2d.h>
#include <convgen/plan.h>
#include <convgen/reference.h>

int main() {
  convgen::Conv2dParams p;
  p.batch = 1;
  p.in_channels = 3;
  p.in_height = p.in_width = 64;
  p.out_channels = 16;
  p.kernel_h = p.kernel_w = 3;
  p.pad_h = p.pad_w = 1;

  std::vector<float> image(size_t(p.input_elements()));
  for (int c = 0; c < 3; ++c)  // smooth colour gradients
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x)
        image[size_t((c * 64 + y) * 64 + x)] = std::sin(0.1f * x * (c + 1)) + 0.01f * y;
  std::vector<float> weights(size_t(p.weight_elements())), bias(16);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = float(int(i * 7 % 11) - 5) / 8.0f;
  for (int i = 0; i < 16; ++i) bias[size_t(i)] = 0.05f * float(i - 8);

  convgen::PlanOptions options;
  options.clamp_min = 0.0f;  // fused ReLU
  std::unique_ptr<convgen::Plan> plan;
  convgen::Status s = convgen::Plan::Create(p, weights.data(), bias.data(), options, &plan);
  if (!s.ok()) {
    std::fprintf(stderr, "plan: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<float> out(size_t(p.output_elements()));
  s = plan->Run(image.data(), out.data());
  if (!s.ok()) {
    std::fprintf(stderr, "run: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<float> ref(out.size());
  convgen::ReferenceConv2d(p, image.data(), weights.data(), bias.data(), 0.0f, INFINITY, 0,
                           ref.data());
  double checksum = 0, max_err = 0, max_ref = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    checksum += out[i];
    max_err = std::fmax(max_err, std::fabs(double(out[i]) - ref[i]));
    max_ref = std::fmax(max_ref, std::fabs(double(ref[i])));
  }
  std::printf("kernel %s on %s: output 1x16x64x64, checksum %.4f, max rel err %.2e\n",
              plan->kernel_name().c_str(), plan->target_name().c_str(), checksum,
              max_err / max_ref);
  return max_err <= 1e-5 * max_ref ? 0 : 1;
}
