// rope_apply.cu: Wan 3D RoPE on a per-head tensor (zt_rope_apply). One thread per
// (x[2j], x[2j+1]) pair, read and written with one access each when the pointers allow; blocks
// of whole rows, grid-strided, so a warp's pairs are contiguous elements and contiguous table
// entries. HND or NHD layout, seen as [rows, head_dim]. fp32 math, one rounding.
#include "elementwise/elementwise_policy.h"
#include "quant/quant_format.cuh"
#include "rope/rope.cuh"

namespace {

// Pair j of x as two floats: one 2 * sizeof(T)-byte access when kPair (x aligned to a pair),
// else two element accesses.
template <typename T, bool kPair>
__device__ __forceinline__ void load_pair(const T* p, float& x0, float& x1) {
    if constexpr (kPair) {
        float v[2];
        zt::load_vals<T, 2>(p, v);
        x0 = v[0], x1 = v[1];
    } else {
        x0 = zt::elem<T>::load(p[0]);
        x1 = zt::elem<T>::load(p[1]);
    }
}

template <typename T, bool kPair>
__device__ __forceinline__ void store_pair(T* p, float x0, float x1) {
    if constexpr (kPair) {
        const float v[2] = {x0, x1};
        zt::store_vals<T, 2>(p, v);
    } else {
        p[0] = zt::elem<T>::store(x0);
        p[1] = zt::elem<T>::store(x1);
    }
}

// zt:hot rope_apply_kernel  (on the streaming path: q and k of every self-attention; a spill fails CI)
// Block (bx, by): threadIdx.y picks one of by rows, threadIdx.x walks its pairs, so the block's
// threads cover by contiguous rows in order and a warp's pair accesses and table reads are
// contiguous runs. The row's token position is found once per row (32-bit divisions), not per pair.
template <typename T, bool kPair>
__global__ void rope_apply_kernel(int rows, int heads, int tokens, int nhd, zt::Rope rope, const T* __restrict__ x, T* __restrict__ out) {
    const int pairs = rope.pairs;
    for (int row = blockIdx.x * blockDim.y + threadIdx.y; row < rows; row += gridDim.x * blockDim.y) {
        const int n = nhd ? (row / heads) % tokens : row % tokens;
        const zt::Rope::Pos p = rope.pos_of(n);
        const T* xr = x + (int64_t)row * 2 * pairs;
        T* orow = out + (int64_t)row * 2 * pairs;
        for (int j = threadIdx.x; j < pairs; j += blockDim.x) {
            float x0, x1;
            load_pair<T, kPair>(xr + 2 * j, x0, x1);
            rope.rotate(p, j, x0, x1);
            store_pair<T, kPair>(orow + 2 * j, x0, x1);
        }
    }
}

struct Launch {
    cudaStream_t stream;
    int rows;
    int heads;
    int tokens;
    int nhd;
    zt::Rope rope;
    const void* x;
    void* out;

    template <typename T>
    zt_status operator()() const {
        const int bx = rope.pairs < zt::kElementwiseThreads ? rope.pairs : zt::kElementwiseThreads;
        const dim3 block(bx, zt::kElementwiseThreads / bx);
        const int64_t want = ((int64_t)rows + block.y - 1) / block.y;
        const unsigned grid = (unsigned)(want < zt::kElementwiseMaxBlocks ? want : zt::kElementwiseMaxBlocks);
        const bool paired = ((reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(out)) & (2 * sizeof(T) - 1)) == 0;
        if (paired) {
            rope_apply_kernel<T, true><<<grid, block, 0, stream>>>(rows, heads, tokens, nhd, rope, static_cast<const T*>(x), static_cast<T*>(out));
        } else {
            rope_apply_kernel<T, false><<<grid, block, 0, stream>>>(rows, heads, tokens, nhd, rope, static_cast<const T*>(x), static_cast<T*>(out));
        }
        return zt::check_launch("zt_rope_apply");
    }
};

}  // namespace

ZT_API zt_status zt_rope_apply(zt_stream stream, zt_dtype dtype, int32_t layout, int32_t batch, int32_t heads, int32_t tokens, int32_t head_dim,
                               int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims, int32_t height_dims,
                               int32_t positions, int32_t pairs, int64_t rows, const void* x, const void* table, void* out) {
    zt::Rope rope;
    if (zt_status s = zt::make_rope("zt_rope_apply: bad head dim, split, grid or table", head_dim, frames, height, width, frame_offset,
                                    time_dims, height_dims, positions, pairs, tokens, table, &rope)) {
        return s;
    }
    // Rows count in 32 bits in the kernel, with room for a grid stride past the last.
    if (batch < 0 || heads <= 0 || (layout != 0 && layout != 1) || rows != (int64_t)batch * heads * tokens || rows > 0x70000000) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_rope_apply: bad batch, heads, layout or rows");
    }
    if (rows == 0) {
        return ZT_OK;
    }
    if (!x || !out) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_rope_apply: null pointer");
    }
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), (int)rows, heads, tokens, layout, rope, x, out});
}
