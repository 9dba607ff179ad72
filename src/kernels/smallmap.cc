// Small-spatial-map kernel: f32_conv2d_smallmap_p14_c2v (implicit GEMM over
// output channels; name = the AVX3 tile: up to 14 pixels x 2 vectors of
// channels; until session 13 p14_c1v, 14 pixels x 1 vector).
//
// For maps like ResNet's 14x14 and 7x7, a vector along the output row wastes
// lanes (7 of 16 on AVX-512, 7 of 8 with the direct kernels' 8-lane strips).
// This family vectorises over OUTPUT CHANNELS instead: a register tile is P
// output pixels x VV vectors of output channels. Per kernel tap (ci, ky, kx):
// VV weight-vector loads, P input scalars broadcast (one vbroadcastss
// feeding VV FMAs), P*VV FMAs. Any kernel size, stride,
// dilation, padding and groups, 1x1 included; lanes are wasted only when a
// group's output channels are not a multiple of the vector.
//
// Register tiles (accumulators P*VV + VV weights + 1 broadcast <= registers):
//   AVX3  : VV = 2 (32 channels), rows cut into segments of <= 14 pixels
//           (14 -> 14, 56 -> 4 x 14); rows narrower than 8 go two rows at a
//           time (7x7 map: 2 x 7 pixels): 28 accumulators, 16 loads (14
//           broadcasts, 2 weight vectors) per 28 FMAs. (Until session 13
//           VV = 1, 15 loads per 14 FMAs: at Zen 4's one zmm FMA per cycle
//           the loads never bound it, 90-100% of peak; on an Intel Xeon with
//           two 512-bit FMA ports, two loads per cycle, it ran 1.2-1.4x
//           slower than VV = 2: see "Session 13" in docs/performance.md);
//   AVX2  : VV = 2 (16 channels), P <= 6 (12 + 2 + 1 ymm of 16); on
//           narrow 3x3 maps (and 14x14) the interior rows as column tiles
//           (one output column, 4-6 rows: SmallmapColumnsPossible), other rows
//           narrower than 8 as "flat" runs (below), else two at a time
//           (2 x <= 3 pixels); a row exactly 7 wide (and a flat run of one
//           such row) as one 7-pixel tile whose second weight vector the
//           FMAs read from memory (14 + 1 + 1 ymm; SmallmapSegmentFolded);
//   SSE4  : VV = 2 (8 channels),  P <= 6;   SCALAR: VV = 4, P <= 4.
// Flat runs (SmallmapTiling): consecutive output rows that read the same
// kernel rows are one run of pixels, cut into segments that may cross row
// ends, read from the input in place for 1x1 layers (NCHW rows are already
// contiguous) or from a flat band copy (BandGeometry::Flat) for narrow maps
// on AVX2/SSE4: rn_3x3_7's rows 1-5 ran as 6+6+6+6+6+5 pixels (12 and 10
// accumulators) instead of pairs cut 3 + 2 + 2 (8 on two of three); on AVX2
// they now run as column tiles (below), SSE4 keeps the flat runs.
// Measured, AVX2, one plan alternating the two tilings (50 ms slices, 11
// rounds, medians): rn_3x3_7 95.5 -> 102.6 and 96.3 -> 103.9 GFLOP/s
// (another run: 87.0 -> 89.8; the same layer with 128 input channels 102 ->
// 110), mb_pw_14 94.8 -> 105.6, rn_1x1_56 85.1 -> 88.2; AVX3 level on the
// 1x1 layers (its 14-pixel row tiles already fit 14, 28 and 56).
// Tried and dropped: running the flat segments chunk by chunk of 8-16 input
// channels (accumulators saved between chunks) so that a chunk's weights and
// band stay in L1: rn_3x3_7 AVX2 101.2 and 94.6 against 102.6 and 103.9
// unchunked: the weights stream from L2 fast enough.
// P is a template parameter, one instantiation per width (segments of nearly
// equal width, so at most two widths per layer).
//
// Why over channels on 7x7 and 14x14 (AVX3, 1 thread, quiet machine, GFLOP/s
// nominal, medians of 5; noisy, +-5%): rn_3x3_7: this kernel 99.7-110.7,
// the width-vectorised generated direct kernel f32_conv2d_k3x3_s1_r8_w1v
// about 0.75x of it, the generic width kernel 44-46; rn_3x3_14: 106-110 vs
// generic 88-95. oneDNN (blocked layout) in the same runs: 125-135 on rn_3x3_7
// (0.82-0.87x), 111-127 on rn_3x3_14 (0.85-0.97x); oneDNN given NCHW: 93-97
// and 93-94 (1.14x, 1.14-1.16x). Session 5: with the two-row tiles'
// addressing fixed (SmallmapTap), rn_3x3_7 AVX3 runs 118-122.
//
// Input: the rows a band of output rows reads are copied into scratch,
// zero-padded and de-interleaved by the stride (generic_band.h), so pixel p
// of a segment is at +p whatever the stride (3x3 bands of wide rows in row
// planes, see SmallmapRowBand); without horizontal padding and stride the
// input is read in place (no copy: rn_1x1_56 went from 62 to 106).
// Kernel rows in the vertical padding are skipped per output row. Taps in
// the horizontal padding are skipped by the row tiles of 3x3 layers (stride
// and dilation 1) at the row's first and last output (kLeft / kRight), and
// computed on zeros elsewhere (other windows, flat runs): rn_3x3_7 row tiles
// compute 82% of the nominal taps (90.5% before). Measured, one plan with the
// skip switched on and off alternately (9 rounds, medians, GFLOP/s): AVX3
// rn_3x3_7 112.1 -> 121.4, rn_3x3_14 118.3 -> 124.0, rn_3x3_28 114.4 ->
// 115.3, rn_3x3_56 111.2 -> 112.5; AVX2 rn_3x3_14 105.2 -> 112.2, rn_3x3_28
// 107.6 -> 110.0, rn_3x3_56 103.1 -> 103.7. AVX2 rn_3x3_7 keeps its flat runs
// (100.4-100.6 against 90.7-92.3 for row pairs with the skip).
// Two rows share a tile only when their valid kernel rows are the same
// (rn_3x3_7: rows 1+2, 3+4 paired, 0, 5, 6 single).
// Loop order: channel sub-blocks outer when the group's packed weights exceed
// 512 KiB (each sub-block's weights then come from L3 once and stay in L2
// across the rows), rows outer otherwise (the band's rows stay cached across
// sub-blocks).
// Weights: packed for the plan's target, [group][block of B output
// channels][ci/g][kh][kw][B], missing channels zero; B = 32 on AVX3 (its
// 14 x 2 tile), 16 on the others (SmallmapBlock). A block is a multiple of
// the target's VV*lanes: SSE4 and SCALAR run sub-blocks of it, at an offset
// into a tap's B weights. (AVX2 on 32-channel blocks, its 16-channel
// sub-blocks reading every other 64-byte line, ran rn_3x3_28 / 14 / 7 at
// 0.87 / 0.93 / 0.88 of 16-channel blocks, six alternating rounds: the
// strided lines use half of L1's sets.)
// Epilogue: bias + clamp on the channel vectors, then the P x channels tile is
// transposed through a small stack buffer into NCHW rows (per channel, P
// contiguous pixels) at OutputChannel(ctx, c) (fused channel shuffle).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/smallmap.cc"
#include <hwy/foreach_target.h>  // before highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <utility>

#include "kernel.h"
#include "kernels/generic_band.h"
#include "kernels/split_pairs-inl.h"
#include "kernels/weight_pack.h"

