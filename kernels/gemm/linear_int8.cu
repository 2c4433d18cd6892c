// linear_int8.cu: W8A8 GEMM with the dequantization fused (zt_linear_int8), on the tensor-core
// GEMM of gemm_common.cuh: 128 x 128 tiles, 64 of K per stage through a cp.async pipeline,
// mma.sync.m16n8k32.s8 into int32 accumulators (exact). Scheme 0: one fold at the end, then
// acc * sx[m] * sw[n] in the epilogue. Scheme 1 (128 x 128 scale tiles, one per CTA tile): after
// every 128 of K the int32 sums are folded into fp32 with sx[m/128][kt] * sw[n/128][kt] and reset,
// TurboDiffusion's rule. Then bias, GELU-tanh, one rounding (or the ZT_LINEAR_ROUND_* flags' roundings).
// On 9.x devices both schemes run hopper/linear_sm90.cu's TMA + wgmma kernel (same folds, same epilogue).
#include "gemm/gemm_common.cuh"
#include "hopper/linear_sm90.h"

namespace {

using namespace zt::gemm;

// One 32-byte k-step (32 elements of K): one m16n8k32 s8 per tile. kBlockScaled: scheme 1, the
// int32 sums folded into fp32 after every 128 of K; scheme 0 converts them once, at the end.
template <bool kBlockScaled>
struct Int8Op {
    static constexpr int kElemBytes = 1;
    static constexpr bool kTwoLevel = kBlockScaled;
    static constexpr int kMinBlocks = kBlockScaled ? 1 : kMinBlocksPerSm;  // 128 sums + 64 need more than 128 registers
    using Acc = int;
    static __device__ __forceinline__ void step(int (&acc)[kTilesM][kTilesN][4], const uint32_t (&a)[kTilesM][4], const uint32_t (&b)[kTilesN][2]) {
#pragma unroll
        for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
            for (int ni = 0; ni < kTilesN; ++ni) mma_s8(acc[mi][ni], a[mi], b[ni]);
    }
};

struct Launch {
    cudaStream_t stream;
    GemmArgs a;
    int scheme;
    void* y;
    template <typename T>
    zt_status operator()() const {
        zt_status st = scheme == 1 ? launch_gemm<Int8Op<true>, T>(stream, a, static_cast<T*>(y), "zt_linear_int8")
                                   : launch_gemm<Int8Op<false>, T>(stream, a, static_cast<T*>(y), "zt_linear_int8");
        if (st == ZT_OK) zt::note_kernel(scheme == 1 ? "linear_int8_block_mma_sm80" : "linear_int8_mma_sm80");
        return st;
    }
};

}  // namespace

ZT_API zt_status zt_linear_int8(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t scheme, int32_t gelu, int32_t rounding, int64_t x_scales,
                                int64_t w_scales, const void* x, const void* weight, const void* x_scale, const void* w_scale, const void* bias, void* y) {
    if (m < 0 || n < 0 || k < 0 || (scheme != 0 && scheme != 1)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: bad extents or scheme");
    if (!rounding_known(rounding)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: unknown rounding flags");
    int64_t kt = (k + kScaleTile - 1) / kScaleTile;
    int64_t want_x = scheme == 0 ? m : (m + kScaleTile - 1) / kScaleTile * kt;
    int64_t want_w = scheme == 0 ? n : (n + kScaleTile - 1) / kScaleTile * kt;
    if (x_scales != want_x || w_scales != want_w) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: scale counts do not match the scheme");
    if (!grid_fits(m)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: m too large for one launch");
    if (m == 0 || n == 0) return ZT_OK;
    if (!x || !weight || !x_scale || !w_scale || !y) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8: null pointer");
    const float* sx = static_cast<const float*>(x_scale);
    const float* sw = static_cast<const float*>(w_scale);
    Epilogue ep{scheme == 0 ? sx : nullptr, sw, static_cast<const float*>(bias), gelu, rounding};
    // Hopper: both schemes on the TMA + wgmma kernel wherever TMA can read the rows (the block
    // scheme promotes each 128 of K's int32 sum into fp32 with its scales there too).
    if (zt::hopper::sm90_shape_ok(x, weight, m, n, k, 1) && zt::hopper::current_device_is_sm90())
        return scheme == 0 ? zt::hopper::linear_int8_sm90(zt::stream_of(stream), dtype, m, n, k, x, weight, ep, y)
                           : zt::hopper::linear_int8_block_sm90(zt::stream_of(stream), dtype, m, n, k, x, weight, ep, sx, sw, y);
    GemmArgs a{m, n, k, x, weight, ep, sx, sw, 0};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), a, scheme, y});
}
