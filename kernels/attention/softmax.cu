// softmax.cu: y[r, :] = exp(x[r, :] - max_r) / sum_c exp(x[r, c] - max_r) (zt_softmax_rows).
//
// Layout: x, y contiguous [rows, cols], f32/f16/bf16. Precision: fp32 math with expf (not the
// __expf approximation: the kernel is memory-bound, so accuracy costs nothing), one
// round-to-nearest-even store; matches the ILGPU kernel of src/Attention/Softmax.cs.
// Algorithm: two passes over the row. Pass 1 keeps an online (max, sum) pair per thread,
// rescaling the sum when the max grows; pairs are merged by a butterfly of warp shuffles
// (every lane ends with the warp's pair) and, for block-per-row, across warps in shared
// memory. Pass 2 writes exp(x - max) / sum. Two reads and one write per element.
// Masked logits (-inf) add nothing to the sum and get 0; a fully masked row is 0 throughout (the
// contract of src/Attention/Softmax.cs, which the reference and the ILGPU kernel follow too).
#include <float.h>

#include "attention/softmax_policy.h"
#include "common/zt_common.cuh"

namespace {

struct MaxSum {
    float m;
    float s;
};

__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
    float m = fmaxf(a.m, b.m);
    if (m == -INFINITY) {
        return {m, 0.f};
    }
    return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__device__ __forceinline__ MaxSum warp_merge(MaxSum v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
        MaxSum o{__shfl_xor_sync(0xffffffffu, v.m, offset), __shfl_xor_sync(0xffffffffu, v.s, offset)};
        v = merge(v, o);
    }
    return v;
}

template <typename T>
__device__ __forceinline__ MaxSum row_partial(const T* __restrict__ row, int64_t cols, int64_t start, int64_t step) {
    MaxSum acc{-INFINITY, 0.f};
    for (int64_t c = start; c < cols; c += step) {
        float v = zt::elem<T>::load(row[c]);
        if (v > acc.m) {
            acc.s = acc.s * expf(acc.m - v) + 1.f;
            acc.m = v;
        } else if (v != -INFINITY) {
            // A masked logit adds nothing; skipping it keeps expf(-inf - -inf) = NaN out of the
            // sum while this thread's max is still -inf.
            acc.s += expf(v - acc.m);
        }
    }
    return acc;
}

template <typename T>
__device__ __forceinline__ void row_write(const T* __restrict__ row, T* __restrict__ out, int64_t cols, int64_t start, int64_t step, MaxSum r) {
    // A fully masked row (max -inf, sum 0) is 0 by contract, not expf(-inf - -inf) / 0 = NaN.
    bool masked = r.m == -INFINITY;
    float inv = masked ? 0.f : 1.f / r.s;
    for (int64_t c = start; c < cols; c += step) {
        out[c] = zt::elem<T>::store(masked ? 0.f : expf(zt::elem<T>::load(row[c]) - r.m) * inv);
    }
}

// One warp per row, kRowsPerBlock rows per block.
template <typename T>
__global__ void softmax_warp_rows(int64_t rows, int64_t cols, const T* __restrict__ x, T* __restrict__ y) {
    int lane = threadIdx.x & 31;
    int64_t row = (int64_t)blockIdx.x * zt::kRowsPerBlock + (threadIdx.x >> 5);
    if (row >= rows) {
        return;
    }
    const T* xr = x + row * cols;
    MaxSum r = warp_merge(row_partial(xr, cols, lane, 32));
    row_write(xr, y + row * cols, cols, lane, 32, r);
}

// One block per row: warps merge by shuffles, then across warps through shared memory.
template <typename T>
__global__ void softmax_block_rows(int64_t cols, const T* __restrict__ x, T* __restrict__ y) {
    __shared__ MaxSum partial[zt::kBlockRowThreads / 32];
    int64_t row = blockIdx.x;
    const T* xr = x + row * cols;
    MaxSum r = warp_merge(row_partial(xr, cols, threadIdx.x, blockDim.x));
    int warp = threadIdx.x >> 5;
    if ((threadIdx.x & 31) == 0) {
        partial[warp] = r;
    }
    __syncthreads();
    if (warp == 0) {
        MaxSum v = (threadIdx.x < blockDim.x / 32) ? partial[threadIdx.x] : MaxSum{-INFINITY, 0.f};
        v = warp_merge(v);
        if (threadIdx.x == 0) {
            partial[0] = v;
        }
    }
    __syncthreads();
    row_write(xr, y + row * cols, cols, threadIdx.x, blockDim.x, partial[0]);
}

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int64_t cols;
    const void* x;
    void* y;

    template <typename T>
    zt_status operator()() const {
        const T* xt = static_cast<const T*>(x);
        T* yt = static_cast<T*>(y);
        if (cols <= zt::kWarpRowMaxCols) {
            int64_t blocks = (rows + zt::kRowsPerBlock - 1) / zt::kRowsPerBlock;
            if (blocks > 0x7FFFFFFF) {
                return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_softmax_rows: too many rows for one launch");
            }
            softmax_warp_rows<T><<<(unsigned)blocks, 32 * zt::kRowsPerBlock, 0, stream>>>(rows, cols, xt, yt);
        } else {
            if (rows > 0x7FFFFFFF) {
                return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_softmax_rows: too many rows for one launch");
            }
            softmax_block_rows<T><<<(unsigned)rows, zt::kBlockRowThreads, 0, stream>>>(cols, xt, yt);
        }
        return zt::check_launch("zt_softmax_rows");
    }
};

}  // namespace

ZT_API zt_status zt_softmax_rows(zt_stream stream, zt_dtype dtype, int64_t rows, int64_t cols, const void* x, void* y) {
    if (rows < 0 || cols < 0) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_softmax_rows: negative extent");
    }
    if (rows == 0 || cols == 0) {
        return ZT_OK;
    }
    if (!x || !y) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_softmax_rows: null pointer");
    }
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), rows, cols, x, y});
}
