// convgen tools: `convgen bench` without the CLI (see bench_runner.h).
#include "bench_runner.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <hwy/aligned_allocator.h>

#include "../../bench/peers/peers.h"
#include "convgen/plan.h"
#include "kernel.h"
#include "peak.h"
#include "report.h"
#include "targets.h"
#include "wisdom_tools.h"  // CpuModelName

namespace convgen {
namespace tools {
namespace {

std::string ToUpper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// max |a - b| / max |b|; +inf if any element is not finite or the sizes differ.
double MaxRelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double max_err = 0, max_ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    max_err = std::max(max_err, std::fabs(static_cast<double>(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
  }
  return max_ref > 0 ? max_err / max_ref : max_err;
}

}  // namespace

std::string ShortDescriptorWithoutName(const LayerDesc& layer) {
  LayerDesc unnamed = layer;
  unnamed.name.clear();
  return FormatDescriptorShort(unnamed);
}

// ---- suite files --------------------------------------------------------------

Status ParseSuite(const std::string& text, const std::string& source,
                  std::vector<LayerDesc>* layers) {
  std::vector<LayerDesc> parsed;
  std::istringstream in(text);
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    // '#' starts a comment, except inside the n"..." name.
    bool quoted = false;
    size_t cut = std::string::npos;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '"') quoted = !quoted;
      if (line[i] == '#' && !quoted) {
        cut = i;
        break;
      }
    }
    const std::string desc = Trim(line.substr(0, cut));
    if (desc.empty()) continue;
    LayerDesc layer;
    const Status s = ParseDescriptor(desc, &layer);
    if (!s.ok())
      return Status(s.code(), source + ":" + std::to_string(line_no) + ": " + s.message());
    parsed.push_back(std::move(layer));
  }
  *layers = std::move(parsed);
  return Status::Ok();
}

Status ReadSuiteFile(const std::string& path, std::vector<LayerDesc>* layers) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("suite file=" + path + " cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return InvalidArgument("suite file=" + path + " cannot be read");
  return ParseSuite(text.str(), path, layers);
}

std::string LayerName(const LayerDesc& layer) {
  if (!layer.name.empty()) return layer.name;
  return ShortDescriptorWithoutName(layer);
}

// ---- running --------------------------------------------------------------------

