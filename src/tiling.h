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

// Whether a layer has enough work to be worth a pool's dispatch: at least
// kMinThreadedFlops FLOPs (all images). Below, a plan runs every tile on the
// calling thread whatever its thread count (MakeTiles cuts as for one).
// Session 15, Zen 5: an empty pthreadpool_parallelize_1d over 2 threads
// costs 1.3-1.8 us a call, and a plan's 2-thread Run of the 18-KFLOP
// `mb1ic4ih8oc4oh8kh3ph1` took 3 us against 0.25 us on 1 thread. GFLOP/s, 1
// / 2 threads (bench --reps 7): 0.30 MFLOP (mb1ic8ih16oc8oh16kh3ph1) 107.7 /
// 70.1, 0.52 MFLOP (1x1, 32 -> 32 channels, 16x16) 150.0 / 93.9, 1.18 MFLOP
// (3x3, 16 -> 16, 16x16) 122.4 / 158.5, 2.1 MFLOP (1x1, 64 -> 64, 16x16)
// 146.4 / 196.2: the break-even is near 1 MFLOP, about 8 us of one core.
constexpr double kMinThreadedFlops = 1e6;
bool WorthThreads(const Conv2dParams& p);

// The threshold in force: kMinThreadedFlops unless lowered. The test binary
// sets 0 before main, so that its small shapes still run over the pool;
// returns the previous value.
double SetMinThreadedFlops(double flops);

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
