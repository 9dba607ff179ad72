// convgen: plans. Create once (validates, picks a kernel, packs the weights),
// run many times.
//
//   convgen::Conv2dParams p;  ... fill in ...
//   convgen::PlanOptions opt;  opt.clamp_min = 0;  // fused ReLU
//   std::unique_ptr<convgen::Plan> plan;
//   convgen::Status s = convgen::Plan::Create(p, weights, bias, opt, &plan);
//   if (!s.ok()) { fprintf(stderr, "%s\n", s.ToString().c_str()); ... }
//   s = plan->Run(input, output);
//
// A Plan is immutable after Create and Run may be called from several threads
// at once. Run writes every output element or, on error, none.
#ifndef CONVGEN_PLAN_H_
#define CONVGEN_PLAN_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "convgen/conv2d.h"
#include "convgen/status.h"

// pthreadpool's opaque handle (Debian libpthreadpool-dev); declared here so
// that the public header does not require pthreadpool.h.
typedef struct pthreadpool* pthreadpool_t;

namespace convgen {

struct PlanOptions {
  // Force a kernel by registry name (see `convgen kernels`); empty = choose.
  // A forced kernel that does not apply is an error. Env: CONVGEN_KERNEL.
  std::string kernel;
  // Force a Highway target by name ("AVX3", "AVX2", "SSE4", "SCALAR"); empty
  // = the best the CPU supports. An uncompiled or unsupported target is an
  // error. Env: CONVGEN_TARGET.
  std::string target;
  // Fused epilogue: output = min(max(conv + bias, clamp_min), clamp_max).
  // ReLU is clamp_min = 0.
  float clamp_min = -std::numeric_limits<float>::infinity();
  float clamp_max = std::numeric_limits<float>::infinity();
  // Fused ShuffleNet channel shuffle of the output; 0 or 1 = none. Must
  // divide out_channels.
  int64_t shuffle_groups = 0;
  // Worker threads of the plan's own pool; 0 = one per CPU. A layer under
  // 1 MFLOP runs on the calling thread (a pool's dispatch would cost more
  // than it saves), with this pool or a caller's.
  int threads = 0;
  // Path of a wisdom file (see `convgen tune`); empty = CONVGEN_WISDOM.
  std::string wisdom;
};

class Plan {
 public:
  // `weights` is OIHW [co][ci/groups][kh][kw] and is copied (packed); `bias`
  // may be null. On error *plan is reset.
  static Status Create(const Conv2dParams& params, const float* weights,
                       const float* bias, const PlanOptions& options,
                       std::unique_ptr<Plan>* plan);

  // input: NCHW, params().input_elements() floats; output: NCHW,
  // params().output_elements() floats. `pool` = null uses the plan's own pool
  // (created on first use).
  Status Run(const float* input, float* output,
             pthreadpool_t pool = nullptr) const;

  const Conv2dParams& params() const;
  const PlanOptions& options() const;
  // Name of the chosen kernel, e.g. "f32_conv2d_k3x3_s1_r4_w2v".
  const std::string& kernel_name() const;
  // Highway target the kernel runs on, e.g. "AVX3".
  const std::string& target_name() const;
  // Why this kernel: one line per candidate considered (CONVGEN_VERBOSE=1
  // prints it to stderr at Create).
  const std::string& selection_log() const;

  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  struct Impl;

 private:
  explicit Plan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convgen

#endif  // CONVGEN_PLAN_H_
