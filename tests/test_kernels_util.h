// Builder-style kernel tester (in the manner of XNNPACK's
// test/dwconv2d-microkernel-tester.h): a case is a convolution problem plus
// knobs (bias, clamp, shuffle, threads); Test() runs it through the public
// Plan API with a forced kernel and Highway target — so packing, dispatch and
// tiling are exercised exactly as users do — and compares with
// convgen::ReferenceConv2d.
//
// Memory discipline checked on every case:
//  - the output is poisoned with NaN and has a guard region before and after
//    it; every output element must be written and every guard float must keep
//    its poison bit pattern;
//  - input and output live in mappings that end (or start) at a PROT_NONE
//    page, so a read past the end (start) of the input or a write past the
//    output guard faults instead of passing silently.
#ifndef CONVGEN_TESTS_TEST_KERNELS_UTIL_H_
#define CONVGEN_TESTS_TEST_KERNELS_UTIL_H_

#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "convgen/reference.h"
#include "kernel.h"

namespace convgen {
namespace testing {

// `count` floats placed against a PROT_NONE page: after the last float
// (kAtEnd) or before the first (kAtStart). Page granularity means the other
// side is only protected by the guard floats the caller adds.
class GuardedFloats {
 public:
  enum Side { kAtEnd, kAtStart };
  GuardedFloats(size_t count, Side side) : count_(count) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = count * sizeof(float);
    const size_t data_pages = (bytes + page_ - 1) / page_ + 1;
    map_bytes_ = (data_pages + 2) * page_;  // guard page on each side
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(m != MAP_FAILED);
    map_ = static_cast<char*>(m);
    REQUIRE(mprotect(map_, page_, PROT_NONE) == 0);
    REQUIRE(mprotect(map_ + map_bytes_ - page_, page_, PROT_NONE) == 0);
    char* first = map_ + page_;
    char* end = map_ + map_bytes_ - page_;
    data_ = reinterpret_cast<float*>(side == kAtStart ? first : end - bytes);
  }
  ~GuardedFloats() { munmap(map_, map_bytes_); }
  GuardedFloats(const GuardedFloats&) = delete;
  GuardedFloats& operator=(const GuardedFloats&) = delete;
  float* data() { return data_; }
  size_t size() const { return count_; }

 private:
  size_t count_, page_, map_bytes_;
  char* map_;
  float* data_;
};

// Random non-zero integers in [-4, 4]: every product and partial sum of a
// small problem is an integer below 2^24, hence exact in fp32 whatever the
// summation order, FMA or not (SSE4/SCALAR have no FMA in Highway).
inline void FillSmallIntegers(float* p, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-4, 4);
  for (size_t i = 0; i < n; ++i) {
    int v;
    do v = dist(rng); while (v == 0);
    p[i] = static_cast<float>(v);
  }
}

// A distinctive quiet-NaN payload, so "still poisoned" is a bit-exact check.
inline float Poison() {
  const uint32_t bits = 0x7FC0DEADu;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
inline bool IsPoison(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(f));
  return bits == 0x7FC0DEADu;
}

class KernelTester {
 public:
  KernelTester& batch(int64_t n) { p_.batch = n; return *this; }
  KernelTester& channels(int64_t ci, int64_t co) {
    p_.in_channels = ci;
    p_.out_channels = co;
    return *this;
  }
  KernelTester& groups(int64_t g) { p_.groups = g; return *this; }
  KernelTester& input_size(int64_t h, int64_t w) {
    p_.in_height = h;
    p_.in_width = w;
    return *this;
  }
  KernelTester& kernel(int64_t kh, int64_t kw) {
    p_.kernel_h = kh;
    p_.kernel_w = kw;
    return *this;
  }
  KernelTester& stride(int64_t sh, int64_t sw) {
    p_.stride_h = sh;
    p_.stride_w = sw;
    return *this;
  }
  KernelTester& pad(int64_t ph, int64_t pw) {
    p_.pad_h = ph;
    p_.pad_w = pw;
    return *this;
  }
  KernelTester& dilation(int64_t dh, int64_t dw) {
    p_.dilation_h = dh;
    p_.dilation_w = dw;
    return *this;
  }
  // Input width giving `out_w` outputs per row for the current kernel,
  // stride, dilation and padding, plus `extra` columns that the stride drops
  // (extra < stride: an asymmetric right edge).
  KernelTester& output_width(int64_t out_w, int64_t extra = 0) {
    p_.in_width = (out_w - 1) * p_.stride_w + p_.dilation_w * (p_.kernel_w - 1) + 1 -
                  2 * p_.pad_w + extra;
    return *this;
  }
  KernelTester& output_height(int64_t out_h, int64_t extra = 0) {
    p_.in_height = (out_h - 1) * p_.stride_h + p_.dilation_h * (p_.kernel_h - 1) + 1 -
                   2 * p_.pad_h + extra;
    return *this;
  }
  KernelTester& bias(bool on) { bias_ = on; return *this; }
  KernelTester& clamp(float lo, float hi) {
    clamp_min_ = lo;
    clamp_max_ = hi;
    return *this;
  }
  KernelTester& shuffle(int64_t s) { shuffle_ = s; return *this; }
  KernelTester& threads(int t) { threads_ = t; return *this; }
  KernelTester& input_guard(GuardedFloats::Side side) { input_side_ = side; return *this; }

