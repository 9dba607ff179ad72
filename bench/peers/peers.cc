// convgen bench peers: the registry. Which peers exist is decided at build
// time (cmake/peers.cmake defines CONVGEN_HAVE_ONEDNN / CONVGEN_HAVE_XNNPACK
// and compiles onednn.cc / xnnpack.cc only for the libraries found), so the
// table is an #ifdef'd list rather than self-registration: static
// registrars in a STATIC library are dropped by the linker when nothing
// references their object file.
#include <string>
#include <vector>

#include "peers.h"
#include "peers_internal.h"

namespace convgen {
namespace peers {
namespace {

using RunFn = PeerResult (*)(const PeerProblem&, const tools::TimingSpec&);

struct PeerEntry {
  const char* name;
  RunFn run;  // null: known peer, not compiled into this binary
};

// Every peer convgen knows, in table order.
std::vector<PeerEntry> AllPeers() {
  return {
#ifdef CONVGEN_HAVE_ONEDNN
      {"onednn", &RunOneDnnBlocked},
      {"onednn_nchw", &RunOneDnnNchw},
#else
      {"onednn", nullptr},
      {"onednn_nchw", nullptr},
#endif
#ifdef CONVGEN_HAVE_XNNPACK
      {"xnnpack", &RunXnnpack},
#else
      {"xnnpack", nullptr},
#endif
  };
}

PeerResult Unavailable(const std::string& peer, const std::string& why_not) {
  PeerResult r;
  r.peer = peer;
  r.available = false;
  r.why_not = why_not;
  return r;
}

}  // namespace

std::vector<std::string> CompiledPeers() {
  std::vector<std::string> names;
  for (const PeerEntry& e : AllPeers())
    if (e.run) names.push_back(e.name);
  return names;
}

PeerResult RunPeer(const std::string& peer, const PeerProblem& problem,
                   const tools::TimingSpec& spec) {
  for (const PeerEntry& e : AllPeers()) {
    if (peer != e.name) continue;
    if (!e.run) return Unavailable(peer, "not built");
    const Status valid = Validate(problem.params);
    if (!valid.ok()) return Unavailable(peer, valid.message());
    if (!problem.input || !problem.weights)
      return Unavailable(peer, "no input or weights");
    return e.run(problem, spec);
  }
  return Unavailable(peer, "unknown peer");
}

}  // namespace peers
}  // namespace convgen
