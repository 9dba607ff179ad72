// libFuzzer target: the wisdom file reader (src/wisdom.h, ParseWisdom is
// pure: text in, entries or a Status out).
//
// Properties: ParseWisdom returns an error Status with a message naming the
// source, or entries that FormatWisdom writes back to a text that parses to
// the same entries (src/wisdom.h promises this, line numbers aside and the
// cpu string without '"'); gflops is written with 2 decimals, so it is
// compared to 0.005.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "wisdom.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& input, const std::string& detail) {
  std::fprintf(stderr, "fuzz_wisdom: %s\n  input: '%s'\n  %s\n", what, input.c_str(),
               detail.c_str());
  std::abort();
}

bool SameGflops(double a, double b) {
  if (a < 0 || b < 0) return (a < 0) == (b < 0);
  return std::fabs(a - b) <= 0.005 + 1e-12 * std::fabs(a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<convgen::internal::WisdomEntry> entries;
  const convgen::Status s = convgen::internal::ParseWisdom(text, "fuzz.wisdom", &entries);
  if (!s.ok()) {
    if (s.message().find("fuzz.wisdom") == std::string::npos)
      Fail("error does not name its source", text, s.ToString());
    return 0;
  }
  const std::string again = convgen::internal::FormatWisdom(entries);
  std::vector<convgen::internal::WisdomEntry> back;
  const convgen::Status s2 = convgen::internal::ParseWisdom(again, "again", &back);
  if (!s2.ok()) Fail("formatted wisdom does not parse", text, again + "\n  " + s2.ToString());
  if (back.size() != entries.size()) Fail("round trip changed the entry count", text, again);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& a = entries[i];
    const auto& b = back[i];
    std::string cpu;
    for (char c : a.cpu)
      if (c != '"' && c != '\n' && c != '\r') cpu += c;
    if (a.desc != b.desc || a.target != b.target || a.kernel != b.kernel ||
        a.version != b.version || a.r != b.r || a.v != b.v || a.date != b.date ||
        cpu != b.cpu || !SameGflops(a.gflops, b.gflops))
      Fail("round trip changed an entry", text, again);
  }
  return 0;
}
