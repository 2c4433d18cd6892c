// conv_policy.h: tile shapes of conv3d.cu's kernels, apart from the mechanism.
//
// Tensor cores (f16/bf16): a 256-thread block (8 warps in 2 x 4) computes a 128 x 128 tile of the
// implicit GEMM's output (128 output pixels x 128 output channels); each warp 64 x 32 as 4 x 4
// m16n8k16 tiles. Per stage 32 elements (64 bytes) of K per row of A (the gathered input) and of
// B (the weights), in gemm_policy.h's swizzled 64-byte rows (so the same ldmatrix addressing and
// the same conflict-free cp.async phases); kStages stages in flight, 16 KiB each. The Wan VAE's
// 3x3x3 convolutions (K = 27 * Cin >= 2592) are long-K GEMMs; 3 stages (48 KiB) keep two tiles of
// loads in flight while leaving room for 2 CTAs per SM on sm_89 (100 KiB) and 4 on sm_90.
// The epilogue reuses the stages: each warp parks half of its 64 x 32 fp32 sums at a time
// (8 warps x 4 KiB = 32 KiB <= 48 KiB).
//
// Registers: kMinBlocks = 2 caps ptxas at 128 per thread (64 fp32 accumulators + fragments +
// the gather's per-row coordinates); ptxas -v for sm_80/sm_89/sm_90a must show no spill.
//
// fp32 (SIMT, exact fp32 FMAs): a 16 x 16 group computes a 64 x 64 tile, 4 x 4 outputs per thread
// (rows ty + 16i, columns tx + 16j, as src/Quant/Gemm/TiledGemm.cs), 16 of K per stage.
#pragma once

#include "gemm/gemm_policy.h"

namespace zt::conv {

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kWarpsM = 2;
constexpr int kWarpsN = 4;
constexpr int kThreads = 32 * kWarpsM * kWarpsN;   // 256
constexpr int kStages = 3;
constexpr int kMinBlocks = 2;
constexpr int kBlockKBytes = 64;                   // K per stage per row, bytes (32 f16/bf16)
constexpr int kBlockK = kBlockKBytes / 2;          // 32 elements
constexpr int kChunk = 8;                          // elements per 16-byte cp.async chunk
constexpr int kChunks = kBlockKBytes / 16;         // 4 per row and stage
constexpr int kWarpM = kBlockM / kWarpsM;          // 64
constexpr int kWarpN = kBlockN / kWarpsN;          // 32
constexpr int kTileBytesA = kBlockM * kBlockKBytes;
constexpr int kStageBytes = (kBlockM + kBlockN) * kBlockKBytes;   // 16 KiB
constexpr int kSmemBytes = kStages * kStageBytes;                 // 48 KiB, dynamic
constexpr int kEpilogueRows = kWarpM / 2;          // rows of a warp's sums parked per pass

// The SIMT fp32 kernel.
constexpr int kF32Threads = 16;                    // group edge
constexpr int kF32Tile = 64;                       // M and N per block
constexpr int kF32K = 16;                          // K per stage

// The mechanism borrowed from kernels/gemm: its swizzle, TileLoader (the weights) and HalfOp
// (the MMAs of one k-step) are written for its geometry; these tiles must keep it.
static_assert(kBlockKBytes == gemm::kBlockKBytes && kThreads == gemm::kThreads, "gemm's swizzled 64-byte rows and 256-thread copies");
static_assert(kBlockN == gemm::kBlockN && kWarpM == gemm::kWarpM && kWarpN == gemm::kWarpN, "gemm's TileLoader (B) and 4 x 4 MMA tiles per warp");
static_assert(kBlockM * kChunks == 2 * kThreads, "two A chunks per thread, both at the same K offset");
static_assert(kThreads / 32 * kEpilogueRows * kWarpN * 4 <= kSmemBytes, "half a warp's sums per pass fit in the stages");

}  // namespace zt::conv
