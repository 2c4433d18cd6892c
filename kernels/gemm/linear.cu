// linear.cu: the unquantized linear (zt_linear): f16/bf16 through the tensor-core GEMM of
// gemm_common.cuh (HalfOp, linear_half.cuh), f32 through a tiled SIMT GEMM (exact fp32, no
// TF32); bias and GELU-tanh in the epilogue, with the extra roundings the ZT_LINEAR_ROUND_* flags
// ask for (gemm_common.cuh's Epilogue). The CUTLASS variant (linear_cutlass.cu, one rounding
// only) is chosen where it measures faster and no flag is set.
#include "gemm/linear_half.cuh"
#include "hopper/linear_sm90.h"

namespace {

using namespace zt::gemm;

zt_status noted(zt_status st, const char* kernel) {
    if (st == ZT_OK) zt::note_kernel(kernel);
    return st;
}

struct Launch {
    cudaStream_t stream;
    int64_t m, n, k;
    const void* x;
    const void* w;
    Epilogue ep;
    void* y;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same<T, float>::value) {
            dim3 grid((unsigned)((n + 15) / 16), (unsigned)((m + 15) / 16));
            linear_f32_kernel<float><<<grid, dim3(16, 16), 0, stream>>>(m, n, k, static_cast<const float*>(x), static_cast<const float*>(w), ep, static_cast<float*>(y));
            return noted(zt::check_launch("zt_linear"), "linear_f32_simt");
        } else {
            // Hopper: the TMA + wgmma kernel wherever TMA can read the rows (linear_sm90.h).
            if (zt::hopper::sm90_shape_ok(x, w, m, n, k, sizeof(T)) && zt::hopper::current_device_is_sm90())
                return zt::hopper::linear_sm90(stream, std::is_same<T, __half>::value ? ZT_DTYPE_F16 : ZT_DTYPE_BF16, m, n, k, x, w, ep, y);
            GemmArgs a{m, n, k, x, w, ep, nullptr, nullptr, 0};
            return noted(launch_gemm<HalfOp<T>, T>(stream, a, static_cast<T*>(y), "zt_linear"), "linear_mma_sm80");
        }
    }
};

}  // namespace

ZT_API zt_status zt_linear(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, int32_t rounding, const void* x, const void* weight,
                           const void* bias, void* y) {
    if (m < 0 || n < 0 || k < 0 || !grid_fits(m) || (m + 15) / 16 > 65535) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear: bad or too large extents");
    if (!rounding_known(rounding)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear: unknown rounding flags");
    if (m == 0 || n == 0) return ZT_OK;
    if (!x || !weight || !y) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear: null pointer");
    Epilogue ep{nullptr, nullptr, static_cast<const float*>(bias), gelu, rounding};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), m, n, k, x, weight, ep, y});
}
