// How a plan cuts a layer's output into tiles for its threads (plan.cc runs
// them over a pthreadpool; `convgen kernels DESC --threads N` prints them).
#ifndef CONVGEN_SRC_TILING_H_
#define CONVGEN_SRC_TILING_H_

#include <cstdint>
#include <vector>

#include "convgen/conv2d.h"
#include "kernel.h"

namespace convgen {
namespace internal {

// The tiles of one call for `threads` workers: every output element
// (image, group, output channel, row) in exactly one tile; output channel
// blocks aligned to the kernel's register block r. No tile splits a
// reduction, so results are bit-identical for any thread count.
std::vector<Tile> MakeTiles(const Conv2dParams& p, int64_t out_h, int64_t out_w, int64_t r,
                            int threads);

// The busiest of `threads` workers' time over an even share of the work
// (output channels x rows x groups per tile), with the workers dealt tiles
// the way pthreadpool does; 1.0 = perfectly even.
double TileImbalance(const std::vector<Tile>& tiles, int threads);

}  // namespace internal
}  // namespace convgen

#endif  // CONVGEN_SRC_TILING_H_
