// Guard pages for every buffer a caller hands to convgen, on every registered
// kernel × every Highway target the CPU supports (and the kernel was compiled
// for), over a small edge matrix.
//
// tests/test_kernels.cc already places the input and the output against
// PROT_NONE pages; this file extends that to EACH of the four caller buffers
// in turn — input, weights, bias, output — flush against an inaccessible page
// at its end, then at its start, and to buffers whose start is 1..3 floats off
// a 64-byte boundary. A read or write of one element outside a buffer faults
// (SIGSEGV kills the test binary, so CTest reports the test as failed): this
// test passes only if no access ever leaves a buffer.
//
//  - weights and bias are read by Plan::Create only (they are copied / packed
//    there): they are guarded during Create, and once Create has returned
//    their whole mapping is made PROT_NONE, which proves Run never touches the
//    caller's weights or bias again;
//  - the output mapping is poisoned everywhere (NaN with a payload), so a
//    write before or after the output on the side that is not flush against
//    the page is caught too; every output element must be written;
//  - data are small non-zero integers, so the compare with the reference is
//    exact on every target (test_kernels_util.h: FillSmallIntegers).
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "convgen/reference.h"
#include "kernel.h"
#include "targets.h"
#include "test_kernels_util.h"

namespace convgen {
namespace {

using internal::KernelInfo;
using testing::FillSmallIntegers;
using testing::IsPoison;
using testing::Poison;

// Where a buffer sits in its mapping.
enum class Place {
  kEnd,        // last float flush against the PROT_NONE page after it
  kStart,      // first float flush against the PROT_NONE page before it
  kUnaligned,  // start 1..3 floats past a 64-byte boundary, no page flush
};

// `count` floats in a private mapping [PROT_NONE page][data pages][PROT_NONE
// page]; the data pages are filled with `fill`, the buffer placed per Place.
class Region {
 public:
  Region(size_t count, Place place, size_t misalign_floats, float fill) : count_(count) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = std::max<size_t>(count, 1) * sizeof(float);
    // One spare page for the misaligned placement.
    data_bytes_ = ((bytes + page_ - 1) / page_ + 1) * page_;
    map_bytes_ = data_bytes_ + 2 * page_;
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(m != MAP_FAILED);
    map_ = static_cast<char*>(m);
    REQUIRE(mprotect(map_, page_, PROT_NONE) == 0);
    REQUIRE(mprotect(map_ + page_ + data_bytes_, page_, PROT_NONE) == 0);
    first_ = reinterpret_cast<float*>(map_ + page_);
    last_ = first_ + data_bytes_ / sizeof(float);
    std::fill(first_, last_, fill);
    switch (place) {
      case Place::kEnd:
        data_ = last_ - count;
        break;
      case Place::kStart:
        data_ = first_;
        break;
      case Place::kUnaligned:
        data_ = first_ + 16 + misalign_floats;  // page-aligned + 64 B + 4..12 B
        break;
    }
  }
  ~Region() { munmap(map_, map_bytes_); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  float* data() { return data_; }
  // Every float of the data pages outside [data, data + count) still `fill`?
  size_t CountChangedOutside() const {
    size_t changed = 0;
    for (const float* p = first_; p < data_; ++p) changed += !IsPoison(*p);
    for (const float* p = data_ + count_; p < last_; ++p) changed += !IsPoison(*p);
    return changed;
  }
  // The whole mapping inaccessible: any later access faults.
  void Revoke() { REQUIRE(mprotect(map_ + page_, data_bytes_, PROT_NONE) == 0); }

 private:
  size_t count_, page_, data_bytes_, map_bytes_;
  char* map_;
  float *first_, *last_, *data_;
};

enum Buffer { kInput, kWeights, kBias, kOutput, kNumBuffers };
const char* const kBufferNames[] = {"input", "weights", "bias", "output"};
const char* PlaceName(Place p) {
  return p == Place::kEnd ? "end" : p == Place::kStart ? "start" : "unaligned";
}

// One placement of the four buffers.
struct Layout {
  Place place[kNumBuffers];
  size_t misalign[kNumBuffers];
  std::string Describe() const {
    std::ostringstream s;
    for (int b = 0; b < kNumBuffers; ++b) {
      s << kBufferNames[b] << "=" << PlaceName(place[b]);
      if (place[b] == Place::kUnaligned) s << "+" << misalign[b];
      s << " ";
    }
    return s.str();
  }
};

// Each buffer alone flush against a page at its end, then at its start (the
// others unaligned, so that every run also sees misaligned pointers), then
// all four unaligned by different offsets.
std::vector<Layout> Layouts() {
  std::vector<Layout> out;
  for (int guarded = 0; guarded < kNumBuffers; ++guarded)
    for (Place side : {Place::kEnd, Place::kStart}) {
      Layout l;
      for (int b = 0; b < kNumBuffers; ++b) {
        l.place[b] = b == guarded ? side : Place::kUnaligned;
        l.misalign[b] = 1 + size_t(b + guarded) % 3;
      }
      out.push_back(l);
    }
  for (size_t shift = 0; shift < 3; ++shift) {
    Layout l;
    for (int b = 0; b < kNumBuffers; ++b) {
      l.place[b] = Place::kUnaligned;
      l.misalign[b] = 1 + (size_t(b) + shift) % 3;
    }
    out.push_back(l);
  }
  return out;
}

struct Case {
  Conv2dParams p;
  int threads = 1;
};

// A problem with `out_w` x `out_h` outputs for the window/stride/dilation.
Conv2dParams Shape(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                   int64_t out_h, int64_t out_w, int64_t pad, int64_t batch) {
  Conv2dParams p;
  p.batch = batch;
  p.kernel_h = kh;
  p.kernel_w = kw;
  p.stride_h = sh;
  p.stride_w = sw;
  p.dilation_h = dh;
  p.dilation_w = dw;
  p.pad_h = p.pad_w = pad;
  p.in_height = (out_h - 1) * sh + dh * (kh - 1) + 1 - 2 * pad;
  p.in_width = (out_w - 1) * sw + dw * (kw - 1) + 1 - 2 * pad;
  return p;
}

// The small edge matrix of one kernel on one target: a 1-wide output, a
// strip-and-a-bit with "same" padding and batch 2, a strip-minus-one row
// under large padding on 2 threads (tiles not starting at row 0), over
// channel settings that the kernel accepts (dense with co not a multiple of
// R, grouped, depthwise).
std::vector<Case> EdgeMatrix(const KernelInfo& k, int lanes) {
  const int64_t delta = k.v > 0 ? int64_t{k.v} * lanes : 8;
  const int64_t R = std::max(k.r, 1);
  const int64_t kh = k.kh ? k.kh : 3, kw = k.kw ? k.kw : 3;
  const int64_t sh = k.sh ? k.sh : 1, sw = k.sw ? k.sw : 1;
  const int64_t dh = k.dh ? k.dh : 1, dw = k.dw ? k.dw : 1;
  const int64_t same = dw * (kw - 1) / 2;
  struct Ch {
    int64_t ci, co, g;
  };
  const std::vector<Ch> channels = {{3, R + 3, 1}, {6, 9, 3},  {4, 4, 4},     {1, 1, 1},
                                    {8, 8, 8},     {4, 2 * R, 2}, {16, R + 1, 1}};
  struct Geo {
    int64_t out_h, out_w, pad, batch;
    int threads;
  };
  std::vector<Geo> geos = {{2, 1, 0, 1, 1},
                           {3, delta + 1, same, 2, 1},
                           {4, std::max<int64_t>(delta - 1, 1), dh * (kh - 1), 1, 2}};
  // A kernel taking any window also gets a dilated, strided, non-square one.
  if (k.kh == 0 && k.sh == 0 && k.dh == 0) geos.push_back({3, 5, 1, 1, 1});

  std::vector<Case> cases;
  size_t rotation = 0;
  for (size_t gi = 0; gi < geos.size(); ++gi) {
    const Geo& geo = geos[gi];
    const bool odd = gi == 3;
    for (size_t j = 0; j < channels.size(); ++j) {
      const Ch& c = channels[(rotation + j) % channels.size()];
      Case cs;
      cs.p = odd ? Shape(2, 5, 2, 1, 2, 2, geo.out_h, geo.out_w, geo.pad, geo.batch)
                 : Shape(kh, kw, sh, sw, dh, dw, geo.out_h, geo.out_w, geo.pad, geo.batch);
      cs.p.in_channels = c.ci;
      cs.p.out_channels = c.co;
      cs.p.groups = c.g;
      cs.threads = geo.threads;
      std::string why;
      if (cs.p.in_height < 1 || cs.p.in_width < 1 || !Validate(cs.p).ok() ||
          !k.applies(cs.p, &why))
        continue;
      cases.push_back(cs);
      ++rotation;
      break;
    }
  }
  return cases;
}

// Runs `cs` with every buffer placed per `layout`; data are seeded by the
// case, so every layout computes the same numbers.
void RunGuarded(const KernelInfo& k, const std::string& target, const Case& cs,
                const Layout& layout, const std::vector<float>& x, const std::vector<float>& w,
                const std::vector<float>& b, const std::vector<float>& want) {
  const Conv2dParams& p = cs.p;
  const float fill = Poison();
  Region in(x.size(), layout.place[kInput], layout.misalign[kInput], fill);
  Region wr(w.size(), layout.place[kWeights], layout.misalign[kWeights], fill);
  Region br(b.size(), layout.place[kBias], layout.misalign[kBias], fill);
  Region out(want.size(), layout.place[kOutput], layout.misalign[kOutput], fill);
  std::copy(x.begin(), x.end(), in.data());
  std::copy(w.begin(), w.end(), wr.data());
  std::copy(b.begin(), b.end(), br.data());

  PlanOptions opt;
  opt.kernel = k.name;
  opt.target = target;
  opt.threads = cs.threads;
  std::unique_ptr<Plan> plan;
  const Status created = Plan::Create(p, wr.data(), br.data(), opt, &plan);
  INFO(created.ToString());
  REQUIRE(created.ok());
  REQUIRE(plan->kernel_name() == k.name);
  REQUIRE(plan->target_name() == target);
  // Create has copied / packed them: from now on any access faults.
  wr.Revoke();
  br.Revoke();

  REQUIRE(plan->Run(in.data(), out.data()).ok());
  CHECK(out.CountChangedOutside() == 0);
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) bad += !(out.data()[i] == want[i]);
  CHECK(bad == 0);
  // The plan no longer needs the caller's buffers.
  plan.reset();
}

}  // namespace

