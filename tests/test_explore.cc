// `convgen explore` and `convgen tune` (tools/lib/explore.h, wisdom_tools.h):
// the register-tile model against counts done by hand below, the sweeps'
// records, table and CSV schema, option parsing, tune -> wisdom -> plan, and
// the CLI end to end (exit codes, CSV, the missing-matplotlib message).
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "convgen/descriptor.h"
#include "convgen/plan.h"
#include "explore.h"
#include "kernel.h"
#include "targets.h"
#include "temp_dir.h"
#include "wisdom.h"
#include "wisdom_tools.h"

extern char** environ;

namespace {

using convgen::LayerDesc;
using convgen::tools::ExploreOptions;
using convgen::tools::ExploreRecord;
using convgen::tools::KernelModel;

LayerDesc Layer(const std::string& text) {
  LayerDesc d;
  REQUIRE(convgen::ParseDescriptor(text, &d).ok());
  return d;
}

// A compiled target by name (the model needs only its lanes), or 0.
int64_t Target(const std::string& name) {
  for (int64_t t : convgen::internal::CompiledTargets())
    if (convgen::internal::TargetName(t) == name) return t;
  return 0;
}

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> f;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) { f.push_back(cur); cur.clear(); }
    else cur += c;
  }
  f.push_back(cur);
  return f;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

ExploreOptions Quick() {
  ExploreOptions o;
  o.timing.reps = 1;
  o.timing.min_time_s = 0;
  o.peak_gflops = 100;  // do not measure the peak in tests
  return o;
}

using convgen::testing::TempDir;

std::string ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct Cli {
  int code = -1;
  std::string out, err;
};

// Runs the convgen CLI without a shell; `env` entries ("K=V") are added.
Cli RunCli(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  TempDir io;
  const std::string out = io.File("out"), err = io.File("err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_s = {CONVGEN_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  std::vector<std::string> env_s = env;
  for (char** e = environ; *e; ++e) env_s.push_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(&e[0]);
  envp.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, CONVGEN_CLI_PATH, &actions, nullptr, argv.data(), envp.data()) == 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  Cli r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadText(out);
  r.err = ReadText(err);
  return r;
}

const char* kCsvHeader =
    "sweep,layer,desc,groups,target,lanes,kernel,family,r,v,plan_choice,axis,delta,extent,"
    "tail,tail_waste_pct,acc_regs,regs,loads_per_fma,bcasts_per_fma,estimate,flops,threads,"
    "time_ms,gflops,pct_peak,spread,reps,note";

}  // namespace

// ---- the model, against hand counts -------------------------------------------------

// Layer: 4 -> 8 channels, 10x10 output, 3x3, pad 1.
// FLOPs = 2 * N1 * co8 * oh10 * ow10 * ci4 * 3 * 3 = 57600.
TEST_CASE("explore model direct strip kernel matches hand counts") {
  const LayerDesc layer = Layer("mb1ic4ih10oc8oh10kh3ph1");
  const auto* k = convgen::internal::FindKernel("f32_conv2d_k3x3_s1_r8_w1v");
  REQUIRE(k != nullptr);
  const int64_t avx3 = Target("AVX3"), avx2 = Target("AVX2");
  if (avx3) {
    // AVX3, 16 lanes, tile 8 channels x 1 vector: per tap 1 input load and
    // 8 broadcasts for 8 FMAs -> 1/8 loads and 1 broadcast per FMA; 8 of 32
    // registers accumulate; Δ = 16 outputs; ow = 10 -> one strip of 16 with
    // 10 useful lanes: tail 10, waste 6/16 = 37.5%.
    const KernelModel m = convgen::tools::ModelKernel(*k, layer.params, avx3);
    CHECK(m.axis == "w");
    CHECK(m.lanes == 16);
    CHECK(m.delta == 16);
    CHECK(m.extent == 10);
    CHECK(m.tail == 10);
    CHECK(m.tail_waste_pct == Approx(37.5));
    CHECK(m.loads_per_fma == Approx(0.125));
    CHECK(m.bcasts_per_fma == Approx(1.0));
    CHECK(m.acc_regs == 8);
    CHECK(m.regs == 32);
    CHECK(m.flops == Approx(57600));
    CHECK(m.estimate == Approx(k->estimate(layer.params, avx3)));
  }
  if (avx2) {
    // AVX2, 8 lanes: Δ = 8; ow 10 = 8 + 2: tail 2, 16 lanes computed for
    // 10 outputs: waste 6/16 = 37.5%; 16 registers.
    const KernelModel m = convgen::tools::ModelKernel(*k, layer.params, avx2);
    CHECK(m.delta == 8);
    CHECK(m.tail == 2);
    CHECK(m.tail_waste_pct == Approx(37.5));
    CHECK(m.regs == 16);
  }
}

