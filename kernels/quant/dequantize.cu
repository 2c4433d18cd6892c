// dequantize.cu: y = decode(q) * scale[group] (zt_dequantize); fp32 product, one rounding.
// Elementwise, grid-strided over 16-byte packs of y when widths and pointers allow (else single
// elements); the scale index follows the granularity (quant_format.cuh).
#include "elementwise/elementwise_policy.h"
#include "quant/quant_format.cuh"

namespace {

// kPer elements per lane access (kPer bytes of codes in, 16 bytes of y out), or 1 for the
// scalar fallback. The (row, pack) of each grid-stride step comes from a division-free walk
// (32-bit: rows and cols are checked at the host); a tile's scale index costs two 32-bit
// divisions per pack, shared by its kPer elements (block_cols % kPer == 0 keeps a pack in one tile).
template <typename T, typename F, int kPer>
__global__ void dequant_kernel(int rows, int cols, int granularity, int block_rows, int block_cols,
                               const typename F::Code* __restrict__ q, const float* __restrict__ scale, T* __restrict__ y) {
    const int width = cols / kPer;
    const int tiles_per_row = (cols + block_cols - 1) / block_cols;
    float v[kPer];
    for (zt::RowWalk w(blockIdx.x * blockDim.x + threadIdx.x, gridDim.x * blockDim.x, width); w.r < rows; w.next()) {
        const int c = w.c * kPer;
        const float s = granularity == 0 ? scale[w.r]
                      : granularity == 1 ? scale[0]
                      : scale[(int64_t)((unsigned)w.r / (unsigned)block_rows) * tiles_per_row + (unsigned)c / (unsigned)block_cols];
        const int64_t at = (int64_t)w.r * cols + c;
        zt::load_codes<F, kPer>(q + at, v);
#pragma unroll
        for (int k = 0; k < kPer; ++k) v[k] *= s;
        zt::store_vals<T, kPer>(y + at, v);
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
        constexpr int kPer = 16 / sizeof(T);
        auto* q = static_cast<const typename F::Code*>(a.q);
        T* y = static_cast<T*>(a.y);
        const bool vec = (reinterpret_cast<uintptr_t>(a.y) & 15) == 0 && (reinterpret_cast<uintptr_t>(a.q) & (kPer - 1)) == 0 &&
                         a.cols % kPer == 0 && (a.granularity != 2 || a.block_cols % kPer == 0);
        const int rows = (int)a.rows, cols = (int)a.cols;
        if (vec) {
            dequant_kernel<T, F, kPer><<<zt::elementwise_blocks(a.rows * a.cols / kPer), zt::kElementwiseThreads, 0, a.stream>>>(
                rows, cols, a.granularity, a.block_rows, a.block_cols, q, a.scale, y);
        } else {
            dequant_kernel<T, F, 1><<<zt::elementwise_blocks(a.rows * a.cols), zt::kElementwiseThreads, 0, a.stream>>>(
                rows, cols, a.granularity, a.block_rows, a.block_cols, q, a.scale, y);
        }
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
    // The kernel walks rows and columns in 32 bits (offsets are 64-bit), with room for a stride past the last row.
    if (rows > 0x70000000 || cols > 0x7FFFFFFF) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_dequantize: rows beyond 2^30 + 2^29 + 2^28 or cols beyond 2^31 - 1");
    if (scales != expected) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_dequantize: scales do not match the granularity");
    if (rows == 0 || cols == 0) return ZT_OK;
    if (!q || !scale || !y) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_dequantize: null pointer");
    Args a{zt::stream_of(stream), granularity, rows, cols, block_rows, block_cols, q, static_cast<const float*>(scale), y};
    return zt::dispatch_float(dtype, ByType{a, format});
}
