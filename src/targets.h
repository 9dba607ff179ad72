// convgen internal: Highway targets by name, compiled vs supported.
#ifndef CONVGEN_SRC_TARGETS_H_
#define CONVGEN_SRC_TARGETS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "convgen/status.h"

namespace convgen {
namespace internal {

std::vector<int64_t> CompiledTargets();           // compiled into convgen, best first
std::vector<int64_t> SupportedCompiledTargets();  // of those, what this CPU runs
int64_t BestTarget();                             // first supported compiled target
// Case-insensitive name ("AVX3", "avx2", "SSE4", "SCALAR") -> target; an error
// names the target and says whether it is unknown, not compiled or
// unsupported by this CPU (Highway would otherwise silently run SCALAR).
Status TargetFromName(const std::string& name, int64_t* target);
std::string TargetName(int64_t target);
// Vector lanes of float on `target` (16 AVX3, 8 AVX2, 4 SSE4, 1 SCALAR).
int FloatLanes(int64_t target);

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_TARGETS_H_
