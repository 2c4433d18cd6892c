// softmax.cu: y[r, :] = exp(x[r, :] - max_r) / sum_c exp(x[r, c] - max_r) (zt_softmax_rows).
//
// Layout: x, y contiguous [rows, cols], f32/f16/bf16. Precision: fp32 math with expf (not the
// __expf approximation: the kernel is memory-bound, so accuracy costs nothing), one
// round-to-nearest-even store; matches the ILGPU kernel of src/Attention/Softmax.cs.
// Algorithm: two passes over the row. Pass 1 keeps an online (max, sum) pair per thread,
// rescaling the sum when the max grows; pairs are merged by a butterfly of warp shuffles
// (every lane ends with the warp's pair) and, for block-per-row, across warps in shared
// memory. Pass 2 writes exp(x - max) / sum. Rows move in 16-byte packs when aligned, and the
// packs a thread reads stay in registers for pass 2, so a row is read once and written once.
// Masked logits (-inf) add nothing to the sum and get 0; a fully masked row is 0 throughout (the
// contract of src/Attention/Softmax.cs, which the reference and the ILGPU kernel follow too).
#include <float.h>

#include <type_traits>

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

__device__ __forceinline__ void add(MaxSum& acc, float v) {
    if (v > acc.m) {
        acc.s = acc.s * expf(acc.m - v) + 1.f;
        acc.m = v;
    } else if (v != -INFINITY) {
        // A masked logit adds nothing; skipping it keeps expf(-inf - -inf) = NaN out of the
        // sum while this thread's max is still -inf.
        acc.s += expf(v - acc.m);
    }
}

// One row, by the threads [start, start + step) of whatever shares it (a warp or a block), in
// packs of kPer elements (16 bytes: one load and one store instruction per pack; kPer = 1 is the
// scalar path for rows whose width or address is off a pack). A thread's first kCache packs stay
// in registers between the passes, so a row of up to step * kCache * kPer elements is read once;
// longer rows re-read the rest. Reduce merges the threads' (max, sum) pairs.
template <typename T, int kPer, int kCache, typename Reduce>
__device__ __forceinline__ void softmax_row(const T* __restrict__ xr, T* __restrict__ yr, int64_t cols, int start, int step, Reduce reduce) {
    const int64_t packs = cols / kPer;
    float cache[kCache][kPer];
    MaxSum acc{-INFINITY, 0.f};
#pragma unroll
    for (int i = 0; i < kCache; ++i) {
        int64_t p = start + (int64_t)i * step;
        if (p < packs) {
            zt::load_vals<T, kPer>(xr + p * kPer, cache[i]);
#pragma unroll
            for (int k = 0; k < kPer; ++k) add(acc, cache[i][k]);
        }
    }
    for (int64_t p = start + (int64_t)kCache * step; p < packs; p += step) {
        float v[kPer];
        zt::load_vals<T, kPer>(xr + p * kPer, v);
#pragma unroll
        for (int k = 0; k < kPer; ++k) add(acc, v[k]);
    }
    const MaxSum r = reduce(acc);
    // A fully masked row (max -inf, sum 0) is 0 by contract, not expf(-inf - -inf) / 0 = NaN.
    const bool masked = r.m == -INFINITY;
    const float inv = masked ? 0.f : 1.f / r.s;
#pragma unroll
    for (int i = 0; i < kCache; ++i) {
        int64_t p = start + (int64_t)i * step;
        if (p < packs) {
#pragma unroll
            for (int k = 0; k < kPer; ++k) cache[i][k] = masked ? 0.f : expf(cache[i][k] - r.m) * inv;
            zt::store_vals<T, kPer>(yr + p * kPer, cache[i]);
        }
    }
    for (int64_t p = start + (int64_t)kCache * step; p < packs; p += step) {
        float v[kPer];
        zt::load_vals<T, kPer>(xr + p * kPer, v);
#pragma unroll
        for (int k = 0; k < kPer; ++k) v[k] = masked ? 0.f : expf(v[k] - r.m) * inv;
        zt::store_vals<T, kPer>(yr + p * kPer, v);
    }
}

// Register packs per thread: a warp row keeps 32 * 4 packs (1024 f16 / 512 f32 columns), a block
// row 256 * 4 (8192 f16 / 4096 f32); wider rows (f32 warp rows of 513-1024 columns, longer block
// rows) re-read the packs past those in pass 2.
constexpr int kCachePacks = 4;

// One warp per row, kRowsPerBlock rows per block.
template <typename T, int kPer>
__global__ void softmax_warp_rows(int64_t rows, int64_t cols, const T* __restrict__ x, T* __restrict__ y) {
    int lane = threadIdx.x & 31;
    int64_t row = (int64_t)blockIdx.x * zt::kRowsPerBlock + (threadIdx.x >> 5);
    if (row >= rows) {
        return;
    }
    softmax_row<T, kPer, kCachePacks>(x + row * cols, y + row * cols, cols, lane, 32, warp_merge);
}

// One block per row: warps merge by shuffles, then across warps through shared memory.
template <typename T, int kPer>
__global__ void softmax_block_rows(int64_t cols, const T* __restrict__ x, T* __restrict__ y) {
    __shared__ MaxSum partial[zt::kBlockRowThreads / 32];
    int64_t row = blockIdx.x;
    auto reduce = [&](MaxSum acc) {
        MaxSum r = warp_merge(acc);
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
        return partial[0];
    };
    softmax_row<T, kPer, kCachePacks>(x + row * cols, y + row * cols, cols, threadIdx.x, blockDim.x, reduce);
}

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int64_t cols;
    const void* x;
    void* y;

    template <typename T>
    zt_status operator()() const {
        // 16-byte packs when every row starts on one: the width a multiple of the pack and both
        // tensors aligned; else one element at a time.
        constexpr int kPer = 16 / (int)sizeof(T);
        bool packed = cols % kPer == 0 && (reinterpret_cast<uintptr_t>(x) & 15) == 0 && (reinterpret_cast<uintptr_t>(y) & 15) == 0;
        return packed ? launch<T, kPer>() : launch<T, 1>();
    }

    template <typename T, int kPer>
    zt_status launch() const {
        const T* xt = static_cast<const T*>(x);
        T* yt = static_cast<T*>(y);
        if (cols <= zt::kWarpRowMaxCols) {
            int64_t blocks = (rows + zt::kRowsPerBlock - 1) / zt::kRowsPerBlock;
            if (blocks > 0x7FFFFFFF) {
                return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_softmax_rows: too many rows for one launch");
            }
            softmax_warp_rows<T, kPer><<<(unsigned)blocks, 32 * zt::kRowsPerBlock, 0, stream>>>(rows, cols, xt, yt);
        } else {
            if (rows > 0x7FFFFFFF) {
                return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_softmax_rows: too many rows for one launch");
            }
            softmax_block_rows<T, kPer><<<(unsigned)rows, zt::kBlockRowThreads, 0, stream>>>(cols, xt, yt);
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
