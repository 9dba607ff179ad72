// Family-specific tests of the hand-written kernels (src/kernels/): the
// generic SIMD kernel, the smallmap (over-channels) kernel and im2col + GEMM,
// each forced through the Plan API on every compiled target this CPU runs and
// compared with convgen::ReferenceConv2d. The registry-wide tester
// (test_kernels.cc) covers the common edge matrix; these sweep what each
// family claims to handle at run time: every kernel size 1..5, stride 1..3,
// dilation 1..3, padding 0..3, groups, batch, bias, clamp and shuffle.
//
// Data are small non-zero integers, so every partial sum is exact in fp32 in
// any summation order and with or without FMA: results must match the double
// reference bit for bit. The input ends on a page followed by an inaccessible
// page (an over-read faults); the output is poisoned and followed by a guard
// region that must stay untouched.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "convgen/conv2d.h"
#include "convgen/plan.h"
#include "convgen/reference.h"
#include "kernel.h"
#include "targets.h"

using convgen::Conv2dParams;

namespace {

const char* const kHandwritten[] = {
    "f32_conv2d_generic_r8_w1v",
    "f32_conv2d_smallmap_p14_c2v",
    "f32_conv2d_im2col_gemm_r6_w2v",
};

// `n` floats that end exactly where an inaccessible page begins.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t n) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = (n * sizeof(float) + page - 1) / page * page;
    size_ = bytes + page;
    base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(base_ != MAP_FAILED);
    REQUIRE(mprotect(static_cast<char*>(base_) + bytes, page, PROT_NONE) == 0);
    data_ = reinterpret_cast<float*>(static_cast<char*>(base_) + bytes) - n;
  }
  ~GuardedBuffer() { munmap(base_, size_); }
  float* data() { return data_; }

 private:
  void* base_;
  size_t size_;
  float* data_;
};

void FillNonZero(float* v, size_t n, std::mt19937* rng, int range) {
  std::uniform_int_distribution<int> dist(-range, range);
  for (size_t i = 0; i < n; ++i) {
    int x;
    do x = dist(*rng); while (x == 0);
    v[i] = static_cast<float>(x);
  }
}

std::string Describe(const Conv2dParams& p) {
  std::ostringstream s;
  s << "g" << p.groups << "mb" << p.batch << "ic" << p.in_channels << "ih" << p.in_height
    << "iw" << p.in_width << "oc" << p.out_channels << "kh" << p.kernel_h << "kw"
    << p.kernel_w << "sh" << p.stride_h << "sw" << p.stride_w << "ph" << p.pad_h << "pw"
    << p.pad_w << "dh" << p.dilation_h - 1 << "dw" << p.dilation_w - 1;
  return s.str();
}

struct Knobs {
  bool bias = true;
  float clamp_min = -std::numeric_limits<float>::infinity();
  float clamp_max = std::numeric_limits<float>::infinity();
  int64_t shuffle = 0;
  int threads = 1;
};

constexpr size_t kGuard = 64;
constexpr float kPoison = -12345.5f;

// Runs `kernel` on every supported compiled target; returns the number of
// mismatching elements (0 = pass). Fails the test on a plan error.
int64_t CheckKernel(const std::string& kernel, const Conv2dParams& p, const Knobs& k,
                    unsigned seed) {
  std::mt19937 rng(seed);
  const size_t nx = size_t(p.input_elements()), nw = size_t(p.weight_elements()),
               ny = size_t(p.output_elements());
  GuardedBuffer x(nx);
  FillNonZero(x.data(), nx, &rng, 4);
  std::vector<float> w(nw), b(size_t(p.out_channels));
  FillNonZero(w.data(), nw, &rng, 3);
  FillNonZero(b.data(), b.size(), &rng, 9);
  const float* bias = k.bias ? b.data() : nullptr;
  std::vector<float> want(ny);
  convgen::ReferenceConv2d(p, x.data(), w.data(), bias, k.clamp_min, k.clamp_max, k.shuffle,
                           want.data());
  int64_t bad = 0;
  for (int64_t target : convgen::internal::SupportedCompiledTargets()) {
    const std::string tname = convgen::internal::TargetName(target);
    INFO(kernel << " on " << tname << ": " << Describe(p) << " bias=" << k.bias << " clamp=["
                << k.clamp_min << "," << k.clamp_max << "] shuffle=" << k.shuffle
                << " threads=" << k.threads);
    convgen::PlanOptions o;
    o.kernel = kernel;
    o.target = tname;
    o.clamp_min = k.clamp_min;
    o.clamp_max = k.clamp_max;
    o.shuffle_groups = k.shuffle;
    o.threads = k.threads;
    std::unique_ptr<convgen::Plan> plan;
    const convgen::Status s = convgen::Plan::Create(p, w.data(), bias, o, &plan);
    REQUIRE(s.ok());
    REQUIRE(plan->target_name() == tname);
    std::vector<float> got(ny + kGuard, kPoison);
    REQUIRE(plan->Run(x.data(), got.data()).ok());
    int64_t mismatches = 0;
    for (size_t i = 0; i < ny; ++i)
      if (!(got[i] == want[i])) {
        if (mismatches++ < 3) UNSCOPED_INFO("y[" << i << "] = " << got[i] << ", want " << want[i]);
      }
    for (size_t i = ny; i < ny + kGuard; ++i)
      if (got[i] != kPoison) {
        if (mismatches++ < 3) UNSCOPED_INFO("guard y[" << i << "] overwritten: " << got[i]);
      }
    CHECK(mismatches == 0);
    bad += mismatches;
  }
  return bad;
}

