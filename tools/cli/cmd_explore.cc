// `convgen explore DESC [--strips LIST] [--tiles LIST] [--groups LIST]
//  [--targets LIST] [--threads N] [--reps N] [--min-time S] [--csv FILE]
//  [--plot FILE.png|.svg]`
// Times every applicable registry kernel of one layer on every target (or,
// with --groups, the layer re-grouped for each b with the plan's own choice)
// and prints the measurements beside the register-tile model. The logic lives
// in tools/lib/explore.{h,cc} (sweeps, model, CSV columns); this file parses
// options, prints, writes the CSV and runs tools/plot_explore.py for --plot.
//
// --plot needs a Python 3 with matplotlib: $CONVGEN_PYTHON if set (only
// that one), else `python3`, else /usr/bin/python3 (Debian's, where python3-matplotlib installs; the
// `python3` on PATH may be a pyenv without it). The script is
// $CONVGEN_PLOT_SCRIPT, else tools/plot_explore.py of the source tree this
// binary was built from. Without --csv the CSV goes beside the plot
// (FILE.csv). If no interpreter has matplotlib, the CSV is still written and
// the command fails with "install python3-matplotlib (...)".
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench_runner.h"
#include "commands.h"
#include "explore.h"

extern char** environ;

namespace convgen {
namespace cli {
namespace {

struct ExploreArgs {
  std::string descriptor;
  std::string strips, tiles, groups, targets;
  int threads = 1;
  int reps = 5;
  double min_time_s = 0.1;
  std::string csv, plot;
};

// Runs argv (no shell) with stdout/stderr inherited; the exit status, or -1
// if it could not be started or was killed.
int RunProcess(const std::vector<std::string>& argv, bool quiet) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// The first interpreter that imports matplotlib, or "".
std::string FindPythonWithMatplotlib() {
  std::vector<std::string> candidates = {"python3", "/usr/bin/python3"};
  if (const char* env = std::getenv("CONVGEN_PYTHON")) candidates = {env};
  for (const std::string& python : candidates)
    if (RunProcess({python, "-c", "import matplotlib"}, /*quiet=*/true) == 0) return python;
  return "";
}

std::string PlotScript() {
  if (const char* env = std::getenv("CONVGEN_PLOT_SCRIPT")) return env;
  // __FILE__ is this source file's absolute path (CMake compiles by absolute
  // path): tools/cli/cmd_explore.cc -> tools/plot_explore.py.
  std::string here = __FILE__;
  const size_t slash = here.rfind('/');
  here = slash == std::string::npos ? "." : here.substr(0, slash);
  return here + "/../plot_explore.py";
}

std::vector<int> ToInts(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

void RunExploreCommand(const ExploreArgs& args) {
  LayerDesc layer;
  Status s = ParseDescriptor(args.descriptor, &layer);
  if (!s.ok()) throw CliError("descriptor (" + args.descriptor + "): " + s.message());
  if (!args.plot.empty()) {
    const size_t dot = args.plot.rfind('.');
    const std::string ext = dot == std::string::npos ? "" : args.plot.substr(dot);
    if (ext != ".png" && ext != ".svg")
      throw CliError("--plot " + args.plot + ": the file must end in .png or .svg");
  }

  tools::ExploreOptions options;
  std::vector<int64_t> list;
  if (!args.strips.empty()) {
    s = tools::ParseIntList(args.strips, "--strips", &list);
    if (!s.ok()) throw CliError(s.message());
    options.strips = ToInts(list);
  }
  if (!args.tiles.empty()) {
    s = tools::ParseIntList(args.tiles, "--tiles", &list);
    if (!s.ok()) throw CliError(s.message());
    options.tiles = ToInts(list);
  }
  if (!args.groups.empty()) {
    s = tools::ParseIntList(args.groups, "--groups", &options.groups);
    if (!s.ok()) throw CliError(s.message());
  }
  s = tools::ParseTargetList(args.targets, &options.targets);
  if (!s.ok()) throw CliError("--targets: " + s.message());
  options.threads = args.threads;
  options.timing.reps = args.reps;
  options.timing.min_time_s = args.min_time_s;

  std::vector<tools::ExploreRecord> records;
  s = tools::RunExplore(layer, options, &records, &std::cerr);
  if (!s.ok()) throw CliError(s.message());
  std::printf("explore %s (%s), %d thread(s)\n", tools::LayerName(layer).c_str(),
              tools::ShortDescriptorWithoutName(layer).c_str(), args.threads);
  std::fputs(tools::FormatExploreTable(records).c_str(), stdout);
  std::fflush(stdout);

  std::string csv = args.csv;
  if (csv.empty() && !args.plot.empty())
    csv = args.plot.substr(0, args.plot.rfind('.')) + ".csv";
  if (!csv.empty()) {
    s = tools::WriteFileAtomically(csv, tools::ExploreRecordsToCsv(records));
    if (!s.ok()) throw CliError(s.message());
    std::fprintf(stderr, "explore: wrote %s\n", csv.c_str());
  }
  if (args.plot.empty()) return;
  const std::string python = FindPythonWithMatplotlib();
  if (python.empty())
    throw CliError("cannot draw " + args.plot +
                   ": no python3 with matplotlib; install python3-matplotlib (apt-get install -y "
                   "python3-matplotlib); the CSV is in " + csv);
  const int rc = RunProcess({python, PlotScript(), csv, args.plot}, /*quiet=*/false);
  if (rc != 0)
    throw CliError(PlotScript() + " failed (exit " + std::to_string(rc) + ") drawing " +
                   args.plot + " from " + csv);
  std::fprintf(stderr, "explore: wrote %s\n", args.plot.c_str());
}

}  // namespace

void RegisterExplore(CLI::App& app) {
  auto args = std::make_shared<ExploreArgs>();
  CLI::App* cmd = app.add_subcommand(
      "explore",
      "Time every applicable kernel variant of one layer on every target, beside the "
      "register-tile model (or, with --groups, the layer re-grouped)");
  cmd->add_option("desc", args->descriptor, "benchdnn descriptor of the layer")->required();
  cmd->add_option("--strips", args->strips,
                  "Only kernels with these strip widths V (KernelInfo v), e.g. 1,2");
  cmd->add_option("--tiles", args->tiles,
                  "Only kernels with these R tiles (KernelInfo r), e.g. 4,8,16");
  cmd->add_option("--groups", args->groups,
                  "Sweep groups=b over this list (channels unchanged; the plan's own choice)");
  cmd->add_option("--targets", args->targets,
                  "Highway targets, e.g. AVX3,AVX2 (default: all supported compiled)");
  cmd->add_option("--threads", args->threads, "Threads of each plan")->capture_default_str();
  cmd->add_option("--reps", args->reps, "Timed repetitions (median reported)")
      ->capture_default_str();
  cmd->add_option("--min-time", args->min_time_s, "Minimum seconds per repetition")
      ->capture_default_str();
  cmd->add_option("--csv", args->csv, "Write the records as CSV (columns: tools/lib/explore.h)");
  cmd->add_option("--plot", args->plot,
                  "Draw FILE.png or FILE.svg with tools/plot_explore.py (needs matplotlib)");
  cmd->callback([args] { RunExploreCommand(*args); });
}

}  // namespace cli
}  // namespace convgen