Status RunBench(const std::vector<LayerDesc>& layers, const BenchOptions& options,
                std::vector<BenchRecord>* records, std::ostream* progress) {
  // Every option is checked before anything runs.
  if (!options.kernel.empty() && internal::FindKernel(options.kernel) == nullptr)
    return NotFound("kernel=" + options.kernel +
                    " is not a registered kernel (see `convgen kernels`)");
  if (options.threads.empty()) return InvalidArgument("threads: no thread count given");
  for (size_t i = 0; i < options.threads.size(); ++i) {
    const int t = options.threads[i];
    if (t < 1) return InvalidArgument("threads=" + std::to_string(t) + " must be >= 1");
    if (std::find(options.threads.begin(), options.threads.begin() + i, t) !=
        options.threads.begin() + i)
      return InvalidArgument("threads=" + std::to_string(t) + " is listed twice");
  }
  if (options.timing.reps < 1)
    return InvalidArgument("reps=" + std::to_string(options.timing.reps) + " must be >= 1");
  if (!(options.timing.min_time_s >= 0))
    return InvalidArgument("min_time=" + JsonNumber(options.timing.min_time_s) +
                           " must be >= 0");
  // Targets of the rows: "" = the plan's default.
  std::vector<std::string> targets;
  if (ToUpper(options.target) == "ALL") {
    for (int64_t t : internal::SupportedCompiledTargets())
      targets.push_back(internal::TargetName(t));
  } else if (options.target.empty()) {
    targets.push_back(options.target);
  } else {
    // One name or a comma-separated list ("AVX3,AVX2": the two targets
    // compared layer by layer in one run, without the slow SCALAR rows).
    std::string::size_type begin = 0;
    while (begin <= options.target.size()) {
      const std::string::size_type comma = std::min(options.target.find(',', begin),
                                                    options.target.size());
      const std::string name = options.target.substr(begin, comma - begin);
      int64_t t = 0;
      CONVGEN_RETURN_IF_ERROR(internal::TargetFromName(name, &t));
      targets.push_back(name);
      begin = comma + 1;
    }
  }

  const double peak_per_core =
      options.peak_gflops > 0 ? options.peak_gflops : CachedPeakGflops();
  const std::vector<std::string> peer_names =
      options.peers ? peers::CompiledPeers() : std::vector<std::string>();

  // Variants timed in turns (targets, thread counts; convgen and each peer)
  // settle between repetitions when any runs on several threads
  // (TimingSpec::settle_s).
  TimingSpec timing = options.timing;
  if (*std::max_element(options.threads.begin(), options.threads.end()) > 1)
    timing.settle_s = kMultiThreadSettleS;
  std::vector<BenchRecord> out;
  for (size_t li = 0; li < layers.size(); ++li) {
    const LayerDesc& layer = layers[li];
    const Conv2dParams& p = layer.params;
    const std::string name = LayerName(layer);
    if (progress)
      *progress << "[" << li + 1 << "/" << layers.size() << "] " << name << " ..."
                << std::endl;
    // Input and output 64-byte aligned, as benchdnn's are: with std::vector
    // the alignment was wherever malloc put the buffers, and until session
    // 15's load-aligning head r8_w3v measured 164 or 191 GFLOP/s on
    // rn_1x1_56 from one run to the next. (A driver offsetting the buffers
    // by 0-12 floats found no other kernel that cares; see
    // docs/performance.md.)
    const size_t input_size = static_cast<size_t>(p.input_elements());
    const size_t output_size = static_cast<size_t>(p.output_elements());
    const hwy::AlignedFreeUniquePtr<float[]> input_buffer =
        hwy::AllocateAligned<float>(std::max<size_t>(input_size, 1));
    const hwy::AlignedFreeUniquePtr<float[]> output_buffer =
        hwy::AllocateAligned<float>(std::max<size_t>(output_size, 1));
    const std::vector<float> random_input = RandomNonZeroFloats(p.input_elements(), 1);
    std::copy(random_input.begin(), random_input.end(), input_buffer.get());
    std::fill(output_buffer.get(), output_buffer.get() + output_size, 0.0f);
    const std::vector<float> weights = RandomNonZeroFloats(p.weight_elements(), 2);
    const std::vector<float> bias = RandomNonZeroFloats(p.out_channels, 3);
    const float* const input = input_buffer.get();
    float* const output = output_buffer.get();
    std::vector<float> our_output;  // from the first successful row

    const size_t first_row = out.size();
    // Plans of every thread count and target first; then their repetitions
    // in turns (TimeCallsInterleaved), so that their ratios (AVX2 ÷ AVX3, 2
    // threads ÷ 1) are taken over the same minutes of the shared host.
    std::vector<std::unique_ptr<Plan>> plans;
    std::vector<Status> failures;  // per plan, the first failed Run
    std::vector<size_t> row_of;    // per plan, its row in `out`
    for (const int threads : options.threads)
      for (const std::string& target : targets) {
        BenchRecord r;
        r.layer = name;
        r.desc = ShortDescriptorWithoutName(layer);
        r.layer_index = static_cast<int>(li);
        r.threads = threads;
        r.target = target;
        PlanOptions po;
        po.kernel = options.kernel;
        po.target = target;
        po.threads = threads;
        std::unique_ptr<Plan> plan;
        const Status s = Plan::Create(p, weights.data(), bias.data(), po, &plan);
        if (!s.ok()) {
          r.skipped = true;
          r.skip_reason = s.ToString();
          if (progress)
            *progress << "  skipped " << name << (target.empty() ? "" : " " + target) << ": "
                      << r.skip_reason << std::endl;
        } else {
          r.kernel = plan->kernel_name();
          r.target = plan->target_name();
          plans.push_back(std::move(plan));
          failures.push_back(Status::Ok());
          row_of.push_back(out.size());
        }
        out.push_back(std::move(r));
      }
    // TimeCalls cannot report a Status: keep each plan's first failure, which
    // turns its row into a skipped one rather than a figure.
    std::vector<std::function<void()>> calls;
    for (size_t i = 0; i < plans.size(); ++i)
      calls.push_back([&, i] {
        const Status run = plans[i]->Run(input, output);
        if (!run.ok() && failures[i].ok()) failures[i] = run;
      });
    const std::vector<Timing> timings = TimeCallsInterleaved(calls, timing);
    for (size_t i = 0; i < plans.size(); ++i) {
      BenchRecord& r = out[row_of[i]];
      const Timing& t = timings[i];
      if (!failures[i].ok()) {
        r.skipped = true;
        r.skip_reason = failures[i].ToString();
        if (progress) *progress << "  skipped " << name << " " << r.target << ": "
                                << r.skip_reason << std::endl;
        continue;
      }
      r.time_ms = t.median_ms;
      r.spread = t.spread();
      r.reps = static_cast<int>(t.rep_ms.size());
      r.gflops = t.median_ms > 0 ? p.flops() / (t.median_ms * 1e6) : 0;
      const double peak = peak_per_core * EffectiveCores(r.threads);
      r.pct_peak = peak > 0 ? 100.0 * r.gflops / peak : 0;
      // The output the peers are checked against: the first row's (the
      // buffer holds the last timed plan's).
      if (our_output.empty() && plans[i]->Run(input, output).ok())
        our_output.assign(output, output + output_size);
    }
    // Scaling: each row over the same target's row at the first thread count.
    for (size_t i = first_row; i < out.size(); ++i) {
      BenchRecord& r = out[i];
      if (r.skipped || r.threads == options.threads.front()) continue;
      const size_t base = first_row + (i - first_row) % targets.size();
      if (!out[base].skipped && out[base].gflops > 0) r.scaling = r.gflops / out[base].gflops;
    }

    if (peer_names.empty()) continue;
    for (size_t ti = 0; ti < options.threads.size(); ++ti) {
      const int threads = options.threads[ti];
      // Our plan timed in turns with the peers: this thread count's first
      // target's, if it ran (its rows are [row_begin, row_begin + targets)).
      const size_t row_begin = first_row + ti * targets.size();
      size_t partner = plans.size();
      for (size_t i = 0; i < plans.size(); ++i)
        if (row_of[i] == row_begin && failures[i].ok()) partner = i;
      std::vector<PeerRecord> peer_records;
      for (const std::string& peer : peer_names) {
        if (progress)
          *progress << "  peer " << peer
                    << (options.threads.size() > 1 ? ", " + std::to_string(threads) + " threads"
                                                   : "")
                    << " ..." << std::endl;
        peers::PeerProblem problem;
        problem.params = p;
        problem.input = input;
        problem.weights = weights.data();
        problem.bias = bias.data();
        problem.clamp_min = -INFINITY;
        problem.clamp_max = INFINITY;
        problem.threads = threads;
        // The ratio to the peer is taken over the same seconds
        // (PeerRecord::ours_gflops).
        TimingSpec peer_timing = timing;
        Timing ours;
        if (partner < plans.size()) {
          peer_timing.partner = calls[partner];
          peer_timing.partner_timing = &ours;
        }
        peers::PeerResult result = peers::RunPeer(peer, problem, peer_timing);
        PeerRecord pr;
        pr.peer = result.peer.empty() ? peer : result.peer;
        pr.available = result.available;
        pr.why_not = result.why_not;
        pr.impl = result.impl.empty() ? pr.peer : result.impl;
        pr.timing = result.timing;
        if (pr.available) {
          pr.gflops = pr.timing.median_ms > 0 ? p.flops() / (pr.timing.median_ms * 1e6) : 0;
          // (failures[partner] again: our plan may have failed while timed
          // with the peer.)
          if (partner < plans.size() && ours.median_ms > 0 && failures[partner].ok()) {
            pr.ours_target = out[row_begin].target;
            pr.ours_gflops = p.flops() / (ours.median_ms * 1e6);
          }
          const double peak = peak_per_core * EffectiveCores(threads);
          pr.pct_peak = peak > 0 ? 100.0 * pr.gflops / peak : 0;
          if (!our_output.empty()) {
            pr.max_rel_err = MaxRelativeError(result.output, our_output);
            pr.mismatch = !(pr.max_rel_err <= options.peer_tolerance);
            if (pr.mismatch && progress)
              *progress << "*** PEER MISMATCH *** layer " << name << ": " << pr.peer << " ("
                        << pr.impl << ") max rel err " << Format("%.3g", pr.max_rel_err)
                        << " > " << Format("%.3g", options.peer_tolerance) << std::endl;
          }
        }
        peer_records.push_back(std::move(pr));
      }
      for (size_t i = row_begin; i < row_begin + targets.size(); ++i)
        out[i].peers = peer_records;
    }
  }
  // A second peak measurement after the layers; "% of peak" uses the larger
  // (see RefreshPeakGflops: a peak taken while the host stole cycles read
  // 66 instead of 117 GFLOP/s).
  if (options.peak_gflops <= 0 && !out.empty()) {
    const double refreshed = RefreshPeakGflops();
    if (refreshed > peak_per_core) {
      for (BenchRecord& r : out) {
        const double peak = refreshed * EffectiveCores(r.threads);
        if (!r.skipped) r.pct_peak = 100.0 * r.gflops / peak;
        for (PeerRecord& pr : r.peers)
          if (pr.available) pr.pct_peak = 100.0 * pr.gflops / peak;
      }
    }
  }
  *records = std::move(out);
  return Status::Ok();
}