#ifndef CONVGEN_SRC_KERNELS_SMALLMAP_CC_ONCE_
#define CONVGEN_SRC_KERNELS_SMALLMAP_CC_ONCE_
namespace convgen {
namespace internal {
// Output channels per packed weight block: the most of any target (AVX3's),
// the registry's r (a thread tile's first channel is a multiple of it, hence
// of every target's block) and the size of the per-block arrays.
constexpr int64_t kSmallmapMaxBlock = 32;
// The block of every other target.
constexpr int64_t kSmallmapMinBlock = 16;
// The block on a Highway target (see the weights note above).
constexpr int64_t SmallmapBlock(int64_t hwy_target) {
  return (hwy_target == HWY_AVX3 || hwy_target == HWY_AVX3_DL) ? kSmallmapMaxBlock
                                                                : kSmallmapMinBlock;
}

// Everything a segment needs; set up once per (sub-block, output row).
struct SmallmapSegmentArgs {
  const float* band;  // band channel 0, first valid kernel row, segment's first pixel
  const float* w;     // packed weights: sub-block's first channel, first valid kernel row
  int64_t cig, nky, kw;
  int64_t band_chan, band_row;  // band strides: channel, kernel row (dilation_h rows)
  int64_t w_chan, w_row;        // weight strides: channel, kernel row
  const TapColumnSteps* steps;
  const float* bias;  // the sub-block's bias, padded to its width
  float clamp_min, clamp_max;
  float* const* out;            // per channel of the sub-block: output row + ox0
  int64_t band_pair, out_pair;  // two-row tiles: offset of the second row
  int64_t channels;             // valid channels in the sub-block
};

// How a layer's output pixels are cut into register tiles on a target whose
// single-row tiles hold up to `max_p` pixels and, when narrow_rows == 2, pair
// rows narrower than 8 into 2 x <= narrow_max_p2 tiles.
//   kRows: per output row (or row pair), from the band (generic_band.h) or
//          from the input in place (no horizontal padding or stride);
//   kFlatInPlace / kFlatBand: "flat" cross-row tiles over runs of rows that
//          read the same kernel rows, from the input in place when its rows
//          are already contiguous at the output width (kernel width 1, no
//          padding or stride: the 1x1 layers) or from a flat band copy
//          (BandGeometry::Flat) when the row tiles would be narrow and the
//          map is small enough for kernel_w copies of it to be cheap.
enum class SmallmapTiling { kRows, kFlatInPlace, kFlatBand };

inline bool SmallmapInPlace(const Conv2dParams& p) { return p.pad_w == 0 && p.stride_w == 1; }

// One group's packed weights (all its blocks of kSmallmapMinBlock channels:
// the band sizing that reads it does not need AVX3's block padding).
inline int64_t SmallmapGroupWeightFloats(const Conv2dParams& p) {
  return BlockedWeightFloats(p, kSmallmapMinBlock) / p.groups;
}

// The row band: where a group's packed weights fit in L2 (kBandTargetFloats,
// 1 MiB) the band takes only the rest of it, so that the band's rows and
// the weights every segment re-reads stay in L2 together; larger weights
// stream through L2 by sub-block anyway and the band keeps the whole 1 MiB.
// rn_3x3_s2 (590 KB of weights; the band was 1 MiB, 15 output rows, now
// 440 KB, 6 rows): AVX2 streamed its band from L3, once per sub-block and
// 6-pixel segment. Measured with one plan alternating 1 MiB and 256 KiB bands
// (11-21 rounds, 50 ms, medians of the per-round ratio): AVX2 1.040 /
// 1.043 / 1.041, 512 KiB bands 1.043; AVX3 1.009 / 1.003 (its 14-pixel
// segments read the band half as often). Level (0.99-1.02, both targets) on
// rn_3x3_28, rn_3x3_14, rn_3x3_56 and c100_5x5 at 256 KiB; a d2l_5x5-like
// map (128 channels, 256 wide, 32 rows: one output row per 256 KiB band,
// each input row copied five times) lost 2% on AVX3 (0.981), which the rule
// keeps at 1 MiB (1.6 MB of weights).
// Layout: for kernels of at most 3 rows, band rows of at least
// kRowPlaneMinFloats floats (two cache lines: maps 17 or more outputs wide)
// go in row planes (BandGeometry::InRowPlanes), so that a kernel row's taps
// over the channels read one dense plane instead of a few lines every
// max_rows * row_stride floats (rn_3x3_s2: 232 B of every 3 KB). Measured,
// one plan alternating the layouts (11-15 rounds, 50 ms slices, medians of
// row planes / channel-major): AVX2 rn_3x3_s2 1.047 / 1.050 / 1.053,
// rn_3x3_28 1.038 / 1.022, rn_3x3_56 1.013 / 1.034; AVX3 0.994-1.006 on
// the three. The AVX2 6 x 2 segment of rn_3x3_s2 called alone with in-situ
// strides: 90-92% of peak with channels 3 KB apart, 97-98% in row planes.
// Kept channel-major: narrower rows, whose channels are only 0.6-1.2 KB
// apart (planes: rn_3x3_7 0.926 AVX2 / 0.931 AVX3, rn_3x3_14 AVX2 0.958),
// and 5x5 kernels, which read five planes (c100_5x5 1.008 then 0.980 AVX2,
// 0.988 AVX3; d2l_5x5 0.987, then 0.943 / 0.948 AVX2, 0.988 AVX3).
constexpr int64_t kRowPlaneMinFloats = 32;
constexpr int64_t kRowPlaneMaxKernelRows = 3;
inline BandGeometry SmallmapRowBand(const Conv2dParams& p) {
  const int64_t group_weight_floats = SmallmapGroupWeightFloats(p);
  const int64_t target =
      group_weight_floats < kBandTargetFloats
          ? std::max(kBandTargetFloats - group_weight_floats, kBandTargetFloats / 4)
          : kBandTargetFloats;
  const BandGeometry g = BandGeometry::Make(p, target);
  return p.kernel_h <= kRowPlaneMaxKernelRows && g.row_stride >= kRowPlaneMinFloats
             ? g.InRowPlanes()
             : g;
}

// Whether some target may use kFlatBand on this layer (scratch sizing).
// Rows narrower than 8 only: on rn_3x3_14 (AVX2: 5 + 5 + 4-pixel row tiles
// against 6-pixel flat ones) the flat band measured level (109.6 GFLOP/s
// both, 7 alternating rounds), its kernel_w copies of the input costing what
// the wider tiles gain.
inline bool SmallmapFlatBandPossible(const Conv2dParams& p) {
  return p.stride_h == 1 && p.out_height() > 1 && p.out_width() < 8 && p.kernel_w <= 7 &&
         !(SmallmapInPlace(p) && p.kernel_w == 1);
}

// Whether rows of `ow` outputs go two at a time: only where the two-row
// tiles hold more pixels than single-row segments of <= max_p (AVX3 on a
// 7-wide map: 2 x 7 against 7; AVX2 takes a 7-wide row whole in its folded
// 7-pixel tile rather than as pairs cut 3 + 2 + 2).
inline bool SmallmapPairsRows(int64_t ow, int64_t max_p, int64_t narrow_rows,
                              int64_t narrow_max_p2) {
  return narrow_rows == 2 && ow < 8 &&
         2 * (ow / CeilDiv(ow, narrow_max_p2)) > ow / CeilDiv(ow, max_p);
}

// Column tiles (AVX2, narrow 3x3 maps): the "interior" output rows, whose
// kernel rows all lie inside the image, run one output column at a time: a
// tile of those rows' pixels in that column, read from a column-major copy
// of the input (ColumnBand), so the kernel columns that fall in the
// horizontal padding are skipped by the tap loop's bounds, as the kernel
// rows in the vertical padding are for row tiles. rn_3x3_7: rows 1-5 as
// seven 5-pixel tiles (10 accumulators) computing 285 taps per channel
// pair instead of the flat runs' 315 (the whole layer: 361, as AVX3,
// instead of 391); rows 0 and 6 stay 7-pixel row tiles. The flat runs'
// 6-pixel tiles could skip those taps only with one instantiation per
// start column, which GCC spilled; a column tile skips them with one.
// Measured, AVX2, one plan alternating column tiles and flat runs (11
// rounds, 50 ms, medians of the per-round ratio, three runs): rn_3x3_7
// 1.107 / 1.059 / 1.143 (94.8 -> 105.7 GFLOP/s median in the first run;
// AVX2 / AVX3 0.79 -> 0.86-0.89); with 128 input channels 1.063. Objdump:
// the 5 x 2 column tile's tap loop is 61 instructions per 30 FMAs, no
// stack access, like the 5-pixel row tile.
inline void InteriorRows(const Conv2dParams& p, int64_t* oy_a, int64_t* oy_b) {
  *oy_a = std::min(p.out_height(), p.pad_h);  // stride and dilation 1
  *oy_b = std::max(*oy_a, std::min(p.out_height(), p.in_height - p.kernel_h + p.pad_h + 1));
}
// Pixels per column tile: 4-6 (8-12 accumulators of two vectors); more
// interior rows are cut into segments of nearly equal height.
constexpr int64_t kColumnMinRows = 4, kColumnMaxRows = 6;
inline bool SmallmapColumnsPossible(const Conv2dParams& p) {
  if (!(p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 && p.dilation_w == 1 &&
        p.kernel_h == 3 && p.kernel_w == 3 && p.pad_w >= 1))
    return false;
  int64_t oy_a, oy_b;
  InteriorRows(p, &oy_a, &oy_b);
  const int64_t rows = oy_b - oy_a, ow = p.out_width();
  if (rows < kColumnMinRows) return false;
  const int64_t column_narrowest = rows / CeilDiv(rows, kColumnMaxRows);
  if (column_narrowest < kColumnMinRows) return false;
  if (ow < 8) return true;
  // Wider maps: only where the column tiles are wider than the row tiles'
  // narrowest and the column band is at most a quarter of L2. rn_3x3_14
  // (12 interior rows as 6 + 6 against rows of 5 + 5 + 4; a 229 KB band),
  // AVX2, one plan alternating columns and row tiles, medians of the
  // per-round ratio, 11-21 rounds, six runs: 1.036-1.098 (AVX2 / AVX3 level
  // with AVX3's 0.90-0.94 best/best in quiet rounds); rn_3x3_56 (54 rows as
  // 9 x 6 against 5-6 pixel rows, an 830 KB band): 0.86-0.89, excluded.
  const int64_t row_narrowest = ow / CeilDiv(ow, kColumnMaxRows);
  // (In double: this is also asked of layers no band kernel applies to.)
  return column_narrowest > row_narrowest &&
         double(p.in_channels_per_group()) * double(ow + 2) * double(rows + 2) <=
             double(kBandTargetFloats / 4);
}
// The column band of one group: band[c][col][row] = x[c][oy_a - pad_h +
// row][col - pad_w] (0 outside the image), col < ow + kw - 1, row < the
// interior rows + kh - 1: output column ox, kernel column kx, reads column
// ox + kx, whose rows are the tile's pixels, contiguous.
struct ColumnBand {
  int64_t oy_a = 0, oy_b = 0;  // the interior output rows (InteriorRows)
  int64_t cols = 0, len = 0, chan_stride = 0, cig = 0;
  explicit ColumnBand(const Conv2dParams& p) {
    InteriorRows(p, &oy_a, &oy_b);
    cols = p.out_width() + p.kernel_w - 1;
    len = oy_b - oy_a + p.kernel_h - 1;
    chan_stride = RoundUp(cols * len, 32) + 16;  // odd number of 64-byte lines, as BandGeometry
    cig = p.in_channels_per_group();
  }
  int64_t floats() const { return cig * chan_stride; }
};
inline void BuildColumnBand(const Conv2dParams& p, const ColumnBand& cb, const float* input,
                            int64_t n, int64_t c_first, float* band) {
  const int64_t iy0 = cb.oy_a - p.pad_h, iw = p.in_width;
  // Band columns [in_lo, in_hi) hold input columns; the others are padding.
  const int64_t in_lo = std::min(cb.cols, p.pad_w), in_hi = std::min(cb.cols, p.pad_w + iw);
  for (int64_t c = 0; c < cb.cig; ++c) {
    const float* src = input + ((n * p.in_channels + c_first + c) * p.in_height + iy0) * iw;
    float* dst = band + c * cb.chan_stride;
    std::fill(dst, dst + in_lo * cb.len, 0.0f);
    std::fill(dst + in_hi * cb.len, dst + cb.cols * cb.len, 0.0f);
    // A transposition, read along the input rows (contiguous), written down
    // the band columns.
    for (int64_t r = 0; r < cb.len; ++r) {
      const float* row = src + r * iw;
      for (int64_t col = in_lo; col < in_hi; ++col) dst[col * cb.len + r] = row[col - p.pad_w];
    }
  }
}

inline SmallmapTiling ChooseSmallmapTiling(const Conv2dParams& p, int64_t max_p,
                                           int64_t narrow_rows, int64_t narrow_max_p2,
                                           bool flat_band_target) {
  if (SmallmapInPlace(p) && p.kernel_w == 1 && p.stride_h == 1) return SmallmapTiling::kFlatInPlace;
  const int64_t ow = p.out_width();
  // Pixels of the narrowest row tile.
  const int64_t narrowest = (narrow_rows == 2 && ow < 8) ? 2 * (ow / CeilDiv(ow, narrow_max_p2))
                                                         : ow / CeilDiv(ow, max_p);
  if (flat_band_target && SmallmapFlatBandPossible(p) && narrowest < max_p - 1)
    return SmallmapTiling::kFlatBand;
  return SmallmapTiling::kRows;
}
}  // namespace internal
}  // namespace convgen
#endif

