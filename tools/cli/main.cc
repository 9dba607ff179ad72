// convgen: the command-line tool. Subcommands live in cmd_*.cc.
// Exit codes: 0 success, 2 any error (one line on stderr), 1 for a check that
// ran and failed (e.g. a peer disagreeing with convgen in `bench --peers`).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "convgen: SIMD multi-channel 2-D convolution (NCHW, PyTorch conv2d semantics).\n"
      "Layers are oneDNN benchdnn descriptors, e.g. mb1ic64ih56oc64oh56kh3ph1n\"rn_3x3_56\"."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  convgen::cli::RegisterRun(app);
  convgen::cli::RegisterCost(app);
  convgen::cli::RegisterTargets(app);
  convgen::cli::RegisterKernels(app);
  convgen::cli::RegisterPeak(app);
  convgen::cli::RegisterBench(app);
  convgen::cli::RegisterExplore(app);
  convgen::cli::RegisterTune(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "convgen: error: %s\n", e.what());
    return 2;
  } catch (const convgen::cli::CheckFailed& e) {
    std::fprintf(stderr, "convgen: check failed: %s\n", e.what());
    return 1;
  } catch (const convgen::cli::CliError& e) {
    std::fprintf(stderr, "convgen: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convgen: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
