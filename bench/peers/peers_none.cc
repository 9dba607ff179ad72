// Stub used when no peer library is compiled in.
#include "peers.h"

namespace convgen {
namespace peers {

std::vector<std::string> CompiledPeers() { return {}; }

PeerResult RunPeer(const std::string& peer, const PeerProblem&,
                   const tools::TimingSpec&) {
  PeerResult r;
  r.peer = peer;
  r.why_not = "not built";
  return r;
}

}  // namespace peers
}  // namespace convgen
