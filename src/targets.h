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

// Whether this CPU retires two 512-bit FMAs a cycle (two full-width zmm FMA
// pipes), not one (Zen 4 splits a zmm FMA over its two 256-bit pipes). On
// such a CPU an AVX3 tile that issues about one load per FMA is load-bound
// and wider tiles win (docs/performance.md, session 14). Known from CPUID,
// never measured (a plan's choice must not depend on a noisy minute): AMD
// family 1Ah models 00h-1Fh (EPYC Turin) and 40h-4Fh (Ryzen 9000); false
// elsewhere, including Intel, whose AVX-512 FMA port count CPUID does not
// give, and the Zen 5 laptop parts, which split a zmm FMA as Zen 4 does.
bool TwoZmmFmaPipes();
// The rule above on CPUID's vendor, family and model (what TwoZmmFmaPipes
// reads from this CPU), for tests.
bool TwoZmmFmaPipesFor(bool amd, int family, int model);

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_TARGETS_H_
