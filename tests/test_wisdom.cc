// Wisdom files (src/wisdom.h): format round trip, strict parsing, and how a
// plan uses them — the wisdom kernel when an entry matches, otherwise the
// heuristic, with ONE warning per unusable file and never a failed Create.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "convgen/reference.h"
#include "kernel.h"
#include "targets.h"
#include "wisdom.h"

namespace {

using convgen::internal::WisdomEntry;

// Warnings captured instead of printed.
std::mutex g_warnings_mutex;
std::vector<std::string> g_warnings;
void CaptureWarning(const std::string& message) {
  std::lock_guard<std::mutex> lock(g_warnings_mutex);
  g_warnings.push_back(message);
}

struct CaptureWarnings {
  CaptureWarnings() {
    std::lock_guard<std::mutex> lock(g_warnings_mutex);
    g_warnings.clear();
    previous = convgen::internal::SetWisdomWarningSinkForTest(&CaptureWarning);
  }
  ~CaptureWarnings() { convgen::internal::SetWisdomWarningSinkForTest(previous); }
  std::vector<std::string> Get() const {
    std::lock_guard<std::mutex> lock(g_warnings_mutex);
    return g_warnings;
  }
  convgen::internal::WisdomWarningSink previous;
};

// Every test writes its files into its own directory: the cache is per path
// and process, so a path is never reused with other contents.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/convgen_wisdom_XXXXXX";
    REQUIRE(::mkdtemp(&templ[0]) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

convgen::Conv2dParams Params() {
  convgen::LayerDesc d;
  REQUIRE(convgen::ParseDescriptor("mb1ic4ih10oc8oh10kh3ph1", &d).ok());
  return d.params;
}

std::string BestTargetName() {
  return convgen::internal::TargetName(convgen::internal::BestTarget());
}

struct Made {
  std::string kernel, log;
};

// A plan with options `o` (target: default); REQUIREs that Create succeeds.
Made MakePlan(const convgen::Conv2dParams& p, convgen::PlanOptions o) {
  const std::vector<float> w(size_t(p.weight_elements()), 1.0f);
  o.threads = 1;
  std::unique_ptr<convgen::Plan> plan;
  const convgen::Status s = convgen::Plan::Create(p, w.data(), nullptr, o, &plan);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return {plan->kernel_name(), plan->selection_log()};
}

std::string Heuristic(const convgen::Conv2dParams& p) { return MakePlan(p, {}).kernel; }

// A wisdom line choosing the reference kernel (never the heuristic's choice
// for this layer, so a plan that follows the wisdom is visible).
std::string ReferenceLine(const convgen::Conv2dParams& p, const std::string& target,
                          const std::string& version) {
  return "desc=" + convgen::internal::WisdomDescriptor(p) + " target=" + target +
         " kernel=reference r=1 v=0 gflops=1.5 version=" + version +
         " date=2025-01-01 cpu=\"Test CPU, 2 cores\"\n";
}

std::string Header() { return "convgen-wisdom 1\n"; }

}  // namespace

TEST_CASE("wisdom format round trip") {
  WisdomEntry a;
  a.desc = "g1mb1ic4ih10iw10oc8oh10ow10kh3kw3sh1sw1ph1pw1dh0dw0";
  a.target = "AVX3";
  a.kernel = "f32_conv2d_k3x3_s1_r8_w1v";
  a.version = "0.1.0";
  a.r = 8;
  a.v = 1;
  a.gflops = 93.25;
  a.cpu = "AMD EPYC 9R14 96-Core Processor";
  a.date = "2025-01-31";
  WisdomEntry b = a;
  b.target = "SCALAR";
  b.r = b.v = -1;
  b.gflops = -1;
  b.cpu = b.date = "";
  const std::string text = convgen::internal::FormatWisdom({a, b});
  CHECK(text.rfind("convgen-wisdom 1\n", 0) == 0);
  std::vector<WisdomEntry> back;
  REQUIRE(convgen::internal::ParseWisdom(text, "f", &back).ok());
  REQUIRE(back.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const WisdomEntry& want = i == 0 ? a : b;
    CHECK(back[i].desc == want.desc);
    CHECK(back[i].target == want.target);
    CHECK(back[i].kernel == want.kernel);
    CHECK(back[i].version == want.version);
    CHECK(back[i].r == want.r);
    CHECK(back[i].v == want.v);
    CHECK(back[i].gflops == Approx(want.gflops));
    CHECK(back[i].cpu == want.cpu);
    CHECK(back[i].date == want.date);
  }
  CHECK(back[0].line == 4);  // header, two comment lines, then the records
}

TEST_CASE("wisdom accepts any descriptor spelling and canonicalises it") {
  std::vector<WisdomEntry> e;
  REQUIRE(convgen::internal::ParseWisdom(
              "\nconvgen-wisdom 1\n\n# c\n\ndesc=mb1ic4ih10oc8oh10kh3ph1n\"x\" "
              "kernel=reference target=AVX2 version=9\n",
              "f", &e)
              .ok());
  REQUIRE(e.size() == 1);
  CHECK(e[0].desc == "g1mb1ic4ih10iw10oc8oh10ow10kh3kw3sh1sw1ph1pw1dh0dw0");
  CHECK(e[0].line == 6);
}

TEST_CASE("wisdom parse errors name the file line and the bad field") {
  std::vector<WisdomEntry> e;
  auto err = [&](const std::string& text) {
    const convgen::Status s = convgen::internal::ParseWisdom(text, "w.txt", &e);
    return s.ok() ? std::string("ok") : s.message();
  };
  const std::string good = "desc=mb1ic4ih10oc8oh10kh3ph1 target=AVX3 kernel=reference version=1";
  CHECK(err("") == "w.txt: empty: no 'convgen-wisdom 1' header");
  CHECK(err("convgen-wisdom 2\n") ==
        "w.txt:1: wisdom format version 2, this convgen reads version 1");
  CHECK(err("hello world\n").find("w.txt:1: not a wisdom file") == 0);
  CHECK(err(Header() + good + " kernal=x\n") ==
        "w.txt:2: unknown key 'kernal' (keys: desc target kernel version r v gflops cpu date)");
  CHECK(err(Header() + "desc=mb1ic4ih10oc8oh10kh3ph1 target=AVX3 version=1\n") ==
        "w.txt:2: missing key kernel");
  CHECK(err(Header() + good + " r=eight\n") == "w.txt:2: r=eight is not an integer >= 0");
  CHECK(err(Header() + good + " gflops=-3\n") == "w.txt:2: gflops=-3 is not a number >= 0");
  CHECK(err(Header() + "desc=mb1ic4ih10oc8oh11kh3ph1 target=AVX3 kernel=reference version=1\n")
            .find("w.txt:2: desc=mb1ic4ih10oc8oh11kh3ph1 is not a valid descriptor") == 0);
  CHECK(err(Header() + good + " cpu=\"AMD\n") == "w.txt:2: value of cpu has no closing quote");
  CHECK(err(Header() + good + " garbage\n") == "w.txt:2: field 'garbage' is not key=value");
  CHECK(err(Header() + good + " r=1 r=2\n") == "w.txt:2: key r given twice");
  // Truncated: the last record cut short, without its newline.
  CHECK(err(Header() + good) == "w.txt:2: last line has no newline: the file looks truncated");
  CHECK(err(Header() + "desc=mb1ic4ih10oc8").find("w.txt:2:") == 0);
  CHECK(err(Header() + std::string("desc=\0\x01\x02", 8) + "\n")
            .find("binary data") != std::string::npos);
}

TEST_CASE("plan with valid wisdom picks the wisdom kernel") {
  CaptureWarnings warnings;
  TempDir dir;
  const convgen::Conv2dParams p = Params();
  const std::string heuristic = Heuristic(p);
  REQUIRE(heuristic != "reference");
  const std::string path = dir.Write(
      "w", Header() + "# the reference, for this layer on this machine's best target\n" +
               ReferenceLine(p, BestTargetName(), convgen::internal::ConvgenVersion()));
  convgen::PlanOptions o;
  o.wisdom = path;
  const Made m = MakePlan(p, o);
  CHECK(m.kernel == "reference");
  CHECK(m.log.find("  chose reference (wisdom: " + path + ":3)\n") != std::string::npos);
  CHECK(warnings.Get().empty());

  // The same file through CONVGEN_WISDOM.
  REQUIRE(::setenv("CONVGEN_WISDOM", path.c_str(), 1) == 0);
  const Made env = MakePlan(p, {});
  ::unsetenv("CONVGEN_WISDOM");
  CHECK(env.kernel == "reference");

  // A forced kernel beats wisdom.
  convgen::PlanOptions forced = o;
  forced.kernel = heuristic;
  const Made f = MakePlan(p, forced);
  CHECK(f.kernel == heuristic);
  CHECK(f.log.find("forced: " + heuristic) != std::string::npos);

  // Without wisdom the log says the heuristic chose.
  CHECK(MakePlan(p, {}).log.find("  chose " + heuristic + " (heuristic)\n") != std::string::npos);
}

TEST_CASE("wisdom for another layer or target is silently not used") {
  CaptureWarnings warnings;
  TempDir dir;
  const convgen::Conv2dParams p = Params();
  const std::string heuristic = Heuristic(p);
  convgen::Conv2dParams batch2 = p;
  batch2.batch = 2;  // the descriptor includes the batch
  std::string other_target = "SCALAR";
  if (BestTargetName() == "SCALAR") other_target = "AVX3";
  const std::string path =
      dir.Write("w", Header() + ReferenceLine(batch2, BestTargetName(), "0.1.0") +
                         ReferenceLine(p, other_target, convgen::internal::ConvgenVersion()));
  convgen::PlanOptions o;
  o.wisdom = path;
  const Made m = MakePlan(p, o);
  CHECK(m.kernel == heuristic);
  CHECK(m.log.find("no entry for " + convgen::internal::WisdomDescriptor(p) + " on " +
                   BestTargetName()) != std::string::npos);
  CHECK(m.log.find("(heuristic)") != std::string::npos);
  CHECK(warnings.Get().empty());
}

TEST_CASE("unusable wisdom warns once per file and falls back to the heuristic") {
  TempDir dir;
  const convgen::Conv2dParams p = Params();
  const std::string heuristic = Heuristic(p);
  const std::string target = BestTargetName();
  const std::string version = convgen::internal::ConvgenVersion();
  struct Case {
    std::string name, text, warning;
  };
  const std::vector<Case> cases = {
      {"version mismatch", Header() + ReferenceLine(p, target, "0.0.1-old"),
       ":2: written by convgen 0.0.1-old, this is convgen " + version},
      {"unknown kernel",
       Header() + "desc=" + convgen::internal::WisdomDescriptor(p) + " target=" + target +
           " kernel=f32_conv2d_k9x9_s1_r99_w9v version=" + version + "\n",
       ":2: kernel=f32_conv2d_k9x9_s1_r99_w9v is not a registered kernel"},
      {"changed registry row",
       Header() + "desc=" + convgen::internal::WisdomDescriptor(p) + " target=" + target +
           " kernel=reference r=4 v=2 version=" + version + "\n",
       "recorded with r=4 v=2 but the registry has r=1 v=0"},
      {"kernel not applying to its layer",
       Header() + "desc=" + convgen::internal::WisdomDescriptor(p) + " target=" + target +
           " kernel=f32_conv2d_k5x5_s1_r8_w1v version=" + version + "\n",
       "does not apply to its layer"},
      {"garbage", "\x7f" "ELF\x02\x01\x01 binary junk\n", "not a wisdom file"},
      {"truncated", Header() + ReferenceLine(p, target, version).substr(0, 50),
       "w_truncated:2:"},
      {"wrong format version", "convgen-wisdom 7\n" + ReferenceLine(p, target, version),
       "wisdom format version 7"},
      {"empty", "", "empty"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      CaptureWarnings warnings;
      std::string file = "w_" + c.name;
      for (char& ch : file)
        if (ch == ' ') ch = '_';
      const std::string path = dir.Write(file, c.text);
      convgen::PlanOptions o;
      o.wisdom = path;
      for (int i = 0; i < 3; ++i) {  // three plans, one warning
        const Made m = MakePlan(p, o);
        CHECK(m.kernel == heuristic);
        CHECK(m.log.find("  wisdom " + path + ": ") != std::string::npos);
        CHECK(m.log.find("(heuristic)") != std::string::npos);
      }
      const auto w = warnings.Get();
      REQUIRE(w.size() == 1);
      INFO(w[0]);
      CHECK(w[0].find(path) != std::string::npos);
      CHECK(w[0].find(c.warning) != std::string::npos);
      CHECK(w[0].find("plans use the heuristic") != std::string::npos);
    }
  }
}

TEST_CASE("a missing wisdom file warns once and the plan still works") {
  CaptureWarnings warnings;
  TempDir dir;
  const convgen::Conv2dParams p = Params();
  convgen::PlanOptions o;
  o.wisdom = dir.File("does_not_exist.wisdom");
  // Many threads creating plans at once: one load, one warning.
  std::vector<std::thread> threads;
  std::atomic<int> heuristic_plans{0};
  const std::string heuristic = Heuristic(p);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      const std::vector<float> w(size_t(p.weight_elements()), 1.0f);
      std::unique_ptr<convgen::Plan> plan;
      if (convgen::Plan::Create(p, w.data(), nullptr, o, &plan).ok() &&
          plan->kernel_name() == heuristic)
        ++heuristic_plans;
    });
  for (auto& t : threads) t.join();
  CHECK(heuristic_plans == 4);
  const auto w = warnings.Get();
  REQUIRE(w.size() == 1);
  CHECK(w[0] == "wisdom file=" + o.wisdom + " cannot be read; plans use the heuristic");
}

