// The plumbing of `convgen bench` (tools/lib/bench_runner.h): suite files,
// descriptor -> plan -> record, `--target all`, and the JSON schema. No
// timing assertions: the figures only have to exist and be finite.
#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench_runner.h"
#include "kernel.h"
#include "peak.h"
#include "targets.h"
#include "timing.h"
#include "wisdom_tools.h"

namespace {

using convgen::LayerDesc;
using convgen::tools::BenchOptions;
using convgen::tools::BenchRecord;

// A tiny layer: microseconds per run, even with the reference kernel.
const char* kTinyLayer = "mb1ic4ih6oc5oh6kh3ph1n\"tiny\"";

// A fixed nominal peak, so the tests do not spend 0.3 s measuring one.
constexpr double kNominalPeak = 100.0;

BenchOptions QuickOptions() {
  BenchOptions o;
  o.timing.reps = 1;
  o.timing.min_time_s = 0;
  o.peak_gflops = kNominalPeak;
  return o;
}

LayerDesc Parse(const std::string& text) {
  LayerDesc d;
  const convgen::Status s = convgen::ParseDescriptor(text, &d);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return d;
}

// ---- a minimal JSON reader: enough for an array of flat objects -----------
// Values are kept as their source text (strings unescaped), so the test can
// check the exact key set and a few values.
struct JsonReader {
  const std::string& s;
  size_t i = 0;

  void Ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  void Expect(char c) {
    Ws();
    INFO("at offset " << i << " expected '" << c << "'");
    REQUIRE(i < s.size());
    REQUIRE(s[i] == c);
    ++i;
  }
  bool Peek(char c) {
    Ws();
    return i < s.size() && s[i] == c;
  }
  std::string String() {
    Expect('"');
    std::string out;
    while (true) {
      REQUIRE(i < s.size());
      const char c = s[i++];
      if (c == '"') return out;
      REQUIRE(static_cast<unsigned char>(c) >= 0x20);  // control chars escaped
      if (c != '\\') {
        out += c;
        continue;
      }
      REQUIRE(i < s.size());
      const char e = s[i++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          REQUIRE(i + 4 <= s.size());
          out += static_cast<char>(std::stoi(s.substr(i, 4), nullptr, 16));  // ASCII only
          i += 4;
          break;
        }
        default: FAIL("bad escape \\" << e);
      }
    }
  }
  // Scalar value: a string, or the raw text of a number / true / false / null.
  std::string Value(bool* is_string) {
    Ws();
    *is_string = Peek('"');
    if (*is_string) return String();
    const size_t start = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '-' ||
                            s[i] == '+' || s[i] == '.'))
      ++i;
    REQUIRE(i > start);
    return s.substr(start, i - start);
  }
};

struct JsonObject {
  std::map<std::string, std::string> values;
  std::set<std::string> string_keys;
};

std::vector<JsonObject> ParseJsonArray(const std::string& text) {
  JsonReader r{text};
  std::vector<JsonObject> out;
  r.Expect('[');
  if (r.Peek(']')) {
    r.Expect(']');
    return out;
  }
  do {
    JsonObject obj;
    r.Expect('{');
    do {
      const std::string key = r.String();
      r.Expect(':');
      bool is_string = false;
      const std::string value = r.Value(&is_string);
      REQUIRE(obj.values.count(key) == 0);  // no duplicate keys
      obj.values[key] = value;
      if (is_string) obj.string_keys.insert(key);
    } while (r.Peek(',') && (r.Expect(','), true));
    r.Expect('}');
    out.push_back(obj);
  } while (r.Peek(',') && (r.Expect(','), true));
  r.Expect(']');
  r.Ws();
  REQUIRE(r.i == text.size());
  return out;
}

const std::set<std::string> kRecordKeys = {"layer", "desc",   "kernel",   "target",
                                           "threads", "time_ms", "gflops", "pct_peak",
                                           "reps",  "spread",  "cpu"};
const std::set<std::string> kStringKeys = {"layer", "desc", "kernel", "target", "cpu"};

std::set<std::string> Keys(const JsonObject& o) {
  std::set<std::string> k;
  for (const auto& kv : o.values) k.insert(kv.first);
  return k;
}

}  // namespace