Conv2dParams Make(int64_t ci, int64_t ih, int64_t iw, int64_t co, int64_t kh, int64_t kw,
                  int64_t sh = 1, int64_t sw = 1, int64_t ph = 0, int64_t pw = 0,
                  int64_t dh = 1, int64_t dw = 1, int64_t groups = 1, int64_t batch = 1) {
  Conv2dParams p;
  p.batch = batch; p.in_channels = ci; p.in_height = ih; p.in_width = iw;
  p.out_channels = co; p.kernel_h = kh; p.kernel_w = kw; p.stride_h = sh; p.stride_w = sw;
  p.pad_h = ph; p.pad_w = pw; p.dilation_h = dh; p.dilation_w = dw; p.groups = groups;
  return p;
}

// Every kernel size 1..5 (both axes) x stride, dilation and padding settings
// (equal and unequal per axis) on a 3-channel 11x13 input with 9 output
// channels (not a multiple of any block); shapes with an empty output skipped.
void SweepWindows(const std::string& kernel, int stride_max, int dilation_max, int pad_max) {
  unsigned seed = 1;
  int64_t cases = 0;
  for (int64_t kh = 1; kh <= 5; ++kh)
    for (int64_t kw = 1; kw <= 5; ++kw)
      for (int64_t s = 1; s <= stride_max; ++s)
        for (int64_t dil = 1; dil <= dilation_max; ++dil)
          for (int64_t pad = 0; pad <= pad_max; ++pad) {
            // Vary the second axis differently so that h and w never coincide.
            const int64_t sw = 1 + (s + kh) % stride_max, dw = 1 + (dil + kw) % dilation_max;
            const int64_t pw = (pad + kh + kw) % (pad_max + 1);
            Conv2dParams p = Make(3, 11, 13, 9, kh, kw, s, sw, pad, pw, dil, dw);
            if (!convgen::Validate(p).ok()) continue;
            ++cases;
            if (CheckKernel(kernel, p, Knobs(), seed++) != 0) return;  // first failure only
          }
  INFO(kernel << ": " << cases << " window shapes");
  CHECK(cases > 500);
}

