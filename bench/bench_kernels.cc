// convgen_gbench: every registered kernel x every layer of the suite x every
// Highway target this CPU supports, as Google Benchmark cases named
// "<layer>/<kernel>/<TARGET>" (registry-driven: a new registry row appears
// here without an edit).
//
//   CONVGEN_SUITE=path/to/suite.txt   layers (default: bench/suite.txt)
//   taskset -c 1 ./convgen_gbench --benchmark_filter='rn_3x3_56/'
//
// Each case creates a Plan with the kernel and target forced (single thread;
// `convgen bench --threads N` covers threading), and reports rate counters
// FLOP/s (2*N*co*oh*ow*(ci/g)*kh*kw per call) and bytes/s (input + weights +
// output, once each per call), with "kernel target" as the label. A kernel
// that does not apply, or is not compiled for the target, is skipped with the
// reason. The context line "fp32_peak_gflops_per_core" is this machine's
// measured FMA peak (tools/lib/peak.h) to turn FLOP/s into % of peak.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "kernel.h"
#include "peak.h"
#include "report.h"  // RandomNonZeroFloats
#include "targets.h"

namespace {

// Above this the scalar reference takes seconds per call: Google Benchmark's
// minimum of 0.5 s per case would turn into minutes per layer.
constexpr double kReferenceMaxFlops = 0.2e9;

// Reads one benchdnn descriptor a line, '#' comments and blank lines skipped.
// (tools::ReadSuiteFile does the same, but lives in bench_runner.cc, which
// also calls the peers library this binary does not link.)
bool ReadSuite(const std::string& path, std::vector<convgen::LayerDesc>* layers) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "convgen_gbench: error: suite file=%s cannot be read\n", path.c_str());
    return false;
  }
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    bool quoted = false;
    size_t cut = line.size();
    for (size_t i = 0; i < line.size() && cut == line.size(); ++i) {
      if (line[i] == '"') quoted = !quoted;
      if (line[i] == '#' && !quoted) cut = i;
    }
    std::string text = line.substr(0, cut);
    text.erase(0, text.find_first_not_of(" \t\r"));
    text.erase(text.find_last_not_of(" \t\r") + 1);
    if (text.empty()) continue;
    convgen::LayerDesc layer;
    const convgen::Status s = convgen::ParseDescriptor(text, &layer);
    if (!s.ok()) {
      std::fprintf(stderr, "convgen_gbench: error: %s:%d: %s\n", path.c_str(), line_no,
                   s.message().c_str());
      return false;
    }
    layers->push_back(std::move(layer));
  }
  return true;
}

void BM_Layer(benchmark::State& state, const convgen::LayerDesc& layer,
              const convgen::internal::KernelInfo* kernel, int64_t target) {
  const convgen::Conv2dParams& p = layer.params;
  std::string why;
  if (!kernel->applies(p, &why)) {
    state.SkipWithError(("does not apply: " + why).c_str());
    return;
  }
  if (kernel->resolve == nullptr || kernel->resolve(target) == nullptr) {
    state.SkipWithError(("not compiled for " + convgen::internal::TargetName(target)).c_str());
    return;
  }
  if (std::string(kernel->family) == "reference" && p.flops() > kReferenceMaxFlops) {
    state.SkipWithError("reference too slow");
    return;
  }
  const std::vector<float> input = convgen::tools::RandomNonZeroFloats(p.input_elements(), 1);
  const std::vector<float> weights = convgen::tools::RandomNonZeroFloats(p.weight_elements(), 2);
  const std::vector<float> bias = convgen::tools::RandomNonZeroFloats(p.out_channels, 3);
  std::vector<float> output(static_cast<size_t>(p.output_elements()));

  convgen::PlanOptions options;
  options.kernel = kernel->name;
  options.target = convgen::internal::TargetName(target);
  options.threads = 1;
  std::unique_ptr<convgen::Plan> plan;
  convgen::Status s = convgen::Plan::Create(p, weights.data(), bias.data(), options, &plan);
  if (s.ok()) s = plan->Run(input.data(), output.data());  // also the warm-up
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }

  for (auto _ : state) {
    (void)plan->Run(input.data(), output.data());
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }

  const double bytes =
      sizeof(float) * static_cast<double>(p.input_elements() + p.weight_elements() +
                                          p.output_elements());
  state.counters["FLOP/s"] = benchmark::Counter(
      p.flops(), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["bytes/s"] = benchmark::Counter(
      bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.SetLabel(plan->kernel_name() + " " + plan->target_name());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const char* env_suite = std::getenv("CONVGEN_SUITE");
  const std::string suite =
      env_suite && *env_suite ? env_suite : CONVGEN_SOURCE_DIR "/bench/suite.txt";
  // Registered benchmarks keep references to the layers: never resized after.
  static std::vector<convgen::LayerDesc> layers;
  if (!ReadSuite(suite, &layers)) return 2;

  const std::vector<int64_t> targets = convgen::internal::SupportedCompiledTargets();
  for (const convgen::LayerDesc& layer : layers) {
    const std::string layer_name =
        layer.name.empty() ? convgen::FormatDescriptorShort(layer) : layer.name;
    for (const convgen::internal::KernelInfo* kernel : convgen::internal::AllKernels()) {
      for (int64_t target : targets) {
        const std::string name = layer_name + "/" + kernel->name + "/" +
                                 convgen::internal::TargetName(target);
        // No UseRealTime: with threads = 1 the plan runs its single tile on
        // the calling thread (src/plan.cc), so the rates are computed from
        // this thread's CPU time, which excludes the time other jobs on this
        // shared machine preempt it. Wall time is still printed ("Time").
        benchmark::RegisterBenchmark(name.c_str(), BM_Layer, layer, kernel, target)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }

  char peak[32];
  std::snprintf(peak, sizeof(peak), "%.1f", convgen::tools::CachedPeakGflops());
  benchmark::AddCustomContext("fp32_peak_gflops_per_core", peak);
  benchmark::AddCustomContext("suite", suite);

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
