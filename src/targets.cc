#include "targets.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <hwy/highway.h>
#include <hwy/targets.h>

#if HWY_ARCH_X86
#include <cpuid.h>
#endif

namespace convgen {
namespace internal {

std::vector<int64_t> CompiledTargets() {
  // HWY_TARGETS of this TU equals every convgen TU's: the same
  // HWY_DISABLED_TARGETS definition is passed to all of them by CMake.
  std::vector<int64_t> out;
  for (int64_t bits = HWY_TARGETS; bits != 0; bits &= bits - 1) out.push_back(bits & -bits);
  return out;  // lowest bit = best target on x86
}

std::vector<int64_t> SupportedCompiledTargets() {
  const int64_t supported = hwy::SupportedTargets();
  std::vector<int64_t> out;
  for (int64_t t : CompiledTargets())
    if (supported & t) out.push_back(t);
  return out;
}

int64_t BestTarget() {
  const auto t = SupportedCompiledTargets();
  return t.empty() ? HWY_STATIC_TARGET : t.front();
}

std::string TargetName(int64_t target) { return hwy::TargetName(target); }

Status TargetFromName(const std::string& name, int64_t* target) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  // Every x86 target Highway 1.0.3 knows, so "compiled?" can be told apart
  // from "unknown".
  const int64_t all[] = {HWY_AVX3_DL, HWY_AVX3, HWY_AVX2, HWY_SSE4, HWY_SSSE3,
                         HWY_EMU128, HWY_SCALAR};
  for (int64_t t : all) {
    if (upper != hwy::TargetName(t)) continue;
    const auto compiled = CompiledTargets();
    if (std::find(compiled.begin(), compiled.end(), t) == compiled.end())
      return NotFound("target=" + name + " is not compiled into convgen (compiled: " +
                      [&] {
                        std::string s;
                        for (int64_t c : compiled) s += (s.empty() ? "" : " ") + TargetName(c);
                        return s;
                      }() + ")");
    if (!(hwy::SupportedTargets() & t))
      return InvalidArgument("target=" + name + " is not supported by this CPU");
    *target = t;
    return Status::Ok();
  }
  return NotFound("target=" + name + " is not a Highway target name (e.g. AVX3, AVX2, SSE4, SCALAR)");
}

int FloatLanes(int64_t target) {
  if (target == HWY_AVX3 || target == HWY_AVX3_DL) return 16;
  if (target == HWY_AVX2) return 8;
  if (target == HWY_SSE4 || target == HWY_SSSE3 || target == HWY_EMU128) return 4;
  return 1;
}

bool TwoZmmFmaPipesFor(bool amd, int family, int model) {
  if (!amd || family != 0x1A) return false;
  return (model >= 0x00 && model <= 0x1F) || (model >= 0x40 && model <= 0x4F);
}

bool TwoZmmFmaPipes() {
  static const bool two = [] {
#if HWY_ARCH_X86
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
    char vendor[13] = {};
    std::memcpy(vendor, &ebx, 4);
    std::memcpy(vendor + 4, &edx, 4);
    std::memcpy(vendor + 8, &ecx, 4);
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    const int base_family = static_cast<int>((eax >> 8) & 0xF);
    const int family =
        base_family == 0xF ? base_family + static_cast<int>((eax >> 20) & 0xFF) : base_family;
    const int model = static_cast<int>(((eax >> 4) & 0xF) | (((eax >> 16) & 0xF) << 4));
    return TwoZmmFmaPipesFor(std::strcmp(vendor, "AuthenticAMD") == 0, family, model);
#else
    return false;
#endif
  }();
  return two;
}

}  // namespace internal
}  // namespace convgen
