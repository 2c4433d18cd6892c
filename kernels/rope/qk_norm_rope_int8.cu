// qk_norm_rope_int8.cu: QK-norm + RoPE + SageAttention INT8 (zt_qk_norm_rope_int8).
//   1. qk_norm_rope into the caller's f32 workspace in q's layout ([B, H, N, D] or [B, N, H, D]:
//      one head's tokens are then rows of head_dim floats a stride apart, see HeadRows);
//   2. smoothing (K) with smooth = 1 (smooth = 2 takes the caller's mean and skips this): mean
//      over tokens of each (b, h, d), accumulated in double (N reaches 32,760:
//      an fp32 running sum would lose the last digits the scale needs), in two passes so no thread
//      reads more than one chunk of tokens: channel_partial_kernel, one thread per (b, h, chunk of
//      kMeanRows tokens, channel), channel fastest so a warp reads contiguous runs; then
//      channel_mean_total (quant/channel_mean.cuh), one CTA per (b, h, 32 channels) whose kMeanSlices warps each add a
//      contiguous run of the chunk sums, combined in warp order (fixed order: same bits every run).
//      The partials follow the f32 rows in the caller's workspace (workspace_count says how much
//      there is); a single chunk skips them;
//   3. one warp per (b, h, block of block_rows tokens) (block_rows = 1: per row of q in memory
//      order, so the scales come out in q's order without D): amax of (v - mean) * q_scale, scale =
//      max(amax / 127, 1e-8), q = clamp(rint(v' / scale), -127, 127), round half to even
//      (__float2int_rn), with IEEE division: the rule of QuantMath.cs, so the CPU backends agree.
#include "quant/channel_mean.cuh"
#include "quant/quant_format.cuh"
#include "rope/qk_norm_rope.cuh"

namespace {

// Where head (b, h) = bh's token rows are in a [B, H, N, D] (hnd) or [B, N, H, D] (nhd) tensor:
// token n of it starts at base + n * stride.
struct HeadRows {
    int64_t base, stride;
    __device__ __forceinline__ HeadRows(int64_t bh, int tokens, int heads, int head_dim, bool nhd)
        : base(nhd ? ((bh / heads) * tokens * heads + bh % heads) * head_dim : bh * tokens * head_dim),
          stride(nhd ? (int64_t)heads * head_dim : (int64_t)head_dim) {}
};

using zt::quant::kMeanRows;
using zt::quant::kMeanSlices;
using zt::quant::kMeanThreads;

// Writes the mean itself when there is one chunk (part == nullptr), else the chunk's double sum.
__global__ void __launch_bounds__(kMeanThreads) channel_partial_kernel(int64_t cells, int tokens, int heads, int head_dim, int chunks, bool nhd, const float* __restrict__ ws,
                                                                       double* __restrict__ part, float* __restrict__ mean) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;  // (b, h, chunk, channel), channel fastest
    if (i >= cells) {
        return;
    }
    const int64_t cell = i / head_dim;
    const int c = (int)(i - cell * head_dim);
    const int64_t bh = cell / chunks;
    const int n0 = (int)(cell - bh * chunks) * kMeanRows, rows = min(tokens - n0, kMeanRows);
    const HeadRows hr(bh, tokens, heads, head_dim, nhd);
    const float* p = ws + hr.base + n0 * hr.stride + c;
    double s = 0;
#pragma unroll 8
    for (int n = 0; n < rows; ++n) {
        s += p[n * hr.stride];
    }
    if (part) {
        part[i] = s;
    } else {
        mean[bh * head_dim + c] = (float)(s / tokens);
    }
}


// kPer smoothed values of the f32 workspace at e (channel c .. c + kPer - 1 of one token: head_dim
// % kPer == 0), each (v - mean[c]) * q_scale.
template <int kPer>
__device__ __forceinline__ void smoothed(const float* ws, const float* mean_bh, int64_t e, int c, float q_scale, float (&v)[kPer]) {
    zt::load_vals<float, kPer>(ws + e, v);
    float m[kPer];
    if (mean_bh) {
        zt::load_vals<float, kPer>(mean_bh + c, m);
    }
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
        v[k] = (mean_bh ? v[k] - m[k] : v[k]) * q_scale;
    }
}