TEST_CASE("suite parsing skips comments and blank lines", "[bench_runner]") {
  const std::string text =
      "# a comment line\n"
      "\n"
      "mb1ic4ih6oc5oh6kh3ph1n\"first\"   # trailing comment\n"
      "   \t\n"
      "g2mb1ic4ih8oc4oh8kh1n\"with # inside the name\"\r\n"
      "mb1ic3ih5oc2oh3kh3\n";
  std::vector<LayerDesc> layers;
  const convgen::Status s = convgen::tools::ParseSuite(text, "inline", &layers);
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(layers.size() == 3);
  CHECK(layers[0].name == "first");
  CHECK(layers[0].params.in_channels == 4);
  CHECK(layers[0].params.out_channels == 5);
  CHECK(layers[1].name == "with # inside the name");
  CHECK(layers[1].params.groups == 2);
  CHECK(layers[2].name.empty());
  // An unnamed layer is shown by its short descriptor.
  CHECK(convgen::tools::LayerName(layers[2]) ==
        convgen::tools::ShortDescriptorWithoutName(layers[2]));
}

TEST_CASE("suite parsing reports a bad line with its number", "[bench_runner]") {
  const std::string text =
      "# header\n"
      "mb1ic4ih6oc5oh6kh3ph1n\"ok\"\n"
      "\n"
      "mb1ic4ih6oc5oh6kh3ph1zz9\n"
      "mb1ic4ih6oc5oh6kh3ph1n\"never reached\"\n";
  std::vector<LayerDesc> layers(1);
  const convgen::Status s = convgen::tools::ParseSuite(text, "my_suite.txt", &layers);
  REQUIRE_FALSE(s.ok());
  INFO(s.message());
  CHECK(s.message().rfind("my_suite.txt:4: ", 0) == 0);
  CHECK(layers.size() == 1);  // unchanged on error
}

TEST_CASE("suite files: the public suite reads, a missing file is named", "[bench_runner]") {
  std::vector<LayerDesc> layers;
  convgen::Status s =
      convgen::tools::ReadSuiteFile(CONVGEN_SOURCE_DIR "/bench/suite.txt", &layers);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(layers.size() >= 10);
  for (const LayerDesc& l : layers) CHECK_FALSE(l.name.empty());

  s = convgen::tools::ReadSuiteFile("/nonexistent/dir/suite.txt", &layers);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("/nonexistent/dir/suite.txt") != std::string::npos);
}

TEST_CASE("a tiny layer gives one complete record", "[bench_runner]") {
  const LayerDesc layer = Parse(kTinyLayer);
  std::vector<BenchRecord> records;
  const convgen::Status s =
      convgen::tools::RunBench({layer}, QuickOptions(), &records, nullptr);
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(records.size() == 1);
  const BenchRecord& r = records[0];
  INFO(r.skip_reason);
  REQUIRE_FALSE(r.skipped);
  CHECK(r.layer == "tiny");
  CHECK(r.desc == convgen::tools::ShortDescriptorWithoutName(layer));
  CHECK(r.desc.find("tiny") == std::string::npos);
  CHECK(convgen::internal::FindKernel(r.kernel) != nullptr);
  CHECK(r.target ==
        convgen::internal::TargetName(convgen::internal::BestTarget()));
  CHECK(r.threads == 1);
  CHECK(r.reps == 1);
  CHECK(std::isfinite(r.gflops));
  CHECK(r.gflops > 0);
  CHECK(std::isfinite(r.time_ms));
  CHECK(r.time_ms > 0);
  CHECK(r.pct_peak == Approx(100.0 * r.gflops / kNominalPeak));
  CHECK(r.peers.empty());
}

TEST_CASE("forced kernel and thread count reach the plan", "[bench_runner]") {
  BenchOptions o = QuickOptions();
  o.kernel = "reference";
  o.threads = {2};
  std::vector<BenchRecord> records;
  REQUIRE(convgen::tools::RunBench({Parse(kTinyLayer)}, o, &records, nullptr).ok());
  REQUIRE(records.size() == 1);
  CHECK(records[0].kernel == "reference");
  CHECK(records[0].threads == 2);
}

