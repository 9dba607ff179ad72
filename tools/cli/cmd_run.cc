// `convgen run DESC --input X.npy --weights W.npy [--bias B.npy] --output Y.npy
//  [--clamp MIN,MAX] [--kernel NAME] [--target NAME] [--threads N]
//  [--shuffle S]`: one convolution through the public Plan API, on .npy
// tensors, so a layer can be checked against PyTorch or numpy by hand.
//
// Every check happens before the output is written, and the output is written
// atomically (npy.h): an error leaves no output file and no temporary file.
#include <hwy/aligned_allocator.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "npy.h"

namespace convgen {
namespace cli {
namespace {

struct RunArgs {
  std::string descriptor;
  std::string input, weights, bias, output;
  std::string clamp;
  std::string kernel, target;
  int threads = 0;
  int64_t shuffle = 0;
};

// main() prints the message as one line: fold any newline a Status carries.
[[noreturn]] void Fail(std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  throw CliError(message);
}

// One bound of --clamp: empty = unbounded (`fallback`), else a float or
// inf/-inf/+inf (strtof also takes "infinity"). NaN would make the clamp
// meaningless and is refused, as is a finite value beyond float's range.
float ParseClampBound(const std::string& text, const std::string& whole,
                      const char* which, float fallback) {
  if (text.empty()) return fallback;
  errno = 0;
  char* end = nullptr;
  const float v = std::strtof(text.c_str(), &end);
  const bool consumed = end != text.c_str() && *end == '\0' &&
                        !std::isspace(static_cast<unsigned char>(text[0]));
  if (!consumed || std::isnan(v)) {
    Fail("--clamp '" + whole + "': " + which + " '" + text +
         "' is not a number (expected MIN,MAX, e.g. 0,6 or 0, or ,inf)");
  }
  if (errno == ERANGE && std::isinf(v)) {
    Fail("--clamp '" + whole + "': " + which + " '" + text +
         "' is out of float range");
  }
  return v;
}

void ParseClamp(const std::string& text, PlanOptions* options) {
  const size_t comma = text.find(',');
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) {
    Fail("--clamp '" + text +
         "': expected MIN,MAX with exactly one comma (either may be empty)");
  }
  options->clamp_min = ParseClampBound(text.substr(0, comma), text, "MIN",
                                       -INFINITY);
  options->clamp_max = ParseClampBound(text.substr(comma + 1), text, "MAX",
                                       INFINITY);
  if (options->clamp_min > options->clamp_max) {
    Fail("--clamp '" + text + "': MIN is greater than MAX");
  }
}

// Reads `path` and checks its shape against the descriptor's.
tools::NpyArray LoadTensor(const char* option, const std::string& path,
                           const std::vector<int64_t>& expected,
                           const char* layout) {
  tools::NpyArray array;
  const Status s = tools::ReadNpy(path, &array);
  if (!s.ok()) Fail(std::string(option) + ": " + s.message());
  if (array.shape != expected) {
    Fail(std::string(option) + " '" + path + "': shape " +
         tools::ShapeToString(array.shape) + " does not match the descriptor: expected " +
         tools::ShapeToString(expected) + " (" + layout + ")");
  }
  return array;
}

void Run(const RunArgs& args) {
  LayerDesc desc;
  const Status parsed = ParseDescriptor(args.descriptor, &desc);
  if (!parsed.ok()) {
    Fail("descriptor '" + args.descriptor + "': " + parsed.message());
  }
  const Conv2dParams& p = desc.params;

  PlanOptions options;
  options.kernel = args.kernel;
  options.target = args.target;
  if (!args.clamp.empty()) ParseClamp(args.clamp, &options);
  if (args.threads < 0) {
    Fail("--threads " + std::to_string(args.threads) + ": must be >= 0 (0 = one per CPU)");
  }
  options.threads = args.threads;
  if (args.shuffle < 0) {
    Fail("--shuffle " + std::to_string(args.shuffle) + ": must be >= 0");
  }
  options.shuffle_groups = args.shuffle;

  const tools::NpyArray input =
      LoadTensor("--input", args.input,
                 {p.batch, p.in_channels, p.in_height, p.in_width}, "mb x ic x ih x iw");
  const tools::NpyArray weights = LoadTensor(
      "--weights", args.weights,
      {p.out_channels, p.in_channels_per_group(), p.kernel_h, p.kernel_w},
      "oc x ic/g x kh x kw");
  tools::NpyArray bias;
  if (!args.bias.empty()) {
    bias = LoadTensor("--bias", args.bias, {p.out_channels}, "oc");
  }

  std::unique_ptr<Plan> plan;
  Status s = Plan::Create(p, weights.data.data(),
                          args.bias.empty() ? nullptr : bias.data.data(), options,
                          &plan);
  if (!s.ok()) Fail(s.ToString());
  // Allocated without throwing (malloc-backed, null on failure): an output a
  // valid descriptor declares can still be too large for this machine
  // (mb1ic1ih1iw1oc1kh1ph2097152: 64 TiB), which is a one-line error, and
  // sanitizer builds abort on a failing operator new instead of throwing.
  const int64_t out_elements = p.output_elements();
  hwy::AlignedFreeUniquePtr<float[]> output =
      hwy::AllocateAligned<float>(static_cast<size_t>(out_elements));
  if (!output)
    Fail("cannot allocate " + std::to_string(out_elements * int64_t{sizeof(float)}) +
         " bytes for the output");
  s = plan->Run(input.data.data(), output.get());
  if (!s.ok()) Fail(s.ToString());

  const std::vector<int64_t> out_shape = {p.batch, p.out_channels, p.out_height(),
                                          p.out_width()};
  s = tools::WriteNpyAtomic(args.output, out_shape, output.get());
  if (!s.ok()) Fail("--output: " + s.message());
  std::printf("wrote %s %s (kernel %s, target %s)\n", args.output.c_str(),
              tools::ShapeToString(out_shape).c_str(), plan->kernel_name().c_str(),
              plan->target_name().c_str());
}

}  // namespace

void RegisterRun(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run one convolution on .npy float32 tensors (NCHW, OIHW weights)");
  cmd->add_option("descriptor", args->descriptor,
                  "benchdnn descriptor, e.g. mb1ic2ih3oc1oh2kh2 (mb defaults to 2)")
      ->required();
  cmd->add_option("--input", args->input, "input .npy, shape mb x ic x ih x iw")
      ->required();
  cmd->add_option("--weights", args->weights,
                  "weights .npy, shape oc x ic/g x kh x kw")
      ->required();
  cmd->add_option("--bias", args->bias, "bias .npy, shape oc (optional)");
  cmd->add_option("--output", args->output,
                  "output .npy to write, shape mb x oc x oh x ow (written "
                  "atomically; never on error)")
      ->required();
  cmd->add_option("--clamp", args->clamp,
                  "fused clamp MIN,MAX; either may be empty or inf/-inf "
                  "(ReLU: 0, ; ReLU6: 0,6)");
  cmd->add_option("--kernel", args->kernel,
                  "force a kernel by name (see `convgen kernels`)");
  cmd->add_option("--target", args->target,
                  "force a Highway target (AVX3, AVX2, SSE4, SCALAR)");
  cmd->add_option("--threads", args->threads, "worker threads, 0 = one per CPU");
  cmd->add_option("--shuffle", args->shuffle,
                  "fused ShuffleNet channel shuffle of the output into S "
                  "groups (0 or 1 = none)");
  cmd->callback([args] { Run(*args); });
}

}  // namespace cli
}  // namespace convgen
