// sage_quantize.cu: SageAttention's INT8 quantization of a normed, rotated q or k (zt_sage_quantize).
// The rule of qk_norm_rope_int8 (kernels/rope/qk_norm_rope_int8.cu) read straight from the
// attention tensor (f32, f16 or bf16, HND or NHD) instead of an f32 workspace:
//   1. smoothing (K): mean over tokens of each (b, h, channel), in double, in two passes so no
//      thread reads more than one chunk: mean_partial, one thread per (b, h, chunk of 64 tokens,
//      channel), channel fastest (a warp reads 32 consecutive channels of one token); then
//      channel_mean_total (quant/channel_mean.cuh), one CTA per (b, h, 32 channels) whose 8 warps each add a contiguous run of the
//      chunk sums, combined in warp order (the same bits every run; the C# twins use this order);
//   2. quantize, one warp per (b, h, block of block_rows tokens): amax of (x - mean) * q_scale,
//      scale = max(amax / 127, 1e-8), codes round half to even with IEEE division (QuantMath.cs).
//      Lanes take 16-byte packs of one token's channels (head_dim a multiple of the pack), so a warp
//      reads whole 32-byte sectors in either layout and writes its codes as 4- or 8-byte packs.
// The ILGPU twin and the oracle: src/Attention/Flash/SageQuantize.cs.
#include "quant/channel_mean.cuh"
#include "quant/quant_format.cuh"
#include "zt_sage_quantize.h"

namespace {

using zt::quant::kMeanRows;
using zt::quant::kMeanSlices;
using zt::quant::kMeanThreads;
constexpr int kWarpsPerCta = 4;  // quantization: one warp per block of tokens

// Element offsets of x (and of the codes, which share its layout).
struct Layout {
    int heads, tokens, head_dim;
    int64_t batch_stride, head_stride, token_stride;
    __device__ __forceinline__ int64_t base(int64_t bh) const {
        const int64_t b = bh / heads;
        return b * batch_stride + (bh - b * heads) * head_stride;
    }
};

// The chunk's double sum into part, or the mean itself when there is one chunk (part null).
template <typename T>
__global__ void __launch_bounds__(kMeanThreads) mean_partial(Layout l, int64_t cells, int chunks, const T* __restrict__ x, double* __restrict__ part,
                                                             float* __restrict__ mean) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;  // (b, h, chunk, channel), channel fastest
    if (i >= cells) return;
    const int64_t cell = i / l.head_dim;
    const int c = (int)(i - cell * l.head_dim);
    const int64_t bh = cell / chunks;
    const int n0 = (int)(cell - bh * chunks) * kMeanRows, rows = min(l.tokens - n0, kMeanRows);
    const T* p = x + l.base(bh) + (int64_t)n0 * l.token_stride + c;
    double s = 0;
#pragma unroll 8
    for (int n = 0; n < rows; ++n) s += (double)zt::elem<T>::load(p[(int64_t)n * l.token_stride]);
    if (part) {
        part[i] = s;
    } else {
        mean[bh * l.head_dim + c] = (float)(s / l.tokens);
    }
}


// kPer values of token n, channels c .. c + kPer - 1, each (x - mean[c]) * q_scale in fp32.
template <typename T, int kPer>
__device__ __forceinline__ void smoothed(const T* p, const float* mean_bh, int c, float q_scale, float (&v)[kPer]) {
    zt::load_vals<T, kPer>(p, v);
    // The mean row in 16-byte packs where the channels allow (c is a multiple of kPer), else element by element.
    float m[kPer];
    if (mean_bh) {
        if constexpr (kPer % 4 == 0) {
#pragma unroll
            for (int k = 0; k < kPer; k += 4) {
                float quad[4];
                zt::load_vals<float, 4>(mean_bh + c + k, quad);
#pragma unroll
                for (int j = 0; j < 4; ++j) m[k + j] = quad[j];
            }
        } else {
#pragma unroll
            for (int k = 0; k < kPer; ++k) m[k] = mean_bh[c + k];
        }
    }
#pragma unroll
    for (int k = 0; k < kPer; ++k) v[k] = (mean_bh ? v[k] - m[k] : v[k]) * q_scale;
}

