// qk_norm_rope_int8.cu: QK-norm + RoPE + SageAttention INT8 (zt_qk_norm_rope_int8).
//   1. qk_norm_rope into the caller's f32 workspace [B, H, N, D];
//   2. smoothing (K): mean over tokens of each (b, h, d), one thread per channel, accumulated in
//      double (N reaches 32,760: an fp32 running sum would lose the last digits the scale needs);
//   3. one warp per (b, h, block of block_rows tokens): amax of (v - mean) * q_scale, scale =
//      max(amax / 127, 1e-8), q = clamp(rint(v' / scale), -127, 127), round half to even
//      (__float2int_rn), with IEEE division: the rule of QuantMath.cs, so the CPU backends agree.
#include "rope/qk_norm_rope.cuh"

namespace {

__global__ void channel_mean_kernel(int64_t channels, int tokens, int head_dim, const float* __restrict__ ws, float* __restrict__ mean) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= channels) {
        return;
    }
    int64_t bh = i / head_dim;
    int c = (int)(i - bh * head_dim);
    double s = 0;
    for (int n = 0; n < tokens; ++n) {
        s += ws[(bh * tokens + n) * head_dim + c];
    }
    mean[i] = (float)(s / tokens);
}

__device__ __forceinline__ float smoothed(const float* ws, const float* mean, int64_t start, int64_t e, int64_t bh, int head_dim, float q_scale) {
    float v = ws[start + e];
    if (mean) {
        v -= mean[bh * head_dim + e % head_dim];
    }
    return v * q_scale;
}

__global__ void block_quant_kernel(int64_t groups, int tokens, int head_dim, int block_rows, int blocks, float q_scale,
                                   const float* __restrict__ ws, const float* __restrict__ mean, int8_t* __restrict__ q, float* __restrict__ scales) {
    const int lane = threadIdx.x & 31;
    const int64_t g = (int64_t)blockIdx.x * zt::kRowsPerBlock + (threadIdx.x >> 5);
    if (g >= groups) {
        return;
    }
    const int64_t bh = g / blocks;
    const int64_t n0 = (g - bh * blocks) * block_rows;
    const int64_t rows = min((int64_t)block_rows, tokens - n0);
    const int64_t count = rows * head_dim;
    const int64_t start = (bh * tokens + n0) * head_dim;
    float amax = 0.f;
    for (int64_t e = lane; e < count; e += 32) {
        amax = fmaxf(amax, fabsf(smoothed(ws, mean, start, e, bh, head_dim, q_scale)));
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    }
    const float scale = fmaxf(__fdiv_rn(amax, 127.f), 1e-8f);
    if (lane == 0) {
        scales[g] = scale;
    }
    for (int64_t e = lane; e < count; e += 32) {
        float v = __fdiv_rn(smoothed(ws, mean, start, e, bh, head_dim, q_scale), scale);
        q[start + e] = (int8_t)max(-127, min(127, __float2int_rn(v)));
    }
}

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int tokens;
    int heads;
    int head_dim;
    float eps;
    zt::Rope rope;
    const void* x;
    const void* weight;
    float* ws;

    template <typename T>
    zt_status operator()() const {
        return zt::launch_qk_norm_rope<T, float>(stream, rows, tokens, heads, head_dim, eps, rope, x, weight, ws, "zt_qk_norm_rope_int8");
    }
};

}  // namespace

ZT_API zt_status zt_qk_norm_rope_int8(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t tokens, int32_t heads, int32_t head_dim, int32_t dim,
                                      int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims, int32_t height_dims,
                                      int32_t positions, int32_t pairs, float eps, int32_t block_rows, int32_t blocks, int32_t smooth, float q_scale,
                                      const void* x, const void* weight, const void* table, void* workspace, void* q, void* scale, void* mean) {
    zt::Rope rope;
    if (zt_status s = zt::check_qk_args("zt_qk_norm_rope_int8: bad geometry, split, grid or pointer", batch, tokens, heads, head_dim, dim, frames, height,
                                        width, frame_offset, time_dims, height_dims, positions, pairs, x, weight, table, &rope)) {
        return s;
    }
    if (block_rows <= 0 || blocks != (tokens + block_rows - 1) / block_rows || !workspace || !q || !scale || (smooth != 0) != (mean != nullptr)) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_qk_norm_rope_int8: bad block rows/blocks, null output, or mean given without smoothing");
    }
    if ((int64_t)batch * tokens == 0) {
        return ZT_OK;
    }
    cudaStream_t s = zt::stream_of(stream);
    float* ws = static_cast<float*>(workspace);
    if (zt_status st = zt::dispatch_float(dtype, Launch{s, (int64_t)batch * tokens, tokens, heads, head_dim, eps, rope, x, weight, ws})) {
        return st;
    }
    float* m = static_cast<float*>(mean);
    if (smooth) {
        int64_t channels = (int64_t)batch * heads * head_dim;
        channel_mean_kernel<<<(unsigned)((channels + 255) / 256), 256, 0, s>>>(channels, tokens, head_dim, ws, m);
        if (zt_status st = zt::check_launch("zt_qk_norm_rope_int8 (mean)")) {
            return st;
        }
    }
    int64_t groups = (int64_t)batch * heads * blocks;
    block_quant_kernel<<<(unsigned)((groups + zt::kRowsPerBlock - 1) / zt::kRowsPerBlock), 32 * zt::kRowsPerBlock, 0, s>>>(
        groups, tokens, head_dim, block_rows, blocks, q_scale, ws, smooth ? m : nullptr, static_cast<int8_t*>(q), static_cast<float*>(scale));
    return zt::check_launch("zt_qk_norm_rope_int8 (quantize)");
}
