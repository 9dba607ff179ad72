// convgen tools: `convgen explore` without the CLI (see explore.h).
#include "explore.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include "bench_runner.h"
#include "convgen/plan.h"
#include "peak.h"
#include "report.h"
#include "targets.h"

namespace convgen {
namespace tools {
namespace {

using internal::KernelInfo;

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Families whose strip runs along the flattened oh·ow pixel axis.
bool IsPixelGemmFamily(const std::string& family) {
  return family == "conv1x1" || family == "gconv1x1" || family == "im2col";
}

// "_w<V>v<L>" of a kernel name: the lane cap L (0 = none) — docs/kernels.md.
int LaneCapFromName(const std::string& name) {
  static const std::regex kStrip("_w[0-9]+v([0-9]+)(_|$)");
  std::smatch m;
  if (std::regex_search(name, m, kStrip)) return std::stoi(m[1].str());
  return 0;
}

// "_p<P>_c<VV>v" of a channel-vectorised kernel name (smallmap): P, VV.
bool PixelsAndChannelVectorsFromName(const std::string& name, int* p, int* vv) {
  static const std::regex kTile("_p([0-9]+)_c([0-9]+)v");
  std::smatch m;
  if (!std::regex_search(name, m, kTile)) return false;
  *p = std::stoi(m[1].str());
  *vv = std::stoi(m[2].str());
  return true;
}

std::string NaOr(double v, const char* fmt) { return v < 0 ? "n/a" : Fmt(fmt, v); }
std::string CsvNum(double v, const char* fmt) { return v < 0 ? "" : Fmt(fmt, v); }

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The kernel a plan without a forced kernel picks for `p` on `target`, and
// whether the heuristic or wisdom chose it (the selection log's last line).
Status PlanChoice(const Conv2dParams& p, const std::string& target, int threads,
                  std::string* kernel, std::string* chosen_by) {
  const std::vector<float> weights(static_cast<size_t>(p.weight_elements()), 0.5f);
  PlanOptions po;
  po.target = target;
  po.threads = threads;
  std::unique_ptr<Plan> plan;
  CONVGEN_RETURN_IF_ERROR(Plan::Create(p, weights.data(), nullptr, po, &plan));
  *kernel = plan->kernel_name();
  *chosen_by = plan->selection_log().find("(wisdom: ") != std::string::npos ? "wisdom"
                                                                            : "heuristic";
  return Status::Ok();
}

}  // namespace

// ---- the model ------------------------------------------------------------------

KernelModel ModelKernel(const KernelInfo& k, const Conv2dParams& p, int64_t target) {
  KernelModel m;
  m.lanes = internal::FloatLanes(target);
  // AVX-512 has 32 vector registers; AVX2, SSE4 and SCALAR (xmm) 16.
  m.regs = internal::TargetName(target).rfind("AVX3", 0) == 0 ? 32 : 16;
  m.estimate = k.estimate ? k.estimate(p, target) : 0.1;
  m.flops = p.flops();
  const std::string family = k.family, name = k.name;
  int pixels = 0, channel_vectors = 0;
  if (PixelsAndChannelVectorsFromName(name, &pixels, &channel_vectors) && pixels > 0 &&
      channel_vectors > 0) {
    // Vectorised over output channels: P pixels × VV vectors of channels.
    m.axis = "co";
    m.tile_rows = pixels;
    m.tile_vectors = channel_vectors;
    m.delta = int64_t{channel_vectors} * m.lanes;
    m.extent = p.out_channels_per_group();
    m.acc_regs = pixels * channel_vectors;
    m.loads_per_fma = 1.0 / pixels;            // VV weight loads per P·VV FMAs
    m.bcasts_per_fma = 1.0 / channel_vectors;  // P broadcasts per P·VV FMAs
  } else if (k.v > 0 && k.r > 0) {
    // Strip kernel: R output channels × V vectors of outputs.
    m.axis = IsPixelGemmFamily(family) ? "hw" : "w";
    m.tile_rows = k.r;
    m.tile_vectors = k.v;
    const int cap = LaneCapFromName(name);
    m.delta = int64_t{k.v} * (cap > 0 ? std::min(cap, m.lanes) : m.lanes);
    m.extent = m.axis == "hw" ? p.out_height() * p.out_width() : p.out_width();
    m.acc_regs = k.r * k.v;
    m.loads_per_fma = 1.0 / k.r;   // V input loads per R·V FMAs
    m.bcasts_per_fma = 1.0 / k.v;  // R weight broadcasts per R·V FMAs
  } else {
    return m;  // no register tile (reference): n/a
  }
  m.tail = m.extent % m.delta;
  const int64_t computed = (m.extent + m.delta - 1) / m.delta * m.delta;
  m.tail_waste_pct = computed > 0 ? 100.0 * double(computed - m.extent) / double(computed) : 0;
  return m;
}

// ---- option parsing -------------------------------------------------------------

Status ParseIntList(const std::string& text, const std::string& what, std::vector<int64_t>* out) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = Trim(item);
    bool digits = !item.empty() && item.size() <= 9;
    for (char c : item) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits || std::stoll(item) <= 0)
      return InvalidArgument(what + ": '" + item + "' is not a positive integer (list: 1,2,4)");
    values.push_back(std::stoll(item));
  }
  if (values.empty()) return InvalidArgument(what + ": empty list");
  *out = std::move(values);
  return Status::Ok();
}

