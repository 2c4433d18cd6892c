// qk_norm_rope.cuh: the QK-norm + RoPE kernel shared by zt_qk_norm_rope (output in the input's
// type) and zt_qk_norm_rope_int8 (f32 output into a workspace). One warp per token row of
// x [B, N, H*D], kRowsPerBlock rows per block. Pass 1: sum of squares over the whole hidden dim,
// lanes striding over rotary pairs, one access per pair (a warp reads 64 contiguous elements per
// step), kept in registers for rows up to 2048. Pass 2: the pairs times rstd and the weight,
// rotated, written into [B, H, N, D] (a warp's 32 pairs land in one or two heads' rows:
// contiguous) or, with nhd, into [B, N, H, D] (x's own order: the warp's store is the same
// contiguous run as its load). fp32 math, one rounding; the sum of squares in the same order on both paths.
#pragma once

#include "norm/norm_policy.h"
#include "norm/row_norm.cuh"
#include "quant/quant_format.cuh"
#include "rope/rope.cuh"

namespace zt {

// Pair at p as two floats: one 2 * sizeof(T)-byte access when kPair (pointers aligned to a
// pair), else two element accesses (the fallback for unaligned views).
template <typename T, bool kPair>
__device__ __forceinline__ void qk_load_pair(const T* p, float& a, float& b) {
    if constexpr (kPair) {
        float v[2];
        load_vals<T, 2>(p, v);
        a = v[0], b = v[1];
    } else {
        a = elem<T>::load(p[0]);
        b = elem<T>::load(p[1]);
    }
}

template <typename T, bool kPair>
__device__ __forceinline__ void qk_store_pair(T* p, float a, float b) {
    if constexpr (kPair) {
        const float v[2] = {a, b};
        store_vals<T, 2>(p, v);
    } else {
        p[0] = elem<T>::store(a);
        p[1] = elem<T>::store(b);
    }
}

// Pairs a lane keeps of its row between the sum of squares and the output pass (dim <= 2048:
// Wan-1.3B's 1536), so x is read once; wider rows (kHeld == 0) read it again from L1/L2.
constexpr int kQkHeldPairs = 32;

// zt:hot qk_norm_rope_kernel  (on the streaming path: q and k of every self-attention; a spill fails CI)
// Lane l handles pairs l, l + 32, ... of the row, each read with one access, so a warp's loads
// are one contiguous run; the pair's (head, j) comes from a division-free walk and the token's
// RoPE position is found once per row; a warp's 32 pairs land in one or two head rows of the
// output (contiguous runs; with nhd the row is x's, one run).
template <typename TIn, typename TOut, bool kPair, int kHeld>
__global__ void qk_norm_rope_kernel(int64_t rows, int tokens, int heads, int head_dim, float eps, bool nhd, Rope rope,
                                    const TIn* __restrict__ x, const TIn* __restrict__ weight, TOut* __restrict__ out) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * kRowsPerBlock + (threadIdx.x >> 5);
    if (row >= rows) {
        return;
    }
    const int dim = heads * head_dim;
    const int half = dim / 2;
    const int pairs = head_dim / 2;
    const TIn* xr = x + row * dim;
    const int64_t b = row / tokens;
    const int n = (int)(row - b * tokens);
    const Rope::Pos pos = rope.pos_of(n);
    // Output row of head h for this token: ((b * heads + h) * tokens + n) * head_dim (hnd) or
    // (row * heads + h) * head_dim (nhd).
    TOut* ob = nhd ? out + row * dim : out + (b * heads * tokens + n) * head_dim;
    const int64_t head_stride = nhd ? (int64_t)head_dim : (int64_t)tokens * head_dim;
    float sq = 0.f;
    if constexpr (kHeld > 0) {
        float v[kHeld][2];
#pragma unroll
        for (int s = 0; s < kHeld; ++s) {
            const int p = lane + 32 * s;
            if (p >= half) break;
            qk_load_pair<TIn, kPair>(xr + 2 * p, v[s][0], v[s][1]);
            sq += v[s][0] * v[s][0] + v[s][1] * v[s][1];
        }
        const float rstd = 1.f / sqrtf(warp_sum(sq) / dim + eps);
        RowWalk w(lane, 32, pairs);
#pragma unroll
        for (int s = 0; s < kHeld; ++s) {
            const int p = lane + 32 * s;
            if (p >= half) break;
            float w0, w1;
            qk_load_pair<TIn, kPair>(weight + 2 * p, w0, w1);
            float x0 = v[s][0] * rstd * w0;
            float x1 = v[s][1] * rstd * w1;
            rope.rotate(pos, w.c, x0, x1);
            qk_store_pair<TOut, kPair>(ob + w.r * head_stride + 2 * w.c, x0, x1);
            w.next();
        }
    } else {
        for (int p = lane; p < half; p += 32) {
            float a, c;
            qk_load_pair<TIn, kPair>(xr + 2 * p, a, c);
            sq += a * a + c * c;
        }
        const float rstd = 1.f / sqrtf(warp_sum(sq) / dim + eps);
        RowWalk w(lane, 32, pairs);
        for (int p = lane; p < half; p += 32, w.next()) {
            float x0, x1, w0, w1;
            qk_load_pair<TIn, kPair>(xr + 2 * p, x0, x1);
            qk_load_pair<TIn, kPair>(weight + 2 * p, w0, w1);
            x0 = x0 * rstd * w0;
            x1 = x1 * rstd * w1;
            rope.rotate(pos, w.c, x0, x1);
            qk_store_pair<TOut, kPair>(ob + w.r * head_stride + 2 * w.c, x0, x1);
        }
    }
}

