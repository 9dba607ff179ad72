// Plan: validate -> choose a kernel (best-first candidate list, each with its
// reason) -> pack weights once -> run tiles, optionally over a pthreadpool.
#include "convgen/plan.h"

#include <hwy/aligned_allocator.h>
#include <pthreadpool.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "checked_math.h"
#include "convgen/descriptor.h"
#include "kernel.h"
#include "targets.h"
#include "tiling.h"
#include "wisdom.h"

namespace convgen {

using internal::AllKernels;
using internal::KernelContext;
using internal::KernelFn;
using internal::KernelInfo;
using internal::MakeTiles;
using internal::Tile;

struct Plan::Impl {
  Conv2dParams params;
  PlanOptions options;
  const KernelInfo* kernel = nullptr;
  int64_t target = 0;
  KernelFn fn = nullptr;
  hwy::AlignedFreeUniquePtr<float[]> packed_weights;
  std::vector<float> bias;
  KernelContext ctx;
  std::vector<Tile> tiles;
  int64_t scratch_floats = 0;
  int threads = 1;
  // WorthThreads(params) at Create: a smaller layer runs every Run on the
  // calling thread, whatever pool it is given (its tiles are cut as for one).
  bool threaded = true;
  std::string kernel_name, target_name, log;
  // The plan's own pool, created on the first multi-threaded Run.
  mutable std::once_flag pool_once;
  mutable pthreadpool_t pool = nullptr;
  // Tilings for callers' pools of other sizes, made on first use.
  mutable std::mutex other_tilings_mutex;
  mutable std::map<size_t, std::vector<Tile>> other_tilings;

  const std::vector<Tile>& TilesFor(size_t pool_threads) const {
    if (static_cast<int>(pool_threads) == threads) return tiles;
    std::lock_guard<std::mutex> lock(other_tilings_mutex);
    auto it = other_tilings.find(pool_threads);
    if (it == other_tilings.end())
      it = other_tilings.emplace(pool_threads, MakeTilesFor(static_cast<int>(pool_threads))).first;
    return it->second;  // std::map nodes are stable
  }
  std::vector<Tile> MakeTilesFor(int n) const;

