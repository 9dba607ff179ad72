// Huge and hostile sizes: a problem whose element counts overflow 32-bit
// indices (or 64-bit products) is either computed correctly or refused at
// plan creation with a clear error naming the field — never a wrong answer,
// a crash or an allocation the caller did not ask for.
//
//  - Validate() / Plan::Create() near INT64_MAX and at the 2^47-byte limit,
//    without allocating anything;
//  - the CLI given .npy files that declare gigantic shapes (a small file
//    declaring (2^40, 2^40)): refused before allocating, exit 2, one line;
//  - [.huge] (hidden; tools/ci_reliability.sh runs them when the machine has
//    the memory): layers whose output, then input, holds just over 2^31
//    floats (8.6 GB), computed by one kernel of every family that applies and
//    checked element by element.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "sanitized.h"

#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "convgen/conv2d.h"
#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "kernel.h"
#include "npy.h"

namespace convgen {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A valid 3x3 problem to start from.
Conv2dParams Good() {
  Conv2dParams p;
  p.batch = 1;
  p.in_channels = 4;
  p.out_channels = 8;
  p.in_height = p.in_width = 16;
  p.kernel_h = p.kernel_w = 3;
  p.pad_h = p.pad_w = 1;
  return p;
}

// Validate refuses with `code` and a message containing `field`; Create
// returns the same Status (it validates before reading the weights, so one
// float is enough) and leaves no plan.
void ExpectRefused(const Conv2dParams& p, StatusCode code, const std::string& field) {
  INFO(DebugString(p));
  const Status v = Validate(p);
  INFO(v.ToString());
  CHECK(v.code() == code);
  CHECK(Contains(v.message(), field));
  CHECK(Contains(v.ToString(), StatusCodeName(code)));
  float one_weight = 1;
  std::unique_ptr<Plan> plan;
  const Status c = Plan::Create(p, &one_weight, nullptr, PlanOptions(), &plan);
  CHECK(c.code() == v.code());
  CHECK(c.message() == v.message());
  CHECK(plan == nullptr);
}

TEST_CASE("validation near INT64_MAX refuses with the offending field named") {
  Conv2dParams p;
  SECTION("every field at INT64_MAX in turn") {
    // Each alone makes the problem impossible: either a tensor, the padded
    // size or the window overflows, or the window exceeds the input.
    int64_t Conv2dParams::*fields[] = {
        &Conv2dParams::batch,    &Conv2dParams::in_channels, &Conv2dParams::in_height,
        &Conv2dParams::in_width, &Conv2dParams::out_channels, &Conv2dParams::kernel_h,
        &Conv2dParams::kernel_w, &Conv2dParams::pad_h,        &Conv2dParams::pad_w,
        &Conv2dParams::dilation_h, &Conv2dParams::dilation_w};
    for (auto f : fields) {
      p = Good();
      p.*f = kMax;
      const Status v = Validate(p);
      INFO(DebugString(p) << ": " << v.ToString());
      CHECK_FALSE(v.ok());
      CHECK_FALSE(v.message().empty());
      ExpectRefused(p, v.code(), v.message().substr(0, v.message().find(' ')));
    }
    // A huge stride or group count is legal in itself; groups must divide.
    p = Good();
    p.stride_h = p.stride_w = kMax;
    CHECK(Validate(p).ok());
    CHECK(p.out_height() == 1);
    p = Good();
    p.groups = kMax;
    ExpectRefused(p, StatusCode::kInvalidArgument, "groups=9223372036854775807");
  }
  SECTION("padding whose double overflows") {
    p = Good();
    p.pad_h = kMax / 2 + 1;
    ExpectRefused(p, StatusCode::kOutOfRange, "pad_h=4611686018427387904");
    p = Good();
    p.pad_w = kMax / 2;  // 2*pad fits, in + 2*pad does not
    ExpectRefused(p, StatusCode::kOutOfRange, "pad_w=4611686018427387903");
  }
  SECTION("dilation times kernel overflows") {
    p = Good();
    p.dilation_w = int64_t{1} << 62;
    ExpectRefused(p, StatusCode::kOutOfRange, "dilation_w=4611686018427387904");
  }
  SECTION("each tensor's element or byte count overflows int64") {
    p = Good();
    p.batch = int64_t{1} << 62;  // input elements 2^62 * 4 * 256 overflow
    ExpectRefused(p, StatusCode::kOutOfRange, "input element count overflows int64");
    p = Good();
    p.in_height = p.in_width = int64_t{1} << 31;  // 2^62 * 4 channels
    p.kernel_h = p.kernel_w = 1;
    ExpectRefused(p, StatusCode::kOutOfRange, "input element count overflows int64");
    p = Good();
    p.in_channels = p.out_channels = int64_t{1} << 31;
    p.in_height = p.in_width = 3;
    ExpectRefused(p, StatusCode::kOutOfRange, "weights element count overflows int64");
    // A 1x1 input grown by padding: a tiny input, an output of 2^62 floats.
    p = Good();
    p.in_height = p.in_width = 1;
    p.kernel_h = p.kernel_w = 1;
    p.pad_h = p.pad_w = int64_t{1} << 30;
    p.in_channels = 1;
    p.out_channels = 1;
    ExpectRefused(p, StatusCode::kOutOfRange, "output");
  }
  SECTION("products that fit int64 but exceed the 2^47-byte address space") {
    p = Good();
    p.in_height = int64_t{1} << 22;
    p.in_width = (int64_t{1} << 23) / 4 + 1;  // 4 channels: 2^45 + 2^24 floats
    p.kernel_h = p.kernel_w = 1;
    p.pad_h = p.pad_w = 0;
    ExpectRefused(p, StatusCode::kOutOfRange, "2^47-byte address space");
    // The limit itself is accepted (2^45 floats = 2^47 bytes), and the
    // element counts are exact in 64 bits.
    // Output channels 8 -> 2^46 floats of output: over the limit too.
    p.in_width = (int64_t{1} << 23) / 4;
    ExpectRefused(p, StatusCode::kOutOfRange, "output needs 281474976710656 bytes");
    p.out_channels = 4;
    REQUIRE(Validate(p).ok());
    CHECK(p.input_elements() == int64_t{1} << 45);
    CHECK(p.output_elements() == int64_t{1} << 45);
    CHECK(p.flops() == 2.0 * double(int64_t{1} << 43) * 4 * 4);
  }
}

TEST_CASE("element counts above 2^31 and 2^32 are exact in 64 bits") {
  Conv2dParams p;
  p.in_channels = 3;
  p.out_channels = 5;
  p.in_height = 46341;  // 46341^2 = 2147488281 > 2^31
  p.in_width = 46341;
  p.kernel_h = p.kernel_w = 3;
  p.pad_h = p.pad_w = 1;
  REQUIRE(Validate(p).ok());
  CHECK(p.input_elements() == int64_t{3} * 46341 * 46341);   // > 2^32
  CHECK(p.output_elements() == int64_t{5} * 46341 * 46341);  // > 2^33
  CHECK(p.weight_elements() == 5 * 3 * 9);
  // Descriptors carry them unchanged.
  LayerDesc d{p, "big"}, back;
  REQUIRE(ParseDescriptor(FormatDescriptor(d), &back).ok());
  CHECK(back.params == p);
}

// Writes `bytes` to a fresh file in a temporary directory.
class TempFiles {
 public:
  TempFiles() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/convgen_huge_XXXXXX";
    REQUIRE(::mkdtemp(&templ[0]) != nullptr);
    dir_ = templ;
  }
  ~TempFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(f.good());
    return path;
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// A version 1.0 .npy file of float32 with a hand-written shape and `data`.
std::string NpyDeclaring(const std::string& shape, const std::string& data) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + data;
}

