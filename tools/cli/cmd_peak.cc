// `convgen peak [--reps N] [--threads N] [--json FILE]`: this machine's fp32
// FMA peak per Highway target, its core clock and FLOP/cycle, and memory
// bandwidth (tools/lib/peak.h), on one thread (pin it: taskset -c 1) or
// several at once (their rates summed).
#include <cstdio>
#include <memory>
#include <string>

#include "bench_runner.h"  // JSON helpers, WriteFileAtomically
#include "commands.h"
#include "peak.h"
#include "report.h"

namespace convgen {
namespace cli {
namespace {

struct PeakArgs {
  int reps = 5;
  int threads = 1;
  std::string json;
};

std::string PeakToJson(const tools::PeakResult& r) {
  using tools::JsonNumber;
  using tools::JsonString;
  std::string j = "{\n  \"threads\": " + std::to_string(r.threads) +
                  ",\n  \"clock_ghz\": " + JsonNumber(r.clock_ghz) +
                  ",\n  \"clock_source\": " + JsonString(r.clock_source) +
                  ",\n  \"reps\": " + std::to_string(r.reps) + ",\n  \"targets\": [";
  for (size_t i = 0; i < r.targets.size(); ++i) {
    const tools::TargetPeak& t = r.targets[i];
    j += std::string(i ? "," : "") + "\n    {\"target\": " + JsonString(t.name) +
         ", \"lanes\": " + std::to_string(t.lanes) +
         ", \"native_fma\": " + (t.native_fma ? "true" : "false") +
         ", \"gflops\": " + JsonNumber(t.gflops) +
         ", \"best_gflops\": " + JsonNumber(t.best_gflops) +
         ", \"spread\": " + JsonNumber(t.spread) +
         ", \"flop_per_cycle\": " + JsonNumber(t.flop_per_cycle) + "}";
  }
  j += std::string(r.targets.empty() ? "" : "\n  ") + "],\n";
  j += "  \"memory_bytes\": " + std::to_string(r.memory_bytes) +
       ",\n  \"read_gbs\": " + JsonNumber(r.read_gbs) +
       ",\n  \"copy_gbs\": " + JsonNumber(r.copy_gbs) + "\n}\n";
  return j;
}

void RunPeak(const PeakArgs& args) {
  if (args.reps < 1) throw CliError("--reps=" + std::to_string(args.reps) + " must be >= 1");
  if (args.threads < 0)
    throw CliError("--threads=" + std::to_string(args.threads) + " must be >= 0 (0 = one per CPU)");
  tools::PeakOptions options;
  options.reps = args.reps;
  options.threads = tools::ThreadsOrOnePerCpu(args.threads);
  const tools::PeakResult r = tools::MeasurePeak(options);

  if (r.clock_ghz > 0)
    std::printf("clock: %.2f GHz (%s, spread %.1f%%)\n", r.clock_ghz, r.clock_source.c_str(),
                100.0 * r.clock_spread);
  else
    std::printf("clock: unknown (FLOP/cycle not shown)\n");
  std::printf("fp32 MulAdd peak, %d thread%s (sum of their rates), %d chains, median of %d reps:\n",
              r.threads, r.threads == 1 ? "" : "s", tools::peak_internal::kFmaChains, r.reps);
  std::printf("  %-7s %5s %4s %9s %9s %7s %10s\n", "target", "lanes", "fma", "GFLOP/s", "best",
              "spread", "FLOP/cycle");
  for (const tools::TargetPeak& t : r.targets) {
    char fpc[32] = "-";
    if (t.flop_per_cycle > 0) std::snprintf(fpc, sizeof(fpc), "%.1f", t.flop_per_cycle);
    std::printf("  %-7s %5zu %4s %9.1f %9.1f %6.1f%% %10s\n", t.name.c_str(), t.lanes,
                t.native_fma ? "yes" : "no", t.gflops, t.best_gflops, 100.0 * t.spread, fpc);
  }
  if (r.memory_bytes > 0)
    std::printf(
        "memory, %d thread%s, %zu MiB buffer: read %.1f GB/s (spread %.1f%%), "
        "copy %.1f GB/s read+write (spread %.1f%%)\n",
        r.threads, r.threads == 1 ? "" : "s", r.memory_bytes >> 20, r.read_gbs,
        100.0 * r.read_spread, r.copy_gbs, 100.0 * r.copy_spread);
  std::fflush(stdout);

  if (!args.json.empty()) {
    const Status s = tools::WriteFileAtomically(args.json, PeakToJson(r));
    if (!s.ok()) throw CliError(s.message());
  }
}

}  // namespace

void RegisterPeak(CLI::App& app) {
  auto args = std::make_shared<PeakArgs>();
  CLI::App* cmd = app.add_subcommand(
      "peak", "Measure fp32 FMA peak per Highway target, clock, and memory bandwidth");
  cmd->add_option("--reps", args->reps, "Repetitions per figure (median reported)")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads,
                  "Threads measuring at once, their rates summed (0 = one per CPU); the "
                  "clock is measured on one")
      ->capture_default_str();
  cmd->add_option("--json", args->json, "Also write the figures to this JSON file");
  cmd->callback([args] { RunPeak(*args); });
}

}  // namespace cli
}  // namespace convgen
