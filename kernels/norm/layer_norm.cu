// layer_norm.cu: y = (x - mean) * rsqrt(var + eps) [* weight + bias] (zt_layer_norm), on the
// row_norm engine. Layout: x, y [rows, dim] contiguous; weight, bias [dim] or both null;
// f32/f16/bf16; fp32 math with the variance taken about the mean; one rounding.
#include "norm/row_norm.cuh"

namespace {

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int dim;
    float eps;
    const void* x;
    const void* weight;
    const void* bias;
    void* y;

    template <typename T>
    zt_status operator()() const {
        zt::RowSource<T> src{static_cast<const T*>(x), dim};
        zt::AffineEpilogue<T> ep{static_cast<const T*>(weight), static_cast<const T*>(bias)};
        bool vec = zt::aligned16(x) && (!weight || zt::aligned16(weight)) && (!bias || zt::aligned16(bias));
        return zt::launch_row_norm<T, false>(stream, rows, dim, eps, src, ep, static_cast<T*>(y), vec, "zt_layer_norm");
    }
};

}  // namespace

ZT_API zt_status zt_layer_norm(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t dim, float eps, const void* x, const void* weight, const void* bias, void* y) {
    if (rows < 0 || dim <= 0) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_layer_norm: rows < 0 or dim <= 0");
    }
    if (rows == 0) {
        return ZT_OK;
    }
    if (!x || !y || (!weight) != (!bias)) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_layer_norm: null x or y, or only one of weight and bias");
    }
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), rows, dim, eps, x, weight, bias, y});
}