// One warp per (b, h, block of block_rows tokens), or with block_rows = 1 per row g of q in memory
// order (scale g: [B, H, N] or [B, N, H]). Lanes take kPer-element packs (16 bytes of f32 in, 4
// code bytes out when head_dim % 4 == 0, else single elements); the (token, channel) of each pack
// comes from a division-free walk, and the group is counted in 32 bits (block_rows * head_dim).
template <int kPer>
__global__ void block_quant_kernel(int64_t groups, int tokens, int heads, int head_dim, int block_rows, int blocks, bool nhd, float q_scale,
                                   const float* __restrict__ ws, const float* __restrict__ mean, int8_t* __restrict__ q, float* __restrict__ scales) {
    const int lane = threadIdx.x & 31;
    const int64_t g = (int64_t)blockIdx.x * zt::kRowsPerBlock + (threadIdx.x >> 5);
    if (g >= groups) {
        return;
    }
    int64_t bh, start, stride;
    int rows;
    if (block_rows == 1) {
        bh = nhd ? (g / ((int64_t)tokens * heads)) * heads + g % heads : g / tokens;
        start = g * head_dim, stride = head_dim, rows = 1;
    } else {
        bh = g / blocks;
        const int n0 = (int)(g - bh * blocks) * block_rows;
        const HeadRows hr(bh, tokens, heads, head_dim, nhd);
        start = hr.base + n0 * hr.stride, stride = hr.stride, rows = min(block_rows, tokens - n0);
    }
    const int width = head_dim / kPer;  // packs per token
    const int count = rows * width;
    const float* wg = ws + start;
    const float* mean_bh = mean ? mean + bh * head_dim : nullptr;
    float amax = 0.f;
    float v[kPer];
    zt::RowWalk w(lane, 32, width);
    for (int e = lane; e < count; e += 32, w.next()) {
        smoothed<kPer>(wg, mean_bh, w.r * stride + w.c * kPer, w.c * kPer, q_scale, v);
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
            amax = fmaxf(amax, fabsf(v[k]));
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    }
    const float scale = fmaxf(__fdiv_rn(amax, 127.f), 1e-8f);
    if (lane == 0) {
        scales[g] = scale;
    }
    zt::RowWalk o(lane, 32, width);
    for (int e = lane; e < count; e += 32, o.next()) {
        const int64_t at = o.r * stride + o.c * kPer;
        smoothed<kPer>(wg, mean_bh, at, o.c * kPer, q_scale, v);
        zt::store_codes<zt::Int8Format, kPer>(q + start + at, v, scale);
    }
}

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int tokens;
    int heads;
    int head_dim;
    float eps;
    bool nhd;
    zt::Rope rope;
    const void* x;
    const void* weight;
    float* ws;

    template <typename T>
    zt_status operator()() const {
        return zt::launch_qk_norm_rope<T, float>(stream, rows, tokens, heads, head_dim, eps, nhd, rope, x, weight, ws, "zt_qk_norm_rope_int8");
    }
};

}  // namespace

