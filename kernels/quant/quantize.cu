// quantize.cu: x [rows, cols] -> codes + f32 scales (zt_quantize); rule in quant_format.cuh.
// Per row or per tile: one 256-thread block per scale group (amax by warp shuffles and shared
// memory, then encode), so a 128x128 tile's 16K elements are spread over 8 warps; the group
// stays in registers between the two passes when it fits. Per tensor: per-row amax (one warp
// per row) into the caller's workspace, one block folds them into the scale, then a flat encode.
// Every pass moves 16 bytes of x and 4 or 8 bytes of codes per lane access when the pointers
// and widths allow, else one element. The division stays an IEEE divide (QuantMath.cs divides).
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

// Floats a thread keeps of its group between the amax pass and the encode pass, so x is read
// once: a 128 x 128 tile of f16/bf16 (16K elements over 256 threads) or a 1536-wide row fits;
// larger groups stream and re-read x from L2. 16 for single elements (each carries its own
// address).
template <int kPer>
constexpr int held_packs() { return kPer == 1 ? 16 : 64 / kPer; }

// zt:hot group_quant_kernel  (on the streaming path: the activations of every W8A8 linear; a spill fails CI)
// kPer elements per access (16 bytes of x, kPer bytes of codes), or 1 for the scalar fallback.
// The group's (row, pack) walk is 32-bit and division-free; each row's base is one 64-bit
// multiply-add.
template <typename T, typename F, int kPer>
__global__ void __launch_bounds__(kThreads) group_quant_kernel(int64_t rows, int cols, int group_rows, int group_cols, float qmax, float floor,
                                                               const T* __restrict__ x, typename F::Code* __restrict__ q, float* __restrict__ scales) {
    constexpr int kHeld = held_packs<kPer>();
    __shared__ float smem[kThreads / 32];
    const int per_row = (cols + group_cols - 1) / group_cols;
    const int gr = (int)blockIdx.x / per_row;
    const int gc = (int)blockIdx.x - gr * per_row;
    const int64_t r0 = (int64_t)gr * group_rows;
    const int c0 = gc * group_cols;
    const int nr = (int)min((int64_t)group_rows, rows - r0);
    const int width = min(group_cols, cols - c0) / kPer;  // packs per group row: nc % kPer == 0 on the vector path
    const T* xg = x + r0 * cols + c0;
    typename F::Code* qg = q + r0 * cols + c0;
    float amax = 0.f;
    if ((int64_t)nr * width <= (int64_t)kThreads * kHeld) {
        float v[kHeld][kPer];
        zt::RowWalk w(threadIdx.x, kThreads, width);
#pragma unroll
        for (int s = 0; s < kHeld; ++s) {
            if (w.r >= nr) break;  // a small group leaves the later steps empty: no walk for them
            zt::load_vals<T, kPer>(xg + (int64_t)w.r * cols + w.c * kPer, v[s]);
#pragma unroll
            for (int k = 0; k < kPer; ++k) amax = fmaxf(amax, fabsf(v[s][k]));
            w.next();
        }
        const float scale = zt::quant_scale(block_max(amax, smem), qmax, floor);
        if (threadIdx.x == 0) scales[blockIdx.x] = scale;
        zt::RowWalk o(threadIdx.x, kThreads, width);
#pragma unroll
        for (int s = 0; s < kHeld; ++s) {
            if (o.r >= nr) break;
            zt::store_codes<F, kPer>(qg + (int64_t)o.r * cols + o.c * kPer, v[s], scale);
            o.next();
        }
    } else {
        float v[kPer];
        for (zt::RowWalk w(threadIdx.x, kThreads, width); w.r < nr; w.next()) {
            zt::load_vals<T, kPer>(xg + (int64_t)w.r * cols + w.c * kPer, v);
#pragma unroll
            for (int k = 0; k < kPer; ++k) amax = fmaxf(amax, fabsf(v[k]));
        }
        const float scale = zt::quant_scale(block_max(amax, smem), qmax, floor);
        if (threadIdx.x == 0) scales[blockIdx.x] = scale;
        for (zt::RowWalk w(threadIdx.x, kThreads, width); w.r < nr; w.next()) {
            const int64_t at = (int64_t)w.r * cols + w.c * kPer;
            zt::load_vals<T, kPer>(xg + at, v);
            zt::store_codes<F, kPer>(qg + at, v, scale);
        }
    }
}

