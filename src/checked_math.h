// convgen internal: overflow-checked int64 arithmetic for size validation.
#ifndef CONVGEN_SRC_CHECKED_MATH_H_
#define CONVGEN_SRC_CHECKED_MATH_H_

#include <cstdint>
#include <initializer_list>

namespace convgen {
namespace internal {

// *out = product of factors; false on int64 overflow (factors must be >= 0).
inline bool CheckedProduct(std::initializer_list<int64_t> factors, int64_t* out) {
  int64_t p = 1;
  for (int64_t f : factors) {
    if (__builtin_mul_overflow(p, f, &p)) return false;
  }
  *out = p;
  return true;
}

inline bool CheckedAdd(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// Largest tensor convgen accepts, in bytes: the x86-64 / AArch64 user address
// space is 2^47 bytes; anything larger cannot be allocated by anybody.
constexpr int64_t kMaxTensorBytes = int64_t{1} << 47;

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_CHECKED_MATH_H_