struct Exit {
  bool exited = false;
  int code = -1;
  std::string err;
};

// Runs the CLI with its address space limited to `limit_bytes` (0 = no
// limit; sanitizers reserve terabytes of shadow, so they get none).
Exit RunCliLimited(const std::vector<std::string>& args, rlim_t limit_bytes,
                   const std::string& err_path) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (limit_bytes > 0) {
      struct rlimit rl = {limit_bytes, limit_bytes};
      setrlimit(RLIMIT_AS, &rl);
    }
    const int fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    std::vector<std::string> storage = {CONVGEN_CLI_PATH};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : storage) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    execv(CONVGEN_CLI_PATH, argv.data());
    _exit(127);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Exit e;
  e.exited = WIFEXITED(status);
  e.code = e.exited ? WEXITSTATUS(status) : WTERMSIG(status);
  std::ifstream f(err_path);
  e.err.assign(std::istreambuf_iterator<char>(f), {});
  return e;
}

TEST_CASE("cli refuses npy files declaring gigantic shapes before allocating", "[cli]") {
  TempFiles tmp;
  const std::string w = tmp.Write("w.npy", NpyDeclaring("(1, 1, 1, 1)", std::string(4, '\0')));
  // 1 GiB of address space is far below any of the declared sizes (the CLI
  // itself maps its libraries, oneDNN's included, in a few hundred MiB).
  const rlim_t limit = kSanitized ? 0 : rlim_t{1} << 30;
  struct Case {
    std::string shape, data, desc, expect;
  };
  const std::vector<Case> cases = {
      // 2^80 elements: the byte count overflows.
      {"(1099511627776, 1099511627776)", "abcd", "mb1ic1ih1iw1oc1kh1", "more elements than fit"},
      // 2^40 elements in a 4-byte file.
      {"(1, 1, 1048576, 1048576)", "abcd", "mb1ic1ih1048576iw1048576oc1kh1", "truncated data"},
      // 2^61 elements (the largest count the reader represents), 4 bytes.
      {"(2305843009213693951,)", "abcd", "mb1ic1ih1iw1oc1kh1", "truncated data"},
      // Shape agrees with nothing: the descriptor's own limit is 2^47 bytes.
      {"(1, 1, 1099511627776, 1099511627776)", "", "mb1ic1ih1099511627776iw1099511627776oc1kh1",
       "error"},
  };
  for (const Case& c : cases) {
    INFO(c.shape << " with " << c.desc);
    const std::string x = tmp.Write("x.npy", NpyDeclaring(c.shape, c.data));
    const std::string y = tmp.Path("y.npy");
    const Exit e = RunCliLimited({"run", c.desc, "--input", x, "--weights", w, "--output", y},
                                 limit, tmp.Path("stderr"));
    INFO("stderr: " << e.err);
    CHECK(e.exited);
    CHECK(e.code == 2);
    CHECK(std::count(e.err.begin(), e.err.end(), '\n') == 1);
    CHECK(Contains(e.err, c.expect));
    CHECK_FALSE(std::filesystem::exists(y));
  }
  // ParseNpy itself: the declared size is compared with the bytes present.
  tools::NpyArray a;
  const Status s = tools::ParseNpy(NpyDeclaring("(1099511627776, 1099511627776)", "abcd"), &a);
  CHECK(s.code() == StatusCode::kOutOfRange);
}