TEST_CASE("target all gives one record per supported target", "[bench_runner]") {
  BenchOptions o = QuickOptions();
  o.target = "all";
  std::vector<BenchRecord> records;
  std::ostringstream progress;
  REQUIRE(convgen::tools::RunBench({Parse(kTinyLayer)}, o, &records, &progress).ok());
  const std::vector<int64_t> targets = convgen::internal::SupportedCompiledTargets();
  REQUIRE(records.size() == targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    INFO(records[i].skip_reason);
    CHECK_FALSE(records[i].skipped);
    CHECK(records[i].target == convgen::internal::TargetName(targets[i]));
    CHECK(records[i].layer == "tiny");
    CHECK(records[i].gflops > 0);
  }
  CHECK(progress.str().find("[1/1] tiny") != std::string::npos);
}

TEST_CASE("a target list gives one record per listed target, in order", "[bench_runner]") {
  const std::vector<int64_t> supported = convgen::internal::SupportedCompiledTargets();
  // The last supported target (SCALAR) first, then the best: the list's order, not the CPU's.
  const std::string last = convgen::internal::TargetName(supported.back());
  const std::string best = convgen::internal::TargetName(supported.front());
  BenchOptions o = QuickOptions();
  o.target = last + "," + best;
  std::vector<BenchRecord> records;
  REQUIRE(convgen::tools::RunBench({Parse(kTinyLayer)}, o, &records, nullptr).ok());
  REQUIRE(records.size() == 2);
  CHECK(records[0].target == last);
  CHECK(records[1].target == best);
  for (const char* bad : {"AVX2,", ",AVX2", "AVX2,,SSE4", "AVX2,NOSUCH"}) {
    INFO(bad);
    o.target = bad;
    CHECK_FALSE(convgen::tools::RunBench({Parse(kTinyLayer)}, o, &records, nullptr).ok());
  }
}

TEST_CASE("bad options fail before anything runs", "[bench_runner]") {
  std::vector<BenchRecord> records;
  BenchOptions o = QuickOptions();
  o.target = "NOSUCHTARGET";
  convgen::Status s = convgen::tools::RunBench({Parse(kTinyLayer)}, o, &records, nullptr);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("NOSUCHTARGET") != std::string::npos);

  o = QuickOptions();
  o.kernel = "no_such_kernel";
  s = convgen::tools::RunBench({Parse(kTinyLayer)}, o, &records, nullptr);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("no_such_kernel") != std::string::npos);

  o = QuickOptions();
  o.threads = {0};
  s = convgen::tools::RunBench({Parse(kTinyLayer)}, o, &records, nullptr);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("threads=0") != std::string::npos);
}

TEST_CASE("JSON records carry exactly the required keys", "[bench_runner]") {
  BenchOptions o = QuickOptions();
  o.target = "all";
  std::vector<BenchRecord> records;
  REQUIRE(convgen::tools::RunBench({Parse(kTinyLayer), Parse("mb1ic2ih5oc3oh5kh1")}, o,
                                   &records, nullptr)
              .ok());
  // A layer name that needs escaping survives the round trip.
  records[0].layer = "quote\" backslash\\ tab\t newline\n";

  const std::string json = convgen::tools::BenchRecordsToJson(records);
  const std::vector<JsonObject> objects = ParseJsonArray(json);
  REQUIRE(objects.size() == records.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    const JsonObject& obj = objects[i];
    CHECK(Keys(obj) == kRecordKeys);
    CHECK(obj.string_keys == kStringKeys);
    CHECK(obj.values.at("layer") == records[i].layer);
    CHECK(obj.values.at("desc") == records[i].desc);
    CHECK(obj.values.at("kernel") == records[i].kernel);
    CHECK(obj.values.at("target") == records[i].target);
    CHECK(obj.values.at("cpu") == convgen::tools::CpuModelName());
    CHECK(std::stoi(obj.values.at("threads")) == 1);
    CHECK(std::stoi(obj.values.at("reps")) == 1);
    const double gflops = std::stod(obj.values.at("gflops"));
    CHECK(std::isfinite(gflops));
    CHECK(gflops == records[i].gflops);  // shortest round-trip form
    CHECK(std::stod(obj.values.at("time_ms")) > 0);
  }
  CHECK(ParseJsonArray(convgen::tools::BenchRecordsToJson({})).empty());
}

