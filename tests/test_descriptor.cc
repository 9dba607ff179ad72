// benchdnn descriptors: parsing with benchdnn's meaning, round trips, errors.
#include <catch2/catch.hpp>

#include <string>

#include "convgen/descriptor.h"

using convgen::LayerDesc;
using convgen::ParseDescriptor;

namespace {
LayerDesc MustParse(const std::string& s) {
  LayerDesc d;
  convgen::Status st = ParseDescriptor(s, &d);
  INFO(s << " -> " << st.ToString());
  REQUIRE(st.ok());
  return d;
}
std::string ErrorOf(const std::string& s) {
  LayerDesc d;
  convgen::Status st = ParseDescriptor(s, &d);
  INFO(s);
  REQUIRE_FALSE(st.ok());
  return st.message();
}
}  // namespace

TEST_CASE("descriptor benchdnn mobilenet example") {
  LayerDesc d = MustParse(
      "g32mb1ic32ih112iw112oc32oh112ow112kh3kw3sh1sw1ph1pw1n\"mobilenet:conv2_1/dw\"");
  CHECK(d.name == "mobilenet:conv2_1/dw");
  CHECK(d.params.groups == 32);
  CHECK(d.params.batch == 1);
  CHECK(d.params.in_channels == 32);
  CHECK(d.params.out_channels == 32);
  CHECK(d.params.in_height == 112);
  CHECK(d.params.in_width == 112);
  CHECK(d.params.kernel_h == 3);
  CHECK(d.params.pad_w == 1);
  CHECK(d.params.dilation_h == 1);  // benchdnn dh0 = dense = PyTorch 1
  CHECK(d.params.out_height() == 112);
}

TEST_CASE("descriptor defaults and w copies h") {
  LayerDesc d = MustParse("ic3ih224oc64kh7sh2ph3");
  CHECK(d.params.batch == 2);  // benchdnn's default mb
  CHECK(d.params.groups == 1);
  CHECK(d.params.in_width == 224);
  CHECK(d.params.kernel_w == 7);
  CHECK(d.params.stride_w == 2);
  CHECK(d.params.pad_w == 3);
  CHECK(d.params.out_height() == 112);
  CHECK(d.params.out_width() == 112);
  // A given w without h copies too.
  LayerDesc e = MustParse("mb1ic1iw9ih5oc1kw3kh1");
  CHECK(e.params.in_width == 9);
  CHECK(e.params.kernel_h == 1);
  CHECK(e.params.out_width() == 7);
  // Dilation: benchdnn counts gaps.
  LayerDesc f = MustParse("mb1ic1ih9oc1kh3dh1");
  CHECK(f.params.dilation_h == 2);
  CHECK(f.params.dilation_w == 2);
  CHECK(f.params.out_height() == 5);
  // '_' separators are tolerated, as in benchdnn.
  CHECK(MustParse("mb1_ic4_ih8_oc4_kh3_ph1").params.out_width() == 8);
}

TEST_CASE("descriptor round trips through both formatters") {
  const char* cases[] = {
      "g32mb1ic32ih112iw112oc32oh112ow112kh3kw3sh1sw1ph1pw1n\"mobilenet:conv2_1/dw\"",
      "mb1ic128ih256oc128oh256kh5ph2n\"d2l_5x5\"",
      "mb1ic3ih224oc64oh112kh7sh2ph3n\"rn_stem\"",
      "g3mb1ic240ih28oc240oh28kh1ph0n\"shuffle_g3_1x1\"",
      "mb3ic6ih11iw7oc4kh3kw2sh2sw1ph1pw0dh1dw2",
  };
  for (const char* c : cases) {
    LayerDesc d = MustParse(c);
    LayerDesc full = MustParse(convgen::FormatDescriptor(d));
    LayerDesc brief = MustParse(convgen::FormatDescriptorShort(d));
    CHECK(full.params == d.params);
    CHECK(full.name == d.name);
    CHECK(brief.params == d.params);
    CHECK(brief.name == d.name);
  }
  CHECK(convgen::FormatDescriptorShort(MustParse("mb1ic64ih56oc64oh56kh3ph1n\"rn_3x3_56\"")) ==
        "mb1ic64ih56oc64oh56kh3ph1n\"rn_3x3_56\"");
}

TEST_CASE("descriptor errors name the field") {
  CHECK(ErrorOf("") == "empty descriptor");
  CHECK(ErrorOf("mb1ic4ih8oc4kh3xy2").find("unknown descriptor field 'xy'") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ic4ih8oc4kh3").find("'ic' is repeated") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh3n\"a\"n\"b\"").find("'n' is repeated") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh3 ").find("unexpected ' '") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh3!!").find("unexpected '!!'") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh").find("'kh' has no value") != std::string::npos);
  CHECK(ErrorOf("mb1ih8oc4kh3").find("'ic'") != std::string::npos);
  CHECK(ErrorOf("mb1ic4oc4kh3").find("'ih'") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4").find("'kh'") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh3oh7").find("oh=7 is inconsistent") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh3ph1oh8ow9").find("ow=9 is inconsistent") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8id8oc4kh3").find("3-D") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh3ph-1").find("pad_h=-1") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh3dh-1").find("dh=-1") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih99999999999999999999oc4kh3").find("overflows") != std::string::npos);
  CHECK(ErrorOf("g3mb1ic4ih8oc6kh3").find("groups=3 does not divide in_channels=4") !=
        std::string::npos);
  CHECK(ErrorOf("mb1ic4ih8oc4kh3n\"unterminated").find("closing quote") != std::string::npos);
  CHECK(ErrorOf("mb0ic4ih8oc4kh3").find("batch=0") != std::string::npos);
  CHECK(ErrorOf("mb1ic4ih2oc4kh5").find("larger than the padded input") != std::string::npos);
}
