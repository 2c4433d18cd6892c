// quantize.cu: x [rows, cols] -> codes + f32 scales (zt_quantize); rule in quant_format.cuh.
// Per row or per tile: one 256-thread block per scale group (amax by warp shuffles and shared
// memory, then encode), so a 128x128 tile's 16K elements are spread over 8 warps. Per tensor:
// per-row amax (one warp per row) into the caller's workspace, one block folds them into the
// scale, then an elementwise encode.
#include "quant/quant_format.cuh"

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float block_max(float v, float* smem) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if ((threadIdx.x & 31) == 0) smem[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < blockDim.x / 32 ? smem[threadIdx.x] : 0.f;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (threadIdx.x == 0) smem[0] = v;
    }
    __syncthreads();
    return smem[0];
}

// zt:hot group_quant_kernel  (on the streaming path: the activations of every W8A8 linear; a spill fails CI)
template <typename T, typename F>
__global__ void group_quant_kernel(int64_t rows, int64_t cols, int group_rows, int64_t group_cols, float qmax, float floor,
                                   const T* __restrict__ x, typename F::Code* __restrict__ q, float* __restrict__ scales) {
    __shared__ float smem[kThreads / 32];
    const int64_t g = blockIdx.x;
    const int64_t per_row = (cols + group_cols - 1) / group_cols;
    const int64_t r0 = g / per_row * group_rows;
    const int64_t c0 = (g % per_row) * group_cols;
    const int64_t nr = min((int64_t)group_rows, rows - r0);
    const int64_t nc = min(group_cols, cols - c0);
    float amax = 0.f;
    for (int64_t e = threadIdx.x; e < nr * nc; e += blockDim.x) {
        amax = fmaxf(amax, fabsf(zt::elem<T>::load(x[(r0 + e / nc) * cols + c0 + e % nc])));
    }
    const float scale = zt::quant_scale(block_max(amax, smem), qmax, floor);
    if (threadIdx.x == 0) scales[g] = scale;
    for (int64_t e = threadIdx.x; e < nr * nc; e += blockDim.x) {
        int64_t i = (r0 + e / nc) * cols + c0 + e % nc;
        q[i] = F::encode(__fdiv_rn(zt::elem<T>::load(x[i]), scale));
    }
}

template <typename T>
__global__ void row_amax_kernel(int64_t rows, int64_t cols, const T* __restrict__ x, float* __restrict__ row_amax) {
    const int64_t r = (int64_t)blockIdx.x * 8 + (threadIdx.x >> 5);
    if (r >= rows) return;
    float amax = 0.f;
    for (int64_t c = threadIdx.x & 31; c < cols; c += 32) amax = fmaxf(amax, fabsf(zt::elem<T>::load(x[r * cols + c])));
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    if ((threadIdx.x & 31) == 0) row_amax[r] = amax;
}

__global__ void tensor_scale_kernel(int64_t rows, float qmax, float floor, const float* __restrict__ row_amax, float* __restrict__ scale) {
    __shared__ float smem[kThreads / 32];
    float amax = 0.f;
    for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) amax = fmaxf(amax, row_amax[r]);
    amax = block_max(amax, smem);
    if (threadIdx.x == 0) scale[0] = zt::quant_scale(amax, qmax, floor);
}

template <typename T, typename F>
__global__ void encode_kernel(int64_t n, const T* __restrict__ x, const float* __restrict__ scale, typename F::Code* __restrict__ q) {
    const float s = scale[0];
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        q[i] = F::encode(__fdiv_rn(zt::elem<T>::load(x[i]), s));
    }
}

struct Args {
    cudaStream_t stream;
    int granularity;
    int64_t rows;
    int64_t cols;
    int block_rows;
    int block_cols;
    float qmax;
    float floor;
    int64_t scales;
    const void* x;
    void* q;
    float* scale;
    float* row_amax;
};

template <typename T>
struct ByFormat {
    Args a;
    template <typename F>
    zt_status operator()() const {
        const T* x = static_cast<const T*>(a.x);
        auto* q = static_cast<typename F::Code*>(a.q);
        if (a.granularity == 1) {
            row_amax_kernel<T><<<(unsigned)((a.rows + 7) / 8), 256, 0, a.stream>>>(a.rows, a.cols, x, a.row_amax);
            tensor_scale_kernel<<<1, kThreads, 0, a.stream>>>(a.rows, a.qmax, a.floor, a.row_amax, a.scale);
            int64_t n = a.rows * a.cols;
            int64_t want = (n + kThreads - 1) / kThreads;
            int blocks = (int)(want < 132 * 32 ? want : 132 * 32);
            encode_kernel<T, F><<<blocks, kThreads, 0, a.stream>>>(n, x, a.scale, q);
        } else {
            int group_rows = a.granularity == 0 ? 1 : a.block_rows;
            int64_t group_cols = a.granularity == 0 ? a.cols : a.block_cols;
            group_quant_kernel<T, F><<<(unsigned)a.scales, kThreads, 0, a.stream>>>(a.rows, a.cols, group_rows, group_cols, a.qmax, a.floor, x, q, a.scale);
        }
        return zt::check_launch("zt_quantize");
    }
};

struct ByType {
    Args a;
    zt_dtype format;
    template <typename T>
    zt_status operator()() const { return zt::dispatch_format(format, ByFormat<T>{a}); }
};

}  // namespace

ZT_API zt_status zt_quantize(zt_stream stream, zt_dtype dtype, zt_dtype format, int32_t granularity, int64_t rows, int64_t cols, int32_t block_rows,
                             int32_t block_cols, float qmax, float floor, int64_t scales, int64_t workspace_rows, const void* x, void* q, void* scale, void* row_amax) {
    if (rows < 0 || cols < 0 || granularity < 0 || granularity > 2 || block_rows <= 0 || block_cols <= 0 || !(qmax > 0) || !(floor > 0)) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_quantize: bad extents, granularity, tile, qmax or floor");
    }
    int64_t expected = granularity == 0 ? rows : granularity == 1 ? 1 : ((rows + block_rows - 1) / block_rows) * ((cols + block_cols - 1) / block_cols);
    if (scales != expected || workspace_rows < rows || scales > 0x7FFFFFFF) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_quantize: scales or workspace size does not match the granularity");
    }
    if (rows == 0 || cols == 0) return ZT_OK;
    if (!x || !q || !scale || !row_amax) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_quantize: null pointer");
    Args a{zt::stream_of(stream), granularity, rows, cols, block_rows, block_cols, qmax, floor, scales, x, q, static_cast<float*>(scale), static_cast<float*>(row_amax)};
    return zt::dispatch_float(dtype, ByType{a, format});
}
