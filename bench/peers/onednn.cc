// convgen bench peers: oneDNN 2.6.3 (Debian libdnnl-dev), C++ API.
//
// Algorithm: convolution_direct, not convolution_auto. On an AVX-512 CPU
// `auto` may pick Winograd for 3x3 stride-1 layers, which does fewer
// multiplications than the nominal 2*N*co*oh*ow*(ci/g)*kh*kw FLOPs and
// rounds differently; direct is benchdnn's default (--alg=direct), so a
// oneDNN figure here is the figure a oneDNN user measures with benchdnn, and
// GFLOP/s stay comparable with convgen's direct and im2col kernels.
// Measured on this Zen 4: with convolution_auto oneDNN 2.6.3 picks the same
// implementation (brgconv / brgconv_1x1 / brdgmm_dw / jit) on all 16 layers
// of bench/suite.txt, so the choice costs nothing here.
//
// Threads: Debian builds libdnnl against OpenMP (DNNL_CPU_RUNTIME OMP in
// dnnl_config.h; `ldd libdnnl.so` shows libgomp.so.1). oneDNN reads
// omp_get_max_threads() when it creates a primitive and runs parallel
// regions of that size, so ScopedOmpThreads sets it before the primitive
// descriptor is made and restores the caller's value afterwards (checked:
// threads = 1, 2, 3 leave 1, 2, 3 OS threads in the process).
//
// Clamp epilogue: an eltwise post-op, so the clamp is fused into the
// convolution's store as in convgen: [0, +inf) = eltwise_relu (alpha 0 is
// the negative slope), any other finite bound = eltwise_clip(alpha = min,
// beta = max) with an infinite bound replaced by ±FLT_MAX (no finite float
// output differs). No clamp = no post-op.
#include <omp.h>

#include <cfloat>
#include <cmath>
#include <exception>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "peers_internal.h"

namespace convgen {
namespace peers {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using Tag = memory::format_tag;

class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int threads) : saved_(omp_get_max_threads()) {
    omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
  }
  ~ScopedOmpThreads() { omp_set_num_threads(saved_); }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int saved_;
};

// oneDNN's dims for the problem. Weights are 5-D [g][oc/g][ic/g][kh][kw]
// when grouped (goihw), 4-D OIHW otherwise; both are the same bytes as
// convgen's OIHW. Dilation: oneDNN's 0 = dense, PyTorch's 1 = dense.
// padding_r = padding_l as in PyTorch; oneDNN floors the output size the
// same way, so it agrees with Conv2dParams::out_height()/out_width().
struct OneDnnDims {
  memory::dims src, weights, bias, dst, strides, dilates, padding;
  bool grouped;
};

OneDnnDims DimsOf(const Conv2dParams& p) {
  OneDnnDims d;
  d.grouped = p.groups > 1;
  d.src = {p.batch, p.in_channels, p.in_height, p.in_width};
  if (d.grouped)
    d.weights = {p.groups, p.out_channels_per_group(), p.in_channels_per_group(),
                 p.kernel_h, p.kernel_w};
  else
    d.weights = {p.out_channels, p.in_channels, p.kernel_h, p.kernel_w};
  d.bias = {p.out_channels};
  d.dst = {p.batch, p.out_channels, p.out_height(), p.out_width()};
  d.strides = {p.stride_h, p.stride_w};
  d.dilates = {p.dilation_h - 1, p.dilation_w - 1};
  d.padding = {p.pad_h, p.pad_w};
  return d;
}

Tag PlainWeightsTag(const OneDnnDims& d) { return d.grouped ? Tag::goihw : Tag::oihw; }

dnnl::primitive_attr ClampAttr(float lo, float hi) {
  dnnl::primitive_attr attr;
  const bool has_lo = lo > -INFINITY, has_hi = hi < INFINITY;
  if (!has_lo && !has_hi) return attr;
  dnnl::post_ops ops;
  if (lo == 0.0f && !has_hi)
    ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
  else
    ops.append_eltwise(1.0f, algorithm::eltwise_clip, has_lo ? lo : -FLT_MAX,
                       has_hi ? hi : FLT_MAX);
  attr.set_post_ops(ops);
  return attr;
}

