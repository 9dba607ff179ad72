// convgen tools: `convgen tune` without the CLI (see wisdom_tools.h).
#include "wisdom_tools.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "bench_runner.h"

namespace convgen {
namespace tools {
namespace {

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

}  // namespace

Status RunTune(const std::vector<LayerDesc>& layers, const TuneOptions& options,
               std::vector<TuneRecord>* records, std::vector<ExploreRecord>* all_records,
               std::ostream* progress) {
  ExploreOptions explore;
  explore.targets = options.targets;
  if (explore.targets.empty()) CONVGEN_RETURN_IF_ERROR(ParseTargetList("all", &explore.targets));
  explore.threads = options.threads;
  explore.timing = options.timing;
  explore.reference_max_gflop = options.reference_max_gflop;
  explore.kernel_budget_s = options.kernel_budget_s;
  explore.peak_gflops = options.peak_gflops;
  if (options.threads < 1)
    return InvalidArgument("threads=" + std::to_string(options.threads) + " must be >= 1");
  if (options.timing.reps < 1)
    return InvalidArgument("reps=" + std::to_string(options.timing.reps) + " must be >= 1");

  std::vector<TuneRecord> out;
  for (size_t li = 0; li < layers.size(); ++li) {
    const LayerDesc& layer = layers[li];
    if (progress)
      *progress << "tune [" << li + 1 << "/" << layers.size() << "] " << LayerName(layer)
                << std::endl;
    std::vector<ExploreRecord> swept;
    CONVGEN_RETURN_IF_ERROR(RunExplore(layer, explore, &swept, progress));
    for (const std::string& target : explore.targets) {
      TuneRecord t;
      t.layer = LayerName(layer);
      t.desc = internal::WisdomDescriptor(layer.params);
      t.target = target;
      for (const ExploreRecord& r : swept) {
        if (r.target != target) continue;
        if (r.plan_choice) {
          t.heuristic_kernel = r.kernel;
          if (!r.skipped) t.heuristic_gflops = r.gflops;
        }
        if (r.skipped) continue;
        ++t.candidates;
        if (r.gflops > t.best_gflops) {
          t.best_gflops = r.gflops;
          t.best_kernel = r.kernel;
          t.best_r = r.r;
          t.best_v = r.v;
        }
      }
      out.push_back(std::move(t));
    }
    if (all_records) all_records->insert(all_records->end(), swept.begin(), swept.end());
  }
  *records = std::move(out);
  return Status::Ok();
}

std::vector<internal::WisdomEntry> WisdomFromTune(const std::vector<TuneRecord>& records,
                                                  const std::string& cpu,
                                                  const std::string& date) {
  std::vector<internal::WisdomEntry> entries;
  for (const TuneRecord& t : records) {
    if (t.best_kernel.empty()) continue;
    internal::WisdomEntry e;
    e.desc = t.desc;
    e.target = t.target;
    e.kernel = t.best_kernel;
    e.r = t.best_r;
    e.v = t.best_v;
    e.gflops = t.best_gflops;
    e.version = internal::ConvgenVersion();
    e.cpu = cpu;
    e.date = date;
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string FormatTuneComparison(const std::vector<TuneRecord>& records) {
  std::vector<std::vector<std::string>> rows = {
      {"layer", "target", "heuristic kernel", "GF/s", "tuned kernel", "GF/s", "heuristic/tuned"}};
  for (const TuneRecord& t : records) {
    const bool both = t.heuristic_gflops > 0 && t.best_gflops > 0;
    rows.push_back({t.layer, t.target, t.heuristic_kernel.empty() ? "-" : t.heuristic_kernel,
                    t.heuristic_gflops > 0 ? Fmt("%.1f", t.heuristic_gflops) : "-",
                    t.best_kernel.empty() ? "-" : t.best_kernel,
                    t.best_gflops > 0 ? Fmt("%.1f", t.best_gflops) : "-",
                    both ? Fmt("%.2f", t.heuristic_gflops / t.best_gflops) : "-"});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      const bool numeric = c == 3 || c >= 5;
      line += (c ? "  " : "") + (numeric ? pad + row[c] : row[c] + pad);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t b = line.find_first_not_of(" \t", colon + 1);
    return b == std::string::npos ? "unknown" : line.substr(b);
  }
  return "unknown";
}

std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace tools
}  // namespace convgen
