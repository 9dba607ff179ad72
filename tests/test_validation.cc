// Conv2dParams validation: every invalid problem gets a Status naming the
// field and value; sizes that overflow are refused, never wrapped.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "convgen/conv2d.h"

using convgen::Conv2dParams;
using convgen::StatusCode;

namespace {
Conv2dParams Good() {
  Conv2dParams p;
  p.batch = 2; p.in_channels = 8; p.in_height = 10; p.in_width = 12; p.out_channels = 4;
  p.kernel_h = 3; p.kernel_w = 3; p.pad_h = p.pad_w = 1; p.groups = 2;
  return p;
}
void ExpectError(const Conv2dParams& p, const std::string& needle,
                 StatusCode code = StatusCode::kInvalidArgument) {
  convgen::Status s = convgen::Validate(p);
  INFO(convgen::DebugString(p) << " -> " << s.ToString());
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == code);
  CHECK(s.message().find(needle) != std::string::npos);
}
}  // namespace

TEST_CASE("validation accepts a good problem and computes sizes") {
  Conv2dParams p = Good();
  REQUIRE(convgen::Validate(p).ok());
  CHECK(p.out_height() == 10);
  CHECK(p.out_width() == 12);
  CHECK(p.weight_elements() == 4 * 4 * 9);
  CHECK(p.flops() == 2.0 * 2 * 4 * 10 * 12 * 4 * 9);
  p.stride_h = 2; p.dilation_w = 2;
  CHECK(p.out_height() == (10 + 2 - 2 - 1) / 2 + 1);
  CHECK(p.out_width() == (12 + 2 - 4 - 1) / 1 + 1);
}

TEST_CASE("validation rejects non-positive sizes") {
  const struct { int64_t Conv2dParams::*field; const char* name; } fields[] = {
      {&Conv2dParams::batch, "batch"},         {&Conv2dParams::in_channels, "in_channels"},
      {&Conv2dParams::in_height, "in_height"}, {&Conv2dParams::in_width, "in_width"},
      {&Conv2dParams::out_channels, "out_channels"}, {&Conv2dParams::kernel_h, "kernel_h"},
      {&Conv2dParams::kernel_w, "kernel_w"},   {&Conv2dParams::stride_h, "stride_h"},
      {&Conv2dParams::stride_w, "stride_w"},   {&Conv2dParams::dilation_h, "dilation_h"},
      {&Conv2dParams::dilation_w, "dilation_w"}, {&Conv2dParams::groups, "groups"},
  };
  for (const auto& f : fields)
    for (int64_t bad : {int64_t{0}, int64_t{-3}}) {
      Conv2dParams p = Good();
      p.*(f.field) = bad;
      ExpectError(p, std::string(f.name) + "=" + std::to_string(bad));
    }
}

TEST_CASE("validation rejects negative padding and indivisible groups") {
  Conv2dParams p = Good();
  p.pad_h = -1;
  ExpectError(p, "pad_h=-1");
  p = Good();
  p.pad_w = -2;
  ExpectError(p, "pad_w=-2");
  p = Good();
  p.groups = 3;
  ExpectError(p, "groups=3 does not divide in_channels=8");
  p = Good();
  p.out_channels = 5;
  ExpectError(p, "groups=2 does not divide out_channels=5");
}

TEST_CASE("validation rejects a window larger than the padded input") {
  Conv2dParams p = Good();
  p.kernel_h = 13;  // 10 + 2 = 12 < 13
  ExpectError(p, "kernel window 13");
  p = Good();
  p.kernel_w = 3; p.dilation_w = 7;  // window 15 > 14
  ExpectError(p, "kernel window 15");
}

TEST_CASE("validation refuses sizes that overflow int64 or the address space") {
  Conv2dParams p = Good();
  p.in_height = p.in_width = int64_t{1} << 40;
  p.kernel_h = p.kernel_w = 1; p.pad_h = p.pad_w = 0;
  ExpectError(p, "input", StatusCode::kOutOfRange);
  p = Good();
  p.in_channels = p.out_channels = int64_t{1} << 30;
  p.groups = 1;
  ExpectError(p, "weights", StatusCode::kOutOfRange);
  p = Good();
  p.pad_h = INT64_MAX / 2;
  ExpectError(p, "pad_h", StatusCode::kOutOfRange);
  p = Good();
  p.dilation_h = INT64_MAX;
  ExpectError(p, "overflows", StatusCode::kOutOfRange);
  p = Good();
  p.batch = INT64_MAX;
  ExpectError(p, "element count overflows", StatusCode::kOutOfRange);
  // Just inside the limits: 2^31 elements per tensor is accepted (computed
  // without allocating here).
  p = Good();
  p.batch = 1; p.in_channels = 1 << 11; p.in_height = 1 << 10; p.in_width = 1 << 10;
  p.groups = 1; p.out_channels = 1; p.kernel_h = p.kernel_w = 1; p.pad_h = p.pad_w = 0;
  CHECK(convgen::Validate(p).ok());
  CHECK(p.input_elements() == int64_t{1} << 31);
}