TEST_CASE("explore model lane cap and channel vectorised kernels match hand counts") {
  const LayerDesc layer = Layer("mb1ic4ih10oc8oh10kh3ph1");
  const int64_t avx3 = Target("AVX3");
  if (!avx3) return;
  // r16_w1v8: 16 channels x one vector capped at 8 lanes on AVX3: Δ = 8;
  // per tap 1 load + 16 broadcasts for 16 FMAs: 1/16 loads per FMA; 16 accs.
  const auto* capped = convgen::internal::FindKernel("f32_conv2d_k3x3_s1_r16_w1v8");
  REQUIRE(capped != nullptr);
  KernelModel m = convgen::tools::ModelKernel(*capped, layer.params, avx3);
  CHECK(m.delta == 8);
  CHECK(m.tail == 2);
  CHECK(m.loads_per_fma == Approx(1.0 / 16));
  CHECK(m.acc_regs == 16);
  // smallmap p14_c2v: 14 pixels x 2 vectors of 16 channels; per tap 2
  // weight vector loads + 14 broadcasts for 28 FMAs: 1/14 loads, 1/2
  // broadcast per FMA; 28 accumulators; 8 channels in a 32-channel tile:
  // tail 8, waste 75% (the model's figure: the kernel's half tile runs them
  // on one 16-lane vector).
  const auto* smallmap = convgen::internal::FindKernel("f32_conv2d_smallmap_p14_c2v");
  REQUIRE(smallmap != nullptr);
  m = convgen::tools::ModelKernel(*smallmap, layer.params, avx3);
  CHECK(m.axis == "co");
  CHECK(m.delta == 32);
  CHECK(m.extent == 8);
  CHECK(m.tail == 8);
  CHECK(m.tail_waste_pct == Approx(75.0));
  CHECK(m.loads_per_fma == Approx(1.0 / 14));
  CHECK(m.bcasts_per_fma == Approx(0.5));
  CHECK(m.acc_regs == 28);
  // The reference has no register tile: every figure but FLOPs is n/a.
  m = convgen::tools::ModelKernel(*convgen::internal::FindKernel("reference"), layer.params, avx3);
  CHECK(m.axis.empty());
  CHECK(m.delta < 0);
  CHECK(m.loads_per_fma < 0);
  CHECK(m.acc_regs < 0);
  CHECK(m.flops == Approx(57600));
}

TEST_CASE("explore model 1x1 kernels strip the flattened pixels") {
  // 1x1, 10x10 output: the strip runs over oh*ow = 100 pixels. For a 1x1
  // kernel with tile R x V on AVX3: Δ = 16 V, tail = 100 mod Δ.
  const LayerDesc layer = Layer("mb1ic16ih10oc32oh10kh1ph0");
  const int64_t avx3 = Target("AVX3");
  if (!avx3) return;
  for (const auto* k : convgen::internal::AllKernels()) {
    const std::string family = k->family;
    std::string why;
    if ((family != "conv1x1" && family != "gconv1x1") || !k->applies(layer.params, &why))
      continue;
    INFO(k->name);
    const KernelModel m = convgen::tools::ModelKernel(*k, layer.params, avx3);
    CHECK(m.axis == "hw");
    CHECK(m.extent == 100);
    CHECK(m.delta % 16 == 0);
    CHECK(m.tail == 100 % m.delta);
    CHECK(m.loads_per_fma == Approx(1.0 / k->r));
    CHECK(m.bcasts_per_fma == Approx(1.0 / k->v));
  }
}

// ---- sweeps, table, CSV ------------------------------------------------------------

