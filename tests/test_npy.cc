// Tests of the .npy reader and writer (tools/lib/npy.h): round trips, headers
// built by hand byte by byte, every way a file can be malformed, and files
// exchanged with numpy itself when a python3 with numpy is available.
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "npy.h"
#include "temp_dir.h"

namespace {

using convgen::StatusCode;
using convgen::tools::EncodeNpy;
using convgen::tools::NpyArray;
using convgen::tools::ParseNpy;
using convgen::tools::ReadNpy;
using convgen::tools::WriteNpyAtomic;

using convgen::testing::TempDir;

std::string FloatBytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(float));
}

// A .npy file built by hand: magic, version major.0, header length in 2
// (v1) or 4 (v2, v3) little-endian bytes, `dict` padded with spaces and a
// '\n' to a 64-byte boundary, then `data`.
std::string HandMadeNpy(int major, const std::string& dict, const std::string& data) {
  const size_t width = major == 1 ? 2 : 4;
  const size_t preamble = 6 + 2 + width;
  std::string header = dict;
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < width; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

const char kDict23[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
const std::vector<float> kSix = {0.5f, -1.f, 2.f, 3.25f, -0.f, 1e-40f};

std::string Dict(const std::string& descr, const std::string& fortran, const std::string& shape) {
  return "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// Parses `bytes`, expecting failure; returns the message. Also checks that
// the output argument is left untouched.
std::string ParseError(const std::string& bytes) {
  NpyArray out;
  out.shape = {7};
  out.data = {42.f};
  const convgen::Status s = ParseNpy(bytes, &out);
  CHECK_FALSE(s.ok());
  CHECK(out.shape == std::vector<int64_t>{7});
  CHECK(out.data == std::vector<float>{42.f});
  CHECK(s.message().find('\n') == std::string::npos);
  return s.message();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST_CASE("npy round trip through WriteNpyAtomic and ReadNpy", "[npy]") {
  TempDir dir;
  const std::vector<std::vector<int64_t>> shapes = {
      {2, 3}, {6}, {}, {0, 3}, {1, 2, 3, 1}, {3, 0}};
  for (const auto& shape : shapes) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    std::vector<float> data(static_cast<size_t>(count));
    for (size_t i = 0; i < data.size(); ++i) data[i] = 0.25f * static_cast<float>(i) - 1.f;
    if (!data.empty()) data[0] = -std::numeric_limits<float>::infinity();
    INFO("shape " << convgen::tools::ShapeToString(shape));
    const std::string path = dir.File("a.npy");
    REQUIRE(WriteNpyAtomic(path, shape, data.data()).ok());
    NpyArray back;
    const convgen::Status s = ReadNpy(path, &back);
    REQUIRE(s.ok());
    CHECK(back.shape == shape);
    REQUIRE(back.data.size() == data.size());
    // memcmp's pointers must not be null, even for 0 bytes (UBSan nonnull).
    if (!data.empty())
      CHECK(std::memcmp(back.data.data(), data.data(), data.size() * sizeof(float)) == 0);
    CHECK(dir.Entries() == std::set<std::string>{"a.npy"});
  }
}

TEST_CASE("npy NaN and signed zero survive bit for bit", "[npy]") {
  const std::vector<float> data = {std::numeric_limits<float>::quiet_NaN(), -0.f, 1e-45f,
                                   std::numeric_limits<float>::max()};
  std::string bytes;
  REQUIRE(EncodeNpy({4}, data.data(), &bytes).ok());
  NpyArray back;
  REQUIRE(ParseNpy(bytes, &back).ok());
  REQUIRE(back.data.size() == 4);
  CHECK(std::memcmp(back.data.data(), data.data(), sizeof(float) * 4) == 0);
}

TEST_CASE("npy EncodeNpy writes the numpy version 1 layout", "[npy]") {
  std::string bytes;
  REQUIRE(EncodeNpy({2, 3}, kSix.data(), &bytes).ok());
  // 10 preamble bytes + 60 of dict + '\n' = 71, padded to 128 as numpy does.
  REQUIRE(bytes.size() == 128 + 24);
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(static_cast<unsigned char>(bytes[8]) + 256 * static_cast<unsigned char>(bytes[9]) ==
        128 - 10);
  CHECK(bytes.substr(10, sizeof(kDict23) - 1) == kDict23);
  CHECK(bytes[127] == '\n');
  CHECK(bytes.substr(128) == FloatBytes(kSix));
  // Byte-identical to the hand-made file of the same array.
  CHECK(bytes == HandMadeNpy(1, kDict23, FloatBytes(kSix)));

  std::string bad;
  CHECK_FALSE(EncodeNpy({2, -3}, kSix.data(), &bad).ok());
}

TEST_CASE("npy hand built version 1 2 and 3 headers parse", "[npy]") {
  struct Case {
    int major;
    std::string dict;
    std::vector<int64_t> shape;
  };
  const std::vector<Case> cases = {
      {1, kDict23, {2, 3}},
      {2, kDict23, {2, 3}},
      {3, kDict23, {2, 3}},
      // Key order, quotes, spacing, newlines and the trailing comma are free.
      {1, "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f4\"}", {2, 3}},
      {1, "  {'descr':'<f4',\n 'fortran_order' : False ,\t'shape' : ( 2 , 3 , ) }", {2, 3}},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", {6}},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 6, 1, 1), }", {1, 6, 1, 1}},
      // Python 2 era numpy wrote longs.
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", {2, 3}},
  };
  for (const Case& c : cases) {
    INFO("version " << c.major << " dict " << c.dict);
    NpyArray a;
    const convgen::Status s = ParseNpy(HandMadeNpy(c.major, c.dict, FloatBytes(kSix)), &a);
    REQUIRE(s.ok());
    CHECK(a.shape == c.shape);
    CHECK(a.data == kSix);
  }
  SECTION("a 0-d array holds one element") {
    NpyArray a;
    REQUIRE(ParseNpy(HandMadeNpy(1, Dict("'<f4'", "False", "()"), FloatBytes({7.5f})), &a).ok());
    CHECK(a.shape.empty());
    CHECK(a.data == std::vector<float>{7.5f});
  }
  SECTION("an empty array holds none") {
    NpyArray a;
    REQUIRE(ParseNpy(HandMadeNpy(1, Dict("'<f4'", "False", "(0, 5)"), ""), &a).ok());
    CHECK(a.shape == std::vector<int64_t>{0, 5});
    CHECK(a.data.empty());
  }
  SECTION("a header without padding or newline is still a header") {
    std::string bytes("\x93NUMPY\x01\x00", 8);
    const std::string dict = kDict23;
    bytes += static_cast<char>(dict.size());
    bytes += '\0';
    NpyArray a;
    REQUIRE(ParseNpy(bytes + dict + FloatBytes(kSix), &a).ok());
    CHECK(a.data == kSix);
  }
}

TEST_CASE("npy every truncation of a small file is rejected", "[npy]") {
  const std::string full = HandMadeNpy(1, kDict23, FloatBytes(kSix));
  for (size_t len = 0; len < full.size(); ++len) {
    INFO("first " << len << " of " << full.size() << " bytes");
    const std::string message = ParseError(full.substr(0, len));
    CHECK(Contains(message, "truncated"));
  }
  // Same for version 2, whose length field is 4 bytes.
  const std::string full2 = HandMadeNpy(2, kDict23, FloatBytes(kSix));
  for (size_t len = 0; len < full2.size(); ++len) {
    INFO("version 2, first " << len << " bytes");
    CHECK(Contains(ParseError(full2.substr(0, len)), "truncated"));
  }
}

TEST_CASE("npy wrong dtypes are rejected", "[npy]") {
  for (const char* descr : {"<f8", ">f4", "<i4", "|f4", "<f2", "|u1", "=f4", "float32", ""}) {
    INFO("descr " << descr);
    const std::string message = ParseError(
        HandMadeNpy(1, Dict(std::string("'") + descr + "'", "False", "(2, 3)"), FloatBytes(kSix)));
    CHECK(Contains(message, std::string("dtype '") + descr + "'"));
    CHECK(Contains(message, "'<f4'"));
  }
  // A structured dtype's descr is a list, not a string.
  CHECK(Contains(ParseError(HandMadeNpy(1, Dict("[('a', '<f4')]", "False", "(2, 3)"),
                                        FloatBytes(kSix))),
                 "structured"));
}

TEST_CASE("npy fortran order is rejected", "[npy]") {
  const std::string message =
      ParseError(HandMadeNpy(1, Dict("'<f4'", "True", "(2, 3)"), FloatBytes(kSix)));
  CHECK(Contains(message, "fortran_order"));
}

TEST_CASE("npy bad magic and unsupported versions are rejected", "[npy]") {
  const std::string good = HandMadeNpy(1, kDict23, FloatBytes(kSix));
  std::string zip = good;
  zip.replace(0, 4, "PK\x03\x04");
  CHECK(Contains(ParseError(zip), "bad magic"));
  std::string numpz = good;
  numpz[5] = 'Z';
  CHECK(Contains(ParseError(numpz), "bad magic"));
  CHECK(Contains(ParseError("hello world, this is not an array"), "bad magic"));
  for (const auto& version : std::vector<std::pair<int, int>>{{4, 0}, {1, 1}, {0, 0}, {255, 0}}) {
    std::string v = good;
    v[6] = static_cast<char>(version.first);
    v[7] = static_cast<char>(version.second);
    INFO("version " << version.first << "." << version.second);
    CHECK(Contains(ParseError(v), "unsupported .npy format version " +
                                      std::to_string(version.first) + "." +
                                      std::to_string(version.second)));
  }
}

TEST_CASE("npy malformed header dicts are rejected", "[npy]") {
  struct Case {
    std::string dict;
    std::string expect;  // a fragment of the message
  };
  const std::vector<Case> cases = {
      {"{'descr': '<f4', 'fortran_order': False}", "no 'shape' key"},
      {"{'descr': '<f4', 'shape': (2, 3)}", "no 'fortran_order' key"},
      {"{'fortran_order': False, 'shape': (2, 3)}", "no 'descr' key"},
      {"{}", "no 'descr' key"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
       "duplicate key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
       "unexpected key 'extra'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", "is an int, not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", "negative dimension"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2.5, 3)}", "non-integer dimension"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3e0)}", "non-integer dimension"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3)}", "leading zero"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (two, 3)}", "not a non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2x, 3)}", "not a non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", "must be a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,, 3)}", "not a non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", "not a non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
       "does not fit int64"},
      {"{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 3)}", "True or False"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", "True or False"},
      {"{'descr': '<f4', 'fortran_order': Falsely, 'shape': (2, 3)}", "True or False"},
      {"{'descr': '<f4 , 'fortran_order': False, 'shape': (2, 3)}", "expected"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "expected ',' or '}'"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", "expected ',' or '}'"},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3)}", "expected ':'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", "unexpected text"},
      {"'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "expected '{'"},
      {"{'de\\x73cr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", "escape"},
      {"{descr: '<f4', 'fortran_order': False, 'shape': (2, 3)}", "quoted string"},
      {"", "expected '{'"},
  };
  for (const Case& c : cases) {
    INFO("dict " << c.dict);
    const std::string message = ParseError(HandMadeNpy(1, c.dict, FloatBytes(kSix)));
    CHECK(Contains(message, c.expect));
  }
}

