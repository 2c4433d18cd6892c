// linear_fp8.cu: FP8 E4M3 linear (zt_linear_fp8) on the tensor-core GEMM of gemm_common.cuh, the
// E4M3 bytes staged as they are (64 of K per stage, the INT8 geometry), fp32 accumulation, the
// per-token x per-channel scales in the epilogue.
//   sm_89+   mma.sync.m16n8k32.row.col.f32.e4m3.e4m3.f32 on the ldmatrix fragments directly.
//   sm_80    (and the compute_80 PTX of the emulated device) no FP8 MMA: each 4-byte fragment
//            word is widened to two f16x2 words in registers (exact: E4M3 is a subset of f16) and
//            one 32-byte k-step becomes two m16n8k16 f16 MMAs. The k order inside a k-step is
//            permuted the same way for x and W, so the products are the same; only the fp32
//            summation order differs from the sm_89 path.
//   sm_90    (9.x devices, k % 16 == 0, 16-byte aligned rows) the TMA + wgmma kernel of
//            hopper/linear_sm90.cu (m64n128k32 e4m3 wgmma, its partial sums promoted into fp32
//            every 128 of K because Hopper's fp8 accumulation keeps ~14 bits; the same epilogue).
// (A CUTLASS sm_89/sm_90 kernel is the fast path where it is built.)
#include "gemm/gemm_common.cuh"
#include "hopper/linear_sm90.h"

namespace {

using namespace zt::gemm;

#if !ZT_GEMM_E4M3_MMA
// Four E4M3 bytes b0..b3 -> f16x2 words lo = (b0, b1), hi = (b2, b3), exactly: the byte moves to
// the top of a 16-bit lane and one bit right, which is an f16 with E4M3's sign, exponent field and
// mantissa (bias 15 instead of 7), then x 2^8 re-biases it (subnormals included, f16 keeps them).
// E4M3's NaN (S.1111.111) would become 480 * 256 = inf: its quiet bit is set afterwards.
__device__ __forceinline__ void e4m3x4_to_f16x2(uint32_t v, uint32_t& lo, uint32_t& hi) {
    const uint32_t nan = ((v & 0x7F7F7F7Fu) + 0x01010101u) & 0x80808080u;  // 0x80 in each NaN byte
    uint32_t p = __byte_perm(v, 0u, 0x1404), r = __byte_perm(v, 0u, 0x3424);
    p = ((p >> 1) & 0x3F803F80u) | (p & 0x80008000u);
    r = ((r >> 1) & 0x3F803F80u) | (r & 0x80008000u);
    const __half2 rebias = __floats2half2_rn(256.f, 256.f);
    __half2 hp = __hmul2(*reinterpret_cast<__half2*>(&p), rebias), hr = __hmul2(*reinterpret_cast<__half2*>(&r), rebias);
    lo = *reinterpret_cast<uint32_t*>(&hp) | (__byte_perm(nan, 0u, 0x1404) >> 6);
    hi = *reinterpret_cast<uint32_t*>(&hr) | (__byte_perm(nan, 0u, 0x3424) >> 6);
}
#endif

// One 32-byte k-step (32 elements of K). Fragment words hold K bytes 4t..4t+3 (A rows g, g+8; B
// column g) at offsets 0 and 16. Widened, bytes 4t, 4t+1 play f16 k = 2t, 2t+1 and bytes 4t+2,
// 4t+3 play k = 8+2t, 9+2t of an m16n8k16, for A and B alike.
struct E4m3Op {
    static constexpr int kElemBytes = 1;
    using Acc = float;
    static constexpr bool kTwoLevel = false;
    static constexpr int kMinBlocks = 1;  // gemm_policy.h: 128 registers spill here
    static __device__ __forceinline__ void step(float (&acc)[kTilesM][kTilesN][4], const uint32_t (&a)[kTilesM][4], const uint32_t (&b)[kTilesN][2]) {
#if ZT_GEMM_E4M3_MMA
#pragma unroll
        for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
            for (int ni = 0; ni < kTilesN; ++ni) mma_e4m3(acc[mi][ni], a[mi], b[ni]);
#else
#pragma unroll
        for (int half = 0; half < 2; ++half) {  // K bytes 0..15, then 16..31 of the k-step
            uint32_t bh[kTilesN][2];
#pragma unroll
            for (int ni = 0; ni < kTilesN; ++ni) e4m3x4_to_f16x2(b[ni][half], bh[ni][0], bh[ni][1]);
#pragma unroll
            for (int mi = 0; mi < kTilesM; ++mi) {
                uint32_t ah[4];
                e4m3x4_to_f16x2(a[mi][2 * half], ah[0], ah[2]);      // row g
                e4m3x4_to_f16x2(a[mi][2 * half + 1], ah[1], ah[3]);  // row g + 8
#pragma unroll
                for (int ni = 0; ni < kTilesN; ++ni) mma_f16(acc[mi][ni], ah, bh[ni]);
            }
        }
#endif
    }
};

struct Launch {
    cudaStream_t stream;
    GemmArgs a;
    void* y;
    template <typename T>
    zt_status operator()() const {
        zt_status st = launch_gemm<E4m3Op, T>(stream, a, static_cast<T*>(y), "zt_linear_fp8");
        // One name for the mma.sync kernel, as linear_int8's: its k-steps are e4m3 MMAs where the
        // sm_89+ code runs and widened f16 MMAs on the compute_80 PTX.
        if (st == ZT_OK) zt::note_kernel("linear_fp8_mma_sm80");
        return st;
    }
};

}  // namespace

ZT_API zt_status zt_linear_fp8(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, int32_t rounding, const void* x, const void* weight,
                               const void* x_scale, const void* w_scale, const void* bias, void* y) {
    if (m < 0 || n < 0 || k < 0 || !grid_fits(m)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_fp8: bad or too large extents");
    if (!rounding_known(rounding)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_fp8: unknown rounding flags");
    if (m == 0 || n == 0) return ZT_OK;
    if (!x || !weight || !x_scale || !w_scale || !y) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_fp8: null pointer");
    Epilogue ep{static_cast<const float*>(x_scale), static_cast<const float*>(w_scale), static_cast<const float*>(bias), gelu, rounding};
    // Hopper: the TMA + wgmma kernel wherever TMA can read the rows (k % 16 == 0, aligned bases).
    if (zt::hopper::sm90_shape_ok(x, weight, m, n, k, 1) && zt::hopper::current_device_is_sm90())
        return zt::hopper::linear_fp8_sm90(zt::stream_of(stream), dtype, m, n, k, x, weight, ep, y);
    GemmArgs a{m, n, k, x, weight, ep, nullptr, nullptr, 0};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), a, y});
}
