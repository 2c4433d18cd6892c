// linear_fp8.cu: FP8 E4M3 linear (zt_linear_fp8). E4M3 operands are widened to f16 while they
// are staged into shared memory (exact) and multiplied by the f16 tensor-core GEMM with fp32
// accumulation: correct on every sm_80+ GPU with CUDA 11.8. (Native FP8 MMA needs sm_89 and
// PTX ISA 8.4; a CUTLASS sm_89/sm_90 kernel is the fast path where it is built.)
#include "gemm/linear_half.cuh"

namespace {

using namespace zt::gemm;

struct Launch {
    cudaStream_t stream;
    int64_t m, n, k;
    const uint8_t* x;
    const uint8_t* w;
    Epilogue ep;
    void* y;

    template <typename T>
    zt_status operator()() const {
        dim3 grid((unsigned)((n + kBlockN - 1) / kBlockN), (unsigned)((m + kBlockM - 1) / kBlockM));
        linear_half_kernel<uint8_t, __half, E4M3ToHalf, T><<<grid, kThreads, 0, stream>>>(m, n, k, x, w, ep, E4M3ToHalf{}, static_cast<T*>(y));
        return zt::check_launch("zt_linear_fp8");
    }
};

}  // namespace

ZT_API zt_status zt_linear_fp8(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, const void* x, const void* weight,
                               const void* x_scale, const void* w_scale, const void* bias, void* y) {
    if (m < 0 || n < 0 || k < 0 || !grid_fits(m)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_fp8: bad or too large extents");
    if (m == 0 || n == 0) return ZT_OK;
    if (!x || !weight || !x_scale || !w_scale || !y) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_fp8: null pointer");
    Epilogue ep{static_cast<const float*>(x_scale), static_cast<const float*>(w_scale), static_cast<const float*>(bias), gelu};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), m, n, k, static_cast<const uint8_t*>(x), static_cast<const uint8_t*>(weight), ep, y});
}