TEST_CASE("npy huge declared shapes are rejected before allocating", "[npy]") {
  // (2^40, 2^40) overflows any byte count; (2^40,) is representable but
  // declares 4 TiB in a file of a few bytes. Neither may allocate (a
  // bad_alloc would escape and fail the test).
  NpyArray a;
  const std::string overflow =
      HandMadeNpy(1, Dict("'<f4'", "False", "(1099511627776, 1099511627776)"), "abcd");
  convgen::Status s = ParseNpy(overflow, &a);
  CHECK(s.code() == StatusCode::kOutOfRange);
  CHECK(Contains(s.message(), "(1099511627776, 1099511627776)"));

  const std::string big = HandMadeNpy(1, Dict("'<f4'", "False", "(1099511627776,)"), "abcd");
  s = ParseNpy(big, &a);
  CHECK_FALSE(s.ok());
  CHECK(Contains(s.message(), "needs 4398046511104 bytes"));
  CHECK(Contains(s.message(), "only 4 follow"));

  // A zero dim makes the others irrelevant: an empty array.
  REQUIRE(ParseNpy(HandMadeNpy(1, Dict("'<f4'", "False", "(0, 9223372036854775807)"), ""), &a)
              .ok());
  CHECK(a.data.empty());
  // A header length field that points far beyond the file.
  std::string bytes("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);
  CHECK(Contains(ParseError(bytes + kDict23), "truncated header"));
}

TEST_CASE("npy trailing bytes are rejected", "[npy]") {
  const std::string message =
      ParseError(HandMadeNpy(1, kDict23, FloatBytes(kSix) + "junk"));
  CHECK(Contains(message, "4 trailing bytes"));
  CHECK(Contains(ParseError(HandMadeNpy(1, kDict23, FloatBytes(kSix) + '\0')),
                 "1 trailing bytes"));
}

TEST_CASE("npy ReadNpy names the file in its errors", "[npy]") {
  TempDir dir;
  NpyArray a;
  const std::string missing = dir.File("missing.npy");
  convgen::Status s = ReadNpy(missing, &a);
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(Contains(s.message(), missing));

  s = ReadNpy(dir.path(), &a);
  CHECK_FALSE(s.ok());
  CHECK(Contains(s.message(), "directory"));

  const std::string bad = dir.File("bad.npy");
  WriteFile(bad, HandMadeNpy(1, Dict("'<f8'", "False", "(3,)"), std::string(24, '\0')));
  s = ReadNpy(bad, &a);
  CHECK(Contains(s.message(), bad));
  CHECK(Contains(s.message(), "'<f8'"));
}

TEST_CASE("npy WriteNpyAtomic leaves nothing behind on failure", "[npy]") {
  TempDir dir;
  SECTION("directory does not exist") {
    const convgen::Status s = WriteNpyAtomic(dir.File("no/such/dir/y.npy"), {6}, kSix.data());
    CHECK_FALSE(s.ok());
    CHECK(Contains(s.message(), "no/such/dir/y.npy"));
    CHECK(dir.Entries().empty());
  }
  SECTION("the target is a directory") {
    std::filesystem::create_directory(dir.File("out.npy"));
    const convgen::Status s = WriteNpyAtomic(dir.File("out.npy"), {6}, kSix.data());
    CHECK_FALSE(s.ok());
    CHECK(dir.Entries() == std::set<std::string>{"out.npy"});  // the temp file is gone
  }
  SECTION("a negative dim writes nothing") {
    CHECK_FALSE(WriteNpyAtomic(dir.File("y.npy"), {-1, 6}, kSix.data()).ok());
    CHECK(dir.Entries().empty());
  }
  SECTION("an existing file is replaced whole") {
    WriteFile(dir.File("y.npy"), "old content");
    REQUIRE(WriteNpyAtomic(dir.File("y.npy"), {2, 3}, kSix.data()).ok());
    CHECK(ReadFile(dir.File("y.npy")) == HandMadeNpy(1, kDict23, FloatBytes(kSix)));
    CHECK(dir.Entries() == std::set<std::string>{"y.npy"});
  }
}

namespace {

// The first python3 that can import numpy ("" if none): the python3 on PATH
// may be a virtualenv without it while the system one has it.
std::string PythonWithNumpy() {
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    const std::string cmd = std::string(python) + " -c 'import numpy' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return python;
  }
  return "";
}

}  // namespace

