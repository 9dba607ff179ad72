// libFuzzer target: the benchdnn descriptor parser (src/descriptor.cc).
//
// Property: ParseDescriptor returns an error Status (with a message), or a
// descriptor whose problem Validate()s and whose canonical and short forms
// both parse back to the same descriptor.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "convgen/descriptor.h"

namespace {

[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "fuzz_descriptor: %s\n  input: '%.*s'\n  %s\n", what,
               static_cast<int>(input.size()), input.data(), detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  convgen::LayerDesc desc;
  desc.name = "untouched";
  const convgen::Status s = convgen::ParseDescriptor(text, &desc);
  if (!s.ok()) {
    if (s.message().empty()) Fail("error status without a message", text, s.ToString());
    if (desc.name != "untouched" || desc.params != convgen::LayerDesc().params)
      Fail("output modified on error", text, s.ToString());
    return 0;
  }
  const convgen::Status valid = convgen::Validate(desc.params);
  if (!valid.ok()) Fail("accepted descriptor does not Validate", text, valid.ToString());
  for (int form = 0; form < 2; ++form) {
    const std::string again =
        form == 0 ? convgen::FormatDescriptor(desc) : convgen::FormatDescriptorShort(desc);
    convgen::LayerDesc back;
    const convgen::Status s2 = convgen::ParseDescriptor(again, &back);
    if (!s2.ok()) Fail("formatted descriptor does not parse", text, again + ": " + s2.ToString());
    if (back.params != desc.params || back.name != desc.name)
      Fail("round trip changed the descriptor", text,
           again + " -> " + convgen::FormatDescriptor(back));
  }
  return 0;
}