TEST_CASE("cli with a valid layer whose output cannot be allocated exits 2", "[cli]") {
  // A 1x1 input padded to a 2^22 x 2^22 output: 2^44 floats (64 TiB),
  // accepted by Validate (< 2^47 bytes). The CLI must fail cleanly when the
  // output buffer cannot be allocated. Skipped where an allocation that
  // large could succeed (vm.overcommit_memory=1) or where ASan would abort
  // on it by policy (allocator_may_return_null unset).
  std::ifstream oc("/proc/sys/vm/overcommit_memory");
  int overcommit = 1;
  oc >> overcommit;
  const char* asan = std::getenv("ASAN_OPTIONS");
  if (overcommit == 1 ||
      (kSanitized && !(asan && Contains(asan, "allocator_may_return_null=1")))) {
    WARN("skipped: overcommit_memory=" << overcommit << " or ASan without allocator_may_return_null=1");
    return;
  }
  TempFiles tmp;
  const std::string w = tmp.Write("w.npy", NpyDeclaring("(1, 1, 1, 1)", std::string(4, '\0')));
  const std::string x = tmp.Write("x.npy", NpyDeclaring("(1, 1, 1, 1)", std::string(4, '\0')));
  const std::string y = tmp.Path("y.npy");
  const Exit e = RunCliLimited(
      {"run", "mb1ic1ih1iw1oc1kh1ph2097152", "--input", x, "--weights", w, "--output", y}, 0,
      tmp.Path("stderr"));
  INFO("stderr: " << e.err);
  CHECK(e.exited);
  CHECK(e.code == 2);
  // convgen's own stderr is one line. Under ASan with
  // allocator_may_return_null=1 the runtime adds its own
  // "==PID==WARNING: AddressSanitizer failed to allocate ..." line(s) (some
  // runs, not all): those are not the CLI's and are not counted.
  int lines = 0;
  std::istringstream err(e.err);
  for (std::string line; std::getline(err, line);) {
    if (kSanitized && line.rfind("==", 0) == 0) continue;
    ++lines;
  }
  CHECK(lines == 1);
  CHECK(Contains(e.err, "convgen: error: cannot allocate"));
  CHECK_FALSE(std::filesystem::exists(y));
}

// ------------------------------------------------------------- [.huge] ---

// MemAvailable in bytes (0 if unknown).
int64_t MemAvailable() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

// One kernel per family that applies to `p` on the best target, plus the
// plan's own choice: every family's index arithmetic is exercised. The
// scalar reference kernel is left out: it is the oracle's loop nest, and
// the slowest part of an already long test (one 8.6 GB pass takes it
// minutes).
std::vector<std::string> OnePerFamily(const Conv2dParams& p) {
  std::vector<std::string> names = {""};  // "" = the plan's choice
  std::set<std::string> families = {"reference"};
  for (const internal::KernelInfo* k : internal::AllKernels()) {
    std::string why;
    if (!k->applies(p, &why) || families.count(k->family)) continue;
    families.insert(k->family);
    names.push_back(k->name);
  }
  return names;
}

