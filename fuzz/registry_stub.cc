// An empty kernel registry for the parser fuzzers (fuzz_wisdom): the wisdom
// reader's ParseWisdom/FormatWisdom never consult the registry, but
// src/wisdom.cc's other functions reference it. Linking this stub instead of
// the real registry keeps those fuzzers free of the kernel TUs (a clang +
// ASan build of them takes minutes; the parsers alone take seconds).
#include <string>
#include <vector>

#include "kernel.h"

namespace convgen {
namespace internal {

const std::vector<const KernelInfo*>& AllKernels() {
  static const std::vector<const KernelInfo*> kNone;
  return kNone;
}

const KernelInfo* FindKernel(const std::string&) { return nullptr; }

}  // namespace internal
}  // namespace convgen
