// flash_sm90_policy.h: tile sizes and shared-memory plan of the sm_90a attention kernel
// (attention_sm90.cu), apart from the kernel, as flash_policy.h is for the mma.sync one.
//
// CTA = 3 warpgroups (384 threads): warpgroup 0 is the producer (one elected thread issues every
// TMA load; the rest of it idles at a low register budget), warpgroups 1 and 2 are consumers of
// 64 query rows each (wgmma's M is 64 per warpgroup), so kBlockM = 128 rows share every K/V
// tile brought in, as FlashAttention-3's hopper/ kernels do for D = 64 and 128.
//
// Key tile kBlockN = 128 for both head dims: S = Q K^T is one m64n128 accumulator (64 f32 per
// thread), P is 32 registers as f16/bf16, O is D / 2 f32 (32 or 64): with setmaxnreg giving the
// consumers 240 registers, D = 128 has S + P + O = 160 live plus addressing and softmax state.
// A 176-key tile (FA3's choice for D = 128) is not a multiple of the 64-key boundary the mask
// bounds and the Sage K-scale blocks use; 128 is.
//
// Shared memory (1024-byte aligned for the 128-byte swizzle; every operand is stored as
// D / 64 column chunks of [rows][128 bytes], the layout TMA's SWIZZLE_128B writes and a wgmma
// descriptor reads):
//   D =  64: Q 16 KB + 4 stages x (K 16 KB + V 16 KB) = 144 KB
//   D = 128: Q 32 KB + 2 stages x (K 32 KB + V 32 KB) = 160 KB (3 stages, 224 KB, would leave
//            no room under sm_90's 227 KB once the barriers and the alignment slack are added)
// Sage's INT8 Q/K and e4m3 V codes are laid out otherwise (flash_sm90_traits.cuh; SageSmem below).
// One CTA per SM either way (384 threads at up to 240 registers for the consumers); the O tile
// of the epilogue reuses each consumer's own Q rows.
#pragma once

namespace zt::hopper::attn90 {

constexpr int kConsumers = 2;                       // consumer warpgroups
constexpr int kWgRows = 64;                         // query rows per consumer warpgroup (wgmma M)
constexpr int kBlockM = kConsumers * kWgRows;       // query rows per CTA: 128
constexpr int kThreads = 128 * (1 + kConsumers);    // producer warpgroup + consumers
constexpr int kBlockN = 128;                        // keys per tile
constexpr int kChunkCols = 64;                      // 16-bit columns per 128-byte swizzled row
constexpr int kAlign = 1024;                        // the 128-byte swizzle repeats every 8 rows x 128 bytes
template <int D> constexpr int kStages = D <= 64 ? 4 : 2;
// FA3's ping-pong between the consumer warpgroups (flash_sm90_mainloop.cuh's PingPong).
constexpr bool kPingPong = true;

// The block-sparse kernels' condition on the block map: a CTA's 128 rows lie in one query block
// (one LUT row), and key blocks are whole 64-key halves of a tile.
constexpr bool sparse_blocks_fit(int block_q, int block_k) { return block_q % kBlockM == 0 && block_k % (kBlockN / 2) == 0; }

// Register budgets (setmaxnreg): 24 for the producer, 240 for the consumers:
// (24 + 2 x 240) x 128 = 64512 of the SM's 65536.
constexpr int kProducerRegs = 24;
constexpr int kConsumerRegs = 240;

// The plan of one variant: kQkBytes per Q/K element (2: f16/bf16; 1: Sage's INT8), kVBytes per
// V element (2, or 1: Sage's e4m3 codes), kS stages. The Q region is always the 16-bit O tile's
// size (the epilogue stages O there); an INT8 Q uses each warpgroup's first 64 x D bytes of its
// own O rows (flash_sm90_traits.cuh's SageTr::load_q).
template <int D, int kQkBytes = 2, int kVBytes = 2, int kS = kStages<D>>
struct Smem {
    static constexpr int kStageCount = kS;
    static constexpr int kChunks = D / kChunkCols;        // 64-column chunks of a 16-bit operand (and of O)
    static constexpr int kQBytes = kBlockM * D * 2;
    static constexpr int kKTileBytes = kBlockN * D * kQkBytes;
    static constexpr int kVTileBytes = kBlockN * D * kVBytes;
    static constexpr int kQChunkBytes = kBlockM * 128;   // one 64-column chunk of Q (of O)
    static constexpr int kTileChunkBytes = kBlockN * 128;
    static constexpr int kBarriers = 1 + 3 * kS;  // q_full, k_full[], v_full[], empty[]
    static constexpr int kBytes = kAlign + kQBytes + kS * (kKTileBytes + kVTileBytes) + 8 * kBarriers;
    static_assert(kBytes <= 227 * 1024, "over sm_90's 227 KB of shared memory per CTA");
};

// Sage (INT8 Q/K, V 16-bit or e4m3): smaller K tiles leave room for more stages.
//   D =  64: Q 16 KB + 4 x (K 8 KB + V 16 or 8 KB) = 112 or 80 KB
//   D = 128: Q 32 KB + 3 x (K 16 KB + V 32 KB) = 176 KB (pv 16-bit); 4 x (16 + 16 KB) = 160 KB (e4m3)
template <int D, int kPv> using SageSmem = Smem<D, 1, kPv == 1 ? 1 : 2, D <= 64 || kPv == 1 ? 4 : 3>;

}  // namespace zt::hopper::attn90