// Runs `p` (one input and one output channel) with every kernel of
// OnePerFamily; `check(output)` returns the number of wrong elements.
template <typename Check>
void RunHuge(const Conv2dParams& p, const float* input, const std::vector<float>& weights,
             float bias, Check check) {
  const size_t out_n = static_cast<size_t>(p.output_elements());
  std::unique_ptr<float[]> out(new (std::nothrow) float[out_n]);
  REQUIRE(out != nullptr);
  std::set<std::string> ran;
  for (const std::string& kernel : OnePerFamily(p)) {
    PlanOptions o;
    o.kernel = kernel;
    std::unique_ptr<Plan> plan;
    const Status s = Plan::Create(p, weights.data(), &bias, o, &plan);
    INFO("kernel '" << kernel << "': " << s.ToString());
    REQUIRE(s.ok());
    if (!ran.insert(plan->kernel_name()).second) continue;  // the plan's choice again
    INFO("ran " << plan->kernel_name() << " on " << plan->target_name());
    // Poison: NaN everywhere, so an unwritten element is a wrong one.
    std::fill(out.get(), out.get() + out_n, std::numeric_limits<float>::quiet_NaN());
    REQUIRE(plan->Run(input, out.get()).ok());
    CHECK(check(out.get()) == 0);
    WARN(DebugString(p) << ": " << plan->kernel_name() << " ok");
  }
}

TEST_CASE("a layer with an output of just over 2^31 floats is computed exactly", "[.huge]") {
  // One input pixel x padded by 23171 on each side, a 3x3 kernel: a
  // 46341 x 46341 output (2,147,488,281 floats, 8.6 GB) that is the bias
  // everywhere except the 3x3 block where the kernel meets the pixel.
  if (MemAvailable() < (int64_t{12} << 30)) {
    WARN("skipped: needs 12 GiB of available memory");
    return;
  }
  for (int64_t k : {int64_t{1}, int64_t{3}}) {
    Conv2dParams p;
    p.in_channels = p.out_channels = 1;
    p.in_height = p.in_width = 1;
    p.kernel_h = p.kernel_w = k;
    p.pad_h = p.pad_w = 23170 + (k - 1) / 2 * 1;  // out = 1 + 2p - (k - 1)
    REQUIRE(Validate(p).ok());
    REQUIRE(p.output_elements() > (int64_t{1} << 31));
    const float x = 3, bias = 1;
    std::vector<float> w(size_t(k * k));
    for (size_t i = 0; i < w.size(); ++i) w[i] = float(i + 2);
    const int64_t oh = p.out_height(), ow = p.out_width(), pad = p.pad_h;
    RunHuge(p, &x, w, bias, [&](const float* y) {
      size_t bad = 0;
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t c = 0; c < ow; ++c) {
          // Output (r, c) reads input (r - pad + i, c - pad + j): tap
          // (i, j) = (pad - r, pad - c) hits the pixel.
          const int64_t i = pad - r, j = pad - c;
          const float want = (i >= 0 && i < k && j >= 0 && j < k) ? w[size_t(i * k + j)] * x + bias
                                                                  : bias;
          bad += !(y[r * ow + c] == want);
        }
      return bad;
    });
  }
}

TEST_CASE("a layer with an input of just over 2^31 floats is computed exactly", "[.huge]") {
  // 46341 x 46341 input (8.6 GB), 1x1 kernel, stride 64: a 725 x 725
  // output that samples the input up to its last row, past 2^31.
  if (MemAvailable() < (int64_t{12} << 30)) {
    WARN("skipped: needs 12 GiB of available memory");
    return;
  }
  Conv2dParams p;
  p.in_channels = p.out_channels = 1;
  p.in_height = p.in_width = 46341;
  p.kernel_h = p.kernel_w = 1;
  p.stride_h = p.stride_w = 64;
  REQUIRE(Validate(p).ok());
  const size_t in_n = static_cast<size_t>(p.input_elements());
  REQUIRE(in_n > (size_t{1} << 31));
  std::unique_ptr<float[]> x(new (std::nothrow) float[in_n]);
  REQUIRE(x != nullptr);
  // A value that identifies its index modulo a prime: a wrapped 32-bit
  // index reads a different value.
  for (size_t i = 0; i < in_n; ++i) x[i] = float(i % 8191);
  const std::vector<float> w = {2};
  const float bias = 1;
  const int64_t oh = p.out_height(), ow = p.out_width();
  RunHuge(p, x.get(), w, bias, [&](const float* y) {
    size_t bad = 0;
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t c = 0; c < ow; ++c) {
        const size_t i = size_t(r * 64) * size_t(p.in_width) + size_t(c * 64);
        bad += !(y[r * ow + c] == 2 * float(i % 8191) + bias);
      }
    return bad;
  });
}

}  // namespace
}  // namespace convgen
