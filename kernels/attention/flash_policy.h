// flash_policy.h: tile sizes of the flash kernels, apart from the kernels (FlashAttention's
// hopper/ keeps its tile policy the same way). One CTA = kWarps warps x 16 query rows; key tiles
// of kBlockN; K and V double-buffered in shared memory.
#pragma once

namespace zt::flash {

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kBlockM = 16 * kWarps;  // query rows per CTA (16 per warp: one m16 MMA row tile)
constexpr int kBlockN = 64;           // keys per tile (= Sage's K scale block)
constexpr int kStages = 2;            // K/V buffers: load tile i+1 while computing tile i
constexpr int kPadBytes = 16;         // row padding: ldmatrix rows land in different banks

}  // namespace zt::flash
