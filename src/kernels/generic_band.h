// convgen internal: the "input band" shared by the generic and smallmap
// kernels: the input rows that a band of output rows reads, copied into
// scratch zero-padded horizontally and de-interleaved by the horizontal
// stride, so that every kernel tap reads contiguous memory and never leaves
// the buffer (no masked or gathered loads, on any Highway target).
//
// Layout, for the `cig` input channels of one group:
//   band[c][row][phase][j],  row = iy - iy_begin (real input rows only: the
//   vertical padding is *skipped* by clipping the kernel-row range per output
//   row, not stored), phase in [0, stride_w), j in [0, row_len);
//   or, in row planes (InRowPlanes), band[row][c][phase][j].
//   band[c][row][phase][j] = x[c][iy][j * stride_w + phase - pad_w], or 0
//   outside the image.
// Output column ox, kernel column kx reads padded column ox*s + kx*d, i.e.
//   phase (kx*d) % s, index ox + (kx*d) / s: consecutive ox are consecutive j.
//
// row_len covers the output width rounded up to kBandLanes (the widest vector
// of any compiled target, AVX-512's 16 floats) plus the kernel's reach, so a
// full-vector load at the last strip stays inside the row (its extra lanes
// are computed and never stored).
//
// Plain C++ (no Highway types): it is compiled once per target TU but is not
// the hot loop (one copy per input element per tile, against cog*kh*kw FMAs).
#ifndef CONVGEN_SRC_KERNELS_GENERIC_BAND_H_
#define CONVGEN_SRC_KERNELS_GENERIC_BAND_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "checked_math.h"
#include "convgen/conv2d.h"

namespace convgen {
namespace internal {

constexpr int64_t kBandLanes = 16;          // AVX3 floats per vector
// Band sizing target: bands of output rows are chosen so that the band fits
// in this many floats (1 MiB, Zen 4's L2), but never fewer than one output
// row's worth (which can exceed it for huge layers; see BandGeometry::Make).
constexpr int64_t kBandTargetFloats = 256 * 1024;

inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t RoundUp(int64_t a, int64_t b) { return CeilDiv(a, b) * b; }

struct BandGeometry {
  int64_t phases = 1;      // stride_w
  int64_t row_len = 0;     // floats per phase row
  int64_t row_stride = 0;  // phases * row_len
  int64_t out_rows = 1;    // output rows per band
  int64_t max_rows = 0;    // input rows of the largest band
  int64_t chan_stride = 0; // max_rows * row_stride (+ padding); row planes: row_stride
  int64_t cig = 0;         // input channels per group
  int64_t kx_stride = 0;   // flat layout (Flat): floats between kernel columns; 0 otherwise
  // Floats between consecutive input rows of one channel: row_stride, or in
  // the row-plane layout (InRowPlanes) a whole plane of cig channel rows.
  int64_t row_step = 0;
  bool row_planes = false;

  int64_t floats() const { return row_planes ? max_rows * row_step : cig * chan_stride; }