TEST_CASE("explore kernel sweep covers every applicable kernel and target") {
  const LayerDesc layer = Layer("mb1ic4ih10oc8oh10kh3ph1n\"tiny\"");
  ExploreOptions o = Quick();
  std::vector<ExploreRecord> records;
  REQUIRE(convgen::tools::RunExplore(layer, o, &records, nullptr).ok());
  // Expected rows: registry kernels that apply and are compiled, per target.
  size_t expected = 0;
  const auto targets = convgen::internal::SupportedCompiledTargets();
  for (int64_t t : targets)
    for (const auto* k : convgen::internal::AllKernels()) {
      std::string why;
      if (k->applies(layer.params, &why) && k->resolve(t)) ++expected;
    }
  CHECK(records.size() == expected);
  std::set<std::string> chosen_targets;
  for (const ExploreRecord& r : records) {
    INFO(r.target << " " << r.kernel << " " << r.note);
    CHECK(r.sweep == "kernels");
    CHECK(r.layer == "tiny");
    CHECK_FALSE(r.skipped);
    CHECK(r.gflops > 0);
    CHECK(r.reps == 1);
    if (r.plan_choice) CHECK(chosen_targets.insert(r.target).second);  // one per target
  }
  CHECK(chosen_targets.size() == targets.size());

  // Table: sorted fastest first, the plan's choice starred, the model's columns.
  const std::string table = convgen::tools::FormatExploreTable(records);
  const std::vector<std::string> lines = Lines(table);
  REQUIRE(lines.size() >= records.size() + 1);
  for (const char* col : {"target", "kernel", "GF/s", "%peak", "est", "GFLOP", "ld/FMA",
                          "bc/FMA", "acc/regs", "tail", "waste"})
    CHECK(lines[0].find(col) != std::string::npos);
  CHECK(table.find("n/a") != std::string::npos);  // the reference's model figures

  // CSV: the documented header, one line per record, every line as wide.
  const std::string csv = convgen::tools::ExploreRecordsToCsv(records);
  const std::vector<std::string> csv_lines = Lines(csv);
  REQUIRE(csv_lines.size() == records.size() + 1);
  CHECK(csv_lines[0] == kCsvHeader);
  const size_t columns = SplitCsvLine(kCsvHeader).size();
  for (const std::string& l : csv_lines) CHECK(SplitCsvLine(l).size() == columns);
}

TEST_CASE("explore filters by strip width and R tile") {
  const LayerDesc layer = Layer("mb1ic4ih10oc8oh10kh3ph1");
  ExploreOptions o = Quick();
  o.targets = {convgen::internal::TargetName(convgen::internal::BestTarget())};
  o.tiles = {8};
  o.strips = {1};
  std::vector<ExploreRecord> records;
  REQUIRE(convgen::tools::RunExplore(layer, o, &records, nullptr).ok());
  REQUIRE_FALSE(records.empty());
  for (const ExploreRecord& r : records) {
    CHECK(r.r == 8);
    CHECK(r.v == 1);
  }
  o.tiles = {7777};
  const convgen::Status s = convgen::tools::RunExplore(layer, o, &records, nullptr);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("--strips/--tiles") != std::string::npos);
}

TEST_CASE("explore groups sweep skips b not dividing the channels") {
  const LayerDesc layer = Layer("mb1ic8ih6oc8oh6kh1ph0");
  ExploreOptions o = Quick();
  o.targets = {convgen::internal::TargetName(convgen::internal::BestTarget())};
  o.groups = {1, 2, 3, 4, 8};
  std::vector<ExploreRecord> records;
  REQUIRE(convgen::tools::RunExplore(layer, o, &records, nullptr).ok());
  std::vector<int64_t> bs;
  for (const ExploreRecord& r : records) {
    bs.push_back(r.groups);
    CHECK(r.sweep == "groups");
    CHECK(r.plan_choice);
    CHECK(r.chosen_by == "heuristic");
    CHECK_FALSE(r.kernel.empty());
    CHECK(r.model.flops == Approx(2.0 * 8 * 36 * (8 / r.groups)));
  }
  CHECK(bs == std::vector<int64_t>{1, 2, 4, 8});
  const std::string table = convgen::tools::FormatExploreTable(records);
  CHECK(table.find("t·b/t1") != std::string::npos);
  CHECK(Lines(table)[1].find("1.00") != std::string::npos);  // b = 1 is its own baseline
}

TEST_CASE("explore option lists are checked") {
  std::vector<int64_t> v;
  CHECK(convgen::tools::ParseIntList("1, 2,4", "--tiles", &v).ok());
  CHECK(v == std::vector<int64_t>{1, 2, 4});
  convgen::Status s = convgen::tools::ParseIntList("1,x", "--strips", &v);
  CHECK(s.message() == "--strips: 'x' is not a positive integer (list: 1,2,4)");
  CHECK_FALSE(convgen::tools::ParseIntList("0", "--groups", &v).ok());
  CHECK_FALSE(convgen::tools::ParseIntList("", "--groups", &v).ok());
  std::vector<std::string> t;
  CHECK(convgen::tools::ParseTargetList("all", &t).ok());
  CHECK(t.size() == convgen::internal::SupportedCompiledTargets().size());
  CHECK_FALSE(convgen::tools::ParseTargetList("AVX9", &t).ok());
  const LayerDesc layer = Layer("mb1ic4ih10oc8oh10kh3ph1");
  ExploreOptions o = Quick();
  o.threads = 0;
  std::vector<ExploreRecord> records;
  CHECK(convgen::tools::RunExplore(layer, o, &records, nullptr).message() ==
        "threads=0 must be >= 1");
}

