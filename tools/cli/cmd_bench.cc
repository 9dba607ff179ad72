// `convgen bench DESC... | --suite FILE [--threads N[,N...]] [--target NAME[,NAME...]|all]
//  [--kernel NAME] [--reps N] [--min-time S] [--json FILE] [--peers]`
// Times convgen (and, with --peers, oneDNN / XNNPACK) on benchdnn layers and
// prints GFLOP/s and % of this machine's measured peak. The logic lives in
// tools/lib/bench_runner.{h,cc}; this file only parses options and prints.
//
// Exit: 0; 2 on any error (bad descriptor, unreadable suite, unknown kernel
// or target: one line on stderr); 1 if a peer's output disagreed with ours
// (after the table and the JSON file are written).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench_runner.h"
#include "commands.h"

namespace convgen {
namespace cli {
namespace {

struct BenchArgs {
  std::vector<std::string> descriptors;
  std::string suite;
  std::vector<int> threads = {1};
  std::string target;
  std::string kernel;
  int reps = 5;
  // 0.1 s x 5 reps keeps the 16-layer public suite with its three peers well
  // under 10 minutes on this machine.
  double min_time_s = 0.1;
  std::string json;
  bool peers = false;
};

void RunBenchCommand(const BenchArgs& args) {
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
  if (layers.empty()) throw CliError("no layers: give descriptors or --suite FILE");

  tools::BenchOptions options;
  options.kernel = args.kernel;
  options.target = args.target;
  options.threads = args.threads;
  options.timing.reps = args.reps;
  options.timing.min_time_s = args.min_time_s;
  options.peers = args.peers;
  std::vector<tools::BenchRecord> records;
  const Status s = tools::RunBench(layers, options, &records, &std::cerr);
  if (!s.ok()) throw CliError(s.message());

  std::fputs(tools::FormatBenchTable(records).c_str(), stdout);
  std::fflush(stdout);
  if (!args.json.empty()) {
    const Status w = tools::WriteFileAtomically(args.json, tools::BenchRecordsToJson(records));
    if (!w.ok()) throw CliError(w.message());
  }
  if (tools::AnyPeerMismatch(records)) {
    // A check that ran and failed: exit 1 (main.cc's convention), not 2.
    throw CheckFailed(
        "*** PEER MISMATCH: a peer's output differs from convgen's (max rel err > 1e-4); "
        "see MISMATCH in the table ***");
  }
}

}  // namespace

void RegisterBench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time convgen (and peers) on benchdnn layers: GFLOP/s and % of peak");
  cmd->add_option("descriptors", args->descriptors,
                  "benchdnn descriptors, e.g. mb1ic64ih56oc64oh56kh3ph1n\"rn_3x3_56\"");
  cmd->add_option("--suite", args->suite,
                  "File of descriptors, one a line ('#' comments, blank lines ok)");
  cmd->add_option("--threads", args->threads,
                  "Threads of the plan (and peers); a comma-separated list (1,2) times every "
                  "count in turns and adds a scaling column")
      ->delimiter(',')
      ->allow_extra_args(false)  // one token per --threads: "1,2", not "1 2 DESC"
      ->capture_default_str();
  cmd->add_option("--target", args->target,
                  "Highway target (AVX3, AVX2, SSE4, SCALAR), a comma-separated list of them, or 'all'; default: best");
  cmd->add_option("--kernel", args->kernel, "Force a kernel by registry name");
  cmd->add_option("--reps", args->reps, "Timed repetitions (median reported)")
      ->capture_default_str();
  cmd->add_option("--min-time", args->min_time_s, "Minimum seconds per repetition")
      ->capture_default_str();
  cmd->add_option("--json", args->json, "Also write the records to this JSON file");
  cmd->add_flag("--peers", args->peers,
                "Also time oneDNN / XNNPACK on the same layers, in turns with convgen "
                "(the ×peer ratios), and check their outputs");
  cmd->callback([args] { RunBenchCommand(*args); });
}

}  // namespace cli
}  // namespace convgen
