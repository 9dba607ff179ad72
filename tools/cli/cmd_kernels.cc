// `convgen kernels [DESC] [--target NAME] [--threads N]`: every registered
// kernel; with a descriptor, whether each applies (and why not), its
// heuristic estimate, which one a plan would choose, and how that plan cuts
// the output into tiles for N threads.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "kernel.h"
#include "report.h"
#include "targets.h"
#include "tiling.h"

namespace convgen {
namespace cli {

void RegisterKernels(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "kernels", "List registered kernels; with DESC, say which apply and why not");
  static std::string desc_text, target_name;
  static int threads = 1;
  cmd->add_option("desc", desc_text, "benchdnn descriptor of a layer");
  cmd->add_option("--target", target_name, "Highway target for the estimates (default: best)");
  cmd->add_option("--threads", threads,
                  "with DESC: show the chosen plan's tiles for N threads (0 = one per CPU)")
      ->capture_default_str();
  cmd->callback([] {
    using namespace convgen::internal;
    int64_t target = BestTarget();
    if (!target_name.empty()) {
      Status s = TargetFromName(target_name, &target);
      if (!s.ok()) throw CliError(s.message());
    }
    if (threads < 0)
      throw CliError("--threads=" + std::to_string(threads) + " must be >= 0 (0 = one per CPU)");
    LayerDesc desc;
    const bool have_desc = !desc_text.empty();
    if (have_desc) {
      Status s = ParseDescriptor(desc_text, &desc);
      if (!s.ok()) throw CliError("bad descriptor '" + desc_text + "': " + s.message());
    }
    std::printf("%-36s %-10s %-7s %-4s %-4s %-10s %s\n", "kernel", "family", "k", "s", "r",
                "v(vecs)", have_desc ? "applies / estimate" : "targets compiled");
    for (const KernelInfo* k : AllKernels()) {
      char kbuf[16], sbuf[16];
      std::snprintf(kbuf, sizeof kbuf, k->kh ? "%dx%d" : "any", k->kh, k->kw);
      std::snprintf(sbuf, sizeof sbuf, k->sh ? "%d" : "any", k->sh);
      std::string info;
      if (have_desc) {
        std::string why;
        if (!k->applies(desc.params, &why)) {
          info = "no: " + why;
        } else if (!k->resolve(target)) {
          info = "no: not compiled for " + TargetName(target);
        } else {
          char e[64];
          std::snprintf(e, sizeof e, "yes, estimate %.3f",
                        k->estimate ? k->estimate(desc.params, target) : 0.1);
          info = e;
        }
      } else {
        for (int64_t t : CompiledTargets())
          if (k->resolve(t)) info += (info.empty() ? "" : " ") + TargetName(t);
      }
      std::printf("%-36s %-10s %-7s %-4s %-4d %-10d %s\n", k->name, k->family, kbuf, sbuf, k->r,
                  k->v, info.c_str());
    }
    if (!have_desc) return;
    // The plan's choice (zero weights: only the shape matters) and its tiles.
    const Conv2dParams& p = desc.params;
    std::vector<float> weights(static_cast<size_t>(p.weight_elements()), 0.0f);
    PlanOptions options;
    options.target = target_name;
    options.threads = tools::ThreadsOrOnePerCpu(threads);
    std::unique_ptr<Plan> plan;
    const Status s = Plan::Create(p, weights.data(), nullptr, options, &plan);
    if (!s.ok()) throw CliError(s.message());
    const KernelInfo* chosen = FindKernel(plan->kernel_name());
    const int r = chosen ? std::max(1, chosen->r) : 1;
    const std::vector<Tile> tiles = MakeTiles(p, p.out_height(), p.out_width(), r, options.threads);
    const bool threaded = WorthThreads(p);
    std::printf(
        "plan: %s on %s; %d thread%s: %zu tile%s, busiest thread %.1f%% over an even share%s\n",
        plan->kernel_name().c_str(), plan->target_name().c_str(), options.threads,
        options.threads == 1 ? "" : "s", tiles.size(), tiles.size() == 1 ? "" : "s",
        100.0 * (TileImbalance(tiles, threaded ? options.threads : 1) - 1.0),
        options.threads > 1 && !threaded
            ? " (under 1 MFLOP: every tile runs on the calling thread)"
            : "");
  });
}

}  // namespace cli
}  // namespace convgen
