// kSanitized: whether this test binary was built with ASan or TSan (g++
// defines __SANITIZE_*__, clang answers __has_feature). Tests that probe
// allocation failure or spawn children skip or relax what a sanitizer's own
// runtime changes (its allocator policy, its report lines).
#ifndef CONVGEN_TESTS_SANITIZED_H_
#define CONVGEN_TESTS_SANITIZED_H_

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

#endif  // CONVGEN_TESTS_SANITIZED_H_
