// `convgen cost DESC [--json] [--no-bias]`: operations and memory of a layer's
// forward and backward passes, and the book's "what if" variants (channels
// doubled, padding doubled). The model and its conventions: tools/lib/cost.h.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "convgen/descriptor.h"
#include "cost.h"

namespace convgen {
namespace cli {
namespace {

struct CostArgs {
  std::string descriptor;
  bool json = false;
  bool no_bias = false;
};

void Cost(const CostArgs& args) {
  LayerDesc desc;
  const Status parsed = ParseDescriptor(args.descriptor, &desc);
  if (!parsed.ok()) {
    std::string message = "descriptor '" + args.descriptor + "': " + parsed.message();
    for (char& c : message) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    throw CliError(message);
  }
  const tools::ConvCost cost = tools::ComputeCost(desc.params, !args.no_bias);
  const std::string report = args.json ? tools::FormatCostJson(cost, args.descriptor)
                                       : tools::FormatCostText(cost, args.descriptor);
  std::fputs(report.c_str(), stdout);
}

}  // namespace

void RegisterCost(CLI::App& app) {
  auto args = std::make_shared<CostArgs>();
  CLI::App* cmd = app.add_subcommand(
      "cost",
      "Operations and memory of a layer's forward and backward passes, and with "
      "channels or padding doubled");
  cmd->add_option("descriptor", args->descriptor,
                  "benchdnn descriptor, e.g. mb1ic128ih256oc128kh5ph2 (mb defaults to 2)")
      ->required();
  cmd->add_flag("--json", args->json, "print one JSON object instead of the table");
  cmd->add_flag("--no-bias", args->no_bias,
                "the layer has no bias (default: a bias, as in PyTorch)");
  cmd->footer(tools::CostDefinitions());
  cmd->callback([args] { Cost(*args); });
}

}  // namespace cli
}  // namespace convgen
