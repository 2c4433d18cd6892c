// rms_norm.cu: y = x * rsqrt(mean(x^2) + eps) * weight (zt_rms_norm), on the row_norm engine.
// Layout: x, y [rows, dim] contiguous, weight [dim]; f32/f16/bf16; fp32 math, one rounding
// (rounding = 1: also x * rstd rounded before the weight, as WanRMSNorm).
#include "norm/row_norm.cuh"

namespace {

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int dim;
    float eps;
    int per_op;
    const void* x;
    const void* weight;
    void* y;

    template <typename T>
    zt_status operator()() const {
        zt::RowSource<T> src{static_cast<const T*>(x), dim};
        zt::AffineEpilogue<T> ep{static_cast<const T*>(weight), nullptr, per_op};
        bool vec = zt::aligned16(x) && zt::aligned16(weight);
        return zt::launch_row_norm<T, true>(stream, rows, dim, eps, src, ep, static_cast<T*>(y), vec, "zt_rms_norm");
    }
};

}  // namespace

ZT_API zt_status zt_rms_norm(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t dim, float eps, int32_t rounding, const void* x, const void* weight, void* y) {
    if (rows < 0 || dim <= 0) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_rms_norm: rows < 0 or dim <= 0");
    }
    if (zt_status s = zt::check_rounding("zt_rms_norm: rounding must be 0 (fused) or 1 (per-op)", rounding)) {
        return s;
    }
    if (rows == 0) {
        return ZT_OK;
    }
    if (!x || !weight || !y) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_rms_norm: null pointer");
    }
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), rows, dim, eps, rounding, x, weight, y});
}
