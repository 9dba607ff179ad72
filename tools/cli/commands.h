// convgen CLI: one file per subcommand (tools/cli/cmd_*.cc). Each Register*
// adds its subcommand to the app and sets its callback. Errors: the callback
// throws CliError; main() prints "convgen: error: <message>" as one line on
// stderr and exits 2 (CheckFailed: exit 1). Never a signal, never a partial output file.
#ifndef CONVGEN_TOOLS_CLI_COMMANDS_H_
#define CONVGEN_TOOLS_CLI_COMMANDS_H_

#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace convgen {
namespace cli {

struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A check that ran and failed (e.g. a peer disagreeing with convgen): main()
// prints the message and exits 1, distinct from a usage/input error (2).
struct CheckFailed : CliError {
  using CliError::CliError;
};

void RegisterRun(CLI::App& app);      // cmd_run.cc
void RegisterCost(CLI::App& app);     // cmd_cost.cc
void RegisterTargets(CLI::App& app);  // cmd_targets.cc
void RegisterKernels(CLI::App& app);  // cmd_kernels.cc
void RegisterPeak(CLI::App& app);     // cmd_peak.cc
void RegisterBench(CLI::App& app);    // cmd_bench.cc
void RegisterExplore(CLI::App& app);  // cmd_explore.cc
void RegisterTune(CLI::App& app);     // cmd_tune.cc

}  // namespace cli
}  // namespace convgen

#endif  // CONVGEN_TOOLS_CLI_COMMANDS_H_
