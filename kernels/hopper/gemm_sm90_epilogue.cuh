// gemm_sm90_epilogue.cuh: the epilogue of the sm_90a GEMMs: the accumulator fragment through
// gemm_common.cuh's Epilogue in registers, staged in shared memory, then written to y by whole
// rows. The math is the Epilogue's (per-token x per-channel scales, bias, GELU-tanh, the
// ZT_LINEAR_ROUND_* roundings), applied per element exactly as the mma.sync kernels do and
// rounded to TOut once (round to nearest even): equal accumulators give the same bits (see
// linear_sm90.cu on when they differ).
//
// Fragment of m64n128 (PTX ISA, wgmma D): warp w of the warpgroup holds rows 16w .. 16w + 15;
// acc[4j + r] is row 16w + lane / 4 + 8 (r >> 1), column 8j + 2 (lane % 4) + (r & 1). Stored
// straight from there, a warp's store covers 8 rows x 4 pairs of columns: 8 segments of 16 or 32
// bytes, 59-79 % of the sectors it touches. So each warp parks its 16 rows x 128 columns, already
// in TOut, in its own slice of shared memory and reads them back by rows:
//   - rows of 128 TOut (512 or 256 bytes), 16-byte chunk c of row r at chunk c ^ key(r % 8),
//     key(r) = 2 (r % 4) + r / 4 (a permutation of 0..7, so every row's 8 chunks of a 128-byte
//     bank line land on 8 distinct lines' positions). The fragment-shaped writes are
//     conflict-free: 16-bit pairs (4 bytes, one phase) are 8 rows x one chunk j, at 8 distinct
//     positions; f32 pairs (8 bytes, done per half warp) are 4 rows (r % 4 = 0..3, the same r / 4)
//     x the chunks 2j, 2j + 1, which the key's distinct 2 (r % 4) sends to 4 distinct pairs of
//     positions. The row-shaped 16-byte reads (per quarter warp: 8 consecutive chunks of one row)
//     and the fallback's element reads (32 consecutive elements of one row) are conflict-free
//     for any permutation;
//   - vec16 (y's rows 16-byte aligned: n * sizeof(TOut) % 16 == 0 and y 16-byte aligned): each
//     lane stores one 16-byte chunk, a warp one f32 row (512 bytes) or two 16-bit rows per
//     instruction, rows past m and chunks past n skipped (n is then a multiple of the chunk);
//   - otherwise (n = 65 f32 / bf16 ...: no wider access is aligned on every row) the lanes store
//     consecutive elements of a row, 32 per instruction, still whole sectors of y.
// Why plain stores rather than a TMA store (cp.async.bulk.tensor shared -> global): TMA needs y's
// row stride to be a multiple of 16 bytes, so the n = 65 shapes would need this path anyway; it
// needs a third tensor map per launch and, before the buffer is reused, fence.proxy.async, a
// warpgroup barrier and bulk wait_group.read; with a slice per warp, ordinary stores need only
// __syncwarp, and they already write whole 32-byte sectors.
//
// The slices are the epilogue's own shared memory (Ring::out, after the ring and the barriers),
// never a ring stage: the producer refills the ring for the next tile during this epilogue. A
// persistent CTA reuses its slice tile after tile; the __syncwarp on entry orders the previous
// tile's reads of the slice (all lanes) before this tile's writes.
#pragma once

#include "gemm/gemm_common.cuh"
#include "hopper/gemm_sm90_policy.h"

namespace zt::hopper::gemm90 {

// One warp's slice: 16 rows x kBlockN TOut, swizzled by 16-byte chunks.
template <typename TOut>
struct OutSlice {
    static constexpr int kRows = kWgRows / 4;                     // 16: a warp's rows of the fragment
    static constexpr int kRowBytes = kBlockN * (int)sizeof(TOut); // 512 (f32) or 256 (f16, bf16)
    static constexpr int kChunkElems = 16 / (int)sizeof(TOut);
    static constexpr int kChunks = kRowBytes / 16;                // per row: 32 or 16
    static constexpr int kRowsPerStore = 32 / kChunks;            // rows a warp's 16-byte store covers: 1 or 2
    static_assert(kRowBytes % 128 == 0, "a row spans whole bank lines, so the xor with key(r) permutes a row's chunks within each line");

