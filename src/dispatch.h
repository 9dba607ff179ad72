// convgen internal: resolve a Highway HWY_EXPORT table entry for an explicit
// target, once, at plan creation.
//
// Highway's HWY_DYNAMIC_DISPATCH consults a process-wide "chosen target"
// (mutable global state, changed by SetSupportedTargetsForTest). A plan must
// instead pin its own target so that several plans with different forced
// targets can run concurrently; so we index the table ourselves, with the same
// arithmetic as hwy::ChosenTarget::GetIndex (hwy/targets.h, 1.0.3).
//
// Include after <hwy/highway.h>, in the translation unit holding HWY_EXPORT:
// HWY_CHOSEN_TARGET_MASK_TARGETS must be this TU's compiled targets.
#ifndef CONVGEN_SRC_DISPATCH_H_
#define CONVGEN_SRC_DISPATCH_H_

#include <cstdint>

#include <hwy/highway.h>

namespace convgen {
namespace internal {


// Returns table entry for `target`, or null if `target` is not compiled in
// this TU. `table` is HWY_DISPATCH_TABLE(FUNC) from HWY_EXPORT(FUNC).
template <typename Fn>
inline Fn ResolveFromExportTable(Fn const* table, int64_t target) {
#if HWY_IDE || defined(HWY_COMPILE_ONLY_STATIC) || defined(HWY_COMPILE_ONLY_SCALAR) || defined(HWY_COMPILE_ONLY_EMU128)
  // Single-target build: the table has one entry, the static target.
  return target == HWY_STATIC_TARGET ? table[0] : nullptr;
#else
  if (target == 0 || (target & (target - 1)) != 0) return nullptr;  // one bit
  uint64_t bits;
  if (target == HWY_SCALAR || target == HWY_EMU128) {
    bits = static_cast<uint64_t>(HWY_CHOSEN_TARGET_MASK_SCALAR);
    if ((HWY_TARGETS & target) == 0) return nullptr;
  } else {
    bits = static_cast<uint64_t>(HWY_CHOSEN_TARGET_SHIFT(target));
  }
  bits &= static_cast<uint64_t>(HWY_CHOSEN_TARGET_MASK_TARGETS);
  if (bits == 0) return nullptr;
  return table[hwy::Num0BitsBelowLS1Bit_Nonzero64(bits)];
#endif
}

}  // namespace internal
}  // namespace convgen

// Inside the HWY_ONCE section of a kernel TU:
//   KernelFn ResolveFoo(int64_t t) { return CONVGEN_RESOLVE(Foo, t); }
#define CONVGEN_RESOLVE(FUNC_NAME, target) \
  ::convgen::internal::ResolveFromExportTable(HWY_DISPATCH_TABLE(FUNC_NAME), (target))

#endif  // CONVGEN_SRC_DISPATCH_H_