Status ParseTargetList(const std::string& text, std::vector<std::string>* out) {
  std::vector<std::string> names;
  std::string upper = text;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (Trim(upper).empty() || Trim(upper) == "ALL") {
    for (int64_t t : internal::SupportedCompiledTargets()) names.push_back(internal::TargetName(t));
  } else {
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
      int64_t t = 0;
      CONVGEN_RETURN_IF_ERROR(internal::TargetFromName(Trim(item), &t));
      const std::string name = internal::TargetName(t);
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  *out = std::move(names);
  return Status::Ok();
}

// ---- running ----------------------------------------------------------------------


namespace {

// Plans alive at once (their packed weights) in one batch timed in turns:
// a sweep of ~30 kernels per target over a layer with 51 MB of weights
// (512 x 512 x 7 x 7) would otherwise hold 1.5 GB.
constexpr int64_t kBatchWeightBytes = int64_t{512} << 20;

// The random tensors of one layer timed (fixed seeds; the output is written
// by every plan of the layer and read by none).
struct LayerData {
  std::vector<float> input, weights, bias, output;
  explicit LayerData(const Conv2dParams& p)
      : input(RandomNonZeroFloats(p.input_elements(), 1)),
        weights(RandomNonZeroFloats(p.weight_elements(), 2)),
        bias(RandomNonZeroFloats(p.out_channels, 3)),
        output(static_cast<size_t>(p.output_elements())) {}
};

// One plan ready to be timed: created, warmed up, its repetitions decided.
struct PreparedPlan {
  std::shared_ptr<LayerData> data;
  std::unique_ptr<Plan> plan;
  Status status;  // the first failure (of Create or of any Run)
  int reps = 0;
  std::string kernel_name, chosen_by;
  std::function<void()> run;
};

// Creates the plan (kernel forced if not empty, target forced) and runs its
// warm-up call, timed, so that a slow kernel gets fewer repetitions: reps
// such that reps x the warm-up stays within budget_s (<= 0: no limit).
void PreparePlan(const Conv2dParams& p, std::shared_ptr<LayerData> data,
                 const std::string& kernel, const std::string& target, int threads,
                 int reps, double budget_s, PreparedPlan* out) {
  out->data = std::move(data);
  PlanOptions po;
  po.kernel = kernel;
  po.target = target;
  po.threads = threads;
  out->status = Plan::Create(p, out->data->weights.data(), out->data->bias.data(), po, &out->plan);
  if (!out->status.ok()) return;
  out->kernel_name = out->plan->kernel_name();
  const std::string& log = out->plan->selection_log();
  out->chosen_by = !kernel.empty()                                  ? "forced"
                   : log.find("(wisdom: ") != std::string::npos ? "wisdom"
                                                                    : "heuristic";
  out->run = [out] {
    const Status r = out->plan->Run(out->data->input.data(), out->data->output.data());
    if (!r.ok() && out->status.ok()) out->status = r;  // keep the first failure
  };
  const auto start = std::chrono::steady_clock::now();
  out->run();
  const double warm_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out->reps = reps;
  if (budget_s > 0 && warm_s * reps > budget_s)
    out->reps = std::max(1, static_cast<int>(budget_s / std::max(warm_s, 1e-9)));
}

}  // namespace

Status RunExplore(const LayerDesc& layer, const ExploreOptions& options,
                  std::vector<ExploreRecord>* records, std::ostream* progress) {
  if (options.threads < 1)
    return InvalidArgument("threads=" + std::to_string(options.threads) + " must be >= 1");
  if (options.timing.reps < 1)
    return InvalidArgument("reps=" + std::to_string(options.timing.reps) + " must be >= 1");
  if (!(options.timing.min_time_s >= 0))
    return InvalidArgument("min_time=" + Fmt("%g", options.timing.min_time_s) + " must be >= 0");
  std::vector<std::string> targets = options.targets;
  if (targets.empty()) CONVGEN_RETURN_IF_ERROR(ParseTargetList("all", &targets));
  std::vector<int64_t> target_ids;
  for (const std::string& t : targets) {
    int64_t id = 0;
    CONVGEN_RETURN_IF_ERROR(internal::TargetFromName(t, &id));
    target_ids.push_back(id);
  }
  const double peak_per_core =
      options.peak_gflops > 0 ? options.peak_gflops : CachedPeakGflops();
  const double peak = peak_per_core * EffectiveCores(options.threads);
  const std::string layer_name = LayerName(layer);

  // The work list: (layer timed, target, kernel or "" for the plan's choice).
  struct Job {
    Conv2dParams params;
    size_t target;
    const KernelInfo* kernel;
  };
  std::vector<Job> jobs;
  const bool groups_sweep = !options.groups.empty();
  if (groups_sweep) {
    for (int64_t b : options.groups) {
      Conv2dParams p = layer.params;
      p.groups = b;
      if (p.in_channels % b != 0 || p.out_channels % b != 0) {
        if (progress)
          *progress << "explore: skip groups=" << b << ": does not divide ic="
                    << p.in_channels << " and oc=" << p.out_channels << std::endl;
        continue;
      }
      if (!Validate(p).ok()) continue;
      for (size_t t = 0; t < targets.size(); ++t) jobs.push_back({p, t, nullptr});
    }
    if (jobs.empty())
      return InvalidArgument("--groups: no b in the list divides ic=" +
                             std::to_string(layer.params.in_channels) + " and oc=" +
                             std::to_string(layer.params.out_channels));
  } else {
    const auto listed = [](const std::vector<int>& list, int x) {
      return list.empty() || std::find(list.begin(), list.end(), x) != list.end();
    };
    for (size_t t = 0; t < targets.size(); ++t)
      for (const KernelInfo* k : internal::AllKernels()) {
        if (!listed(options.strips, k->v) || !listed(options.tiles, k->r)) continue;
        std::string why;
        if (!k->applies(layer.params, &why) || k->resolve(target_ids[t]) == nullptr) continue;
        jobs.push_back({layer.params, t, k});
      }
    if (jobs.empty())
      return NotFound("no registry kernel applies to " + ShortDescriptorWithoutName(layer) +
                      " with the --strips/--tiles filters given");
  }

  // The plan's own choice per (layer timed, target), for the '*' column.
  std::map<std::pair<int64_t, size_t>, std::string> plan_choice;
  if (!groups_sweep)
    for (size_t t = 0; t < targets.size(); ++t) {
      std::string kernel, by;
      if (PlanChoice(layer.params, targets[t], options.threads, &kernel, &by).ok())
        plan_choice[{layer.params.groups, t}] = kernel;
    }

  // Records in job order; the jobs of one target are timed in turns, in
  // batches whose plans' weights stay under kBatchWeightBytes.
  std::vector<ExploreRecord> out(jobs.size());
  std::map<int64_t, std::shared_ptr<LayerData>> data_of;  // by groups: the only param varied
  const double settle_s = options.threads > 1 ? kMultiThreadSettleS : 0;
  size_t j = 0;
  while (j < jobs.size()) {
    // The batch [j, end): same target, weights within the budget.
    size_t end = j;
    int64_t batch_bytes = 0;
    const auto weight_bytes = [&](size_t i) {
      return jobs[i].params.weight_elements() * int64_t{sizeof(float)};
    };
    while (end < jobs.size() && jobs[end].target == jobs[j].target &&
           (end == j || batch_bytes + weight_bytes(end) <= kBatchWeightBytes)) {
      batch_bytes += weight_bytes(end);
      ++end;
    }
    std::vector<std::unique_ptr<PreparedPlan>> prepared(end - j);
    std::vector<PreparedPlan*> to_time;
    std::vector<size_t> job_of;
    for (size_t i = j; i < end; ++i) {
      const Job& job = jobs[i];
      const Conv2dParams& p = job.params;
      ExploreRecord& r = out[i];
      r.sweep = groups_sweep ? "groups" : "kernels";
      r.layer = layer_name;
      r.desc = ShortDescriptorWithoutName(LayerDesc{p, ""});
      r.groups = p.groups;
      r.target = targets[job.target];
      r.threads = options.threads;
      if (job.kernel) {
        r.kernel = job.kernel->name;
        r.family = job.kernel->family;
        r.r = job.kernel->r;
        r.v = job.kernel->v;
        r.plan_choice = plan_choice[{p.groups, job.target}] == r.kernel;
        r.model = ModelKernel(*job.kernel, p, target_ids[job.target]);
      }
      if (progress)
        *progress << "[" << i + 1 << "/" << jobs.size() << "] " << r.target << " "
                  << (groups_sweep ? "groups=" + std::to_string(p.groups) : r.kernel) << " ..."
                  << std::endl;
      if (job.kernel && std::string(job.kernel->family) == "reference" &&
          p.flops() > options.reference_max_gflop * 1e9) {
        r.skipped = true;
        r.note = "reference not timed on a layer over " +
                 Fmt("%g", options.reference_max_gflop) + " GFLOP";
        continue;
      }
      std::shared_ptr<LayerData>& data = data_of[p.groups];
      if (!data) data = std::make_shared<LayerData>(p);
      prepared[i - j].reset(new PreparedPlan);
      PreparePlan(p, data, r.kernel, r.target, options.threads, options.timing.reps,
                  options.kernel_budget_s, prepared[i - j].get());
      to_time.push_back(prepared[i - j].get());
      job_of.push_back(i);
    }
    if (progress && to_time.size() > 1)
      *progress << "  timing " << to_time.size() << " plans in turns ..." << std::endl;
    // In turns (TimeWarmedInTurns: the warm-up was PreparePlan's), so that a
    // slow minute of the shared host lands on every kernel of the batch
    // instead of those whose turn it was. (Until session 16 each kernel was
    // timed alone, one after another: on 1x1 layers r16_w1v ranked ahead of
    // r8_w3v where, in turns, it never was beyond noise.)
    std::vector<std::function<void()>> calls;
    std::vector<int> reps;
    for (const PreparedPlan* pp : to_time) {
      calls.push_back(pp->run);
      reps.push_back(pp->status.ok() ? pp->reps : 0);
    }
    const std::vector<Timing> timings =
        TimeWarmedInTurns(calls, reps, options.timing.min_time_s, settle_s);
    for (size_t k = 0; k < to_time.size(); ++k) {
      const PreparedPlan& pp = *to_time[k];
      const Job& job = jobs[job_of[k]];
      const Conv2dParams& p = job.params;
      ExploreRecord& r = out[job_of[k]];
      if (!pp.status.ok()) {
        r.skipped = true;
        r.note = pp.status.ToString();
        if (progress) *progress << "  skipped " << r.target << " " << r.kernel << ": " << r.note
                                << std::endl;
        continue;
      }
      const KernelInfo* kernel = internal::FindKernel(pp.kernel_name);
      if (!job.kernel && kernel) {  // groups sweep: the plan's choice
        r.kernel = kernel->name;
        r.family = kernel->family;
        r.r = kernel->r;
        r.v = kernel->v;
        r.plan_choice = true;
        r.chosen_by = pp.chosen_by;
      }
      if (kernel) r.model = ModelKernel(*kernel, p, target_ids[job.target]);
      const Timing& t = timings[k];
      r.time_ms = t.median_ms;
      r.spread = t.spread();
      r.reps = static_cast<int>(t.rep_ms.size());
      r.gflops = t.median_ms > 0 ? p.flops() / (t.median_ms * 1e6) : 0;
      r.pct_peak = peak > 0 ? 100.0 * r.gflops / peak : 0;
    }
    j = end;
  }
  *records = std::move(out);
  return Status::Ok();
}

// ---- output -------------------------------------------------------------------------

std::string FormatExploreTable(const std::vector<ExploreRecord>& records) {
  if (records.empty()) return "(no records)\n";
  const bool groups_sweep = records.front().sweep == "groups";
  std::vector<const ExploreRecord*> order;
  for (const ExploreRecord& r : records) order.push_back(&r);
  // Time at the smallest b of each target (the t·b/t1 baseline).
  std::map<std::string, std::pair<int64_t, double>> base;
  std::map<std::string, size_t> target_rank;  // targets in the order swept
  for (const ExploreRecord* r : order) target_rank.emplace(r->target, target_rank.size());
  if (groups_sweep) {
    std::stable_sort(order.begin(), order.end(),
                     [&](const ExploreRecord* a, const ExploreRecord* b) {
                       if (a->target != b->target)
                         return target_rank[a->target] < target_rank[b->target];
                       return a->groups < b->groups;
                     });
    for (const ExploreRecord* r : order)
      if (!r->skipped) {
        auto it = base.find(r->target);
        if (it == base.end() || r->groups < it->second.first)
          base[r->target] = {r->groups, r->time_ms};
      }
  } else {
    // Per target (in the order swept, best target first), fastest first;
    // skipped rows last within their target.
    std::stable_sort(order.begin(), order.end(),
                     [&](const ExploreRecord* a, const ExploreRecord* b) {
                       if (a->target != b->target)
                         return target_rank[a->target] < target_rank[b->target];
                       if (a->skipped != b->skipped) return !a->skipped;
                       return !a->skipped && a->gflops > b->gflops;
                     });
  }

  std::vector<std::string> header = {"", "target", "kernel"};
  if (groups_sweep) header.insert(header.begin() + 1, "b");
  const size_t first_numeric = header.size();
  for (const char* h : {"r", "v", "Δ", "GF/s", "%peak", "spread", "t·b/t1", "est", "GFLOP",
                        "ld/FMA", "bc/FMA", "acc/regs", "tail", "waste"})
    header.push_back(h);
  if (!groups_sweep) header.erase(std::find(header.begin(), header.end(), "t·b/t1"));

  std::vector<std::vector<std::string>> rows;
  for (const ExploreRecord* r : order) {
    const KernelModel& m = r->model;
    std::vector<std::string> row = {r->plan_choice ? "*" : "", r->target,
                                    r->kernel.empty() ? "-" : r->kernel};
    if (groups_sweep) row.insert(row.begin() + 1, std::to_string(r->groups));
    row.push_back(std::to_string(r->r));
    row.push_back(std::to_string(r->v));
    row.push_back(m.delta < 0 ? "n/a" : std::to_string(m.delta) + (m.axis == "co" ? "ch" : ""));
    if (r->skipped) {
      row.insert(row.end(), {"-", "-", "-"});
      if (groups_sweep) row.push_back("-");
    } else {
      row.push_back(Fmt("%.1f", r->gflops));
      row.push_back(Fmt("%.1f%%", r->pct_peak));
      row.push_back(Fmt("%.1f%%", 100.0 * r->spread));
      if (groups_sweep) {
        const auto it = base.find(r->target);
        row.push_back(it != base.end() && it->second.second > 0
                          ? Fmt("%.2f", r->time_ms * double(r->groups) /
                                            (it->second.second * double(it->second.first)))
                          : "-");
      }
    }
    row.push_back(Fmt("%.3f", m.estimate));
    row.push_back(Fmt("%.3g", m.flops / 1e9));
    row.push_back(NaOr(m.loads_per_fma, "%.3f"));
    row.push_back(NaOr(m.bcasts_per_fma, "%.3f"));
    row.push_back(m.acc_regs < 0 ? "n/a" : std::to_string(m.acc_regs) + "/" +
                                                std::to_string(m.regs));
    row.push_back(m.tail < 0 ? "n/a" : std::to_string(m.tail));
    row.push_back(NaOr(m.tail_waste_pct, "%.1f%%"));
    rows.push_back(std::move(row));
  }
  std::string out = RenderTable(header, rows, first_numeric);
  out += "* = the plan's own choice. Model (tools/lib/explore.h): the registry row's r x v tile "
         "(AVX3's; other targets may run a smaller one); ld/bc = vector loads / broadcasts per "
         "FMA; tail = extent mod Δ; waste = lanes computed for nothing.\n";
  for (const ExploreRecord& r : records)
    if (r.skipped)
      out += "skipped " + r.target + " " + (r.kernel.empty() ? r.desc : r.kernel) + ": " +
             r.note + "\n";
  return out;
}

std::string ExploreRecordsToCsv(const std::vector<ExploreRecord>& records) {
  std::string out =
      "sweep,layer,desc,groups,target,lanes,kernel,family,r,v,plan_choice,axis,delta,extent,"
      "tail,tail_waste_pct,acc_regs,regs,loads_per_fma,bcasts_per_fma,estimate,flops,threads,"
      "time_ms,gflops,pct_peak,spread,reps,note\n";
  for (const ExploreRecord& r : records) {
    const KernelModel& m = r.model;
    std::vector<std::string> f = {
        r.sweep, r.layer, r.desc, std::to_string(r.groups), r.target,
        std::to_string(m.lanes), r.kernel, r.family, std::to_string(r.r), std::to_string(r.v),
        r.plan_choice ? "1" : "0", m.axis, CsvNum(double(m.delta), "%.0f"),
        CsvNum(double(m.extent), "%.0f"), CsvNum(double(m.tail), "%.0f"),
        CsvNum(m.tail_waste_pct, "%.2f"), CsvNum(m.acc_regs, "%.0f"), std::to_string(m.regs),
        CsvNum(m.loads_per_fma, "%.4f"), CsvNum(m.bcasts_per_fma, "%.4f"),
        Fmt("%.4f", m.estimate), Fmt("%.0f", m.flops), std::to_string(r.threads)};
    if (r.skipped) {
      f.insert(f.end(), {"", "", "", "", ""});
    } else {
      f.push_back(Fmt("%.5f", r.time_ms));
      f.push_back(Fmt("%.3f", r.gflops));
      f.push_back(Fmt("%.2f", r.pct_peak));
      f.push_back(Fmt("%.4f", r.spread));
      f.push_back(std::to_string(r.reps));
    }
    f.push_back(r.note);
    for (size_t i = 0; i < f.size(); ++i) out += (i ? "," : "") + CsvField(f[i]);
    out += "\n";
  }
  return out;
}

}  // namespace tools
}  // namespace convgen
