// `convgen kernels [DESC] [--target NAME]`: every registered kernel; with a
// descriptor, whether each applies (and why not), its heuristic estimate, and
// which one a plan would choose.
#include <cstdio>
#include <string>

#include "commands.h"
#include "convgen/descriptor.h"
#include "kernel.h"
#include "targets.h"

namespace convgen {
namespace cli {

void RegisterKernels(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "kernels", "List registered kernels; with DESC, say which apply and why not");
  static std::string desc_text, target_name;
  cmd->add_option("desc", desc_text, "benchdnn descriptor of a layer");
  cmd->add_option("--target", target_name, "Highway target for the estimates (default: best)");
  cmd->callback([] {
    using namespace convgen::internal;
    int64_t target = BestTarget();
    if (!target_name.empty()) {
      Status s = TargetFromName(target_name, &target);
      if (!s.ok()) throw CliError(s.message());
    }
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
      std::printf("%-36s %-10s %-7s %-4s %-4d %-10d %s\n", k->name, k->family, kbuf, sbuf,
                  k->r, k->v, info.c_str());
    }
  });
}

}  // namespace cli
}  // namespace convgen
