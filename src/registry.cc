// The kernel registry: generated rows (gen/ -> build tree's
// convgen_registry.inc), hand-written families (src/kernels/handwritten.inc),
// then the scalar reference. The plan's candidate list, the tests and the
// benchmarks all iterate over AllKernels(): adding a row is the only step.
#include <string>
#include <vector>

#include "kernel.h"

namespace convgen {
namespace internal {

#define CONVGEN_KERNEL(symbol) extern const KernelInfo symbol;
#include "convgen_registry.inc"
#include "kernels/handwritten.inc"
#undef CONVGEN_KERNEL
extern const KernelInfo kReferenceKernel;

const std::vector<const KernelInfo*>& AllKernels() {
  static const std::vector<const KernelInfo*> kAll = {
#define CONVGEN_KERNEL(symbol) &symbol,
#include "convgen_registry.inc"
#include "kernels/handwritten.inc"
#undef CONVGEN_KERNEL
      &kReferenceKernel,
  };
  return kAll;
}

const KernelInfo* FindKernel(const std::string& name) {
  for (const KernelInfo* k : AllKernels())
    if (name == k->name) return k;
  return nullptr;
}

}  // namespace internal
}  // namespace convgen