TEST_CASE("JSON peer records add the peer key, once per layer", "[bench_runner]") {
  BenchRecord r;
  r.layer = "L";
  r.desc = "mb1ic2ih5oc3oh5kh1";
  r.kernel = "k";
  r.target = "AVX2";
  r.time_ms = 1.5;
  r.gflops = 10;
  r.pct_peak = 8.5;
  r.reps = 5;
  r.spread = 0.01;
  convgen::tools::PeerRecord available;
  available.peer = "xnnpack";
  available.available = true;
  available.impl = "xnn \"f32\" igemm";
  available.timing.rep_ms = {2.0, 2.1};
  available.timing.median_ms = 2.05;
  available.gflops = 7.3;
  convgen::tools::PeerRecord missing;
  missing.peer = "onednn";
  missing.why_not = "not built";
  r.peers = {available, missing};
  BenchRecord second_target = r;  // same layer_index: another target row
  second_target.target = "AVX3";

  const std::vector<JsonObject> objects =
      ParseJsonArray(convgen::tools::BenchRecordsToJson({r, second_target}));
  REQUIRE(objects.size() == 3);  // two rows, the available peer once
  CHECK(Keys(objects[0]) == kRecordKeys);
  CHECK(Keys(objects[1]) == kRecordKeys);
  std::set<std::string> peer_keys = kRecordKeys;
  peer_keys.insert({"peer", "ours_target", "ours_gflops"});
  CHECK(Keys(objects[2]) == peer_keys);
  CHECK(objects[2].values.at("peer") == "xnnpack");
  CHECK(objects[2].values.at("ours_target").empty());  // not timed in turns here
  CHECK(std::stod(objects[2].values.at("ours_gflops")) == 0);
  CHECK(objects[2].values.at("kernel") == "xnn \"f32\" igemm");
  CHECK(std::stod(objects[2].values.at("gflops")) == 7.3);
  CHECK(std::stoi(objects[2].values.at("reps")) == 2);

  // The table shows the unavailable peer's reason and our ratio to the other.
  const std::string table = convgen::tools::FormatBenchTable({r});
  CHECK(table.find("not built") != std::string::npos);
  CHECK(table.find("×xnnpack") != std::string::npos);
  CHECK(table.find("1.37") != std::string::npos);  // 10 / 7.3
  // Ours timed in turns with the peer: the ratio on that target's row uses
  // that figure; another target's row keeps its own.
  r.peers[0].ours_target = "AVX2";
  r.peers[0].ours_gflops = 8.76;
  second_target.peers = r.peers;
  CHECK(convgen::tools::OursOver(r, r.peers[0]) == Approx(1.2));  // 8.76 / 7.3
  CHECK(convgen::tools::OursOver(second_target, r.peers[0]) == Approx(10 / 7.3));
  CHECK(convgen::tools::FormatBenchTable({r}).find("1.20") != std::string::npos);
}

TEST_CASE("peers agree with convgen on a tiny layer", "[bench_runner]") {
  BenchOptions o = QuickOptions();
  o.peers = true;
  std::vector<BenchRecord> records;
  REQUIRE(convgen::tools::RunBench({Parse(kTinyLayer)}, o, &records, nullptr).ok());
  REQUIRE(records.size() == 1);
  for (const convgen::tools::PeerRecord& p : records[0].peers) {
    INFO(p.peer << ": " << p.why_not << " err " << p.max_rel_err);
    if (!p.available) {
      CHECK_FALSE(p.why_not.empty());
      continue;
    }
    CHECK_FALSE(p.mismatch);
    CHECK(p.gflops > 0);
  }
  CHECK_FALSE(convgen::tools::AnyPeerMismatch(records));
  // Each available peer was timed in turns with our plan.
  for (const convgen::tools::PeerRecord& p : records[0].peers) {
    if (!p.available) continue;
    CHECK(p.ours_target == records[0].target);
    CHECK(p.ours_gflops > 0);
  }
}