// The convolution primitive descriptor with the given layouts (Tag::any lets
// oneDNN choose its blocked layout).
dnnl::convolution_forward::primitive_desc MakeConvPd(
    const dnnl::engine& engine, const PeerProblem& pb, const OneDnnDims& d,
    Tag src_tag, Tag weights_tag, Tag dst_tag) {
  using dt = memory::data_type;
  const memory::desc src_md(d.src, dt::f32, src_tag);
  const memory::desc weights_md(d.weights, dt::f32, weights_tag);
  const memory::desc dst_md(d.dst, dt::f32, dst_tag);
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = algorithm::convolution_direct;
  const dnnl::convolution_forward::desc desc =
      pb.bias ? dnnl::convolution_forward::desc(
                    prop, alg, src_md, weights_md, memory::desc(d.bias, dt::f32, Tag::x),
                    dst_md, d.strides, d.dilates, d.padding, d.padding)
              : dnnl::convolution_forward::desc(prop, alg, src_md, weights_md, dst_md,
                                                d.strides, d.dilates, d.padding,
                                                d.padding);
  return dnnl::convolution_forward::primitive_desc(
      desc, ClampAttr(pb.clamp_min, pb.clamp_max), engine);
}

// `user` itself when it already has layout `want`, else a new buffer in
// `want` filled by a reorder (executed now, outside any timed region).
memory ReorderedIfNeeded(const memory& user, const memory::desc& want,
                         const dnnl::engine& engine, dnnl::stream& stream) {
  if (user.get_desc() == want) return user;
  memory out(want, engine);
  dnnl::reorder(user, out).execute(stream, const_cast<memory&>(user), out);
  stream.wait();
  return out;
}

// The tensors of one convolution run, in the primitive's layouts.
struct ConvTensors {
  memory src, weights, bias, dst;
  std::unordered_map<int, memory> Args() const {
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
    if (bias) args.insert({DNNL_ARG_BIAS, bias});
    return args;
  }
};

// The user's NCHW/OIHW buffers, wrapped without copies.
struct UserTensors {
  memory src, weights, bias, dst;
};

UserTensors WrapUser(const dnnl::engine& engine, const PeerProblem& pb,
                     const OneDnnDims& d, float* output) {
  using dt = memory::data_type;
  UserTensors u;
  u.src = memory({d.src, dt::f32, Tag::nchw}, engine, const_cast<float*>(pb.input));
  u.weights = memory({d.weights, dt::f32, PlainWeightsTag(d)}, engine,
                     const_cast<float*>(pb.weights));
  if (pb.bias)
    u.bias = memory({d.bias, dt::f32, Tag::x}, engine, const_cast<float*>(pb.bias));
  u.dst = memory({d.dst, dt::f32, Tag::nchw}, engine, output);
  return u;
}

// Input, weights and bias in the primitive's layouts (reordered now), and a
// destination in its layout (the user's buffer when that is nchw).
ConvTensors PrepareTensors(const dnnl::convolution_forward::primitive_desc& pd,
                           const UserTensors& u, const dnnl::engine& engine,
                           dnnl::stream& stream) {
  ConvTensors t;
  t.src = ReorderedIfNeeded(u.src, pd.src_desc(), engine, stream);
  t.weights = ReorderedIfNeeded(u.weights, pd.weights_desc(), engine, stream);
  if (u.bias) t.bias = ReorderedIfNeeded(u.bias, pd.bias_desc(), engine, stream);
  t.dst = pd.dst_desc() == u.dst.get_desc() ? u.dst : memory(pd.dst_desc(), engine);
  return t;
}

void CopyBackToUser(const memory& dst, const memory& user_dst, dnnl::stream& stream) {
  if (dst.get_data_handle() == user_dst.get_data_handle()) return;
  dnnl::reorder(dst, user_dst).execute(stream, const_cast<memory&>(dst),
                                      const_cast<memory&>(user_dst));
  stream.wait();
}

PeerResult Failed(const char* peer, const std::string& why) {
  PeerResult r;
  r.peer = peer;
  r.available = false;
  r.why_not = why;
  return r;
}