TEST_CASE("a plan following wisdom computes the right result") {
  CaptureWarnings warnings;
  TempDir dir;
  const convgen::Conv2dParams p = Params();
  // Wisdom picks a kernel other than the heuristic's: the best applicable
  // non-reference one the plan would not have taken, else the reference.
  const std::string heuristic = Heuristic(p);
  std::string other = "reference";
  for (const auto* k : convgen::internal::AllKernels()) {
    std::string why;
    if (k->name != heuristic && std::string(k->family) != "reference" &&
        k->applies(p, &why) && k->resolve(convgen::internal::BestTarget())) {
      other = k->name;
      break;
    }
  }
  const std::string path =
      dir.Write("w", Header() + "desc=" + convgen::internal::WisdomDescriptor(p) + " target=" +
                         BestTargetName() + " kernel=" + other +
                         " version=" + convgen::internal::ConvgenVersion() + "\n");
  std::vector<float> x(size_t(p.input_elements())), w(size_t(p.weight_elements()));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 7) - 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i % 5) - 2);
  convgen::PlanOptions o;
  o.wisdom = path;
  o.threads = 1;
  std::unique_ptr<convgen::Plan> plan;
  REQUIRE(convgen::Plan::Create(p, w.data(), nullptr, o, &plan).ok());
  CHECK(plan->kernel_name() == other);
  std::vector<float> got(size_t(p.output_elements())), want(got.size());
  REQUIRE(plan->Run(x.data(), got.data()).ok());
  convgen::ReferenceConv2d(p, x.data(), w.data(), nullptr, -INFINITY, INFINITY, 0, want.data());
  CHECK(got == want);  // small integers: exact in any order
  CHECK(warnings.Get().empty());
}
