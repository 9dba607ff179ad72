// libFuzzer target: the .npy parser (tools/lib/npy.cc, ParseNpy is pure).
//
// Property: ParseNpy returns an error Status (and leaves the output alone),
// or an array whose element count is the product of its shape and which
// EncodeNpy writes back to bytes that parse to the same shape and the same
// bits. ASan catches any read outside the input; the parser must never
// allocate more than the input holds (libFuzzer's -rss_limit_mb and
// -malloc_limit_mb enforce it: see tools/ci_reliability.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "npy.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_npy: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  convgen::tools::NpyArray arr;
  arr.shape = {7};
  arr.data = {1.0f};
  const convgen::Status s = convgen::tools::ParseNpy(bytes, &arr);
  if (!s.ok()) {
    if (s.message().empty()) Fail("error status without a message", s.ToString());
    if (arr.shape.size() != 1 || arr.shape[0] != 7 || arr.data.size() != 1)
      Fail("output modified on error", s.ToString());
    return 0;
  }
  uint64_t count = 1;
  for (int64_t d : arr.shape) {
    if (d < 0) Fail("negative dim accepted", convgen::tools::ShapeToString(arr.shape));
    count *= static_cast<uint64_t>(d);
  }
  if (count != arr.data.size())
    Fail("element count differs from the shape", convgen::tools::ShapeToString(arr.shape));
  if (count * 4 > size) Fail("more data than the input holds", convgen::tools::ShapeToString(arr.shape));

  std::string encoded;
  const convgen::Status e = convgen::tools::EncodeNpy(arr.shape, arr.data.data(), &encoded);
  if (!e.ok()) Fail("EncodeNpy refused a parsed array", e.ToString());
  convgen::tools::NpyArray back;
  const convgen::Status s2 = convgen::tools::ParseNpy(encoded, &back);
  if (!s2.ok()) Fail("encoded array does not parse", s2.ToString());
  if (back.shape != arr.shape) Fail("round trip changed the shape", convgen::tools::ShapeToString(back.shape));
  if (back.data.size() != arr.data.size() ||
      (count > 0 && std::memcmp(back.data.data(), arr.data.data(), count * sizeof(float)) != 0))
    Fail("round trip changed the data", convgen::tools::ShapeToString(arr.shape));
  return 0;
}
