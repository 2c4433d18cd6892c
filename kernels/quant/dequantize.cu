// dequantize.cu: y = decode(q) * scale[group] (zt_dequantize); fp32 product, one rounding.
// Elementwise, grid-strided; the scale index follows the granularity (quant_format.cuh).
#include "elementwise/elementwise_policy.h"
#include "quant/quant_format.cuh"

namespace {

template <typename T, typename F>
__global__ void dequant_kernel(int64_t n, int64_t cols, int granularity, int block_rows, int block_cols,
                               const typename F::Code* __restrict__ q, const float* __restrict__ scale, T* __restrict__ y) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / cols;
        int64_t c = i - r * cols;
        y[i] = zt::elem<T>::store(F::decode(q[i]) * scale[zt::scale_index(granularity, r, c, cols, block_rows, block_cols)]);
    }
}

struct Args {
    cudaStream_t stream;
    int granularity;
    int64_t rows;
    int64_t cols;
    int block_rows;
    int block_cols;
    const void* q;
    const float* scale;
    void* y;
};

template <typename T>
struct ByFormat {
    Args a;
    template <typename F>
    zt_status operator()() const {
        int64_t n = a.rows * a.cols;
        dequant_kernel<T, F><<<zt::elementwise_blocks(n), zt::kElementwiseThreads, 0, a.stream>>>(
            n, a.cols, a.granularity, a.block_rows, a.block_cols, static_cast<const typename F::Code*>(a.q), a.scale, static_cast<T*>(a.y));
        return zt::check_launch("zt_dequantize");
    }
};

struct ByType {
    Args a;
    zt_dtype format;
    template <typename T>
    zt_status operator()() const { return zt::dispatch_format(format, ByFormat<T>{a}); }
};

}  // namespace

ZT_API zt_status zt_dequantize(zt_stream stream, zt_dtype dtype, zt_dtype format, int32_t granularity, int64_t rows, int64_t cols, int32_t block_rows,
                               int32_t block_cols, int64_t scales, const void* q, const void* scale, void* y) {
    if (rows < 0 || cols < 0 || granularity < 0 || granularity > 2 || block_rows <= 0 || block_cols <= 0) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_dequantize: bad extents, granularity or tile");
    }
    int64_t expected = granularity == 0 ? rows : granularity == 1 ? 1 : ((rows + block_rows - 1) / block_rows) * ((cols + block_cols - 1) / block_cols);
    if (scales != expected) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_dequantize: scales do not match the granularity");
    if (rows == 0 || cols == 0) return ZT_OK;
    if (!q || !scale || !y) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_dequantize: null pointer");
    Args a{zt::stream_of(stream), granularity, rows, cols, block_rows, block_cols, q, static_cast<const float*>(scale), y};
    return zt::dispatch_float(dtype, ByType{a, format});
}