  ~Impl() {
    if (pool) pthreadpool_destroy(pool);
  }
};

namespace {

std::string EnvOr(const char* name, const std::string& value) {
  if (!value.empty()) return value;
  const char* env = std::getenv(name);
  return env ? std::string(env) : std::string();
}

bool Verbose() {
  const char* v = std::getenv("CONVGEN_VERBOSE");
  return v && *v && std::string(v) != "0";
}

Status ValidateOptions(const Conv2dParams& p, const PlanOptions& o) {
  if (std::isnan(o.clamp_min) || std::isnan(o.clamp_max))
    return InvalidArgument("clamp bounds must not be NaN");
  if (o.clamp_min > o.clamp_max)
    return InvalidArgument("clamp_min=" + std::to_string(o.clamp_min) +
                           " is greater than clamp_max=" + std::to_string(o.clamp_max));
  if (o.shuffle_groups < 0)
    return InvalidArgument("shuffle_groups=" + std::to_string(o.shuffle_groups) + " must be >= 0");
  if (o.shuffle_groups > 1 && p.out_channels % o.shuffle_groups != 0)
    return InvalidArgument("shuffle_groups=" + std::to_string(o.shuffle_groups) +
                           " does not divide out_channels=" + std::to_string(p.out_channels));
  if (o.threads < 0)
    return InvalidArgument("threads=" + std::to_string(o.threads) + " must be >= 0");
  return Status::Ok();
}

// Scratch for the calling thread, grown on demand and kept for later calls.
float* ThreadScratch(int64_t floats) {
  thread_local hwy::AlignedFreeUniquePtr<float[]> buffer;
  thread_local int64_t capacity = 0;
  if (floats <= 0) return nullptr;
  if (floats > capacity) {
    buffer = hwy::AllocateAligned<float>(static_cast<size_t>(floats));
    capacity = buffer ? floats : 0;
  }
  return buffer.get();
}

struct RunContext {
  const Plan::Impl* impl;
  const std::vector<Tile>* tiles;
  const float* input;
  float* output;
  // Set by a worker whose scratch could not be allocated (its tile skipped).
  std::atomic<bool> scratch_failed{false};
};

void RunTile(void* arg, size_t i) {
  const RunContext* rc = static_cast<const RunContext*>(arg);
  const Plan::Impl& impl = *rc->impl;
  float* scratch = ThreadScratch(impl.scratch_floats);
  if (impl.scratch_floats > 0 && scratch == nullptr) {
    const_cast<RunContext*>(rc)->scratch_failed = true;
    return;
  }
  impl.fn(impl.ctx, (*rc->tiles)[i], rc->input, rc->output, scratch);
}

}  // namespace

std::vector<Tile> Plan::Impl::MakeTilesFor(int n) const {
  return MakeTiles(params, ctx.out_h, ctx.out_w, std::max(1, kernel->r), n);
}

Plan::Plan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Plan::~Plan() = default;

const Conv2dParams& Plan::params() const { return impl_->params; }
const PlanOptions& Plan::options() const { return impl_->options; }
const std::string& Plan::kernel_name() const { return impl_->kernel_name; }
const std::string& Plan::target_name() const { return impl_->target_name; }
const std::string& Plan::selection_log() const { return impl_->log; }

Status Plan::Create(const Conv2dParams& params, const float* weights, const float* bias,
                    const PlanOptions& options, std::unique_ptr<Plan>* plan) {
  if (plan == nullptr) return InvalidArgument("plan output pointer is null");
  plan->reset();
  CONVGEN_RETURN_IF_ERROR(Validate(params));
  if (weights == nullptr) return InvalidArgument("weights is null");
  CONVGEN_RETURN_IF_ERROR(ValidateOptions(params, options));

  auto impl = std::make_unique<Impl>();
  impl->params = params;
  impl->options = options;
  impl->options.kernel = EnvOr("CONVGEN_KERNEL", options.kernel);
  impl->options.target = EnvOr("CONVGEN_TARGET", options.target);
  impl->threads = options.threads > 0
                      ? options.threads
                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // Target: forced by name, or the best compiled target this CPU supports.
  if (!impl->options.target.empty()) {
    CONVGEN_RETURN_IF_ERROR(internal::TargetFromName(impl->options.target, &impl->target));
  } else {
    impl->target = internal::BestTarget();
  }
  impl->target_name = internal::TargetName(impl->target);
  const std::string desc = FormatDescriptorShort(LayerDesc{params, ""});
  impl->log = "convgen plan " + desc + " target " + impl->target_name + "\n";

  // Candidates, best first: forced kernel, or highest estimate wins.
  if (!impl->options.kernel.empty()) {
    const KernelInfo* k = internal::FindKernel(impl->options.kernel);
    if (k == nullptr)
      return NotFound("kernel=" + impl->options.kernel +
                      " is not a registered kernel (see `convgen kernels`)");
    std::string why;
    if (!k->applies(params, &why))
      return Unimplemented("kernel=" + impl->options.kernel + " does not apply to " + desc + ": " +
                           why);
    if (k->resolve(impl->target) == nullptr)
      return Unimplemented("kernel=" + impl->options.kernel + " is not compiled for target " +
                           impl->target_name);
    impl->kernel = k;
    impl->log += "  forced: " + std::string(k->name) + "\n";
  } else {
    double best = -1;
    for (const KernelInfo* k : AllKernels()) {
      std::string why;
      if (!k->applies(params, &why)) {
        impl->log += "  skip " + std::string(k->name) + ": " + why + "\n";
        continue;
      }
      if (k->resolve(impl->target) == nullptr) {
        impl->log +=
            "  skip " + std::string(k->name) + ": not compiled for " + impl->target_name + "\n";
        continue;
      }
      const double e = k->estimate ? k->estimate(params, impl->target) : 0.1;
      char line[160];
      std::snprintf(line, sizeof(line), "  candidate %s: estimate %.3f\n", k->name, e);
      impl->log += line;
      if (e > best || (e == best && k->priority < impl->kernel->priority)) {
        best = e;
        impl->kernel = k;
      }
    }
    // Wisdom (PlanOptions.wisdom, else CONVGEN_WISDOM): a measured choice for
    // this layer and target overrides the estimate; any problem with the
    // file is warned about once and leaves the heuristic's choice.
    impl->options.wisdom = EnvOr("CONVGEN_WISDOM", options.wisdom);
    internal::WisdomChoice wisdom;
    if (!impl->options.wisdom.empty()) {
      wisdom = internal::LookupWisdom(impl->options.wisdom, params, impl->target);
      if (wisdom.kernel == nullptr)
        impl->log += "  wisdom " + impl->options.wisdom + ": " + wisdom.why_not + "\n";
    }
    if (wisdom.kernel != nullptr) {
      impl->kernel = wisdom.kernel;
      impl->log +=
          "  chose " + std::string(impl->kernel->name) + " (wisdom: " + wisdom.where + ")\n";
    } else {
      impl->log += "  chose " + std::string(impl->kernel->name) + " (heuristic)\n";
    }
  }
  impl->kernel_name = impl->kernel->name;
  impl->fn = impl->kernel->resolve(impl->target);

  // Pack the weights once, copy the bias.
  const int64_t packed = impl->kernel->packed_weight_floats(params, impl->target);
  impl->packed_weights =
      hwy::AllocateAligned<float>(static_cast<size_t>(std::max<int64_t>(packed, 1)));
  if (!impl->packed_weights) return OutOfRange("cannot allocate packed weights");
  impl->kernel->pack_weights(params, impl->target, weights, impl->packed_weights.get());
  if (bias) impl->bias.assign(bias, bias + params.out_channels);

  KernelContext& ctx = impl->ctx;
  ctx.params = params;
  ctx.out_h = params.out_height();
  ctx.out_w = params.out_width();
  ctx.packed_weights = impl->packed_weights.get();
  ctx.bias = bias ? impl->bias.data() : nullptr;
  ctx.clamp_min = options.clamp_min;
  ctx.clamp_max = options.clamp_max;
  ctx.shuffle_groups = options.shuffle_groups > 1 ? options.shuffle_groups : 1;
  impl->scratch_floats = impl->kernel->scratch_floats(params);
  // Each kernel's scratch is bounded by its applies() (e.g. BandApplies);
  // checked here too, so that no later size computation can overflow.
  if (impl->scratch_floats < 0 ||
      impl->scratch_floats > internal::kMaxTensorBytes / int64_t{sizeof(float)})
    return OutOfRange("kernel " + std::string(impl->kernel->name) + " needs " +
                      std::to_string(impl->scratch_floats) +
                      " floats of scratch, more than the 2^47-byte address space");
  impl->threaded = internal::WorthThreads(params);
  impl->tiles =
      MakeTiles(params, ctx.out_h, ctx.out_w, std::max(1, impl->kernel->r), impl->threads);

  if (Verbose()) std::fputs(impl->log.c_str(), stderr);
  plan->reset(new Plan(std::move(impl)));
  return Status::Ok();
}

Status Plan::Run(const float* input, float* output, pthreadpool_t pool) const {
  if (input == nullptr) return InvalidArgument("input is null");
  if (output == nullptr) return InvalidArgument("output is null");
  const Impl& impl = *impl_;
  if (!impl.threaded) {
    pool = nullptr;  // too small to be worth a dispatch (tiling.h, WorthThreads)
  } else if (pool == nullptr && impl.threads > 1) {
    std::call_once(impl.pool_once,
                   [&] { impl.pool = pthreadpool_create(static_cast<size_t>(impl.threads)); });
    pool = impl.pool;
  }
  // The calling thread's scratch first: when it cannot be had, fail before
  // anything is written (always the case for a single-threaded Run).
  const int64_t scratch_bytes = impl.scratch_floats * int64_t{sizeof(float)};
  if (impl.scratch_floats > 0 && ThreadScratch(impl.scratch_floats) == nullptr)
    return OutOfRange("cannot allocate " + std::to_string(scratch_bytes) +
                      " bytes of kernel scratch; nothing was written");
  const std::vector<Tile>& tiles =
      pool == nullptr ? impl.tiles : impl.TilesFor(pthreadpool_get_threads_count(pool));
  RunContext rc{&impl, &tiles, input, output};
  if (pool == nullptr || tiles.size() == 1) {
    for (size_t i = 0; i < tiles.size(); ++i) RunTile(&rc, i);
  } else {
    pthreadpool_parallelize_1d(pool, &RunTile, &rc, tiles.size(), 0);
  }
  if (rc.scratch_failed)
    return OutOfRange("a worker thread could not allocate " + std::to_string(scratch_bytes) +
                      " bytes of kernel scratch; the output is incomplete");
  return Status::Ok();
}

}  // namespace convgen