  // Floats per phase row: the output row rounded up to whole vectors, plus
  // the columns the kernel reaches beyond it (per phase).
  static int64_t RowLen(const Conv2dParams& p) {
    return RoundUp(p.out_width(), kBandLanes) + (p.kernel_w - 1) * p.dilation_w / p.stride_w;
  }
  // Input rows a band of `out_rows` output rows reads (at most the image's).
  static int64_t InputRows(const Conv2dParams& p, int64_t out_rows) {
    return std::min(p.in_height,
                    (out_rows - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h + 1);
  }

  static BandGeometry InPlace(const Conv2dParams& p);
  static BandGeometry Flat(const Conv2dParams& p);
  // Bands of as many output rows as fit in `target_floats` (at least one).
  static BandGeometry Make(const Conv2dParams& p, int64_t target_floats = kBandTargetFloats) {
    BandGeometry g;
    const int64_t oh = p.out_height();
    g.phases = p.stride_w;
    g.row_len = RowLen(p);
    g.row_stride = g.phases * g.row_len;
    g.cig = p.in_channels_per_group();
    const int64_t per_band_row = g.cig * g.row_stride;
    g.out_rows = 1;
    while (g.out_rows < oh &&
           InputRows(p, g.out_rows + 1) * per_band_row <= target_floats)
      ++g.out_rows;
    g.max_rows = InputRows(p, g.out_rows);
    // An odd number of 64-byte lines between channels: a kernel walks the
    // channels of one strip, and a stride that is a multiple of 2 KiB maps
    // them all onto the same L1 sets (rn_3x3_56: 56 rows x 64 floats, the
    // generic kernel ran at 40 GFLOP/s, conflict misses; 16 floats more fixed it).
    g.chan_stride = RoundUp(g.max_rows * g.row_stride, 32) + 16;
    g.row_step = g.row_stride;
    return g;
  }
  // This band (rows, phases, out_rows) laid out band[row][c][phase][j]: one
  // plane per input row holding that row of every channel, so a kernel row's
  // taps over the channels walk one contiguous plane.
  BandGeometry InRowPlanes() const {
    BandGeometry g = *this;
    g.row_planes = true;
    g.chan_stride = g.row_stride;
    g.row_step = g.cig * g.chan_stride;
    return g;
  }
};

// Whether the band of BandGeometry::Make can be laid out for this problem.
// The band de-interleaves each padded input row into stride_w phases of
// row_len floats, so a stride wider than the padded row (valid: one output
// column) makes it stride_w × 16 floats a row — with stride_w = 6.2e18
// (fuzz_plan) that product overflowed int64. Such layers have a single
// output column, where a band kernel has nothing to vectorise: they go to the
// kernels that do not build a band.
inline bool BandApplies(const Conv2dParams& p, std::string* why) {
  if (p.stride_w > p.in_width + 2 * p.pad_w) {
    if (why)
      *why = "stride_w=" + std::to_string(p.stride_w) +
             " exceeds the padded input width (one output column): no band";
    return false;
  }
  // The band's size (two rows of slack for the channel padding), checked.
  int64_t floats = 0;
  if (!CheckedProduct({p.stride_w, BandGeometry::RowLen(p), p.in_height, p.in_channels_per_group(), 2},
                      &floats) ||
      floats > kMaxTensorBytes / int64_t{sizeof(float)}) {
    if (why) *why = "its input band would exceed the address space";
    return false;
  }
  return true;
}

// The caller's NCHW input seen as a band of all its rows, for kernels that
// read it in place (no horizontal padding, stride 1: no tap leaves its row).
inline BandGeometry BandGeometry::InPlace(const Conv2dParams& p) {
  BandGeometry g;
  g.phases = 1;
  g.row_len = g.row_stride = p.in_width;
  g.out_rows = p.out_height();
  g.max_rows = p.in_height;
  g.chan_stride = p.in_height * p.in_width;
  g.cig = p.in_channels_per_group();
  g.row_step = g.row_stride;
  return g;
}

// Band rows sample an input row as dst[j] = src[j * s + x0] for j < n, zero
// where j * s + x0 falls outside [0, iw). SampledColumns gives the j range
// [*lo, *hi) inside the image; SampleRow fills dst (zeros, then a copy).
inline void SampledColumns(int64_t x0, int64_t s, int64_t iw, int64_t n, int64_t* lo,
                           int64_t* hi) {
  *lo = std::min(n, x0 >= 0 ? 0 : CeilDiv(-x0, s));
  *hi = std::max(*lo, std::min(n, x0 < iw ? CeilDiv(iw - x0, s) : 0));
}
inline void SampleRow(const float* src, int64_t x0, int64_t s, int64_t lo, int64_t hi, int64_t n,
                      float* dst) {
  std::fill(dst, dst + lo, 0.0f);
  std::fill(dst + hi, dst + n, 0.0f);
  if (hi == lo) return;  // all padding (src + lo + x0 may lie outside the row)
  if (s == 1) {
    std::memcpy(dst + lo, src + (lo + x0), sizeof(float) * (hi - lo));
  } else {
    for (int64_t j = lo; j < hi; ++j) dst[j] = src[j * s + x0];
  }
}

// The "flat" band (smallmap's cross-row tiles): one copy of the input rows
// per kernel column, shifted by that column and cut to the output width:
//   band[c][kx][row][ox] = x[c][iy][ox * stride_w + kx * dilation_w - pad_w]
//   (0 outside the image), row = iy - iy_begin, rows ow floats apart.
// With stride_h = 1, output rows oy, oy + 1, ... that read the same kernel
// rows read consecutive band rows, so their pixels form one contiguous run:
// a register tile may cross the end of an output row (7x7 map on AVX2: rows
// 1-5 as 35 pixels, five 6-pixel tiles and one of 5, instead of 2-row pairs
// of 3 + 2 + 2 pixels). Costs kernel_w copies of the input rows instead of
// one, so it is meant for small maps.
inline BandGeometry BandGeometry::Flat(const Conv2dParams& p) {
  BandGeometry g;
  const int64_t oh = p.out_height(), ow = p.out_width();
  g.phases = 1;
  g.row_len = g.row_stride = ow;
  g.cig = p.in_channels_per_group();
  const int64_t per_band_row = g.cig * p.kernel_w * ow;
  g.out_rows = 1;
  while (g.out_rows < oh && InputRows(p, g.out_rows + 1) * per_band_row <= kBandTargetFloats)
    ++g.out_rows;
  g.max_rows = InputRows(p, g.out_rows);
  g.kx_stride = g.max_rows * ow;
  // Odd number of 64-byte lines between channels, as in Make.
  g.chan_stride = RoundUp(p.kernel_w * g.kx_stride, 32) + 16;
  g.row_step = g.row_stride;
  return g;
}

// Copies input channels [c_first, c_first + g.cig) of image n, rows
// [iy_begin, iy_end), into a flat band (layout above).
inline void BuildFlatBand(const Conv2dParams& p, const BandGeometry& g, const float* input,
                          int64_t n, int64_t c_first, int64_t iy_begin, int64_t iy_end,
                          float* band) {
  const int64_t iw = p.in_width, ow = g.row_len, s = p.stride_w;
  for (int64_t c = 0; c < g.cig; ++c) {
    const float* src_plane = input + ((n * p.in_channels + c_first + c) * p.in_height) * iw;
    for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
      // Output column ox reads input column ox * s + x0.
      const int64_t x0 = kx * p.dilation_w - p.pad_w;
      int64_t lo, hi;
      SampledColumns(x0, s, iw, ow, &lo, &hi);
      float* dst = band + c * g.chan_stride + kx * g.kx_stride;
      for (int64_t iy = iy_begin; iy < iy_end; ++iy, dst += ow)
        SampleRow(src_plane + iy * iw, x0, s, lo, hi, ow, dst);
    }
  }
}

// Input rows [*iy_begin, *iy_end) read by output rows [oy_begin, oy_end).
inline void BandInputRows(const Conv2dParams& p, int64_t oy_begin, int64_t oy_end,
                          int64_t* iy_begin, int64_t* iy_end) {
  *iy_begin = std::max<int64_t>(0, oy_begin * p.stride_h - p.pad_h);
  *iy_end = std::min(p.in_height, (oy_end - 1) * p.stride_h - p.pad_h +
                                      (p.kernel_h - 1) * p.dilation_h + 1);
  if (*iy_end < *iy_begin) *iy_end = *iy_begin;
}

// Kernel rows [*ky_begin, *ky_end) of output row oy that land in the image.
inline void ValidKernelRows(const Conv2dParams& p, int64_t oy, int64_t* ky_begin,
                            int64_t* ky_end) {
  const int64_t top = oy * p.stride_h - p.pad_h;  // input row of ky = 0
  const int64_t d = p.dilation_h;
  *ky_begin = top >= 0 ? 0 : CeilDiv(-top, d);
  *ky_end = top > p.in_height - 1 ? 0
                                  : std::min(p.kernel_h, (p.in_height - 1 - top) / d + 1);
  if (*ky_end < *ky_begin) *ky_end = *ky_begin;
}

// De-interleaves n pairs: even[k] = src[2k], odd[k] = src[2k + 1], k < n
// (the per-target SplitPairs of split_pairs-inl.h; see BuildBand).
using SplitPairsFn = void (*)(const float* src, int64_t n, float* even, float* odd);

// Copies input channels [c_first, c_first + g.cig) of image n, rows
// [iy_begin, iy_end), into `band` (layout above). With stride 2 and `split_pairs` given, the two
// phase rows are filled by one de-interleaving pass over the input row
// (rn_3x3_s2: the scalar strided copy took 14% of the layer's time, perf).
inline void BuildBand(const Conv2dParams& p, const BandGeometry& g, const float* input,
                      int64_t n, int64_t c_first, int64_t iy_begin, int64_t iy_end,
                      float* band, SplitPairsFn split_pairs = nullptr) {
  const int64_t iw = p.in_width, s = g.phases, pw = p.pad_w, L = g.row_len;
  for (int64_t c = 0; c < g.cig; ++c) {
    const float* src_plane =
        input + ((n * p.in_channels + c_first + c) * p.in_height) * iw;
    float* dst_chan = band + c * g.chan_stride;
    for (int64_t iy = iy_begin; iy < iy_end; ++iy) {
      const float* src = src_plane + iy * iw;
      float* dst_row = dst_chan + (iy - iy_begin) * g.row_step;
      // Phase row `phase` holds x[j*s + phase - pw] for j in [j_lo, j_hi)
      // (inside the image), zeros elsewhere; x0 = its first input column.
      int64_t j_lo[2] = {0, 0}, count[2] = {0, 0}, x0[2] = {0, 0};
      for (int64_t phase = 0; phase < s; ++phase) {
        float* dst = dst_row + phase * L;
        int64_t lo, hi;
        SampledColumns(phase - pw, s, iw, L, &lo, &hi);
        if (s == 2 && split_pairs) {
          std::fill(dst, dst + lo, 0.0f);
          std::fill(dst + hi, dst + L, 0.0f);
          j_lo[phase] = lo;
          count[phase] = hi - lo;
          x0[phase] = lo * s + phase - pw;  // 0 or 1: the phases take alternate columns
        } else {
          SampleRow(src, phase - pw, s, lo, hi, L, dst);
        }
      }
      if (s == 2 && split_pairs) {
        const int64_t even = x0[0] == 0 ? 0 : 1;  // the phase that starts at column 0
        const int64_t odd = 1 - even;
        const int64_t pairs = std::min({count[0], count[1], iw / 2});
        split_pairs(src, pairs, dst_row + even * L + j_lo[even], dst_row + odd * L + j_lo[odd]);
        for (int64_t phase = 0; phase < 2; ++phase)
          for (int64_t k = pairs; k < count[phase]; ++k)
            dst_row[phase * L + j_lo[phase] + k] = src[x0[phase] + 2 * k];
      }
    }
  }
}

// Offset in a band row of kernel column kx's first tap (output column 0):
// phase row (kx*d) % s, index (kx*d) / s, i.e. (kx*d % s) * L + kx*d / s.
// Walked incrementally by the kernels: no division or multiply per tap, and
// the steps are computed once per tile (a 64-bit idiv per input channel in
// the tap loop cost measurable time on 7x7 maps).
struct TapColumnSteps {
  int64_t step_r, s, delta, wrap;
  // A flat band (kx_stride > 0) has the kernel columns kx_stride apart.
  TapColumnSteps(const BandGeometry& g, int64_t dilation_w)
      : step_r(g.kx_stride > 0 ? 0 : dilation_w % g.phases),
        s(g.kx_stride > 0 ? 1 : g.phases),
        delta(g.kx_stride > 0 ? g.kx_stride : dilation_w / g.phases + step_r * g.row_len),
        wrap(1 - s * g.row_len) {}
};

class TapColumnWalker {
 public:
  explicit TapColumnWalker(const TapColumnSteps& steps) : k_(steps) {}
  int64_t offset() const { return offset_; }
  void Next() {
    offset_ += k_.delta;
    r_ += k_.step_r;
    if (r_ >= k_.s) {  // carry from the phase into the index
      r_ -= k_.s;
      offset_ += k_.wrap;
    }
  }

 private:
  int64_t offset_ = 0, r_ = 0;
  const TapColumnSteps k_;
};

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_KERNELS_GENERIC_BAND_H_
