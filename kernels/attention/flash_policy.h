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
// __launch_bounds__'s minimum CTAs per SM. With none, ptxas aims at 3 CTAs of 128 threads (a
// 168-register cap) for D = 64 and spills 12 to 96 bytes per thread in the main loop (nvcc 12.4,
// sm_80..sm_90a); with 1 it keeps every variant in 150-240 registers and spill-free. Shared
// memory (40-80 KB per CTA with kStages = 2) already limits residency to 2-5 CTAs per SM.
constexpr int kMinBlocksPerSm = 1;

}  // namespace zt::flash
