// gemm_policy.h: tile shapes of the hand-written tensor-core GEMMs, apart from the kernels.
// A 128-thread block (4 warps in 2 x 2) computes a 64 x 64 tile of y; each warp a 32 x 32
// sub-tile as 2 x 4 MMA tiles (m16 x n8). The K loop stages 32 elements of K at a time
// through shared memory (one m16n8k32 INT8 step, two m16n8k16 half steps). Rows in shared
// memory are padded by 16 bytes so the fragment loads of a warp fall in distinct banks.
#pragma once

namespace zt::gemm {

constexpr int kBlockM = 64;
constexpr int kBlockN = 64;
constexpr int kBlockK = 32;
constexpr int kWarpsM = 2;
constexpr int kWarpsN = 2;
constexpr int kThreads = 32 * kWarpsM * kWarpsN;
// __launch_bounds__'s minimum CTAs per SM. With none, ptxas caps linear_half_kernel at 56
// registers and spills 4 bytes on sm_80/sm_89 (nvcc 12.4); with 1 it takes 72-77 registers, no
// spill, which still leaves room for 6 CTAs per SM by registers.
constexpr int kMinBlocksPerSm = 1;
constexpr int kWarpM = kBlockM / kWarpsM;     // 32
constexpr int kWarpN = kBlockN / kWarpsN;     // 32
constexpr int kMmaM = 16;
constexpr int kMmaN = 8;
constexpr int kTilesM = kWarpM / kMmaM;       // 2
constexpr int kTilesN = kWarpN / kMmaN;       // 4
constexpr int kPadBytes = 16;
constexpr int kScaleTile = 128;               // K (and M, N) tile of the block-scaled INT8 scheme

}  // namespace zt::gemm
