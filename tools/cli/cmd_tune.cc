// `convgen tune --suite FILE --out WISDOM [DESC...] [--targets LIST]
//  [--threads N] [--reps N] [--min-time S] [--csv FILE]`
// For each layer and target, times every applicable kernel (explore's kernel
// sweep, bench's timing rule) and writes the fastest to a wisdom file
// (src/wisdom.h) that plans read through PlanOptions.wisdom or
// CONVGEN_WISDOM. Prints the heuristic-vs-tuned table (issue 6 item 4): the
// heuristic's choice and the tuned best measured in the same run.
//
// CONVGEN_WISDOM is unset first: the "heuristic" column must be the
// heuristic, not an earlier wisdom file. The wisdom file is written
// atomically (no partial file on error).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench_runner.h"
#include "commands.h"
#include "wisdom_tools.h"

namespace convgen {
namespace cli {
namespace {

struct TuneArgs {
  std::string suite, out, targets, csv;
  std::vector<std::string> descriptors;
  int threads = 1;
  // 3 x 0.05 s: the public suite on all four targets in ~5 minutes here
  // (budget 10; see wisdom_tools.h).
  int reps = 3;
  double min_time_s = 0.05;
};

void RunTuneCommand(const TuneArgs& args) {
  std::vector<LayerDesc> layers;
  if (!args.suite.empty()) {
    const Status s = tools::ReadSuiteFile(args.suite, &layers);
    if (!s.ok()) throw CliError(s.message());
  }
  for (size_t i = 0; i < args.descriptors.size(); ++i) {
    LayerDesc layer;
    const Status s = ParseDescriptor(args.descriptors[i], &layer);
    if (!s.ok())
      throw CliError("descriptor " + std::to_string(i + 1) + " (" + args.descriptors[i] +
                     "): " + s.message());
    layers.push_back(std::move(layer));
  }
  if (layers.empty()) throw CliError("no layers: give --suite FILE or descriptors");

  if (std::getenv("CONVGEN_WISDOM")) {
    std::fprintf(stderr, "tune: ignoring CONVGEN_WISDOM=%s (measuring the heuristic)\n",
                 std::getenv("CONVGEN_WISDOM"));
    unsetenv("CONVGEN_WISDOM");
  }
  tools::TuneOptions options;
  Status s = tools::ParseTargetList(args.targets, &options.targets);
  if (!s.ok()) throw CliError("--targets: " + s.message());
  options.threads = args.threads;
  options.timing.reps = args.reps;
  options.timing.min_time_s = args.min_time_s;

  std::vector<tools::TuneRecord> records;
  std::vector<tools::ExploreRecord> swept;
  s = tools::RunTune(layers, options, &records, &swept, &std::cerr);
  if (!s.ok()) throw CliError(s.message());

  const std::string text = internal::FormatWisdom(
      tools::WisdomFromTune(records, tools::CpuModelName(), tools::TodayUtc()));
  s = tools::WriteFileAtomically(args.out, text);
  if (!s.ok()) throw CliError(s.message());
  if (!args.csv.empty()) {
    s = tools::WriteFileAtomically(args.csv, tools::ExploreRecordsToCsv(swept));
    if (!s.ok()) throw CliError(s.message());
  }
  std::printf("heuristic (plan without wisdom) vs tuned, %d thread(s), same run:\n",
              args.threads);
  std::fputs(tools::FormatTuneComparison(records).c_str(), stdout);
  std::printf("wrote %s (%zu layers x %zu targets)\n", args.out.c_str(), layers.size(),
              options.targets.size());
}

}  // namespace

void RegisterTune(CLI::App& app) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "Measure every applicable kernel per layer and target; save the fastest as wisdom");
  cmd->add_option("descriptors", args->descriptors, "benchdnn descriptors (besides --suite)");
  cmd->add_option("--suite", args->suite, "File of descriptors, one a line ('#' comments)");
  cmd->add_option("--out", args->out, "Wisdom file to write (see src/wisdom.h)")->required();
  cmd->add_option("--targets", args->targets,
                  "Highway targets, e.g. AVX3,AVX2 (default: all supported compiled)");
  cmd->add_option("--threads", args->threads, "Threads of each plan")->capture_default_str();
  cmd->add_option("--reps", args->reps, "Timed repetitions (median)")->capture_default_str();
  cmd->add_option("--min-time", args->min_time_s, "Minimum seconds per repetition")
      ->capture_default_str();
  cmd->add_option("--csv", args->csv, "Also write every measurement (explore's CSV columns)");
  cmd->callback([args] { RunTuneCommand(*args); });
}

}  // namespace cli
}  // namespace convgen