TEST_CASE("several thread counts: rows per count and target, scaling, peers per count",
          "[bench_runner]") {
  // bench --threads 1,2: every (thread count, target) row of a layer timed in
  // turns; each row's scaling is over its target's row at the first count.
  BenchOptions o = QuickOptions();
  o.threads = {1, 2};
  o.target = "all";
  o.peers = true;
  const LayerDesc layer = Parse(kTinyLayer);
  std::vector<BenchRecord> records;
  const convgen::Status s = convgen::tools::RunBench({layer, layer}, o, &records, nullptr);
  INFO(s.ToString());
  REQUIRE(s.ok());
  const size_t n = convgen::internal::SupportedCompiledTargets().size();
  REQUIRE(records.size() == 2 * 2 * n);  // 2 layers x 2 counts x n targets
  for (size_t layer_i = 0; layer_i < 2; ++layer_i)
    for (size_t i = 0; i < 2 * n; ++i) {
      const BenchRecord& r = records[layer_i * 2 * n + i];
      const BenchRecord& base = records[layer_i * 2 * n + i % n];
      INFO("layer " << layer_i << " row " << i);
      REQUIRE_FALSE(r.skipped);
      CHECK(r.layer_index == static_cast<int>(layer_i));
      CHECK(r.threads == (i < n ? 1 : 2));
      CHECK(r.target == base.target);
      CHECK(r.gflops > 0);
      if (i < n)
        CHECK(r.scaling == 0);
      else
        CHECK(r.scaling == Approx(r.gflops / base.gflops));
      // Peers ran at this row's count, in turns with the count's first target.
      for (const convgen::tools::PeerRecord& p : r.peers) {
        if (!p.available) continue;
        CHECK_FALSE(p.mismatch);
        CHECK(p.ours_target == records[layer_i * 2 * n + (i < n ? 0 : n)].target);
        CHECK(p.ours_gflops > 0);
      }
    }
  // The table gains the scaling column; one count alone does not.
  CHECK(convgen::tools::FormatBenchTable(records).find("scaling") != std::string::npos);
  const std::vector<BenchRecord> one_count(records.begin(), records.begin() + n);
  CHECK(convgen::tools::FormatBenchTable(one_count).find("scaling") == std::string::npos);
  // JSON: each available peer once per layer and count, after that count's rows.
  const std::vector<JsonObject> objects =
      ParseJsonArray(convgen::tools::BenchRecordsToJson(records));
  size_t available = 0;
  for (const convgen::tools::PeerRecord& p : records[0].peers) available += p.available;
  REQUIRE(objects.size() == 2 * (2 * n + 2 * available));
  for (size_t layer_i = 0; layer_i < 2; ++layer_i)
    for (size_t count = 0; count < 2; ++count) {
      const size_t first = (layer_i * 2 + count) * (n + available);
      for (size_t k = 0; k < n + available; ++k) {
        const JsonObject& obj = objects[first + k];
        CHECK(std::stoi(obj.values.at("threads")) == (count == 0 ? 1 : 2));
        CHECK(obj.values.count("peer") == (k < n ? 0u : 1u));
      }
    }

  // A count listed twice is an error naming it.
  o.threads = {2, 1, 2};
  const convgen::Status twice = convgen::tools::RunBench({layer}, o, &records, nullptr);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.message().find("threads=2 is listed twice") != std::string::npos);
  o.threads.clear();
  CHECK_FALSE(convgen::tools::RunBench({layer}, o, &records, nullptr).ok());
}

TEST_CASE("peak measurement covers every supported target", "[bench_runner][peak]") {
  convgen::tools::PeakOptions o;
  o.reps = 1;
  o.rep_seconds = 0.002;  // plumbing only: no figure is asserted
  o.memory_bytes = size_t{4} << 20;
  const convgen::tools::PeakResult r = convgen::tools::MeasurePeak(o);
  const std::vector<int64_t> targets = convgen::internal::SupportedCompiledTargets();
  REQUIRE(r.targets.size() == targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    CHECK(r.targets[i].name == convgen::internal::TargetName(targets[i]));
    CHECK(r.targets[i].lanes == static_cast<size_t>(convgen::internal::FloatLanes(targets[i])));
    CHECK(r.targets[i].gflops > 0);
  }
  CHECK(r.best_gflops() == r.targets[0].gflops);
  CHECK(r.memory_bytes == (size_t{4} << 20));
  CHECK(r.read_gbs > 0);
  CHECK(r.copy_gbs > 0);
  CHECK(r.threads == 1);
  // Two threads at once: every figure is still measured (their rates summed).
  o.threads = 2;
  o.measure_clock = false;
  const convgen::tools::PeakResult two = convgen::tools::MeasurePeak(o);
  CHECK(two.threads == 2);
  REQUIRE(two.targets.size() == targets.size());
  for (const auto& t : two.targets) CHECK(t.gflops > 0);
  CHECK(two.read_gbs > 0);
  CHECK(two.copy_gbs > 0);
  // An unsupported or uncompiled target measures nothing.
  CHECK(convgen::tools::MeasureFmaPeakGflops(0, 1, 0.001, nullptr) == 0);
}

