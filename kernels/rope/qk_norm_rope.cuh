// qk_norm_rope.cuh: the QK-norm + RoPE kernel shared by zt_qk_norm_rope (output in the input's
// type) and zt_qk_norm_rope_int8 (f32 output into a workspace). One warp per token row of
// x [B, N, H*D], kRowsPerBlock rows per block. Pass 1: sum of squares over the whole hidden dim,
// lanes striding over rotary pairs (a warp reads 64 contiguous elements per step). Pass 2: the
// pairs again, times rstd and the weight, rotated, written into [B, H, N, D] (a warp's 32 pairs
// land in one head's row: contiguous). fp32 math, one rounding.
#pragma once

#include "norm/norm_policy.h"
#include "norm/row_norm.cuh"
#include "rope/rope.cuh"

namespace zt {

// zt:hot qk_norm_rope_kernel  (on the streaming path: q and k of every self-attention; a spill fails CI)
template <typename TIn, typename TOut>
__global__ void qk_norm_rope_kernel(int64_t rows, int tokens, int heads, int head_dim, float eps, Rope rope,
                                    const TIn* __restrict__ x, const TIn* __restrict__ weight, TOut* __restrict__ out) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * kRowsPerBlock + (threadIdx.x >> 5);
    if (row >= rows) {
        return;
    }
    const int dim = heads * head_dim;
    const int pairs = head_dim / 2;
    const TIn* xr = x + row * dim;
    float sq = 0.f;
    for (int p = lane; p < dim / 2; p += 32) {
        float a = elem<TIn>::load(xr[2 * p]);
        float b = elem<TIn>::load(xr[2 * p + 1]);
        sq += a * a + b * b;
    }
    const float rstd = 1.f / sqrtf(warp_sum(sq) / dim + eps);
    const int64_t b = row / tokens;
    const int64_t n = row - b * tokens;
    for (int p = lane; p < dim / 2; p += 32) {
        int h = p / pairs;
        int j = p - h * pairs;
        float x0 = elem<TIn>::load(xr[2 * p]) * rstd * elem<TIn>::load(weight[2 * p]);
        float x1 = elem<TIn>::load(xr[2 * p + 1]) * rstd * elem<TIn>::load(weight[2 * p + 1]);
        rope.rotate(n, j, x0, x1);
        int64_t at = ((b * heads + h) * tokens + n) * head_dim + 2 * j;
        out[at] = elem<TOut>::store(x0);
        out[at + 1] = elem<TOut>::store(x1);
    }
}

template <typename TIn, typename TOut>
zt_status launch_qk_norm_rope(cudaStream_t stream, int64_t rows, int tokens, int heads, int head_dim, float eps, const Rope& rope,
                              const void* x, const void* weight, TOut* out, const char* name) {
    int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    if (blocks > 0x7FFFFFFF) {
        return fail(ZT_ERROR_INVALID_ARGUMENT, name);
    }
    qk_norm_rope_kernel<TIn, TOut><<<(unsigned)blocks, 32 * kRowsPerBlock, 0, stream>>>(
        rows, tokens, heads, head_dim, eps, rope, static_cast<const TIn*>(x), static_cast<const TIn*>(weight), out);
    return check_launch(name);
}

// The shared argument checks; fills *rope on success.
inline zt_status check_qk_args(const char* name, int32_t batch, int32_t tokens, int32_t heads, int32_t head_dim, int32_t dim,
                               int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims, int32_t height_dims,
                               int32_t positions, int32_t pairs, const void* x, const void* weight, const void* table, Rope* rope) {
    if (zt_status s = make_rope(name, head_dim, frames, height, width, frame_offset, time_dims, height_dims, positions, pairs, tokens, table, rope)) {
        return s;
    }
    if (batch < 0 || heads <= 0 || dim != heads * head_dim || !x || !weight) {
        return fail(ZT_ERROR_INVALID_ARGUMENT, name);
    }
    return ZT_OK;
}

}  // namespace zt