// ---- tune -> wisdom -> plan -------------------------------------------------------

TEST_CASE("tune writes wisdom that a plan then follows") {
  const LayerDesc layer = Layer("mb1ic4ih10oc8oh10kh3ph1n\"tiny\"");
  convgen::tools::TuneOptions o;
  o.targets = {convgen::internal::TargetName(convgen::internal::BestTarget())};
  o.timing = {1, 0};
  o.peak_gflops = 100;
  std::vector<convgen::tools::TuneRecord> records;
  REQUIRE(convgen::tools::RunTune({layer}, o, &records, nullptr, nullptr).ok());
  REQUIRE(records.size() == 1);
  const auto& t = records[0];
  CHECK(t.layer == "tiny");
  CHECK(t.desc == "g1mb1ic4ih10iw10oc8oh10ow10kh3kw3sh1sw1ph1pw1dh0dw0");
  CHECK(t.candidates >= 2);
  CHECK(t.best_gflops > 0);
  CHECK(t.heuristic_gflops > 0);
  CHECK(t.heuristic_gflops <= t.best_gflops);
  const std::string table = convgen::tools::FormatTuneComparison(records);
  CHECK(Lines(table)[0].find("heuristic/tuned") != std::string::npos);

  TempDir dir;
  const std::string path = dir.File("tiny.wisdom");
  const std::string text =
      convgen::internal::FormatWisdom(convgen::tools::WisdomFromTune(records, "cpu x", "2025-01-01"));
  std::ofstream(path) << text;
  std::vector<convgen::internal::WisdomEntry> back;
  REQUIRE(convgen::internal::ParseWisdom(text, path, &back).ok());
  REQUIRE(back.size() == 1);
  CHECK(back[0].kernel == t.best_kernel);
  CHECK(back[0].version == convgen::internal::ConvgenVersion());

  const std::vector<float> w(size_t(layer.params.weight_elements()), 1.0f);
  convgen::PlanOptions po;
  po.wisdom = path;
  std::unique_ptr<convgen::Plan> plan;
  REQUIRE(convgen::Plan::Create(layer.params, w.data(), nullptr, po, &plan).ok());
  CHECK(plan->kernel_name() == t.best_kernel);
  CHECK(plan->selection_log().find("(wisdom: " + path + ":") != std::string::npos);
}

// ---- the CLI ---------------------------------------------------------------------------

TEST_CASE("explore CLI prints the table and writes the CSV") {
  TempDir dir;
  const std::string csv = dir.File("e.csv");
  const Cli r = RunCli({"explore", "mb1ic4ih10oc8oh10kh3ph1", "--targets", "SCALAR", "--reps",
                        "1", "--min-time", "0", "--csv", csv});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("acc/regs") != std::string::npos);
  CHECK(r.err.find("[1/") != std::string::npos);  // progress on stderr
  CHECK(Lines(ReadText(csv))[0] == kCsvHeader);
}

TEST_CASE("explore CLI without matplotlib says how to install it and keeps the CSV") {
  TempDir dir;
  const std::string png = dir.File("e.png");
  const Cli r = RunCli({"explore", "mb1ic4ih10oc8oh10kh3ph1", "--targets", "SCALAR", "--reps",
                        "1", "--min-time", "0", "--plot", png},
                       {"CONVGEN_PYTHON=/nonexistent/python3"});
  CHECK(r.code == 2);
  CHECK(r.err.find("install python3-matplotlib (apt-get install -y python3-matplotlib)") !=
        std::string::npos);
  CHECK(Lines(ReadText(dir.File("e.csv")))[0] == kCsvHeader);
  CHECK_FALSE(std::filesystem::exists(png));
}

TEST_CASE("explore and tune CLI errors are one line and exit 2") {
  Cli r = RunCli({"explore", "mb1ic4ih10oc8oh10kh3ph1", "--strips", "1,zero"});
  CHECK(r.code == 2);
  CHECK(r.err == "convgen: error: --strips: 'zero' is not a positive integer (list: 1,2,4)\n");
  r = RunCli({"explore", "mb1ic4ih10oc8oh10kh3ph1", "--plot", "x.pdf"});
  CHECK(r.code == 2);
  CHECK(r.err.find("must end in .png or .svg") != std::string::npos);
  TempDir dir;
  r = RunCli({"tune", "--suite", dir.File("missing.txt"), "--out", dir.File("w")});
  CHECK(r.code == 2);
  CHECK(r.err.find("missing.txt") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.File("w")));
}