HWY_BEFORE_NAMESPACE();
namespace convgen {
namespace internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Register tiles per target: P pixels (kRows rows of P2 adjacent outputs) x
// VV vectors of output channels. "Wide" for rows of 8 or more outputs: one row
// cut into segments of <= kWideMaxP; "narrow" for rows of fewer than 8: two
// rows at once, so one weight load feeds as many FMAs as on a wide row (AVX3:
// 2 x 7 pixels on a 7x7 map, 14 accumulators; AVX2/SSE4: 2 x <= 3 pixels, 12
// accumulators, instead of single-row segments 4 + 3 whose 6 accumulators do
// not cover the FMA latency of two 256-bit pipes).
// The half tile (kHalfVV vectors of kHalfCap lanes: half the channels) runs
// a sub-block whose valid channels fit in half of it, at half the FMA cost;
// on AVX3 the quarter tile (one 8-lane ymm vector) one whose channels fit in
// 8 (c100_5x5: 100 = 3 x 32 + 4 channels, the last 4 on one ymm: on Zen 4 a
// ymm FMA is half a zmm one). Other targets: quarter = half (same tables).
// Without the quarter tile the plan's estimate for c100_5x5 fell below the
// direct 5x5 kernel's (0.798 vs 0.846) and it picked that slower kernel.
// kFlatBand: whether the target uses flat band copies (SmallmapTiling).
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr size_t kWideVV = 2, kWideMaxP = 14, kNarrowRows = 2, kNarrowMaxP2 = 7;
constexpr size_t kHalfVV = 1, kHalfCap = kBandLanes;
constexpr size_t kQuarterVV = 1, kQuarterCap = 8;
constexpr bool kFlatBand = false;
#elif HWY_TARGET == HWY_SCALAR
constexpr size_t kWideVV = 4, kWideMaxP = 4, kNarrowRows = 1, kNarrowMaxP2 = 4;
constexpr size_t kHalfVV = 2, kHalfCap = kBandLanes;
constexpr size_t kQuarterVV = kHalfVV, kQuarterCap = kHalfCap;
constexpr bool kFlatBand = false;
#else
constexpr size_t kWideVV = 2, kWideMaxP = 6, kNarrowRows = 2, kNarrowMaxP2 = 3;
constexpr size_t kHalfVV = 1, kHalfCap = kBandLanes;
constexpr size_t kQuarterVV = kHalfVV, kQuarterCap = kHalfCap;
constexpr bool kFlatBand = true;
#endif
// This target's packed block (SmallmapBlock): AVX3 32, the others 16.
constexpr int64_t kBlock = SmallmapBlock(HWY_TARGET);
static_assert(kSmallmapMaxBlock % kBlock == 0, "thread tiles start on a block");
// AVX2 only: a row exactly 7 wide runs as one 7-pixel tile (14 accumulators)
// whose second weight vector is read by the FMAs from memory (see
// SmallmapSegmentFolded), instead of segments 4 + 3 (8 and 6 accumulators);
// and a flat run of a single row (rn_3x3_7's rows 0 and 6) runs as such row
// tiles, which skip the padding taps. Measured on rn_3x3_7, AVX2, one plan
// alternating the tilings (9 rounds, 50 ms slices, medians, three runs):
// 95.8 / 101.5 / 98.6 -> 103.7 / 105.7 / 102.2 GFLOP/s. The same tile for
// every row (rows 1-5 too, which then skip their padding taps) ran 97.3 /
// 97.7 / 98.5, and on rn_3x3_14 (7 + 7 against 5 + 5 + 4 register tiles)
// 92.1 against 105.0: the folded tile issues 15 loads per 14 FMAs into the
// FP unit's two load pipes (7 broadcasts, 7 weight vectors, 1 kept weight),
// so it runs at most 14 FMAs per 7.5 cycles; it only pays where it replaces
// tiles of 6-8 accumulators. Also tried: flat 5- and 6-pixel segments of
// rows 1-5 that skip the padding taps where they cross row ends (one
// instantiation per start column): GCC spilled one or two accumulators in
// five of the seven (2-4 stack accesses per 32 FMAs, with either register
// allocator) and rn_3x3_7 ran 5% slower (m3/m2 0.94-0.95, three runs).
#if HWY_TARGET == HWY_AVX2
constexpr size_t kRowMaxP = 7;
constexpr bool kFoldWeights = true;
#else
constexpr size_t kRowMaxP = kWideMaxP;
constexpr bool kFoldWeights = false;
#endif
// Whether a tile of P pixels x VV vectors is a folded one: its accumulators,
// weights and broadcast exceed AVX2's 16 registers.
constexpr bool FoldedTile(size_t P, size_t VV) { return kFoldWeights && P * VV + VV + 1 > 16; }

// Returns p, unknown to the optimiser (an empty asm that may "modify" it).
HWY_INLINE const float* OpaquePointer(const float* p) {
#if defined(__GNUC__)
  __asm__("" : "+r"(p));
#endif
  return p;
}

// Returns p through a volatile empty asm: unlike OpaquePointer, two calls with
// the same p are not merged, so every load through the result stays a load
// of its own that GCC folds into the FMA reading it (the folded tile's second
// weight vector, vfmadd231ps 0x20(%rdi),%ymm1,%ymm13).
HWY_INLINE const float* FreshPointer(const float* p) {
#if defined(__GNUC__)
  __asm__ volatile("" : "+r"(p));
#endif
  return p;
}

// One tap of a segment: acc[px][v] += w[v] * pixel px, where the pixels of a
// two-row tile are row[off + q] (px = q) and row2[off + q] (px = P2 + q).
// Written as a loop over the tile's rows, then pixels: the equivalent single
// loop over px with `(px < P2 ? row : row2)[off + px % P2]` was miscompiled
// by GCC 12 at -O1/-O2 once UBSan's integer checks were on (-fsanitize=shift,
// signed-integer-overflow, ...; every second-row pixel read the last pixel's
// input: found by tools/ci_reliability.sh's ASan+UBSan run of the kernel
// tests, reproduced with -fsanitize=shift alone; we found no undefined
// behaviour in the source, so we take it for a compiler bug and avoid the
// pattern).
// Pixels q < kLo and q >= P2 - kHi of each row are skipped (their tap reads
// the horizontal zero padding; see SmallmapSegment's kLeft / kRight).
// Weight vectors v < kRegVV come from registers (wv); the others are loaded
// from wmem by every FMA (folded tiles).
template <size_t P2, size_t VV, size_t kRows, size_t kLo = 0, size_t kHi = 0,
          bool kOpaque = (kRows == 2), size_t kRegVV = VV, class D, class V>
HWY_INLINE void SmallmapTap(D d, V* HWY_RESTRICT acc, const V* wv, const float* wmem,
                            const float* row, const float* row2, int64_t off) {
  constexpr size_t N = hn::MaxLanes(d);
  HWY_UNROLL(2)
  for (size_t r = 0; r < kRows; ++r) {
    const float* src = (r == 0 ? row : row2) + off;
    // Two-row tiles: make GCC materialise `src` so the pixels are read at
    // src + 4q (base + displacement). Without this barrier GCC 12 hoisted
    // (off[kx] + q) * 4 out of the channel loop as one index register per
    // pixel and column: 14+ of them, more than the GPRs, so it parked them in
    // xmm registers (vmovq per FMA) or on the stack. AVX3 2 x 7 tile, 3x3:
    // 63 instructions per 42 FMAs with 5 vmovq xmm->GPR and 2 stack accesses
    // -> 56 and none; 2 x 7, 5x5 / 7x7: 49 / 78 stack accesses -> 0.
    // rn_3x3_7 AVX3 102.8 -> 122.0 GFLOP/s (3 alternating rounds, medians),
    // AVX2 96-97 -> 100. Single-row tiles keep GCC's addressing: there the
    // barrier brought back accumulator spills in the AVX2 5x5 tile (111
    // instructions per 60 FMAs, 0 stack -> 123 and 4).
    if constexpr (kOpaque) src = OpaquePointer(src);
    HWY_UNROLL(16)
    for (size_t q = kLo; q + kHi < P2; ++q) {
      const V x = hn::Set(d, src[q]);
      HWY_UNROLL(4)
      for (size_t v = 0; v < kRegVV; ++v)
        acc[(r * P2 + q) * VV + v] = hn::MulAdd(wv[v], x, acc[(r * P2 + q) * VV + v]);
      HWY_UNROLL(4)
      for (size_t v = kRegVV; v < VV; ++v) {
        // The pointer itself goes through the barrier (no copy per pixel:
        // `FreshPointer(wmem + v * N)` cost a mov per FMA).
        wmem = FreshPointer(wmem);
        acc[(r * P2 + q) * VV + v] =
            hn::MulAdd(hn::LoadU(d, wmem + v * N), x, acc[(r * P2 + q) * VV + v]);
      }
    }
  }
}

// KW > 0: the kernel width is a compile-time constant and the kernel
// columns of one kernel row are unrolled, their band offsets computed once
// per segment (see the header: AVX2 tap loop); KW = 0: any width, one
// TapColumnWalker step per tap.
// kCap: lanes per vector (kBandLanes = the target's full vector).
// Calls f(std::integral_constant<size_t, kx>()) for kx = 0 .. KW-1.
template <size_t KW, size_t kx = 0, class F>
HWY_INLINE void ForEachKernelColumn(F&& f) {
  if constexpr (kx < KW) {
    f(std::integral_constant<size_t, kx>());
    ForEachKernelColumn<KW, kx + 1>(f);
  }
}

// kLeft / kRight (KW = 3, stride and dilation 1 only): the segment starts at
// output column 0 / ends at the last one, where kernel column 0 / 2 reads
// the horizontal zero padding: those taps are skipped (oneDNN skips them
// too). A 7-wide row computes 19 of its 21 taps per kernel row.
// kRegVV: weight vectors held in registers; a FoldedTile holds one and the
// FMAs read the others from memory.
// kColumn: a column tile (SmallmapColumnsPossible): the segment's "kernel
// rows" are kernel columns (a.w_row = one tap) and its unrolled "columns"
// are kernel rows (KW * kBlock floats apart in the packed weights);
// pixel q is written at q * a.out_pair (one output row apart).
template <size_t P2, size_t VV, size_t kRows, size_t KW, size_t kCap, bool kLeft, bool kRight,
          bool kColumn = false>
HWY_INLINE void SmallmapSegmentBody(const SmallmapSegmentArgs& a) {
  const hn::CappedTag<float, kCap> d;
  using V = hn::Vec<decltype(d)>;
  constexpr size_t N = hn::MaxLanes(d);
  constexpr size_t P = P2 * kRows;
  constexpr size_t kRegVV = FoldedTile(P, VV) ? 1 : VV;
  constexpr int64_t kTapStride = kColumn ? KW * kBlock : kBlock;
  V acc[P * VV];
  HWY_UNROLL(64)
  for (size_t i = 0; i < P * VV; ++i) acc[i] = hn::Zero(d);
  const int64_t kw = a.kw;
  // One tap per input channel (1x1, or a single valid kernel row of a kx1
  // kernel): a flat channel loop, without the 1-trip kernel-row and column
  // loops around 14 FMAs (mb_pw_14: 74 -> see header).
  const bool pointwise = KW == 0 && kw == 1 && a.nky == 1;
  for (int64_t c = 0; pointwise && c < a.cig; ++c) {
    const float* src = a.band + c * a.band_chan;
    const float* HWY_RESTRICT wk = a.w + c * a.w_chan;
    V wv[VV];
    HWY_UNROLL(4)
    for (size_t v = 0; v < VV; ++v) wv[v] = hn::LoadU(d, wk + v * N);
    SmallmapTap<P2, VV, kRows, 0, 0, (kRows == 2), kRegVV>(d, acc, wv, wk, src,
                                                           kRows > 1 ? src + a.band_pair : src, 0);
  }
  if constexpr (KW > 0) {
    int64_t off[KW];
    TapColumnWalker walk(*a.steps);
    HWY_UNROLL(16)
    for (size_t kx = 0; kx < KW; ++kx) {
      off[kx] = walk.offset();
      walk.Next();
    }
    // Channel and kernel-row loops: the 3x3 edge, column and two-row tiles
    // (the tiles of rn_3x3_7 on both targets) step their band and weight
    // pointers (kPointerLoops); the others recompute them from `a` per
    // channel (a.band + c * a.band_chan ...). Stepping takes GPRs: in the
    // 5x5 / 7x7 tiles and AVX3's plain 14-pixel 3x3 tile GCC then spilled
    // them (AVX3 14 x 1 7x7: 0 -> 58 stack accesses in the tap loops;
    // rn_3x3_s2 on AVX3 12% slower), while in the tiles named here the tap
    // loops stay free of stack accesses (the column tiles keep 1-2 loads of
    // a loop bound per kernel row). Measured, one plan alternating the two
    // loop forms (15 rounds, 50 ms slices, medians of old / new): rn_3x3_7
    // AVX2 0.950 / 0.959, AVX3 0.975 / 0.971; rn_3x3_14 AVX2 1.017 / 1.012 /
    // 1.008, AVX3 0.987 / 0.989 / 1.001; rn_3x3_28 0.992 / 0.999, rn_3x3_56
    // 0.987 / 1.002 (AVX2 / AVX3). Without the column tiles rn_3x3_7 AVX2
    // was level (1.002): its gain is in the column tiles. The folded 7-pixel
    // row tile called alone (rows 0 and 6 of rn_3x3_7, library symbol,
    // in-situ strides, one block of weights in L2) ran at 74-81% of peak
    // with the recomputed pointers, 85% with stepped ones, as a hand-written
    // loop of the same instructions (85-90%).
    constexpr bool kPointerLoops = KW == 3 && (kLeft || kRight || kColumn || kRows == 2);
    // The taps of one kernel row (band row `row`, weights `wk`).
    const auto kernel_row = [&](const float* row, const float* HWY_RESTRICT wk)
        __attribute__((always_inline)) {
      const float* row2 = kRows > 1 ? row + a.band_pair : row;
      if constexpr (!kLeft && !kRight) {
        HWY_UNROLL(16)
        for (size_t kx = 0; kx < KW; ++kx) {
          V wv[VV];
          HWY_UNROLL(4)
          for (size_t v = 0; v < VV; ++v) wv[v] = hn::LoadU(d, wk + kx * kTapStride + v * N);
          SmallmapTap<P2, VV, kRows, 0, 0, (kRows == 2), kRegVV>(d, acc, wv, wk + kx * kTapStride,
                                                                 row, row2, off[kx]);
        }
      } else {
        static_assert(KW == 3, "edge skipping assumes a 3-wide kernel, padding 1");
        ForEachKernelColumn<KW>([&](auto column) {
          constexpr size_t kx = decltype(column)::value;
          constexpr size_t lo = (kLeft && kx == 0) ? 1 : 0;
          constexpr size_t hi = (kRight && kx == 2) ? 1 : 0;
          V wv[VV];
          HWY_UNROLL(4)
          for (size_t v = 0; v < VV; ++v) wv[v] = hn::LoadU(d, wk + kx * kBlock + v * N);
          // The edge tiles need the barrier too (AVX3 14-pixel tile with
          // both edges, without it: 69 instructions per 40 FMAs, 15 vmovq,
          // 5 stack accesses; rn_3x3_14 AVX3 115 -> 97 GFLOP/s).
          SmallmapTap<P2, VV, kRows, lo, hi, true, kRegVV>(d, acc, wv, wk + kx * kBlock,
                                                           row, row2, off[kx]);
        });
      }
    };
    if constexpr (kPointerLoops) {
      const int64_t cig = a.cig, nky = a.nky, band_chan = a.band_chan, band_row = a.band_row;
      const int64_t w_chan = a.w_chan, w_row = a.w_row;
      const float* band_c = a.band;
      const float* w_c = a.w;
      for (int64_t c = 0; c < cig; ++c, band_c += band_chan, w_c += w_chan) {
        const float* row = band_c;
        const float* wk = w_c;
        for (int64_t ky = 0; ky < nky; ++ky, row += band_row, wk += w_row) kernel_row(row, wk);
      }
    } else {
      for (int64_t c = 0; c < a.cig; ++c)
        for (int64_t ky = 0; ky < a.nky; ++ky)
          kernel_row(a.band + c * a.band_chan + ky * a.band_row, a.w + c * a.w_chan + ky * a.w_row);
    }
  }
  for (int64_t c = 0; KW == 0 && !pointwise && c < a.cig; ++c) {
    for (int64_t ky = 0; ky < a.nky; ++ky) {
      const float* row = a.band + c * a.band_chan + ky * a.band_row;
      const float* row2 = kRows > 1 ? row + a.band_pair : row;
      const float* HWY_RESTRICT wk = a.w + c * a.w_chan + ky * a.w_row;
      TapColumnWalker walk(*a.steps);
      for (int64_t kx = 0; kx < kw; ++kx, wk += kBlock) {
        const int64_t off = walk.offset();
        walk.Next();
        V wv[VV];
        HWY_UNROLL(4)
        for (size_t v = 0; v < VV; ++v) wv[v] = hn::LoadU(d, wk + v * N);
        SmallmapTap<P2, VV, kRows, 0, 0, (kRows == 2), kRegVV>(d, acc, wv, wk, row, row2, off);
      }
    }
  }
  // Epilogue: bias + clamp per channel vector, transpose via the stack.
  HWY_ALIGN float tile[P * VV * N];
  const V lo = hn::Set(d, a.clamp_min), hi = hn::Set(d, a.clamp_max);
  HWY_UNROLL(4)
  for (size_t v = 0; v < VV; ++v) {
    const V bias = hn::LoadU(d, a.bias + v * N);
    HWY_UNROLL(16)
    for (size_t px = 0; px < P; ++px)
      hn::Store(hn::Min(hn::Max(hn::Add(acc[px * VV + v], bias), lo), hi), d,
                tile + px * VV * N + v * N);
  }
  for (int64_t ch = 0; ch < a.channels; ++ch) {
    HWY_UNROLL(2)
    for (size_t r = 0; r < kRows; ++r) {
      float* HWY_RESTRICT dst = a.out[ch] + (r == 0 ? 0 : a.out_pair);
      HWY_UNROLL(16)
      for (size_t q = 0; q < P2; ++q)
        dst[kColumn ? q * a.out_pair : q] = tile[(r * P2 + q) * VV * N + ch];
    }
  }
}

template <size_t P2, size_t VV, size_t kRows, size_t KW, size_t kCap, bool kLeft, bool kRight,
          bool kColumn>
HWY_NOINLINE void SmallmapSegment(const SmallmapSegmentArgs& a) {
  SmallmapSegmentBody<P2, VV, kRows, KW, kCap, kLeft, kRight, kColumn>(a);
}

// The folded tiles (AVX2, 7 pixels x 2 vectors: 14 accumulators + 1 weight +
// 1 broadcast = all 16 ymm) with GCC's priority-based register allocator: the
// default (Chaitin-Briggs) one spilled two accumulators (89 instructions per
// 42 FMAs, 14 stack accesses, in the 3x3 loop; priority: 76, none). The
// register tiles keep the default: priority spilled the 6-pixel one (0 -> 16
// stack accesses).
template <size_t P2, size_t VV, size_t kRows, size_t KW, size_t kCap, bool kLeft, bool kRight,
          bool kColumn>
__attribute__((optimize("-fira-algorithm=priority"))) HWY_NOINLINE void SmallmapSegmentFolded(
    const SmallmapSegmentArgs& a) {
  SmallmapSegmentBody<P2, VV, kRows, KW, kCap, kLeft, kRight, kColumn>(a);
}

template <size_t P2, size_t VV, size_t kRows, size_t KW, size_t kCap, bool kLeft, bool kRight,
          bool kColumn = false>
constexpr auto SegmentFor() {
  if constexpr (FoldedTile(P2 * kRows, VV))
    return &SmallmapSegmentFolded<P2, VV, kRows, KW, kCap, kLeft, kRight, kColumn>;
  else
    return &SmallmapSegment<P2, VV, kRows, KW, kCap, kLeft, kRight, kColumn>;
}

using SegmentFn = void (*)(const SmallmapSegmentArgs&);

// Kernel widths with an unrolled instantiation (others: KW = 0), in the
// order of SegmentTables::kByKW[1..].
constexpr size_t kUnrolledKW[] = {3, 5, 7};

// Segment functions for widths 1..sizeof...(I), one register-tile shape.
template <size_t VV, size_t kCap, size_t kRows, size_t KW, bool kLeft, bool kRight,
          bool kColumn = false, size_t... I>
constexpr std::array<SegmentFn, sizeof...(I)> MakeSegmentTable(std::index_sequence<I...>) {
  return {{SegmentFor<I + 1, VV, kRows, KW, kCap, kLeft, kRight, kColumn>()...}};
}

// Per kernel width (index 0: any width; then kUnrolledKW), one register-tile
// shape (VV vectors of kCap lanes): segment functions of every width.
// Unrolled on AVX2 and AVX3 only. SSE4 keeps the rolled loop: unrolled, its
// separate mul + add (no FMA) needs a temporary per tap and GCC spilled
// accumulators (25 stack accesses per kernel row of 36 mulps; rolled: none).
// SCALAR too: GCC 12 SLP-vectorises the unrolled scalar taps into 8-byte
// loads whose unused upper half reads the next kernel row, past the end of
// the band (SIGSEGV in the window sweep).
template <size_t VV, size_t kCap, size_t kRows, size_t kMaxP>
struct SegmentTables {
  using Idx = std::make_index_sequence<kMaxP>;
  static constexpr size_t Unrolled(size_t kw) {
    return (HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL) ? kw : 0;
  }
  static constexpr std::array<SegmentFn, kMaxP> kByKW[4] = {
      MakeSegmentTable<VV, kCap, kRows, 0, false, false>(Idx()),
      MakeSegmentTable<VV, kCap, kRows, Unrolled(kUnrolledKW[0]), false, false>(Idx()),
      MakeSegmentTable<VV, kCap, kRows, Unrolled(kUnrolledKW[1]), false, false>(Idx()),
      MakeSegmentTable<VV, kCap, kRows, Unrolled(kUnrolledKW[2]), false, false>(Idx())};
  // 3x3 segments at the row's left edge, right edge, both (kLeft / kRight);
  // the plain rolled functions on targets without the unrolled tap loop.
  static constexpr bool kEdgeSkip = Unrolled(3) == 3;
  static constexpr std::array<SegmentFn, kMaxP> kEdges3[3] = {
      MakeSegmentTable<VV, kCap, kRows, Unrolled(3), kEdgeSkip, false>(Idx()),
      MakeSegmentTable<VV, kCap, kRows, Unrolled(3), false, kEdgeSkip>(Idx()),
      MakeSegmentTable<VV, kCap, kRows, Unrolled(3), kEdgeSkip, kEdgeSkip>(Idx())};
};

// Column tiles (3x3 only, AVX2): one table per channel-vector shape.
#if HWY_TARGET == HWY_AVX2
constexpr bool kColumnTiles = true;
#else
constexpr bool kColumnTiles = false;
#endif
template <size_t VV, size_t kCap>
struct ColumnTables {
  static constexpr std::array<SegmentFn, kColumnMaxRows> kByRows =
      MakeSegmentTable<VV, kCap, 1, 3, false, false, true>(
          std::make_index_sequence<kColumnMaxRows>());
};
// Column segment functions by pixel count (nullptr without column tiles; a
// template so that other targets do not instantiate the tables).
template <bool kEnabled = kColumnTiles>
const SegmentFn* ColumnTable(bool half) {
  if constexpr (kEnabled)
    return half ? ColumnTables<kHalfVV, kHalfCap>::kByRows.data()
                : ColumnTables<kWideVV, kBandLanes>::kByRows.data();
  else
    return nullptr;
}

void SmallmapTile(const KernelContext& ctx, const Tile& t, const float* input, float* output,
                  float* scratch) {
  using Wide = SegmentTables<kWideVV, kBandLanes, 1, kRowMaxP>;
  using Narrow = SegmentTables<kWideVV, kBandLanes, kNarrowRows, kNarrowMaxP2>;
  using WideHalf = SegmentTables<kHalfVV, kHalfCap, 1, kRowMaxP>;
  using NarrowHalf = SegmentTables<kHalfVV, kHalfCap, kNarrowRows, kNarrowMaxP2>;
  using WideQuarter = SegmentTables<kQuarterVV, kQuarterCap, 1, kRowMaxP>;
  using NarrowQuarter = SegmentTables<kQuarterVV, kQuarterCap, kNarrowRows, kNarrowMaxP2>;
  const hn::ScalableTag<float> d;
  const Conv2dParams& p = ctx.params;
  size_t kw_table = 0;
  for (size_t i = 0; i < 3; ++i)
    if (p.kernel_w == static_cast<int64_t>(kUnrolledKW[i])) kw_table = i + 1;
  const int64_t ow = ctx.out_w, plane = ctx.out_h * ctx.out_w;
  // Column tiles for the interior rows [oy_a, oy_b) (those of this tile)
  // where one band covers the whole map (SmallmapColumnsPossible); the other
  // rows as row tiles. A function of the layer alone, not of the tile: a
  // column tile adds a pixel's taps kernel column by kernel column, a row
  // tile kernel row by kernel row, so a pixel must take the same kind of tile
  // whatever the threads' tiling. (Until session 12 only a tile holding all
  // interior rows took column tiles; AVX2 results then differed in the last
  // bits between 1 thread and tilings that cut rows, e.g.
  // mb1ic24ih6oc32oh6kh3ph1 on 3 threads: tests/test_threads.cc.)
  const ColumnBand cb(p);
  const int64_t oy_a = cb.oy_a, oy_b = cb.oy_b;
  const BandGeometry row_band = SmallmapRowBand(p);
  const bool columns =
      kColumnTiles && SmallmapColumnsPossible(p) && row_band.out_rows >= p.out_height();
  const SmallmapTiling tiling =
      columns ? SmallmapTiling::kRows
              : ChooseSmallmapTiling(p, kWideMaxP, kNarrowRows, kNarrowMaxP2, kFlatBand);
  const bool flat = tiling != SmallmapTiling::kRows;
  // Rows narrower than 8 (one segment each): pair rows with the same valid
  // kernel rows into one two-row tile where the target has the registers.
  const int64_t max_p = static_cast<int64_t>(kWideMaxP);
  // Row tiles: a row of up to kRowMaxP outputs in one segment (AVX2: 7).
  const int64_t row_max_p = ow <= static_cast<int64_t>(kRowMaxP) ? ow : max_p;
  const bool pairs = !flat && SmallmapPairsRows(ow, row_max_p, kNarrowRows, kNarrowMaxP2);
  // AVX2: a flat run of a single row (the first and last rows of a 3x3
  // layer) runs as a row tile: one folded 7-pixel segment on a 7-wide map
  // with the padding taps skipped, against 4 + 3 pixels without the skip.
  const bool single_row_runs_as_rows = kFoldWeights;
  const int64_t sub_width = static_cast<int64_t>(kWideVV * hn::Lanes(d));
  const int64_t half_width =
      static_cast<int64_t>(kHalfVV * hn::Lanes(hn::CappedTag<float, kHalfCap>()));
  const int64_t quarter_width =
      static_cast<int64_t>(kQuarterVV * hn::Lanes(hn::CappedTag<float, kQuarterCap>()));
  // Without horizontal padding and stride, every tap of every output column is
  // inside its input row: read the input in place (its NCHW layout is a band
  // of all rows, one phase) instead of copying it (rn_1x1_56: the copy of
  // 3.2 MB of input per call cost about a quarter of the time).
  const bool in_place = tiling == SmallmapTiling::kFlatInPlace ||
                        (tiling == SmallmapTiling::kRows && SmallmapInPlace(p));
  const BandGeometry bg = in_place                              ? BandGeometry::InPlace(p)
                          : tiling == SmallmapTiling::kFlatBand ? BandGeometry::Flat(p)
                                                                : row_band;
  const TapColumnSteps steps(bg, p.dilation_w);
  // Column tiles: their band follows the row band in scratch (no pointer
  // otherwise: scratch may be smaller, or null); a tap's pixels are
  // consecutive rows of one band column.
  float* const column_band = columns ? scratch + bg.floats() : nullptr;
  BandGeometry column_geometry;
  column_geometry.row_len = column_geometry.row_stride = cb.len;
  const TapColumnSteps column_steps(column_geometry, 1);
  const int64_t cig = p.in_channels_per_group(), cog = p.out_channels_per_group();
  const int64_t blocks = CeilDiv(cog, kBlock);
  const int64_t block_floats = cig * p.kernel_h * p.kernel_w * kBlock;

  // Row tiles of 3x3 layers (stride and dilation 1) skip the taps of kernel
  // column 0 at output column 0 and of column 2 at the last output column
  // where those read the zero padding (SmallmapSegment's kLeft / kRight).
  // Flat runs do not: their segments' edges move from run to run.
  const bool edge_skip = Wide::kEdgeSkip && (!flat || single_row_runs_as_rows) && kw_table == 1 &&
                         p.stride_w == 1 && p.dilation_w == 1;
  const bool skip_left = edge_skip && p.pad_w >= 1;
  const bool skip_right = edge_skip && ow + 1 - p.pad_w >= p.in_width;

  SmallmapSegmentArgs a;
  a.cig = cig;
  a.kw = p.kernel_w;
  a.band_chan = bg.chan_stride;
  a.band_row = p.dilation_h * bg.row_step;
  a.w_chan = p.kernel_h * p.kernel_w * kBlock;
  a.w_row = p.kernel_w * kBlock;
  a.steps = &steps;
  a.clamp_min = ctx.clamp_min;
  a.clamp_max = ctx.clamp_max;
  HWY_ALIGN float bias[kBlock];
  float* out[kBlock];
  int64_t out_chan[kBlock];
  a.bias = bias;
  a.out = out;
  a.band_pair = p.stride_h * bg.row_step;
  a.out_pair = ow;

  // Loop order. Sub-blocks outer: a sub-block's weights are read from L3 once
  // and stay in L2 across the rows (rn_3x3_7: 9.4 MB of weights, 295 KB per
  // sub-block). Rows outer when the group's weights fit in half of L2: the
  // band's rows then stay in L1/L2 across the sub-blocks (1x1 layers, whose
  // band is large: rn_1x1_56 streams 1 MB of band per sub-block otherwise).
  // (Until session 10 also when the weights nearly fit (<= 768 KiB) and the
  // band did not fit in half of L2: rn_3x3_s2, AVX2 0.89 -> 0.91 of AVX3;
  // its band is now sized to fit in L2 beside the weights, SmallmapRowBand,
  // which gained more, and no row band is that large beside such weights.)
  // rn_3x3_28 (590 KB of weights, a 0.43 MB band) keeps sub-blocks outer:
  // rows outer measured 1-4% slower on AVX2 there.
  const int64_t weight_bytes = blocks * block_floats * static_cast<int64_t>(sizeof(float));
  const bool rows_outer = weight_bytes <= 512 * 1024;

  for (int64_t g = t.g_begin; g < t.g_end; ++g) {
    // Output rows [oy_lo, oy_hi) of channels [co0, co0 + sub_width).
    const float* band =
        in_place ? input + (t.n * p.in_channels + g * cig) * p.in_height * p.in_width : scratch;
    const auto run_rows = [&](int64_t co0, int64_t oy_lo, int64_t oy_hi, int64_t iy_begin) {
      const int64_t b = co0 / kBlock;
      const float* w_sub =
          ctx.packed_weights + (g * blocks + b) * block_floats + (co0 % kBlock);
      a.channels = std::min(sub_width, t.co_end - co0);
      const bool half = a.channels <= half_width;
      const bool quarter = a.channels <= quarter_width;
      // The table of this sub-block's tile: quarter, half or full.
      const auto tier = [&](const auto& full, const auto& half_t, const auto& quarter_t)
          -> const auto& { return quarter ? quarter_t : half ? half_t : full; };
      const auto& wide_fn =
          tier(Wide::kByKW[kw_table], WideHalf::kByKW[kw_table], WideQuarter::kByKW[kw_table]);
      // Per edge case (1: left, 2: right, 3: both; 0 = wide_fn / narrow_fn).
      const std::array<SegmentFn, kRowMaxP>* wide_edge[4] = {&wide_fn, &wide_fn, &wide_fn,
                                                             &wide_fn};
      const auto& narrow_fn = tier(Narrow::kByKW[kw_table], NarrowHalf::kByKW[kw_table],
                                   NarrowQuarter::kByKW[kw_table]);
      const std::array<SegmentFn, kNarrowMaxP2>* narrow_edge[4] = {&narrow_fn, &narrow_fn,
                                                                   &narrow_fn, &narrow_fn};
      for (int e = 1; edge_skip && e < 4; ++e) {
        wide_edge[e] = &tier(Wide::kEdges3[e - 1], WideHalf::kEdges3[e - 1],
                             WideQuarter::kEdges3[e - 1]);
        narrow_edge[e] = &tier(Narrow::kEdges3[e - 1], NarrowHalf::kEdges3[e - 1],
                               NarrowQuarter::kEdges3[e - 1]);
      }
      const SegmentFn* column_fn = columns ? ColumnTable(half) : nullptr;
      // Edge case of a segment [ox0, ox0 + width) of a row.
      const auto edge = [&](int64_t ox0, int64_t width) {
        return (ox0 == 0 && skip_left ? 1 : 0) + (ox0 + width == ow && skip_right ? 2 : 0);
      };
      for (int64_t ch = 0; ch < sub_width; ++ch)
        bias[ch] = (ch < a.channels && ctx.bias) ? ctx.bias[g * cog + co0 + ch] : 0.0f;
      for (int64_t ch = 0; ch < a.channels; ++ch)
        out_chan[ch] = (t.n * p.out_channels + OutputChannel(ctx, g * cog + co0 + ch)) * plane;
      for (int64_t oy = oy_lo; oy < oy_hi;) {
        if (columns && oy >= oy_a && oy < oy_b) {
          // The interior rows from oy on, one output column at a time;
          // kernel columns in the horizontal padding skipped.
          SmallmapSegmentArgs ca = a;
          ca.band_chan = cb.chan_stride;
          ca.band_row = cb.len;
          ca.w_row = kBlock;
          ca.steps = &column_steps;
          ca.out_pair = ow;
          // Those rows cut into segments of nearly equal height.
          const int64_t end = std::min(oy_b, oy_hi);
          const int64_t rows = end - oy, n = CeilDiv(rows, kColumnMaxRows);
          const int64_t base = rows / n, taller = rows % n;
          for (int64_t ox = 0; ox < ow; ++ox) {
            const int64_t kx0 = std::max<int64_t>(0, p.pad_w - ox);
            const int64_t kx1 = std::min<int64_t>(p.kernel_w, p.in_width + p.pad_w - ox);
            ca.nky = std::max<int64_t>(0, kx1 - kx0);
            ca.w = w_sub + kx0 * kBlock;
            for (int64_t s = 0, r0 = oy - oy_a; s < n; ++s) {
              const int64_t height = base + (s < taller ? 1 : 0);
              ca.band = column_band + (ox + kx0) * cb.len + r0;
              for (int64_t ch = 0; ch < a.channels; ++ch)
                out[ch] = output + out_chan[ch] + (oy_a + r0) * ow + ox;
              column_fn[height - 1](ca);
              r0 += height;
            }
          }
          oy = end;
          continue;
        }
        int64_t ky0, ky1;
        ValidKernelRows(p, oy, &ky0, &ky1);
        a.nky = ky1 - ky0;
        const int64_t band_row0 = oy * p.stride_h - p.pad_h + ky0 * p.dilation_h - iy_begin;
        a.w = w_sub + ky0 * a.w_row;
        // Cuts `pixels` output pixels from (oy, 0) into segments of nearly
        // equal width <= max_width (the first ones one wider) and runs each
        // with fn_of(first pixel, width).
        const auto run_segments = [&](int64_t pixels, int64_t max_width, const auto& fn_of) {
          const int64_t n = CeilDiv(pixels, max_width);
          const int64_t base = pixels / n, wide = pixels % n;
          for (int64_t s = 0, x0 = 0; s < n; ++s) {
            const int64_t width = base + (s < wide ? 1 : 0);
            a.band = band + band_row0 * bg.row_step + x0;
            for (int64_t ch = 0; ch < a.channels; ++ch)
              out[ch] = output + out_chan[ch] + oy * ow + x0;
            fn_of(x0, width)(a);
            x0 += width;
          }
        };
        if (flat) {
          // The run of rows from oy that read the same kernel rows: their
          // pixels are contiguous in the band and in the output (NCHW rows
          // are ow apart), so it is cut into segments of nearly equal width
          // that may cross row ends.
          int64_t oy_end = oy + 1;
          for (int64_t k0, k1; oy_end < oy_hi; ++oy_end) {
            ValidKernelRows(p, oy_end, &k0, &k1);
            if (k0 != ky0 || k1 != ky1) break;
          }
          if (!(single_row_runs_as_rows && oy_end == oy + 1)) {
            run_segments((oy_end - oy) * ow, max_p,
                         [&](int64_t, int64_t width) { return wide_fn[width - 1]; });
            oy = oy_end;
            continue;
          }
        }
        if (pairs && oy + 1 < oy_hi) {
          int64_t ky0_next, ky1_next;
          ValidKernelRows(p, oy + 1, &ky0_next, &ky1_next);
          if (ky0_next == ky0 && ky1_next == ky1) {
            run_segments(ow, static_cast<int64_t>(kNarrowMaxP2), [&](int64_t ox0, int64_t width) {
              return (*narrow_edge[edge(ox0, width)])[width - 1];
            });
            oy += 2;
            continue;
          }
        }
        run_segments(ow, row_max_p, [&](int64_t ox0, int64_t width) {
          return (*wide_edge[edge(ox0, width)])[width - 1];
        });
        ++oy;
      }
    };
    for (int64_t oy0 = t.oh_begin; oy0 < t.oh_end; oy0 += bg.out_rows) {
      const int64_t oy1 = std::min(t.oh_end, oy0 + bg.out_rows);
      int64_t iy_begin = 0, iy_end = p.in_height;
      if (!in_place) {
        BandInputRows(p, oy0, oy1, &iy_begin, &iy_end);
        if (tiling == SmallmapTiling::kFlatBand) {
          BuildFlatBand(p, bg, input, t.n, g * cig, iy_begin, iy_end, scratch);
        } else {
          BuildBand(p, bg, input, t.n, g * cig, iy_begin, iy_end, scratch,
                    &convgen::HWY_NAMESPACE::SplitPairs);
          // Only a tile with interior rows reads the column band (a tiling
          // that cuts rows may leave a tile none).
          if (columns && t.oh_begin < oy_b && t.oh_end > oy_a)
            BuildColumnBand(p, cb, input, t.n, g * cig, column_band);
        }
      }
      // Sub-blocks of sub_width channels (t.co_begin is a multiple of the
      // block, hence of sub_width, which divides it).
      if (rows_outer) {
        // Flat tiles: runs of whole segments (rows x ow a multiple of max_p).
        const int64_t step =
            columns ? oy1 - oy0 : flat ? max_p / std::gcd(ow, max_p) : (pairs ? 2 : 1);
        for (int64_t oy = oy0; oy < oy1; oy += step)
          for (int64_t co0 = t.co_begin; co0 < t.co_end; co0 += sub_width)
            run_rows(co0, oy, std::min(oy1, oy + step), iy_begin);
      } else {
        for (int64_t co0 = t.co_begin; co0 < t.co_end; co0 += sub_width)
          run_rows(co0, oy0, oy1, iy_begin);
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace internal
}  // namespace convgen
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "dispatch.h"
#include "kernels/generic_estimate.h"
#include "targets.h"

namespace convgen {
namespace internal {
namespace {

HWY_EXPORT(SmallmapTile);

bool SmallmapApplies(const Conv2dParams& p, std::string* why) {
  return (p.pad_w == 0 && p.stride_w == 1) || BandApplies(p, why);  // in place: no band
}

int64_t SmallmapPackedFloats(const Conv2dParams& p, int64_t hwy_target) {
  return BlockedWeightFloats(p, SmallmapBlock(hwy_target));
}

void SmallmapPack(const Conv2dParams& p, int64_t hwy_target, const float* oihw, float* packed) {
  PackBlockedWeights(p, SmallmapBlock(hwy_target), oihw, packed);
}

int64_t SmallmapScratch(const Conv2dParams& p) {
  const int64_t rows = SmallmapInPlace(p) ? 0 : SmallmapRowBand(p).floats();
  int64_t floats = SmallmapFlatBandPossible(p) ? std::max(rows, BandGeometry::Flat(p).floats()) : rows;
  // Column tiles: the row band (`rows`: they need horizontal padding, so the
  // input is never read in place), then the column band.
  if (SmallmapColumnsPossible(p)) floats = std::max(floats, rows + ColumnBand(p).floats());
  return floats;
}

// Modelled fraction of peak: 0.9 (the measured rate per computed FMA on
// ResNet's 14x14 and 56x56 maps, 0.87-0.94 on AVX3) x FMA-latency cover of
// the narrowest segment x useful channels of the channel vectors x the
// vertical padding taps skipped x the epilogue's transposition (about 16
// scalar moves per output pixel against K = ci/g*kh*kw FMAs). It ranks above
// the direct strip kernels on narrow maps (rn_3x3_7: 0.99 vs their 0.62-0.68,
// rn_3x3_14: 0.94 vs 0.81) and level with them on wide ones.
double SmallmapEstimate(const Conv2dParams& p, int64_t target) {
  const int64_t lanes = FloatLanes(target);
  const bool avx3 = lanes == 16;
  const int64_t vv = lanes == 1 ? 4 : 2;
  const int64_t max_p = lanes == 1 ? 4 : (avx3 ? 14 : 6);
  const int64_t ow = p.out_width();
  int64_t pixels = ow / CeilDiv(ow, max_p);               // narrowest segment
  if (avx3 && ow < 8 && p.out_height() > 1) pixels *= 2;  // two-row tiles
  const int64_t narrow_rows = lanes == 1 ? 1 : 2, narrow_max_p2 = avx3 ? 7 : 3;
  if (ChooseSmallmapTiling(p, max_p, narrow_rows, narrow_max_p2, !avx3 && lanes > 1) !=
      SmallmapTiling::kRows) {
    const int64_t run = std::min(ow * p.out_height(), 2 * max_p);  // cross-row segments
    pixels = run / CeilDiv(run, max_p);
  }
  const int64_t needed = lanes >= 16 ? 4 : 8;  // 4-cycle FMA on 2 x 256-bit pipes
  const double latency = std::min(1.0, double(pixels * vv) / double(needed));
  const int64_t K = p.in_channels_per_group() * p.kernel_h * p.kernel_w;
  const double epilogue = double(K) / double(K + 16);
  // Channel vectors: whole sub-blocks of vv x lanes channels, and a last one
  // that runs on the half tile (half the FMA cost) when its channels fit.
  const int64_t sub = vv * lanes, cog = p.out_channels_per_group();
  const int64_t rem = cog % sub;
  const double tail = rem == 0                  ? 0.0
                      : (avx3 && 4 * rem <= sub) ? 0.25  // AVX3's quarter tile (one ymm)
                      : 2 * rem <= sub           ? 0.5
                                                 : 1.0;
  const double cost = double(cog / sub) + tail;
  const double use = double(cog) / (cost * double(sub));
  // (Until session 4 an extra 0.8 for AVX2/SSE4 on 5x5 and larger windows
  // over >= 16 channels, fitted to 0.54-0.72 of peak on d2l_5x5/c100_5x5:
  // the cause was GCC -O3 spilling the 5x5 AVX2 accumulators; built at -O2
  // (cmake/kernels.cmake) the AVX2 tile runs 104-107 GFLOP/s on d2l_5x5,
  // 0.94-0.95x AVX3, so the factor is gone.)
  // No penalty on wide rows: measured on one quiet `convgen tune` run (AVX3,
  // one thread) smallmap beat the direct strip kernels on rn_3x3_56 (105.5 vs
  // 103.1 GFLOP/s), rn_3x3_28 (108.8 vs 98.4), d2l_5x5 (99.1 vs 93.7) and
  // c100_5x5 (98.9 vs 95.0); an earlier 0.85 factor made the plan pick the
  // slower kernel there (heuristic/tuned 0.90 on rn_3x3_28).
  return TargetCeiling(target) * 0.9 * latency * use * VerticalTapFactor(p) * epilogue;
}

KernelFn ResolveSmallmap(int64_t target) { return CONVGEN_RESOLVE(SmallmapTile, target); }

}  // namespace

extern const KernelInfo kSmallmapKernel;
// clang-format off
const KernelInfo kSmallmapKernel = {
    "f32_conv2d_smallmap_p14_c2v", "smallmap", 0, 0, 0, 0, 0, 0,
    static_cast<int>(kSmallmapMaxBlock), 0, /*priority=*/90,
    &SmallmapApplies, &SmallmapPackedFloats, &SmallmapPack, &SmallmapScratch,
    &SmallmapEstimate, &ResolveSmallmap,
};
// clang-format on

}  // namespace internal
}  // namespace convgen
#endif  // HWY_ONCE