// "onednn": blocked layouts of oneDNN's choice; timed = the primitive alone.
PeerResult RunBlocked(const PeerProblem& pb, const tools::TimingSpec& spec) {
  PeerResult r;
  r.peer = "onednn";
  ScopedOmpThreads omp_threads(pb.threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const OneDnnDims d = DimsOf(pb.params);
  const auto pd = MakeConvPd(engine, pb, d, Tag::any, Tag::any, Tag::any);
  r.impl = pd.impl_info_str();

  r.output.assign(static_cast<size_t>(pb.params.output_elements()), 0.0f);
  const UserTensors user = WrapUser(engine, pb, d, r.output.data());
  const ConvTensors t = PrepareTensors(pd, user, engine, stream);
  const dnnl::convolution_forward conv(pd);
  const auto args = t.Args();
  r.timing = tools::TimeCalls(
      [&] {
        conv.execute(stream, args);
        stream.wait();
      },
      spec);
  CopyBackToUser(t.dst, user.dst, stream);
  r.available = true;
  return r;
}

// "onednn_nchw": what an application holding NCHW data pays. oneDNN handed
// nchw / (g)oihw picks its im2col + GEMM ("gemm:jit") for most layers: that
// primitive alone is timed (its im2col is inside it). If the only nchw
// implementation is oneDNN's naive reference ("ref:any"), which no user
// would run, the timed region is instead reorder-in + blocked convolution +
// reorder-out, and impl says so ("reorder+<blocked impl>+reorder"). Weights
// are constants: in both cases their layout is prepared before timing.
PeerResult RunNchw(const PeerProblem& pb, const tools::TimingSpec& spec) {
  PeerResult r;
  r.peer = "onednn_nchw";
  ScopedOmpThreads omp_threads(pb.threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const OneDnnDims d = DimsOf(pb.params);
  r.output.assign(static_cast<size_t>(pb.params.output_elements()), 0.0f);
  const UserTensors user = WrapUser(engine, pb, d, r.output.data());

  const auto nchw_pd =
      MakeConvPd(engine, pb, d, Tag::nchw, PlainWeightsTag(d), Tag::nchw);
  const std::string nchw_impl = nchw_pd.impl_info_str();
  if (nchw_impl.rfind("ref", 0) != 0) {
    r.impl = nchw_impl;
    const ConvTensors t = PrepareTensors(nchw_pd, user, engine, stream);
    const dnnl::convolution_forward conv(nchw_pd);
    const auto args = t.Args();
    r.timing = tools::TimeCalls(
        [&] {
          conv.execute(stream, args);
          stream.wait();
        },
        spec);
    CopyBackToUser(t.dst, user.dst, stream);
    r.available = true;
    return r;
  }

  // Weights in the blocked primitive's own layout, prepared once.
  const auto blocked_pd = MakeConvPd(engine, pb, d, Tag::any, Tag::any, Tag::any);
  r.impl = std::string("reorder+") + blocked_pd.impl_info_str() + "+reorder";
  const ConvTensors t = PrepareTensors(blocked_pd, user, engine, stream);
  const dnnl::convolution_forward conv(blocked_pd);
  const auto args = t.Args();
  const bool src_reorder = t.src.get_data_handle() != user.src.get_data_handle();
  const bool dst_reorder = t.dst.get_data_handle() != user.dst.get_data_handle();
  const dnnl::reorder reorder_in =
      src_reorder ? dnnl::reorder(user.src, t.src) : dnnl::reorder();
  const dnnl::reorder reorder_out =
      dst_reorder ? dnnl::reorder(t.dst, user.dst) : dnnl::reorder();
  memory src_user = user.src, src_conv = t.src, dst_conv = t.dst, dst_user = user.dst;
  r.timing = tools::TimeCalls(
      [&] {
        if (src_reorder) reorder_in.execute(stream, src_user, src_conv);
        conv.execute(stream, args);
        if (dst_reorder) reorder_out.execute(stream, dst_conv, dst_user);
        stream.wait();
      },
      spec);
  r.available = true;
  return r;
}

// Wraps a run: oneDNN reports unsupported shapes and failures as dnnl::error.
template <class Fn>
PeerResult Guarded(const char* peer, Fn run) {
  try {
    return run();
  } catch (const dnnl::error& e) {
    return Failed(peer, std::string("oneDNN: ") + e.what());
  } catch (const std::exception& e) {
    return Failed(peer, e.what());
  }
}

}  // namespace

PeerResult RunOneDnnBlocked(const PeerProblem& problem, const tools::TimingSpec& spec) {
  return Guarded("onednn", [&] { return RunBlocked(problem, spec); });
}

PeerResult RunOneDnnNchw(const PeerProblem& problem, const tools::TimingSpec& spec) {
  return Guarded("onednn_nchw", [&] { return RunNchw(problem, spec); });
}

}  // namespace peers
}  // namespace convgen