template <typename TIn, typename TOut>
zt_status launch_qk_norm_rope(cudaStream_t stream, int64_t rows, int tokens, int heads, int head_dim, float eps, bool nhd, const Rope& rope,
                              const void* x, const void* weight, TOut* out, const char* name) {
    int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    if (blocks > 0x7FFFFFFF) {
        return fail(ZT_ERROR_INVALID_ARGUMENT, name);
    }
    const TIn* xt = static_cast<const TIn*>(x);
    const TIn* wt = static_cast<const TIn*>(weight);
    const bool paired = ((reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(weight)) & (2 * sizeof(TIn) - 1)) == 0 &&
                        (reinterpret_cast<uintptr_t>(out) & (2 * sizeof(TOut) - 1)) == 0;
    const bool held = heads * head_dim <= 64 * kQkHeldPairs;
    const dim3 grid((unsigned)blocks), block(32 * kRowsPerBlock);
    if (paired && held) {
        qk_norm_rope_kernel<TIn, TOut, true, kQkHeldPairs><<<grid, block, 0, stream>>>(rows, tokens, heads, head_dim, eps, nhd, rope, xt, wt, out);
    } else if (paired) {
        qk_norm_rope_kernel<TIn, TOut, true, 0><<<grid, block, 0, stream>>>(rows, tokens, heads, head_dim, eps, nhd, rope, xt, wt, out);
    } else {
        qk_norm_rope_kernel<TIn, TOut, false, 0><<<grid, block, 0, stream>>>(rows, tokens, heads, head_dim, eps, nhd, rope, xt, wt, out);
    }
    return check_launch(name);
}

// The shared argument checks (out_rows: the output's rows of head_dim, batch * heads * tokens in
// both layouts); fills *rope on success.
inline zt_status check_qk_args(const char* name, int32_t layout, int64_t out_rows, int32_t batch, int32_t tokens, int32_t heads, int32_t head_dim, int32_t dim,
                               int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims, int32_t height_dims,
                               int32_t positions, int32_t pairs, const void* x, const void* weight, const void* table, Rope* rope) {
    if (zt_status s = make_rope(name, head_dim, frames, height, width, frame_offset, time_dims, height_dims, positions, pairs, tokens, table, rope)) {
        return s;
    }
    if (batch < 0 || heads <= 0 || dim != heads * head_dim || (layout != 0 && layout != 1) || out_rows != (int64_t)batch * heads * tokens || !x ||
        !weight) {
        return fail(ZT_ERROR_INVALID_ARGUMENT, name);
    }
    return ZT_OK;
}

}  // namespace zt
