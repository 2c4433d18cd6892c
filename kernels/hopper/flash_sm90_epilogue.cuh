// flash_sm90_epilogue.cuh: the end of a consumer warpgroup of the sm_90a attention kernel: the
// row sums summed over the quad, the LSE (natural log, -inf for a row that saw no key, as the
// mma.sync kernel writes it), O / l rounded to the output type through shared memory, and
// 16-byte stores predicated on the row (the last CTA's rows past q_len are never written).
// With kResidual (SLA's last step), an f32 tensor laid out as O is added to O / l before rounding.
// A Traits with kOutScale scales O's columns (Sage's FP8 V), one with kLseShift adds its term to the LSE.
//
// The O tile goes into the warpgroup's own Q rows (its S = Q K^T wgmmas have all completed, and
// no other warpgroup reads them) in the same 128B-swizzled layout as Q: 16-byte chunk c of row
// r at r * 128 + ((c ^ r % 8) * 16) within each 64-column chunk, so both the fragment writes
// (8 rows, one 4-byte word each per quad) and the row reads are free of bank conflicts.
#pragma once

#include "hopper/flash_sm90_mainloop.cuh"

namespace zt::hopper::attn90 {

template <typename Tr, bool kResidual>
__device__ __forceinline__ void epilogue(const Ring<Tr>& ring, const zt::flash::Problem& p, const Tr& tr, int wg, int b, int h, int64_t m0,
                                         const Consumer<Tr>& st, typename Tr::Out* __restrict__ o, float* __restrict__ lse,
                                         const float* __restrict__ residual) {
    using T = typename Tr::Out;
    constexpr int D = Tr::kD;
    using Sm = typename Tr::Sm;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wwarp = (threadIdx.x >> 5) & 3;
    const int r0 = wg * kWgRows + wwarp * 16 + g;  // the thread's first row in the CTA tile
    const int hkv = h / p.group;
    float inv[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int64_t row = m0 + r0 + 8 * i;
        const float sum = zt::flash::quad_sum(st.row_sum[i]);
        inv[i] = sum > 0.f ? 1.f / sum : 0.f;
        float shift = 0.f;  // Sage's smoothing term, a quad-parallel dot product (every lane takes part)
        if constexpr (Tr::kLseShift)
            if (lse) shift = zt::flash::quad_sum(tr.lse_shift_part(p, b, h, hkv, row, t));
        if (lse && t == 0 && row < p.q_len)
            lse[((int64_t)b * p.heads + h) * p.q_len + row] = sum > 0.f ? 0.69314718056f * (st.row_max[i] + log2f(sum)) + shift : -INFINITY;
    }

    // O goes through this warpgroup's own Q rows with generic stores: fine while the kernel is not
    // persistent. A persistent version must fence.proxy.async and sync the CTA before the next Q
    // TMA lands in this buffer.
    wg_sync(wg);  // every warp of the warpgroup is past its last wgmma over these Q rows
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int r = r0 + 8 * i;
        const int64_t row = m0 + r;
#pragma unroll
        for (int n = 0; n < D / 8; ++n) {
            const int col = n * 8 + 2 * t;
            const int chunk = col / kChunkCols, c16 = (col % kChunkCols) / 8;
            char* at = ring.q + chunk * Sm::kQChunkBytes + r * 128 + ((c16 ^ (r & 7)) << 4) + (col % 8) * 2;
            float v0 = st.o[4 * n + 2 * i] * inv[i], v1 = st.o[4 * n + 2 * i + 1] * inv[i];
            if constexpr (Tr::kOutScale) v0 *= tr.out_scale(p, b, hkv, col), v1 *= tr.out_scale(p, b, hkv, col + 1);
            if constexpr (kResidual) {
                if (row < p.q_len) {
                    const float2 add = *reinterpret_cast<const float2*>(residual + p.q.of(b, h, row) + col);
                    v0 += add.x, v1 += add.y;
                }
            }
            *reinterpret_cast<uint32_t*>(at) = zt::flash::pack2<T>(v0, v1);
        }
    }
    wg_sync(wg);  // the warpgroup's O rows are complete

    constexpr int kRowChunks = D * 2 / 16;
    const int tid = threadIdx.x & 127;
    for (int i = tid; i < kWgRows * kRowChunks; i += 128) {
        const int rl = i / kRowChunks, c = i % kRowChunks;
        const int r = wg * kWgRows + rl;
        const int64_t row = m0 + r;
        if (row < p.q_len) {
            const char* at = ring.q + (c / 8) * Sm::kQChunkBytes + r * 128 + (((c % 8) ^ (r & 7)) << 4);
            *reinterpret_cast<uint4*>(o + p.q.of(b, h, row) + c * 8) = *reinterpret_cast<const uint4*>(at);
        }
    }
}

}  // namespace zt::hopper::attn90