  const Conv2dParams& params() const { return p_; }

  // True if the problem is valid and `kernel` applies to it.
  bool Applicable(const internal::KernelInfo& kernel) const {
    if (!Validate(p_).ok()) return false;
    if (shuffle_ > 1 && p_.out_channels % shuffle_ != 0) return false;
    std::string why;
    return kernel.applies(p_, &why);
  }

  std::string Describe(const internal::KernelInfo& kernel, const std::string& target) const {
    LayerDesc desc;
    desc.params = p_;
    std::ostringstream s;
    s << FormatDescriptor(desc) << " kernel=" << kernel.name << " target=" << target
      << " bias=" << (bias_ ? 1 : 0) << " clamp=[" << clamp_min_ << "," << clamp_max_ << "]"
      << " shuffle=" << shuffle_ << " threads=" << threads_
      << " input_guard=" << (input_side_ == GuardedFloats::kAtEnd ? "end" : "start");
    return s.str();
  }

  // Runs the case; Catch2 assertions carry the descriptor, kernel and target.
  void Test(const internal::KernelInfo& kernel, const std::string& target) const {
    const std::string what = Describe(kernel, target);
    INFO(what);
    const size_t in_n = static_cast<size_t>(p_.input_elements());
    const size_t w_n = static_cast<size_t>(p_.weight_elements());
    const size_t out_n = static_cast<size_t>(p_.output_elements());
    const uint32_t seed = static_cast<uint32_t>(std::hash<std::string>()(what));

    GuardedFloats input(in_n, input_side_);
    FillSmallIntegers(input.data(), in_n, seed);
    std::vector<float> weights(w_n), bias(static_cast<size_t>(p_.out_channels));
    FillSmallIntegers(weights.data(), w_n, seed + 1);
    FillSmallIntegers(bias.data(), bias.size(), seed + 2);
    const float* bias_ptr = bias_ ? bias.data() : nullptr;

    std::vector<float> want(out_n);
    ReferenceConv2d(p_, input.data(), weights.data(), bias_ptr, clamp_min_, clamp_max_, shuffle_,
                    want.data());

    PlanOptions opt;
    opt.kernel = kernel.name;
    opt.target = target;
    opt.clamp_min = clamp_min_;
    opt.clamp_max = clamp_max_;
    opt.shuffle_groups = shuffle_;
    opt.threads = threads_;
    std::unique_ptr<Plan> plan;
    const Status created = Plan::Create(p_, weights.data(), bias_ptr, opt, &plan);
    INFO(created.ToString());
    REQUIRE(created.ok());
    REQUIRE(plan->kernel_name() == kernel.name);
    REQUIRE(plan->target_name() == target);

    // [front guard][output][back guard], the back guard ending at a
    // PROT_NONE page.
    constexpr size_t kGuard = 64;
    GuardedFloats out(kGuard + out_n + kGuard, GuardedFloats::kAtEnd);
    for (size_t i = 0; i < out.size(); ++i) out.data()[i] = Poison();
    float* output = out.data() + kGuard;
    REQUIRE(plan->Run(input.data(), output).ok());

    size_t guard_hits = 0;
    for (size_t i = 0; i < kGuard; ++i) {
      guard_hits += !IsPoison(out.data()[i]);
      guard_hits += !IsPoison(output[out_n + i]);
    }
    CHECK(guard_hits == 0);

    // Exact compare, see FillSmallIntegers; a tolerance would hide a wrong
    // tap (it changes the sum by at least 1). Kernels that transform their
    // operands (Winograd, FFT) would need one: none is registered yet.
    size_t bad = 0, first_bad = out_n;
    for (size_t i = 0; i < out_n; ++i) {
      if (!(output[i] == want[i])) {
        if (bad++ == 0) first_bad = i;
      }
    }
    if (bad != 0) {
      const int64_t plane = p_.out_height() * p_.out_width();
      const int64_t i = static_cast<int64_t>(first_bad);
      UNSCOPED_INFO("first mismatch at n=" << i / (p_.out_channels * plane)
                                           << " c=" << (i / plane) % p_.out_channels
                                           << " y=" << (i % plane) / p_.out_width()
                                           << " x=" << i % p_.out_width() << ": got "
                                           << output[first_bad] << ", want " << want[first_bad]);
    }
    CHECK(bad == 0);
  }

 private:
  Conv2dParams p_;
  bool bias_ = true;
  float clamp_min_ = -std::numeric_limits<float>::infinity();
  float clamp_max_ = std::numeric_limits<float>::infinity();
  int64_t shuffle_ = 0;
  int threads_ = 1;
  GuardedFloats::Side input_side_ = GuardedFloats::kAtEnd;
};

}  // namespace testing
}  // namespace convgen

#endif  // CONVGEN_TESTS_TEST_KERNELS_UTIL_H_