TEST_CASE("every kernel stays inside each buffer: guard pages at either end and unaligned starts") {
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  const std::vector<Layout> layouts = Layouts();
  size_t runs = 0;
  for (const KernelInfo* k : internal::AllKernels()) {
    for (int64_t target : targets) {
      if (k->resolve(target) == nullptr) continue;
      const std::string target_name = hwy::TargetName(target);
      const std::vector<Case> cases = EdgeMatrix(*k, internal::FloatLanes(target));
      INFO("kernel=" << k->name << " target=" << target_name);
      CHECK(!cases.empty());  // the matrix must reach every kernel
      for (const Case& cs : cases) {
        const Conv2dParams& p = cs.p;
        const std::string desc = FormatDescriptor(LayerDesc{p, ""});
        INFO(desc << " threads=" << cs.threads);
        const uint32_t seed = static_cast<uint32_t>(std::hash<std::string>()(desc));
        std::vector<float> x(size_t(p.input_elements())), w(size_t(p.weight_elements())),
            b(size_t(p.out_channels)), want(size_t(p.output_elements()));
        FillSmallIntegers(x.data(), x.size(), seed);
        FillSmallIntegers(w.data(), w.size(), seed + 1);
        FillSmallIntegers(b.data(), b.size(), seed + 2);
        ReferenceConv2d(p, x.data(), w.data(), b.data(), -INFINITY, INFINITY, 0, want.data());
        for (const Layout& layout : layouts) {
          INFO(layout.Describe());
          RunGuarded(*k, target_name, cs, layout, x, w, b, want);
          ++runs;
        }
      }
    }
  }
  WARN(runs << " guarded runs");
  CHECK(runs > 0);
}

// The tester's own premise: an access one float past a buffer placed at
// Place::kEnd (or before one at kStart) faults. Checked in a child process
// so that the expected SIGSEGV does not end this test binary.
TEST_CASE("guard page regions fault one float outside the buffer") {
  for (Place side : {Place::kEnd, Place::kStart}) {
    INFO(PlaceName(side));
    std::fflush(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      std::signal(SIGSEGV, SIG_DFL);  // not Catch2's handler: die plainly
      Region r(5, side, 0, 0.0f);
      volatile float* p = r.data();
      const float v = side == Place::kEnd ? p[5] : p[-1];
      (void)v;
      _exit(0);  // not reached if the page is guarded
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    // Plain build: killed by SIGSEGV. Under ASan its SEGV handler reports
    // the fault and exits with status 1 instead.
    const bool faulted = (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
                         (WIFEXITED(status) && WEXITSTATUS(status) != 0);
    CHECK(faulted);
  }
}

}  // namespace convgen