// zt:hot sage_quantize_kernel  (on the streaming path with sla precision=sage: every q and k of every SLA layer; a spill fails CI)
// One warp per (b, h, block): pack e of the block is token e / width, channels (e % width) * kPer.
template <typename T, int kPer>
__global__ void __launch_bounds__(32 * kWarpsPerCta) sage_quantize_kernel(Layout l, int64_t groups, int block_rows, int blocks, float q_scale,
                                                                          const T* __restrict__ x, const float* __restrict__ mean,
                                                                          int8_t* __restrict__ q, float* __restrict__ scales) {
    const int lane = threadIdx.x & 31;
    const int64_t g = (int64_t)blockIdx.x * kWarpsPerCta + (threadIdx.x >> 5);
    if (g >= groups) return;
    const int64_t bh = g / blocks;
    const int n0 = (int)(g - bh * blocks) * block_rows;
    const int rows = min(block_rows, l.tokens - n0);
    const int width = l.head_dim / kPer;  // packs per token
    const int count = rows * width;
    const int64_t start = l.base(bh) + (int64_t)n0 * l.token_stride;
    const float* mean_bh = mean ? mean + bh * l.head_dim : nullptr;
    float amax = 0.f;
    float v[kPer];
    for (int e = lane; e < count; e += 32) {
        const int n = e / width, c = (e - n * width) * kPer;
        smoothed<T, kPer>(x + start + (int64_t)n * l.token_stride + c, mean_bh, c, q_scale, v);
#pragma unroll
        for (int k = 0; k < kPer; ++k) amax = fmaxf(amax, fabsf(v[k]));
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float scale = zt::quant_scale(amax, 127.f, 1e-8f);
    if (lane == 0) scales[g] = scale;
    for (int e = lane; e < count; e += 32) {
        const int n = e / width, c = (e - n * width) * kPer;
        const int64_t at = start + (int64_t)n * l.token_stride + c;
        smoothed<T, kPer>(x + at, mean_bh, c, q_scale, v);
        zt::store_codes<zt::Int8Format, kPer>(q + at, v, scale);
    }
}

template <typename T>
zt_status run(cudaStream_t s, const Layout& l, int64_t bhs, int block_rows, int blocks, int smooth, float q_scale, const void* xv, double* part,
              int8_t* q, float* scale, float* mean) {
    const T* x = static_cast<const T*>(xv);
    if (smooth) {
        const int chunks = (l.tokens + kMeanRows - 1) / kMeanRows;
        const int64_t cells = bhs * chunks * l.head_dim;
        mean_partial<T><<<(unsigned)((cells + kMeanThreads - 1) / kMeanThreads), kMeanThreads, 0, s>>>(l, cells, chunks, x, chunks > 1 ? part : nullptr,
                                                                                                        mean);
        if (chunks > 1)
            zt::quant::channel_mean_total<kMeanSlices><<<dim3((unsigned)bhs, (unsigned)((l.head_dim + 31) / 32)), dim3(32, kMeanSlices), 0, s>>>(l.tokens, l.head_dim, chunks, part, mean);
        if (zt_status st = zt::check_launch("zt_sage_quantize (mean)")) return st;
    }
    const int64_t groups = bhs * blocks;
    const unsigned ctas = (unsigned)((groups + kWarpsPerCta - 1) / kWarpsPerCta);
    const float* m = smooth ? mean : nullptr;
    constexpr int kPack = 16 / (int)sizeof(T);
    // 16-byte packs of x when every token's channels start on one (the codes then need kPack-byte alignment).
    const bool packed = l.head_dim % kPack == 0 && l.token_stride % kPack == 0 && l.head_stride % kPack == 0 &&
                        l.batch_stride % kPack == 0 && (reinterpret_cast<uintptr_t>(x) & 15) == 0 && (reinterpret_cast<uintptr_t>(q) % kPack) == 0 &&
                        (reinterpret_cast<uintptr_t>(m) & 15) == 0;
    if (packed)
        sage_quantize_kernel<T, kPack><<<ctas, 32 * kWarpsPerCta, 0, s>>>(l, groups, block_rows, blocks, q_scale, x, m, q, scale);
    else
        sage_quantize_kernel<T, 1><<<ctas, 32 * kWarpsPerCta, 0, s>>>(l, groups, block_rows, blocks, q_scale, x, m, q, scale);
    return zt::check_launch("zt_sage_quantize (quantize)");
}

}  // namespace

