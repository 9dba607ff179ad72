// `convgen targets`: Highway targets compiled in, those this CPU supports, and
// the one dispatch picks.
#include <cstdio>

#include "commands.h"
#include "targets.h"

namespace convgen {
namespace cli {

void RegisterTargets(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "targets", "List the Highway targets compiled in, supported by this CPU, and chosen");
  cmd->callback([] {
    using namespace convgen::internal;
    const auto supported = SupportedCompiledTargets();
    std::printf("%-8s %-9s %-10s %s\n", "target", "compiled", "supported", "lanes(f32)");
    for (int64_t t : CompiledTargets()) {
      bool sup = false;
      for (int64_t s : supported) sup |= (s == t);
      std::printf("%-8s %-9s %-10s %d%s\n", TargetName(t).c_str(), "yes", sup ? "yes" : "no",
                  FloatLanes(t), t == BestTarget() ? "   <- dispatch picks this" : "");
    }
  });
}

}  // namespace cli
}  // namespace convgen
