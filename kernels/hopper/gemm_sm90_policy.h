// gemm_sm90_policy.h: the tile policy of the sm_90a GEMMs (linear_sm90.cu), apart from the kernels.
//
// CTA tile 128 x 128 of y, K in stages of 128 bytes per operand row (64 f16/bf16, 128 int8/e4m3): 128
// bytes is the widest box TMA's 128-byte swizzle takes, and the swizzle makes every wgmma read of
// a stage bank-conflict free. Per stage: A 128 x 128 B + B 128 x 128 B = 32 KiB.
//
// Warp specialization (CUTLASS's "warpspecialized cooperative", FlashAttention-3's producer /
// consumer split), 3 warpgroups = 384 threads:
//   warpgroup 0   producer: one elected lane of warp 0 issues the TMA loads into a kStages ring
//                 (full/empty mbarriers); it keeps kProducerRegs registers (setmaxnreg.dec)
//   warpgroups 1-2 consumers: each multiplies its 64 rows of the tile by the 128 columns with
//                 wgmma m64n128 (64 fp32 / int32 accumulators per thread) and runs the epilogue
//                 into their own shared memory (gemm_sm90_epilogue.cuh), from which it is
//                 written to y by whole rows; they take kConsumerRegs (setmaxnreg.inc)
// __launch_bounds__(384, 1) gives ptxas 65536 / 384 = 168 registers per thread at launch; after the
// split 128 x 40 + 256 x 232 = 64512 <= 65536 (setmaxnreg needs multiples of 8).
//
// Shared memory: 1 KiB to align the ring to the 128-byte swizzle's 1024-byte atom, the stages
// (4 x 32 KiB = 128 KiB), the barriers (padded to 128 bytes), then the epilogue's output tile:
// 128 x 128 TOut, one 16-row slice per consumer warp (64 KiB f32, 32 KiB f16/bf16). In all
// kSmemBytesFor: 197,760 bytes (f32 output) or 164,992 (f16/bf16), inside the 227 KiB
// (232,448 bytes) an sm_90 CTA may opt into. The output tile has its own memory, not a ring
// stage, so the producer keeps filling the next tile's first stages while the consumers run a
// tile's epilogue. With one persistent CTA per SM the ring's depth hides TMA latency: 4 stages
// cover 4 x 128 x 128 x 64 MACs of wgmma (f16) in flight; a fifth (+32 KiB) would not fit beside
// an f32 output tile.
#pragma once

#include <stdint.h>

namespace zt::hopper::gemm90 {

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockKBytes = 128;             // K per stage per operand row: one 128-byte swizzle row
constexpr int kStepBytes = 32;                // K per wgmma: k16 for 16-bit operands, k32 for int8/e4m3
constexpr int kStages = 4;
constexpr int kConsumers = 2;                 // consumer warpgroups, 64 rows of the tile each
constexpr int kWgRows = kBlockM / kConsumers; // 64: wgmma's M
constexpr int kThreads = 128 * (1 + kConsumers);
constexpr int kProducerRegs = 40;
constexpr int kConsumerRegs = 232;
constexpr int kAccRegs = kBlockN / 2;         // 64 accumulators per consumer thread (m64n128 / 128 threads)
constexpr int kTileBytes = kBlockM * kBlockKBytes;   // one operand, one stage: 16 KiB
constexpr int kStageBytes = 2 * kTileBytes;          // A + B: 32 KiB, what one stage's TMA loads complete
constexpr int kAlign = 1024;                         // the 128-byte swizzle atom (8 rows x 128 bytes)
constexpr int kRingBytes = kStages * kStageBytes;
constexpr int kBarrierBytes = 128;                   // full and empty mbarriers (2 x kStages x 8), padded
template <typename TOut>
constexpr int kOutWgBytes = kWgRows * kBlockN * (int)sizeof(TOut);  // one consumer's 64 x 128 output tile
template <typename TOut>
constexpr int kSmemBytesFor = kAlign + kRingBytes + kBarrierBytes + kConsumers * kOutWgBytes<TOut>;

// How a consumer sums K (gemm_sm90_mainloop.cuh's consume), one policy for all three:
//   kWhole           one accumulator over the whole K, one stage of wgmma kept in flight: f16/bf16
//                    (fp32 accumulation on the tensor cores is fine) and INT8 per-token x per-channel
//                    (int32 is exact)
//   kPromoted        FP8: an H100's e4m3 wgmma adds into its fp32 accumulator with only about 14
//                    significant bits (DeepSeek-V3 3.3.2), so every stage (128 of K: exactly one
//                    ring stage for 1-byte operands, DeepGEMM's promotion interval) is summed into a
//                    fresh partial (scale-d = 0 on its first k-step) that is then added into a
//                    full-precision fp32 accumulator with ordinary FADDs
//   kPromotedScaled  INT8 scheme 1 (128 x 128 block scales): the same, the partial an exact int32
//                    sum, added as float(partial) * sx[m-block, kt] * sw[n-block, kt]; one CTA tile
//                    is one scale tile on both sides, so one scale per stage and tile
enum class KSum { kWhole, kPromoted, kPromotedScaled };

static_assert(kBlockM == kBlockN, "A and B stages share one box shape (and one tile size)");
static_assert(kWgRows == 64, "wgmma's M is 64");
static_assert(2 * kStages * 8 <= kBarrierBytes, "the barriers fit their space");
static_assert(kSmemBytesFor<float> == 197760 && kSmemBytesFor<float> <= 227 * 1024, "the ring and an f32 output tile fit an sm_90 CTA's shared memory");
static_assert(128 * kProducerRegs + 128 * kConsumers * kConsumerRegs <= 65536, "the register split fits the SM's file");
static_assert(kProducerRegs % 8 == 0 && kConsumerRegs % 8 == 0, "setmaxnreg counts are multiples of 8");

}  // namespace zt::hopper::gemm90