// One warp per row, kPer elements per lane access (cols % kPer == 0 when kPer > 1).
template <typename T, int kPer>
__global__ void row_amax_kernel(int64_t rows, int cols, const T* __restrict__ x, float* __restrict__ row_amax) {
    const int64_t r = (int64_t)blockIdx.x * 8 + (threadIdx.x >> 5);
    if (r >= rows) return;
    const T* xr = x + r * cols;
    float amax = 0.f;
    float v[kPer];
    for (int c = (threadIdx.x & 31) * kPer; c < cols; c += 32 * kPer) {
        zt::load_vals<T, kPer>(xr + c, v);
#pragma unroll
        for (int k = 0; k < kPer; ++k) amax = fmaxf(amax, fabsf(v[k]));
    }
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

// Flat encode under one scale: kPer-element packs grid-strided, then the tail that does not
// fill a pack (x and q aligned to a pack when kPer > 1).
template <typename T, typename F, int kPer>
__global__ void encode_kernel(int64_t n, const T* __restrict__ x, const float* __restrict__ scale, typename F::Code* __restrict__ q) {
    const float s = scale[0];
    const int64_t packs = n / kPer;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const int64_t first = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    float v[kPer];
    for (int64_t i = first; i < packs; i += stride) {
        zt::load_vals<T, kPer>(x + i * kPer, v);
        zt::store_codes<F, kPer>(q + i * kPer, v, s);
    }
    for (int64_t i = packs * kPer + first; i < n; i += stride) {
        float one[1];
        zt::load_vals<T, 1>(x + i, one);
        zt::store_codes<F, 1>(q + i, one, s);
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
        constexpr int kPer = 16 / sizeof(T);
        const T* x = static_cast<const T*>(a.x);
        auto* q = static_cast<typename F::Code*>(a.q);
        // The vector paths need x on 16 bytes and q on kPer bytes; the row and tile walks also
        // need every row and group to start on a pack.
        const bool ptrs = (reinterpret_cast<uintptr_t>(a.x) & 15) == 0 && (reinterpret_cast<uintptr_t>(a.q) & (kPer - 1)) == 0;
        const bool rows_vec = ptrs && a.cols % kPer == 0;
        const int cols = (int)a.cols;
        if (a.granularity == 1) {
            const unsigned amax_blocks = (unsigned)((a.rows + 7) / 8);
            if (rows_vec) row_amax_kernel<T, kPer><<<amax_blocks, 256, 0, a.stream>>>(a.rows, cols, x, a.row_amax);
            else row_amax_kernel<T, 1><<<amax_blocks, 256, 0, a.stream>>>(a.rows, cols, x, a.row_amax);
            tensor_scale_kernel<<<1, kThreads, 0, a.stream>>>(a.rows, a.qmax, a.floor, a.row_amax, a.scale);
            int64_t n = a.rows * a.cols;
            int64_t want = ((ptrs ? n / kPer : n) + kThreads - 1) / kThreads;
            int blocks = (int)(want < 1 ? 1 : want < 132 * 32 ? want : 132 * 32);
            if (ptrs) encode_kernel<T, F, kPer><<<blocks, kThreads, 0, a.stream>>>(n, x, a.scale, q);
            else encode_kernel<T, F, 1><<<blocks, kThreads, 0, a.stream>>>(n, x, a.scale, q);
        } else {
            int group_rows = a.granularity == 0 ? 1 : a.block_rows;
            int group_cols = a.granularity == 0 ? cols : a.block_cols;
            if (rows_vec && group_cols % kPer == 0) {
                group_quant_kernel<T, F, kPer><<<(unsigned)a.scales, kThreads, 0, a.stream>>>(a.rows, cols, group_rows, group_cols, a.qmax, a.floor, x, q, a.scale);
            } else {
                group_quant_kernel<T, F, 1><<<(unsigned)a.scales, kThreads, 0, a.stream>>>(a.rows, cols, group_rows, group_cols, a.qmax, a.floor, x, q, a.scale);
            }
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
    // Within a row or group the kernels count in 32 bits (a row's base offset is 64-bit).
    if (scales != expected || workspace_rows < rows || scales > 0x7FFFFFFF || cols > 0x7FFFFFFF) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_quantize: scales or workspace size does not match the granularity");
    }
    if (rows == 0 || cols == 0) return ZT_OK;
    if (!x || !q || !scale || !row_amax) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_quantize: null pointer");
    Args a{zt::stream_of(stream), granularity, rows, cols, block_rows, block_cols, qmax, floor, scales, x, q, static_cast<float*>(scale), static_cast<float*>(row_amax)};
    return zt::dispatch_float(dtype, ByType{a, format});
}
