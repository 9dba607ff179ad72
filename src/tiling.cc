// Tiling of a plan's output for its threads (see tiling.h).
#include "tiling.h"

#include <algorithm>
#include <atomic>
#include <utility>

namespace convgen {
namespace internal {

namespace {
std::atomic<double> min_threaded_flops{kMinThreadedFlops};
}  // namespace

bool WorthThreads(const Conv2dParams& p) {
  return p.flops() >= min_threaded_flops.load(std::memory_order_relaxed);
}

double SetMinThreadedFlops(double flops) { return min_threaded_flops.exchange(flops); }

// Tiles of `co_chunks` blocks of output channels (r-aligned) x `bands` row
// bands x `group_chunks` runs of groups, per image.
namespace {

std::vector<Tile> CutTiles(const Conv2dParams& p, int64_t out_h, int64_t r, int64_t group_chunks,
                           int64_t co_chunks, int64_t bands) {
  std::vector<Tile> tiles;
  const int64_t cog = p.out_channels_per_group();
  const int64_t r_blocks = std::max<int64_t>(1, (cog + r - 1) / r);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t gc = 0; gc < group_chunks; ++gc)
      for (int64_t cc = 0; cc < co_chunks; ++cc)
        for (int64_t b = 0; b < bands; ++b) {
          Tile t;
          t.n = n;
          t.g_begin = p.groups * gc / group_chunks;
          t.g_end = p.groups * (gc + 1) / group_chunks;
          t.co_begin = std::min(cog, r_blocks * cc / co_chunks * r);
          t.co_end = std::min(cog, r_blocks * (cc + 1) / co_chunks * r);
          t.oh_begin = out_h * b / bands;
          t.oh_end = out_h * (b + 1) / bands;
          if (t.oh_end > t.oh_begin && t.co_end > t.co_begin && t.g_end > t.g_begin)
            tiles.push_back(t);
        }
  return tiles;
}

}  // namespace

// The busiest of `threads` workers' time over an even share of the work
// (output channels x rows x groups per tile), the workers dealt tiles the way
// pthreadpool does: worker i starts on the i-th contiguous range of tile
// indices, takes its own tiles from the front and, once its range is empty,
// steals from the back of the next worker's range that is not.
double TileImbalance(const std::vector<Tile>& tiles, int threads) {
  const size_t n = tiles.size(), workers = static_cast<size_t>(std::max(1, threads));
  std::vector<size_t> begin(workers), end(workers);
  for (size_t w = 0; w < workers; ++w) {
    begin[w] = n * w / workers;
    end[w] = n * (w + 1) / workers;
  }
  const auto work = [&](size_t i) {
    const Tile& t = tiles[i];
    return double(t.g_end - t.g_begin) * double(t.co_end - t.co_begin) *
           double(t.oh_end - t.oh_begin);
  };
  std::vector<double> time(workers, 0.0);
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += work(i);
  for (size_t left = n; left > 0; --left) {
    const size_t w = static_cast<size_t>(std::min_element(time.begin(), time.end()) - time.begin());
    size_t victim = w;
    while (begin[victim] == end[victim]) victim = (victim + 1) % workers;
    time[w] += work(victim == w ? begin[w]++ : --end[victim]);
  }
  return total > 0 ? *std::max_element(time.begin(), time.end()) * double(workers) / total : 1.0;
}

// Splits the output into tiles for `threads` workers. One thread, or a layer
// under kMinThreadedFlops: one tile per image (the kernel orders its own
// loops for the caches). Several: about 4 tiles per thread (1x1 layers on
// row bands: one, see below), so pthreadpool's work stealing evens out
// unequal tiles, made of whole groups when there are many groups, then —
// for 1x1 layers on small maps (at most kSmallPlane outputs) — of blocks of
// output channels aligned to the kernel's register block `r` (a band of a
// few rows of a 14x14 plane is a ragged pixel strip, 2 rows = 28 = 16 + a
// 12-lane tail: with 2 threads mb_pw_14 ran 195 GFLOP/s on row bands, 225
// on channel blocks),
// else of bands of rows, adding channel blocks only when a map has too few
// rows to go round. (k x k layers keep row bands: channel blocks repeat the
// kernels' per-tile input band copies — rn_3x3_s2 fell from 190 to 116.)
// Except where an image's input is smaller than the weights and the threads
// outnumber the images: one block of output channels per thread, all rows,
// so each weight is read by one thread and each input band copied once per
// thread (rn_3x3_7: 9.4 MB of weights against 100 KB of input; row bands had
// every thread stream all the weights and cut the rows that smallmap pairs or
// runs together). Measured with 2 threads on one shared pool, plans
// alternating, medians of 7-11 (GFLOP/s): rn_3x3_7, 2 channel blocks x 4 row
// bands 187.3 / 209.5 / 206.8 / 201.8 in four runs against 194.4 / 223.1 /
// 207.8 / 207.1 with one block per thread (4 blocks: 182.0 / 186.8, 8: 169.2);
// rn_3x3_14 215.7 -> 218.8; rn_3x3_28 215.2 -> 217.0. (Two 1-thread
// processes, one per core, ran rn_3x3_7 at 112.0 + 115.3 in that window.) No
// tile splits a reduction, so the result is bit-identical for any thread count.
std::vector<Tile> MakeTiles(const Conv2dParams& p, int64_t out_h, int64_t out_w, int64_t r,
                            int threads) {
  if (!WorthThreads(p)) threads = 1;
  constexpr int64_t kSmallPlane = 1024;
  const bool one_by_one = p.kernel_h == 1 && p.kernel_w == 1;
  const bool small_plane = one_by_one && out_h * out_w <= kSmallPlane;
  // 1x1 layers on row bands take one tile per thread: a band's pixel run
  // ends in a partial strip (and starts, on odd bands, with an aligning
  // head), so every extra band adds a strip's tail per block of output
  // channels, and its channel planes are read and written in shorter runs.
  // Session 15, Zen 5, 2 threads, the same build with 4 / 2 / 1 tiles per
  // thread in turns, medians of 3 (GFLOP/s): rn_1x1_56 344.8 / 364.7 /
  // 369.3, rn_1x1_up 347.0 / 359.3 / 366.7, mb_pw_112 344.8 / 347.0 / 352.6.
  // k x k layers keep 4 (rn_3x3_s2 349.7 / 325.3 / 331.5).
  const int64_t tiles_per_thread = one_by_one && !small_plane ? 1 : 4;
  const int64_t want = threads <= 1 ? 1 : tiles_per_thread * threads;
  const int64_t per_image = std::max<int64_t>(1, (want + p.batch - 1) / p.batch);
  const int64_t cog = p.out_channels_per_group();
  const int64_t group_chunks = std::min<int64_t>(p.groups, per_image);
  const int64_t left = (per_image + group_chunks - 1) / group_chunks;
  const int64_t r_blocks = std::max<int64_t>(1, (cog + r - 1) / r);
  const bool weights_dominate = !small_plane && p.groups == 1 && p.batch < threads &&
                                p.weight_elements() > p.in_channels * p.in_height * p.in_width;
  const int64_t co_chunks =
      weights_dominate ? std::min<int64_t>(r_blocks, (threads + p.batch - 1) / p.batch)
      : small_plane    ? std::min<int64_t>(r_blocks, left)
                    : (out_h >= left ? 1 : std::min<int64_t>(r_blocks, (left + out_h - 1) / out_h));
  const int64_t bands =
      weights_dominate ? 1 : std::min<int64_t>(out_h, (left + co_chunks - 1) / co_chunks);
  std::vector<Tile> tiles = CutTiles(p, out_h, r, group_chunks, co_chunks, bands);
  // Where those tiles cannot be shared out evenly (TileImbalance > 1%:
  // shuffle_g3_1x1, 3 groups of 5 blocks cut 1 + 2 + 2, nine tiles, 8 blocks'
  // work on one thread and 7 on the other) try more row bands and, on small
  // 1x1 maps, every number of channel chunks (k x k layers would copy their
  // input band once per chunk), and keep the fewest tiles within 0.5% of the
  // evenest cut, cuts with fewer bands first. Measured with 2 threads on one
  // shared pool, plans alternating, medians of 9 (GFLOP/s), two runs (Zen 4,
  // R = 16): shuffle_g3_1x1 206.5 / 204.3 -> 214.3 / 215.5 with 15 blocks x 2
  // bands (3 groups x 4 bands: 216.1 / 207.6; 15 blocks x 4 bands: 213.2 /
  // 210.7). With R = 8 (Zen 5, 10 blocks a group) the old choice, one block
  // per chunk, was 30 tiles; 3 groups x 2 chunks of 5 blocks, 6 tiles, ran
  // 371.8 against 360.6 (medians of 3, in turns).
  if (threads > 1 && TileImbalance(tiles, threads) > 1.01) {
    std::vector<int64_t> chunk_options{co_chunks};
    if (small_plane)
      for (int64_t chunks = 1; chunks <= r_blocks; ++chunks)
        if (chunks != co_chunks) chunk_options.push_back(chunks);
    std::vector<std::pair<double, std::vector<Tile>>> cuts;
    for (int64_t more = 1; more <= 2 * threads && bands * more <= out_h; ++more)
      for (const int64_t chunks : chunk_options) {
        std::vector<Tile> cut = CutTiles(p, out_h, r, group_chunks, chunks, bands * more);
        cuts.emplace_back(TileImbalance(cut, threads), std::move(cut));
      }
    double best = cuts.front().first;
    for (const auto& c : cuts) best = std::min(best, c.first);
    std::vector<Tile>* fewest = nullptr;  // the fewest tiles within 0.5% of the evenest cut
    for (auto& c : cuts)
      if (c.first <= best + 0.005 && (!fewest || c.second.size() < fewest->size()))
        fewest = &c.second;
    tiles = std::move(*fewest);
  }
  return tiles;
}

}  // namespace internal
}  // namespace convgen