ZT_API zt_status zt_sage_quantize(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t tokens, int32_t head_dim, int32_t layout,
                                  int32_t block_rows, int32_t smooth, float q_scale, int64_t x_count, int64_t scale_count, int64_t mean_count,
                                  int64_t work_count, const void* x, void* work, void* q, void* scale, void* mean) {
    if (batch < 0 || heads <= 0 || tokens < 0 || head_dim <= 0 || (layout != 0 && layout != 1))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_quantize: batch, tokens >= 0, heads, head_dim > 0, layout 0 (HND) or 1 (NHD)");
    if (block_rows != 16 && block_rows != 32 && block_rows != 64 && block_rows != 128)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_quantize: block_rows must be 16, 32, 64 or 128");
    const int64_t bhs = (int64_t)batch * heads, blocks = (tokens + block_rows - 1) / block_rows;
    const int chunks = (tokens + kMeanRows - 1) / kMeanRows;
    if (x_count != bhs * tokens * head_dim || scale_count != bhs * blocks || mean_count != (smooth ? bhs * head_dim : 0))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_quantize: x, scale or mean sizes disagree with the extents (mean [B, H, D] only when smooth)");
    if (!x || !q || !scale || (smooth != 0) != (mean != nullptr))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_quantize: null x, q or scale, or mean given without smoothing (or missing with it)");
    const bool partials = smooth && chunks > 1;
    if (partials && (!work || work_count < 2 * bhs * chunks * head_dim))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_quantize: work below 2 * B * H * ceil(N / 64) * D floats (the mean's double chunk sums)");
    if (partials && (reinterpret_cast<uintptr_t>(work) & 7) != 0)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_quantize: work is not 8-byte aligned (it holds doubles)");
    if ((int64_t)(block_rows < tokens ? block_rows : tokens) * head_dim > 0x7FFFFFFF)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_quantize: a quantization block over 2^31 - 1 elements");
    if (bhs * tokens == 0) return ZT_OK;
    Layout l{heads, tokens, head_dim, (int64_t)heads * tokens * head_dim, layout == 0 ? (int64_t)tokens * head_dim : head_dim,
             layout == 0 ? (int64_t)head_dim : (int64_t)heads * head_dim};
    cudaStream_t s = zt::stream_of(stream);
    double* part = partials ? static_cast<double*>(work) : nullptr;
    int8_t* codes = static_cast<int8_t*>(q);
    float* sc = static_cast<float*>(scale);
    float* mn = static_cast<float*>(mean);
    switch (dtype) {
        case ZT_DTYPE_F32: return run<float>(s, l, bhs, block_rows, (int)blocks, smooth, q_scale, x, part, codes, sc, mn);
        case ZT_DTYPE_F16: return run<__half>(s, l, bhs, block_rows, (int)blocks, smooth, q_scale, x, part, codes, sc, mn);
        case ZT_DTYPE_BF16: return run<__nv_bfloat16>(s, l, bhs, block_rows, (int)blocks, smooth, q_scale, x, part, codes, sc, mn);
        default: return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_sage_quantize: x must be f32, f16 or bf16");
    }
}