ZT_API zt_status zt_qk_norm_rope_int8(zt_stream stream, zt_dtype dtype, int32_t layout, int32_t batch, int32_t tokens, int32_t heads, int32_t head_dim,
                                      int32_t dim, int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims,
                                      int32_t height_dims, int32_t positions, int32_t pairs, float eps, int32_t block_rows, int32_t blocks, int32_t smooth,
                                      float q_scale, int64_t workspace_count, int64_t rows, const void* x, const void* weight, const void* table,
                                      void* workspace, void* q, void* scale, void* mean) {
    zt::Rope rope;
    if (zt_status s = zt::check_qk_args("zt_qk_norm_rope_int8: bad layout, geometry, split, grid or pointer", layout, rows, batch, tokens,
                                        heads, head_dim, dim, frames, height, width, frame_offset, time_dims, height_dims, positions, pairs, x,
                                        weight, table, &rope)) {
        return s;
    }
    if (block_rows <= 0 || blocks != (tokens + block_rows - 1) / block_rows || !workspace || !q || !scale || smooth < 0 || smooth > 2 ||
        (smooth != 0) != (mean != nullptr)) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_qk_norm_rope_int8: bad block rows/blocks or smooth mode, null output, or mean without smoothing");
    }
    if ((int64_t)(block_rows < tokens ? block_rows : tokens) * head_dim > 0x7FFFFFFF) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_qk_norm_rope_int8: a quantization block over 2^31 - 1 elements");
    }
    // The workspace: the f32 rows in q's layout, then (computing the mean over two or more
    // chunks) the chunk sums as doubles from the next even float.
    const int64_t elems = rows * head_dim;
    const int chunks = (tokens + kMeanRows - 1) / kMeanRows;
    const int64_t cells = (int64_t)batch * heads * chunks * head_dim;
    const bool compute_mean = smooth == 1;
    const int64_t need = elems + (compute_mean && chunks > 1 ? (elems & 1) + 2 * cells : 0);
    if (workspace_count < need) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_qk_norm_rope_int8: workspace_count below the f32 rows plus the mean's double partial sums");
    }
    if ((int64_t)batch * tokens == 0) {
        return ZT_OK;
    }
    cudaStream_t s = zt::stream_of(stream);
    float* ws = static_cast<float*>(workspace);
    if (zt_status st = zt::dispatch_float(dtype, Launch{s, (int64_t)batch * tokens, tokens, heads, head_dim, eps, layout == 1, rope, x, weight, ws})) {
        return st;
    }
    float* m = static_cast<float*>(mean);
    if (compute_mean) {
        const int64_t bh = (int64_t)batch * heads;
        double* part = chunks > 1 ? reinterpret_cast<double*>(ws + elems + (elems & 1)) : nullptr;
        if (part && (reinterpret_cast<uintptr_t>(part) & 7) != 0) {
            return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_qk_norm_rope_int8: the workspace is not 8-byte aligned");
        }
        channel_partial_kernel<<<(unsigned)((cells + kMeanThreads - 1) / kMeanThreads), kMeanThreads, 0, s>>>(cells, tokens, heads, head_dim, chunks, layout == 1, ws, part, m);
        if (part) {
            zt::quant::channel_mean_total<kMeanSlices><<<dim3((unsigned)bh, (unsigned)((head_dim + 31) / 32)), dim3(32, kMeanSlices), 0, s>>>(tokens, head_dim, chunks, part, m);
        }
        if (zt_status st = zt::check_launch("zt_qk_norm_rope_int8 (mean)")) {
            return st;
        }
    }
    const int64_t groups = (int64_t)batch * heads * blocks;
    const unsigned qblocks = (unsigned)((groups + zt::kRowsPerBlock - 1) / zt::kRowsPerBlock);
    const float* mq = smooth ? m : nullptr;
    // 16-byte packs: ws and mean are f32 from the allocator (16-byte aligned), q needs 4.
    if (head_dim % 4 == 0 && (reinterpret_cast<uintptr_t>(q) & 3) == 0 && (reinterpret_cast<uintptr_t>(ws) & 15) == 0 &&
        (reinterpret_cast<uintptr_t>(mq) & 15) == 0) {
        block_quant_kernel<4><<<qblocks, 32 * zt::kRowsPerBlock, 0, s>>>(groups, tokens, heads, head_dim, block_rows, blocks, layout == 1, q_scale, ws,
                                                                          mq, static_cast<int8_t*>(q), static_cast<float*>(scale));
    } else {
        block_quant_kernel<1><<<qblocks, 32 * zt::kRowsPerBlock, 0, s>>>(groups, tokens, heads, head_dim, block_rows, blocks, layout == 1, q_scale, ws,
                                                                          mq, static_cast<int8_t*>(q), static_cast<float*>(scale));
    }
    return zt::check_launch("zt_qk_norm_rope_int8 (quantize)");
}