bool AnyPeerMismatch(const std::vector<BenchRecord>& records) {
  for (const BenchRecord& r : records)
    for (const PeerRecord& p : r.peers)
      if (p.available && p.mismatch) return true;
  return false;
}

// ---- output -----------------------------------------------------------------------

double OursOver(const BenchRecord& r, const PeerRecord& peer) {
  const bool paired = peer.ours_gflops > 0 && peer.ours_target == r.target;
  return (paired ? peer.ours_gflops : r.gflops) / peer.gflops;
}

std::string FormatBenchTable(const std::vector<BenchRecord>& records) {
  // Peer columns: the union of peers over all rows, in first-seen order.
  std::vector<std::string> peer_names;
  for (const BenchRecord& r : records)
    for (const PeerRecord& p : r.peers)
      if (std::find(peer_names.begin(), peer_names.end(), p.peer) == peer_names.end())
        peer_names.push_back(p.peer);

  // Several thread counts: a scaling column (each row over its target's row
  // at the first thread count, timed in turns).
  const bool several_counts =
      std::any_of(records.begin(), records.end(),
                  [&](const BenchRecord& r) { return r.threads != records.front().threads; });
  std::vector<std::string> header = {"layer", "desc", "kernel", "target", "thr",
                                     "ms", "spread", "GF/s", "%peak"};
  if (several_counts) header.push_back("scaling");
  const size_t kFirstNumeric = 4;  // columns from here on are right-aligned
  for (const std::string& peer : peer_names) {
    header.push_back(peer + " GF/s");
    header.push_back("×" + peer);
  }
  std::vector<std::vector<std::string>> rows;
  for (const BenchRecord& r : records) {
    std::vector<std::string> row = {r.layer, r.desc, r.skipped ? "-" : r.kernel,
                                    r.target.empty() ? "-" : r.target,
                                    std::to_string(r.threads)};
    if (r.skipped) {
      row.insert(row.end(), {"-", "-", "-", "-"});
    } else {
      row.push_back(Format("%.3f", r.time_ms));
      row.push_back(Format("%.1f%%", 100.0 * r.spread));
      row.push_back(Format("%.1f", r.gflops));
      row.push_back(Format("%.1f%%", r.pct_peak));
    }
    if (several_counts) row.push_back(r.scaling > 0 ? Format("%.2f", r.scaling) : "-");
    for (const std::string& peer : peer_names) {
      const auto it = std::find_if(r.peers.begin(), r.peers.end(),
                                   [&](const PeerRecord& p) { return p.peer == peer; });
      if (it == r.peers.end()) {
        row.insert(row.end(), {"-", "-"});
      } else if (!it->available) {
        row.push_back(it->why_not.empty() ? "n/a" : it->why_not);
        row.push_back("-");
      } else if (it->mismatch) {
        row.push_back("MISMATCH " + Format("%.1e", it->max_rel_err));
        row.push_back("-");
      } else {
        row.push_back(Format("%.1f", it->gflops));
        row.push_back(!r.skipped && it->gflops > 0 ? Format("%.2f", OursOver(r, *it)) : "-");
      }
    }
    rows.push_back(std::move(row));
  }

  std::string table = RenderTable(header, rows, kFirstNumeric);
  // Skip reasons under the table: they are too long for a column.
  for (const BenchRecord& r : records)
    if (r.skipped)
      table += "skipped " + r.layer + (r.target.empty() ? "" : " " + r.target) + ": " +
               r.skip_reason + "\n";
  return table;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through unchanged
        }
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string BenchRecordsToJson(const std::vector<BenchRecord>& records) {
  // Every record names the CPU it was measured on (/proc/cpuinfo's model
  // name): session 13's host was an Intel Xeon where every earlier table came
  // from a Zen 4, and nothing in the JSON told them apart.
  const std::string cpu = JsonString(CpuModelName());
  std::string json = "[";
  bool first = true;
  const auto object = [&](const std::vector<std::pair<const char*, std::string>>& fields) {
    json += first ? "\n  {" : ",\n  {";
    first = false;
    for (size_t i = 0; i < fields.size(); ++i)
      json += (i ? ", " : "") + JsonString(fields[i].first) + ": " + fields[i].second;
    json += "}";
  };
  for (size_t i = 0; i < records.size(); ++i) {
    const BenchRecord& r = records[i];
    if (!r.skipped)
      object({{"layer", JsonString(r.layer)},
              {"desc", JsonString(r.desc)},
              {"kernel", JsonString(r.kernel)},
              {"target", JsonString(r.target)},
              {"threads", std::to_string(r.threads)},
              {"time_ms", JsonNumber(r.time_ms)},
              {"gflops", JsonNumber(r.gflops)},
              {"pct_peak", JsonNumber(r.pct_peak)},
              {"reps", std::to_string(r.reps)},
              {"spread", JsonNumber(r.spread)},
              {"cpu", cpu}});
    // Peers ran once per layer and thread count: write them after the last
    // row of that layer and count.
    const bool last_of_group = i + 1 == records.size() ||
                               records[i + 1].layer_index != r.layer_index ||
                               records[i + 1].threads != r.threads;
    if (!last_of_group) continue;
    for (const PeerRecord& p : r.peers) {
      if (!p.available) continue;
      object({{"layer", JsonString(r.layer)},
              {"desc", JsonString(r.desc)},
              {"kernel", JsonString(p.impl)},
              {"target", JsonString("n/a")},
              {"threads", std::to_string(r.threads)},
              {"time_ms", JsonNumber(p.timing.median_ms)},
              {"gflops", JsonNumber(p.gflops)},
              {"pct_peak", JsonNumber(p.pct_peak)},
              {"reps", std::to_string(p.timing.rep_ms.size())},
              {"spread", JsonNumber(p.timing.spread())},
              {"peer", JsonString(p.peer)},
              {"ours_target", JsonString(p.ours_target)},
              {"ours_gflops", JsonNumber(p.ours_gflops)},
              {"cpu", cpu}});
    }
  }
  return json + (first ? "]\n" : "\n]\n");
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgument("file=" + path + " cannot be written");
    out << content;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return InvalidArgument("file=" + path + " cannot be written (write failed)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return InvalidArgument("file=" + path + " cannot be written (rename failed)");
  }
  return Status::Ok();
}

}  // namespace tools
}  // namespace convgen