TEST_CASE("variants compared in one run take their repetitions in turns", "[bench_runner]") {
  // bench --target AVX3,AVX2: repetition r of every target, then r + 1, so a
  // slow minute of the shared host lands on both (timing.h).
  std::string order;
  const std::vector<std::function<void()>> fns = {[&] { order += 'a'; }, [&] { order += 'b'; }};
  const convgen::tools::TimingSpec spec{3, 0.0};
  const std::vector<convgen::tools::Timing> t = convgen::tools::TimeCallsInterleaved(fns, spec);
  CHECK(order == "ab" "ababab");  // one warm-up each, then three turns
  REQUIRE(t.size() == 2);
  for (const auto& ti : t) {
    CHECK(ti.rep_ms.size() == 3);
    CHECK(ti.min_ms <= ti.median_ms);
    CHECK(ti.median_ms <= ti.max_ms);
  }
}

TEST_CASE("warmed variants take their own repetitions in turns", "[bench_runner]") {
  // explore: each kernel's repetitions (fewer for a slow one) in rounds;
  // round r times every variant with more than r.
  std::string order;
  const std::vector<std::function<void()>> fns = {
      [&] { order += 'a'; }, [&] { order += 'b'; }, [&] { order += 'c'; }, [&] { order += 'd'; }};
  const std::vector<convgen::tools::Timing> t =
      convgen::tools::TimeWarmedInTurns(fns, {3, 1, 2, 0}, 0.0, 0.0);
  CHECK(order == "abc" "ac" "a");  // no warm-up; d (0 repetitions) never runs
  REQUIRE(t.size() == 4);
  CHECK(t[0].rep_ms.size() == 3);
  CHECK(t[1].rep_ms.size() == 1);
  CHECK(t[2].rep_ms.size() == 2);
  CHECK(t[3].rep_ms.empty());
  CHECK(t[3].median_ms == 0);
}

TEST_CASE("a partner is timed in turns with the measured call", "[bench_runner]") {
  // bench times our plan in turns with each peer (TimingSpec::partner).
  std::string order;
  convgen::tools::Timing partner;
  convgen::tools::TimingSpec spec{2, 0.0};
  spec.partner = [&] { order += 'o'; };
  spec.partner_timing = &partner;
  const convgen::tools::Timing t = convgen::tools::TimeCalls([&] { order += 'p'; }, spec);
  CHECK(order == "op" "opop");  // one warm-up each, then two turns
  CHECK(t.rep_ms.size() == 2);
  CHECK(partner.rep_ms.size() == 2);
}

TEST_CASE("variants in turns settle between repetitions", "[bench_runner]") {
  // Several threads: each repetition that follows another variant's waits
  // settle_s first (idle workers of the other library stop spinning).
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> calls;
  const auto record = [&] { calls.push_back(Clock::now()); };
  convgen::tools::TimingSpec spec{2, 0.0};
  spec.settle_s = 0.02;
  convgen::tools::TimeCallsInterleaved({record, record}, spec);
  REQUIRE(calls.size() == 6);  // warm-ups and repetitions of one call each
  for (size_t i = 1; i < calls.size(); ++i)
    CHECK(std::chrono::duration<double>(calls[i] - calls[i - 1]).count() >= 0.02);
  // One variant alone never waits.
  calls.clear();
  convgen::tools::TimeCallsInterleaved({record}, spec);
  REQUIRE(calls.size() == 3);
  CHECK(std::chrono::duration<double>(calls[2] - calls[0]).count() < 0.02);
}