TEST_CASE("npy files are exchanged with numpy", "[npy]") {
  const std::string python = PythonWithNumpy();
  if (python.empty()) {
    WARN("no python3 with numpy: numpy interoperability not tested");
    return;
  }
  TempDir dir;
  const std::string script = dir.File("make.py");
  WriteFile(script,
            "import sys, numpy as np\n"
            "d = sys.argv[1]\n"
            "a = np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5\n"
            "np.save(d + '/v1.npy', a)\n"
            "with open(d + '/v2.npy', 'wb') as f:\n"
            "    np.lib.format.write_array(f, a, version=(2, 0))\n"
            "np.save(d + '/scalar.npy', np.float32(3.5))\n"
            "np.save(d + '/f8.npy', a.astype(np.float64))\n"
            "np.save(d + '/be.npy', a.astype('>f4'))\n"
            "np.save(d + '/fortran.npy', np.asfortranarray(a))\n"
            "np.save(d + '/empty.npy', np.zeros((0, 4), np.float32))\n");
  REQUIRE(std::system((python + " " + script + " " + dir.path()).c_str()) == 0);

  const std::vector<float> expected = {-0.5f, -0.25f, 0.f, 0.25f, 0.5f, 0.75f};
  for (const char* name : {"v1.npy", "v2.npy"}) {
    INFO(name);
    NpyArray a;
    const convgen::Status s = ReadNpy(dir.File(name), &a);
    REQUIRE(s.ok());
    CHECK(a.shape == std::vector<int64_t>{2, 3});
    CHECK(a.data == expected);
  }
  NpyArray a;
  REQUIRE(ReadNpy(dir.File("scalar.npy"), &a).ok());
  CHECK(a.shape.empty());
  CHECK(a.data == std::vector<float>{3.5f});
  REQUIRE(ReadNpy(dir.File("empty.npy"), &a).ok());
  CHECK(a.shape == std::vector<int64_t>{0, 4});
  CHECK(Contains(ReadNpy(dir.File("f8.npy"), &a).message(), "'<f8'"));
  CHECK(Contains(ReadNpy(dir.File("be.npy"), &a).message(), "'>f4'"));
  CHECK(Contains(ReadNpy(dir.File("fortran.npy"), &a).message(), "fortran_order"));

  // And numpy reads what we write, values and all.
  const std::string ours = dir.File("ours.npy");
  REQUIRE(WriteNpyAtomic(ours, {3, 2}, expected.data()).ok());
  const std::string check =
      python + " -c \"import numpy as np, sys; a = np.load(sys.argv[1]); "
               "assert a.dtype == np.float32 and a.shape == (3, 2) and not a.flags.fortran; "
               "assert (a.ravel() == np.arange(6, dtype=np.float32) / 4 - 0.5).all()\" " +
      ours;
  CHECK(std::system(check.c_str()) == 0);
}
