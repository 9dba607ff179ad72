// Temporary weak placeholders so the CLI links while subcommands are written
// in parallel; a real cmd_*.cc overrides each. Removed once all exist.
#include "commands.h"

namespace convgen {
namespace cli {
__attribute__((weak)) void RegisterRun(CLI::App&) {}
__attribute__((weak)) void RegisterCost(CLI::App&) {}
__attribute__((weak)) void RegisterPeak(CLI::App&) {}
__attribute__((weak)) void RegisterBench(CLI::App&) {}
}  // namespace cli
}  // namespace convgen
