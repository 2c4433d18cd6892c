// gemm_policy.h: tile shapes of the hand-written tensor-core GEMMs, apart from the kernels.
//
// A 256-thread block (8 warps in 2 x 4) computes a 128 x 128 tile of y; each warp a 64 x 32
// sub-tile as 4 x 4 MMA tiles (m16 x n8). The K loop moves 64 bytes of K per row per stage
// (32 elements of f16/bf16, 64 of int8/E4M3): the shared-memory geometry, the cp.async copies
// and the ldmatrix fragment loads are the same for every operand type, counted in bytes. One MMA
// k-step is 32 bytes of K (m16n8k16 for 16-bit types, m16n8k32 for 8-bit ones), two per stage.
// kStages stages in flight (cp.async groups), 16 KiB each.
//
// Shared rows are 64 bytes = four 16-byte chunks, chunk c of row r stored at c ^ ((r >> 1) & 3):
// the 8 rows one ldmatrix phase (or one cp.async phase of 8 lanes) touches then fall on 8
// distinct 16-byte bank groups, so neither the copies nor the fragment loads conflict.
//
// Registers: ptxas -v (nvcc 12.4) for sm_80/sm_89/sm_90a must show no spill in the `zt:hot`
// kernels (.ci/cuda-check.sh fails CI otherwise). kMinBlocksPerSm = 2 caps ptxas at 128 registers
// per thread so two CTAs (16 warps) share an SM (nvcc 12.4: 126-128, no spill). Two Ops take a
// minimum of 1 (up to 255 registers): the INT8 block scheme (64 int32 + 64 fp32 sums, 209-241)
// and FP8 (128 spills 16-24 bytes on sm_80, where E4M3 is widened in registers, and 4 on sm_90a).
#pragma once

namespace zt::gemm {

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockKBytes = 64;             // K per stage, in bytes of one operand row
constexpr int kStepBytes = 32;               // K per MMA k-step, in bytes
constexpr int kChunks = kBlockKBytes / 16;   // 16-byte chunks per staged row
constexpr int kStages = 4;
constexpr int kWarpsM = 2;
constexpr int kWarpsN = 4;
constexpr int kThreads = 32 * kWarpsM * kWarpsN;  // 256
constexpr int kMinBlocksPerSm = 2;           // f16/bf16 and INT8 per-token; see above for the others
constexpr int kWarpM = kBlockM / kWarpsM;     // 64
constexpr int kWarpN = kBlockN / kWarpsN;     // 32
constexpr int kMmaM = 16;
constexpr int kMmaN = 8;
constexpr int kTilesM = kWarpM / kMmaM;       // 4
constexpr int kTilesN = kWarpN / kMmaN;       // 4
constexpr int kTileBytes = kBlockM * kBlockKBytes;                 // one operand, one stage: 8 KiB
constexpr int kStageBytes = (kBlockM + kBlockN) * kBlockKBytes;   // 16 KiB
constexpr int kSmemBytes = kStages * kStageBytes;                 // 64 KiB, dynamic
constexpr int kScaleTile = 128;               // K (and M, N) tile of the block-scaled INT8 scheme

static_assert(kBlockM == kScaleTile && kBlockN == kScaleTile, "one CTA tile is one 128 x 128 scale tile of the INT8 block scheme");
static_assert(kScaleTile % kBlockKBytes == 0, "a 128-wide scale tile is a whole number of INT8 stages");
static_assert((kBlockM * kChunks) % kThreads == 0 && (kBlockN * kChunks) % kThreads == 0, "every thread copies the same number of chunks");

}  // namespace zt::gemm
