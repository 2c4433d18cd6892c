// channel_rms_norm.cu: the video VAE's RMS_norm over the channels of channel-last pixels, SiLU
// fused (zt_channel_rms_norm): y = act(x / max(||x||_2, eps) * sqrt(C) * gamma + bias).
// Layout: x, y [rows, C] contiguous (a pixel per row), gamma, bias [C]; f32/f16/bf16; fp32 math,
// one round-to-nearest-even store.
//
// Not row_norm_kernel: that engine's rstd is 1/sqrt(mean + eps), and F.normalize bounds the norm
// itself (max(||x||, eps)), which an epilogue cannot recover; and it gives each row a warp, while
// the VAE's pixels are 96..384 channels, 12..48 packs of 16 bytes, so most of a warp would idle.
// Policy: a group of G lanes per pixel, G the power of two >= the pixel's packs (capped at 32),
// so a warp's load covers 32/G whole consecutive pixels, one contiguous run; a lane keeps up to
// kPacks packs in registers and re-reads any beyond (from L1: C > 32 * kPacks * kPer only).
// Packs are 16 bytes (8 bf16/f16, 4 f32) when C is a multiple of them and the pointers are
// aligned, else single elements. Every lane of a warp reaches the shuffles (a pixel past the end
// only skips its loads and stores), so the full-warp masks are exact.
#include "norm/row_norm.cuh"

namespace {

constexpr int kThreads = 128;
constexpr int kPacks = 4;

// Normalized pack t at column c -> y: * scale * gamma + bias, SiLU, one rounding.
template <typename T, int kPer>
__device__ __forceinline__ void finish(int c, float (&t)[kPer], float scale, int silu, const T* gamma, const T* bias, T* out) {
    float g[kPer], b[kPer] = {};
    zt::load_vals<T, kPer>(gamma + c, g);
    if (bias) {
        zt::load_vals<T, kPer>(bias + c, b);
    }
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
        const float o = t[k] * scale * g[k] + b[k];
        t[k] = silu ? o / (1.f + expf(-o)) : o;
    }
    zt::store_vals<T, kPer>(out + c, t);
}

// zt:hot channel_rms_norm_kernel  (every norm of the VAE decoder's residual blocks, at pixel resolution; a spill fails CI)
template <typename T, int kPer>
__global__ void __launch_bounds__(kThreads, 4) channel_rms_norm_kernel(int64_t rows, int channels, int group, float eps, int silu, const T* __restrict__ x,
                                                                   const T* __restrict__ gamma, const T* __restrict__ bias, T* __restrict__ y) {
    const int sub = threadIdx.x & (group - 1);
    const int64_t row = (int64_t)blockIdx.x * (kThreads / group) + threadIdx.x / group;
    const bool live = row < rows;
    const int step = group * kPer;
    const T* in = x + (live ? row : 0) * channels;
    T* out = y + (live ? row : 0) * channels;
    float v[kPacks][kPer];
    float sq = 0.f;
#pragma unroll
    for (int p = 0; p < kPacks; ++p) {
        const int c = p * step + sub * kPer;
        if (live && c < channels) {
            zt::load_vals<T, kPer>(in + c, v[p]);
#pragma unroll
            for (int k = 0; k < kPer; ++k) sq += v[p][k] * v[p][k];
        }
    }
    for (int c = kPacks * step + sub * kPer; live && c < channels; c += step) {
        float t[kPer];
        zt::load_vals<T, kPer>(in + c, t);
#pragma unroll
        for (int k = 0; k < kPer; ++k) sq += t[k] * t[k];
    }
    // Butterfly within the group: xor offsets below G stay inside it, the order is fixed.
    for (int o = group >> 1; o > 0; o >>= 1) {
        sq += __shfl_xor_sync(0xffffffffu, sq, o);
    }
    if (!live) {
        return;
    }
    const float scale = sqrtf((float)channels) / fmaxf(sqrtf(sq), eps);
#pragma unroll
    for (int p = 0; p < kPacks; ++p) {
        const int c = p * step + sub * kPer;
        if (c < channels) {
            finish<T, kPer>(c, v[p], scale, silu, gamma, bias, out);
        }
    }
    for (int c = kPacks * step + sub * kPer; c < channels; c += step) {
        float t[kPer];
        zt::load_vals<T, kPer>(in + c, t);
        finish<T, kPer>(c, t, scale, silu, gamma, bias, out);
    }
}

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int channels;
    float eps;
    int silu;
    const void* x;
    const void* gamma;
    const void* bias;
    void* y;

    template <typename T>
    zt_status operator()() const {
        constexpr int kVec = 16 / sizeof(T);
        const bool vec = channels % kVec == 0 && zt::aligned16(x) && zt::aligned16(gamma) && zt::aligned16(y) && (!bias || zt::aligned16(bias));
        const int packs = vec ? channels / kVec : channels;
        int group = 1;
        while (group < packs && group < 32) {
            group <<= 1;
        }
        const int64_t per_block = kThreads / group;
        const int64_t blocks = (rows + per_block - 1) / per_block;
        if (blocks > 0x7FFFFFFF) {
            return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_channel_rms_norm: too many rows for one launch");
        }
        const auto* tx = static_cast<const T*>(x);
        const auto* tg = static_cast<const T*>(gamma);
        const auto* tb = static_cast<const T*>(bias);
        auto* ty = static_cast<T*>(y);
        if (vec) {
            channel_rms_norm_kernel<T, kVec><<<(unsigned)blocks, kThreads, 0, stream>>>(rows, channels, group, eps, silu, tx, tg, tb, ty);
        } else {
            channel_rms_norm_kernel<T, 1><<<(unsigned)blocks, kThreads, 0, stream>>>(rows, channels, group, eps, silu, tx, tg, tb, ty);
        }
        return zt::check_launch("zt_channel_rms_norm");
    }
};

}  // namespace

ZT_API zt_status zt_channel_rms_norm(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t channels, float eps, int32_t silu, const void* x, const void* gamma,
                                     const void* bias, void* y) {
    if (rows < 0 || channels <= 0) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_channel_rms_norm: rows < 0 or channels <= 0");
    }
    if (silu != 0 && silu != 1) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_channel_rms_norm: silu must be 0 or 1");
    }
    if (rows == 0) {
        return ZT_OK;
    }
    if (!x || !gamma || !y) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_channel_rms_norm: null pointer");
    }
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), rows, channels, eps, silu, x, gamma, bias, y});
}
