// linear_int8.cu: W8A8 GEMM with the dequantization fused (zt_linear_int8).
// 64 x 64 tiles per 128-thread block (gemm_policy.h), A and B staged through shared memory 32
// columns of K at a time, mma.sync.m16n8k32.s8 into int32 accumulators (exact). Scheme 0: one
// fold at the end, acc * sx[m] * sw[n] in the epilogue. Scheme 1 (128 x 128 tiles): after every
// 128 of K the int32 sums are folded into fp32 with sx[m/128][kt] * sw[n/128][kt] and reset,
// TurboDiffusion's rule. Then bias, GELU-tanh, one rounding.
#include "gemm/gemm_common.cuh"

namespace {

using namespace zt::gemm;

constexpr int kPitch = kBlockK + kPadBytes;  // bytes per staged row

struct Args {
    int64_t m, n, k;
    int scheme;
    const int8_t* x;
    const int8_t* w;
    const float* sx;
    const float* sw;
    zt::gemm::Epilogue ep;
};

// zt:hot linear_int8_kernel  (on the streaming path: the W8A8 linears; a spill fails CI)
template <typename TOut>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm) linear_int8_kernel(Args a, TOut* __restrict__ y) {
    __shared__ __align__(16) int8_t xs[kBlockM * kPitch];
    __shared__ __align__(16) int8_t ws[kBlockN * kPitch];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wm = warp / kWarpsN, wn = warp % kWarpsN;
    const int64_t m0 = (int64_t)blockIdx.y * kBlockM, n0 = (int64_t)blockIdx.x * kBlockN;
    const int64_t k_tiles = (a.k + kScaleTile - 1) / kScaleTile;
    int iacc[kTilesM][kTilesN][4] = {};
    float facc[kTilesM][kTilesN][4] = {};

    auto fold = [&](int64_t kt) {
#pragma unroll
        for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
            for (int ni = 0; ni < kTilesN; ++ni)
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    float s = 1.f;
                    if (a.scheme == 1) {
                        int64_t row = m0 + wm * kWarpM + mi * kMmaM + g + (r >= 2 ? 8 : 0);
                        int64_t col = n0 + wn * kWarpN + ni * kMmaN + 2 * t + (r & 1);
                        s = (row < a.m && col < a.n) ? a.sx[row / kScaleTile * k_tiles + kt] * a.sw[col / kScaleTile * k_tiles + kt] : 0.f;
                    }
                    facc[mi][ni][r] += (float)iacc[mi][ni][r] * s;
                    iacc[mi][ni][r] = 0;
                }
    };

    for (int64_t k0 = 0; k0 < a.k; k0 += kBlockK) {
        stage_tile(xs, kPitch, a.x, a.m, a.k, m0, k0, Same{});
        stage_tile(ws, kPitch, a.w, a.n, a.k, n0, k0, Same{});
        __syncthreads();
        uint32_t af[kTilesM][4], bf[kTilesN][2];
#pragma unroll
        for (int mi = 0; mi < kTilesM; ++mi) {
            int r = wm * kWarpM + mi * kMmaM + g;
            af[mi][0] = word(xs, kPitch, r, 4 * t);
            af[mi][1] = word(xs, kPitch, r + 8, 4 * t);
            af[mi][2] = word(xs, kPitch, r, 16 + 4 * t);
            af[mi][3] = word(xs, kPitch, r + 8, 16 + 4 * t);
        }
#pragma unroll
        for (int ni = 0; ni < kTilesN; ++ni) {
            int r = wn * kWarpN + ni * kMmaN + g;
            bf[ni][0] = word(ws, kPitch, r, 4 * t);
            bf[ni][1] = word(ws, kPitch, r, 16 + 4 * t);
        }
#pragma unroll
        for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
            for (int ni = 0; ni < kTilesN; ++ni) mma_s8(iacc[mi][ni], af[mi], bf[ni]);
        __syncthreads();
        if (a.scheme == 1 && ((k0 + kBlockK) % kScaleTile == 0 || k0 + kBlockK >= a.k)) fold(k0 / kScaleTile);
    }
    if (a.scheme == 0) fold(0);

#pragma unroll
    for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
        for (int ni = 0; ni < kTilesN; ++ni)
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                int64_t row = m0 + wm * kWarpM + mi * kMmaM + g + (r >= 2 ? 8 : 0);
                int64_t col = n0 + wn * kWarpN + ni * kMmaN + 2 * t + (r & 1);
                if (row < a.m && col < a.n) y[row * a.n + col] = zt::elem<TOut>::store(a.ep.apply(row, col, facc[mi][ni][r]));
            }
}

struct Launch {
    cudaStream_t stream;
    Args a;
    void* y;
    template <typename T>
    zt_status operator()() const {
        dim3 grid((unsigned)((a.n + kBlockN - 1) / kBlockN), (unsigned)((a.m + kBlockM - 1) / kBlockM));
        linear_int8_kernel<T><<<grid, kThreads, 0, stream>>>(a, static_cast<T*>(y));
        return zt::check_launch("zt_linear_int8");
    }
};

}  // namespace

ZT_API zt_status zt_linear_int8(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t scheme, int32_t gelu, int64_t x_scales,
                                int64_t w_scales, const void* x, const void* weight, const void* x_scale, const void* w_scale, const void* bias, void* y) {
    if (m < 0 || n < 0 || k < 0 || (scheme != 0 && scheme != 1)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: bad extents or scheme");
    int64_t kt = (k + kScaleTile - 1) / kScaleTile;
    int64_t want_x = scheme == 0 ? m : (m + kScaleTile - 1) / kScaleTile * kt;
    int64_t want_w = scheme == 0 ? n : (n + kScaleTile - 1) / kScaleTile * kt;
    if (x_scales != want_x || w_scales != want_w) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: scale counts do not match the scheme");
    if ((m + kBlockM - 1) / kBlockM > 65535) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: m too large for one launch");
    if (m == 0 || n == 0) return ZT_OK;
    if (!x || !weight || !x_scale || !w_scale || !y) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: null pointer");
    const float* sx = static_cast<const float*>(x_scale);
    const float* sw = static_cast<const float*>(w_scale);
    zt::gemm::Epilogue ep{scheme == 0 ? sx : nullptr, sw, static_cast<const float*>(bias), gelu};
    Args a{m, n, k, scheme, static_cast<const int8_t*>(x), static_cast<const int8_t*>(weight), sx, sw, ep};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), a, y});
}
