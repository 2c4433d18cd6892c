// flash_policy.h: tile sizes of the flash kernels, apart from the kernels (FlashAttention's
// hopper/ keeps its tile policy the same way). One CTA = kWarps warps x kMTiles m16 row tiles of
// query rows (128), so each K/V tile brought into shared memory serves twice the rows it did with
// 64-row CTAs; key tiles of kBlockN; K and V in kStages<D> cp.async buffers. Rows are
// XOR-swizzled in 16-byte chunks (no padding): D = 128 with two stages is 96 KB and fits
// sm_86/sm_89's 99 KB per CTA; D = 64 takes three stages (64 KB).
// Why 8 warps x 16 rows and not 4 x 32 (each K/V fragment feeding two MMAs): with kMTiles = 2,
// nvcc 12.4 at the 255-register ceiling spills 56-80 bytes per thread for D = 64 and 360-700
// for D = 128 (sm_89, dense and Sage; O alone is 128 registers at D = 128), against none with
// kMTiles = 1 (222-242 registers). The kernel is written for any kMTiles.
#pragma once

namespace zt::flash {

constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
constexpr int kMTiles = 1;                      // m16 row tiles per warp
constexpr int kBlockM = 16 * kMTiles * kWarps;  // query rows per CTA: 128
constexpr int kBlockN = 64;                     // keys per tile (= Sage's K scale block)
// A LUT whose query blocks are a multiple of 64 but not of 128 (block_q = 64) runs 4-warp CTAs
// of 64 rows, so a CTA never straddles two LUT rows.
constexpr int kWarpsSmall = 4;
constexpr int kBlockMSmall = 16 * kMTiles * kWarpsSmall;
template <int D> constexpr int kStages = D <= 64 ? 3 : 2;
// __launch_bounds__'s minimum CTAs per SM: 1 lets ptxas use up to 255 registers (the kernels
// take 222-242 spill-free); shared memory (64-96 KB per CTA) limits residency anyway.
constexpr int kMinBlocksPerSm = 1;

}  // namespace zt::flash