    // Byte offset of element c of row r.
    static __device__ __forceinline__ int offset(int r, int c) {
        const int byte = c * (int)sizeof(TOut);
        const int key = ((r & 3) << 1) | ((r >> 2) & 1);
        return r * kRowBytes + (((byte >> 4) ^ key) << 4) + (byte & 15);
    }
};

template <typename TOut>
__device__ __forceinline__ void store_pair(char* p, float v0, float v1) {
    if constexpr (std::is_same<TOut, float>::value) {
        *reinterpret_cast<float2*>(p) = make_float2(v0, v1);
    } else if constexpr (std::is_same<TOut, __half>::value) {
        *reinterpret_cast<__half2*>(p) = __floats2half2_rn(v0, v1);
    } else {
        *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(v0, v1);
    }
}

// row0: the first row of this consumer warpgroup's 64 (global index), n0 the tile's first column;
// out: the warpgroup's 4 slices (kOutWgBytes<TOut> bytes of shared memory).
template <typename TOut, typename Acc>
__device__ __forceinline__ void store_tile(const Acc (&acc)[kAccRegs], const zt::gemm::Epilogue& ep, TOut* __restrict__ y, int64_t m, int64_t n,
                                           int64_t row0, int64_t n0, bool vec16, char* out) {
    using S = OutSlice<TOut>;
    const int lane = threadIdx.x & 31, warp = (threadIdx.x >> 5) & 3;
    char* slice = out + warp * S::kRows * S::kRowBytes;
    const int64_t warp_row0 = row0 + warp * S::kRows;
    __syncwarp();  // every lane is done reading the previous tile's slice

    // The fragment into the slice. Elements past m or n are never stored to y; they are not
    // computed either (the scales and the bias have no entry there): zeros. rows, cols: how many
    // of the slice's rows and the tile's columns are inside y (32-bit compares in the loop).
    const int rows = (int)(m - warp_row0 < S::kRows ? m - warp_row0 : S::kRows);  // may be <= 0
    const int cols = (int)(n - n0 < kBlockN ? n - n0 : kBlockN);
    if (rows <= 0) return;  // the warp's rows are all past m (the last M tile)
    const int g = lane >> 2, c_lane = 2 * (lane & 3);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int r = g + 8 * h;
        const int64_t row = warp_row0 + r;
        const bool row_in = r < rows;
#pragma unroll
        for (int j = 0; j < kBlockN / 8; ++j) {
            if (8 * j >= cols) break;  // the rest of the slice's columns are past n: never read
            const int c = 8 * j + c_lane;
            const float v0 = row_in && c < cols ? ep.template apply<TOut>(row, n0 + c, (float)acc[4 * j + 2 * h]) : 0.f;
            const float v1 = row_in && c + 1 < cols ? ep.template apply<TOut>(row, n0 + c + 1, (float)acc[4 * j + 2 * h + 1]) : 0.f;
            store_pair<TOut>(slice + S::offset(r, c), v0, v1);
        }
    }
    __syncwarp();  // the slice written, by all lanes

    TOut* y_warp = y + warp_row0 * n + n0;
    if (vec16) {
        const int c = (lane % S::kChunks) * S::kChunkElems;
        if (c >= cols) return;  // n is a multiple of kChunkElems here: a chunk is all inside or all past it
#pragma unroll 4
        for (int r = lane / S::kChunks; r < S::kRows; r += S::kRowsPerStore) {
            if (r >= rows) break;
            const uint4 v = *reinterpret_cast<const uint4*>(slice + S::offset(r, c));
            *reinterpret_cast<uint4*>(y_warp + r * n + c) = v;
        }
    } else {
        for (int r = 0; r < rows; ++r) {
#pragma unroll
            for (int c = lane; c < kBlockN; c += 32) {
                if (c < cols) y_warp[r * n + c] = *reinterpret_cast<const TOut*>(slice + S::offset(r, c));
            }
        }
    }
}

}  // namespace zt::hopper::gemm90