// Groups, batch, bias, clamp, channel shuffle, threads, and the widths and
// channel counts around each family's blocking (1, below, equal, above and
// multiples of the 4/8/16-lane vectors and of the 8/16/32-channel blocks;
// smallmap's AVX3 tails: a last sub-block of <= 8 channels runs on the
// quarter tile, <= 16 on the half tile, more on the full 32-channel tile:
// 33, 40 / 48 / 56, 63 after one full block).
void SweepEdges(const std::string& kernel) {
  unsigned seed = 1000;
  for (int64_t w : {1, 3, 4, 7, 8, 9, 14, 15, 16, 17, 31, 33, 56})
    CheckKernel(kernel, Make(5, 6, w, 7, 3, 3, 1, 1, 1, 1), Knobs(), seed++);
  for (int64_t co : {1, 2, 5, 8, 15, 16, 17, 24, 33, 40, 48, 56, 63})
    CheckKernel(kernel, Make(4, 7, 7, co, 3, 3, 1, 1, 1, 1), Knobs(), seed++);
  // Narrow 3x3 maps with 4-6 interior rows (smallmap's AVX2 column tiles):
  // batch 2 with a channel tail, 6 interior rows, one and three columns,
  // padding 2 and 3 (columns whose taps all fall in the padding), and two
  // threads splitting the channels (columns) or the rows (flat runs).
  CheckKernel(kernel, Make(5, 7, 7, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2), Knobs(), seed++);
  CheckKernel(kernel, Make(9, 8, 5, 17, 3, 3, 1, 1, 1, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(3, 7, 1, 16, 3, 3, 1, 1, 1, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(4, 6, 3, 9, 3, 3, 1, 1, 1, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(4, 7, 3, 16, 3, 3, 1, 1, 2, 2), Knobs(), seed++);
  CheckKernel(kernel, Make(4, 6, 2, 8, 3, 3, 1, 1, 3, 3), Knobs(), seed++);
  // Wider maps whose interior rows make taller column tiles than the row
  // tiles (14 x 14: 6 + 6 rows; 13 x 8, batch 2: 6 + 5).
  CheckKernel(kernel, Make(6, 14, 14, 20, 3, 3, 1, 1, 1, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(5, 13, 8, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2), Knobs(), seed++);
  // 3x3 at stride_w 2 on rows of 8 outputs or more (row tiles over a band
  // de-interleaved into two phases; rn_3x3_s2's shape): AVX2 segments 4 + 4,
  // 6 + 6, 5 + 4 + 4 and 6, 6, 6, 5, 5; padding 0, 1, 2; a half-vector
  // channel tail; batch 2; stride_h 1 and dilation_h 2 with stride_w 2.
  CheckKernel(kernel, Make(5, 9, 15, 20, 3, 3, 2, 2, 1, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(3, 6, 24, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 2), Knobs(), seed++);
  CheckKernel(kernel, Make(4, 7, 25, 9, 3, 3, 2, 2, 1, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(6, 8, 56, 16, 3, 3, 2, 2, 1, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(3, 5, 17, 8, 3, 3, 2, 2, 0, 0), Knobs(), seed++);
  CheckKernel(kernel, Make(3, 6, 22, 24, 3, 3, 2, 2, 2, 2), Knobs(), seed++);
  CheckKernel(kernel, Make(4, 9, 19, 20, 3, 3, 1, 2, 1, 1, 2, 1), Knobs(), seed++);
  // The same on a map whose input band does not fit in one band (smallmap:
  // 128 channels x 48 rows, the band sized beside the weights to 12 output
  // rows, SmallmapRowBand; rn_3x3_s2 runs 6 bands), batch 2.
  CheckKernel(kernel, Make(128, 48, 48, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, 2), Knobs(), seed++);
  {
    Knobs two;
    two.threads = 2;
    CheckKernel(kernel, Make(40, 7, 7, 48, 3, 3, 1, 1, 1, 1), two, seed++);
    CheckKernel(kernel, Make(40, 7, 7, 16, 3, 3, 1, 1, 1, 1), two, seed++);
  }
  // Groups: grouped 3x3, depthwise, block-diagonal 1x1, with batch 2.
  CheckKernel(kernel, Make(8, 9, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2), Knobs(), seed++);
  CheckKernel(kernel, Make(6, 9, 10, 6, 3, 3, 2, 2, 1, 1, 1, 1, 6, 2), Knobs(), seed++);
  CheckKernel(kernel, Make(12, 5, 19, 24, 1, 1, 1, 1, 0, 0, 1, 1, 3, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(36, 6, 6, 40, 3, 3, 1, 1, 1, 1, 1, 1, 4, 1), Knobs(), seed++);
  // Epilogue: no bias, clamp (ReLU-like and two-sided), channel shuffle.
  Knobs k;
  k.bias = false;
  CheckKernel(kernel, Make(3, 8, 9, 10, 3, 3, 1, 1, 1, 1), k, seed++);
  k.bias = true;
  k.clamp_min = 0;
  CheckKernel(kernel, Make(3, 8, 9, 10, 3, 3, 1, 1, 1, 1), k, seed++);
  k.clamp_min = -15;
  k.clamp_max = 12;
  CheckKernel(kernel, Make(3, 8, 9, 10, 3, 3, 1, 1, 1, 1), k, seed++);
  k = Knobs();
  k.shuffle = 3;
  CheckKernel(kernel, Make(6, 7, 7, 18, 3, 3, 1, 1, 1, 1, 1, 1, 3, 1), k, seed++);
  CheckKernel(kernel, Make(6, 7, 7, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1, 2), k, seed++);
  // Several tiles over two threads; padding larger than the kernel reach
  // (output rows and columns made of padding only).
  k = Knobs();
  k.threads = 2;
  CheckKernel(kernel, Make(7, 15, 12, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2), k, seed++);
  // Short maps: the plan also splits the channels into r-aligned tiles.
  k.threads = 3;
  CheckKernel(kernel, Make(32, 5, 6, 70, 3, 3, 1, 1, 1, 1), k, seed++);
  CheckKernel(kernel, Make(24, 3, 3, 48, 1, 1, 1, 1, 0, 0, 1, 1, 2, 1), k, seed++);
  CheckKernel(kernel, Make(2, 4, 5, 3, 2, 3, 1, 1, 3, 3), Knobs(), seed++);
  // A layer-like shape: many input channels, small map (the smallmap case).
  CheckKernel(kernel, Make(64, 7, 7, 40, 3, 3, 1, 1, 1, 1), Knobs(), seed++);
  CheckKernel(kernel, Make(20, 14, 14, 33, 3, 3, 2, 2, 1, 1), Knobs(), seed++);
}

}  // namespace

TEST_CASE("handwritten kernels are registered") {
  for (const char* name : kHandwritten) {
    INFO(name);
    convgen::PlanOptions o;
    o.kernel = name;
    std::unique_ptr<convgen::Plan> plan;
    const Conv2dParams p = Make(2, 5, 5, 3, 3, 3);
    std::vector<float> w(size_t(p.weight_elements()), 1.0f);
    CHECK(convgen::Plan::Create(p, w.data(), nullptr, o, &plan).ok());
  }
}

TEST_CASE("generic kernel every window stride dilation padding") {
  SweepWindows("f32_conv2d_generic_r8_w1v", 3, 3, 3);
}
TEST_CASE("generic kernel edges groups epilogue") { SweepEdges("f32_conv2d_generic_r8_w1v"); }

TEST_CASE("smallmap kernel every window stride dilation padding") {
  SweepWindows("f32_conv2d_smallmap_p14_c2v", 3, 3, 3);
}
TEST_CASE("smallmap kernel edges groups epilogue") { SweepEdges("f32_conv2d_smallmap_p14_c2v"); }

TEST_CASE("im2col gemm kernel every window stride dilation padding") {
  SweepWindows("f32_conv2d_im2col_gemm_r6_w2v", 3, 3, 3);
}
TEST_CASE("im2col gemm kernel edges groups epilogue") {
  SweepEdges("f32_conv2d_im2col_gemm_r6_w2v");
}

// The smallmap family's estimate: it must win where width vectors waste
// lanes (ResNet's 7x7 and 14x14 maps). On wide maps it and the direct strip
// kernels measured level (smallmap 105.5 vs 103.1 GFLOP/s on rn_3x3_56, 108.8
// vs 98.4 on rn_3x3_28, one quiet `convgen tune`), so either may be chosen,
// but never a fallback (generic, im2col, reference).
TEST_CASE("smallmap kernel wins narrow maps and wide maps get a specialised kernel") {
  const auto choose = [](const Conv2dParams& p) {
    std::vector<float> w(size_t(p.weight_elements()), 1.0f);
    std::unique_ptr<convgen::Plan> plan;
    convgen::PlanOptions o;
    o.threads = 1;
    REQUIRE(convgen::Plan::Create(p, w.data(), nullptr, o, &plan).ok());
    return plan->kernel_name();
  };
  const std::string smallmap = "f32_conv2d_smallmap_p14_c2v";
  CHECK(choose(Make(512, 7, 7, 512, 3, 3, 1, 1, 1, 1)) == smallmap);    // rn_3x3_7
  CHECK(choose(Make(256, 14, 14, 256, 3, 3, 1, 1, 1, 1)) == smallmap);  // rn_3x3_14
  for (const Conv2dParams& wide : {Make(64, 56, 56, 64, 3, 3, 1, 1, 1, 1),       // rn_3x3_56
                                   Make(128, 28, 28, 128, 3, 3, 1, 1, 1, 1)}) {  // rn_3x3_28
    const std::string k = choose(wide);
    INFO(k);
    CHECK((k == smallmap || k.rfind("f32_conv2d_k3x3_s1_", 0) == 0));
  }
}
