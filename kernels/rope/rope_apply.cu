// rope_apply.cu: Wan 3D RoPE on a per-head tensor (zt_rope_apply). One thread per
// (x[2j], x[2j+1]) pair, a grid-stride loop; each thread moves 2 elements in and out, and a
// warp's 32 pairs are 64 contiguous elements, so accesses coalesce. HND or NHD layout, seen as
// [rows, head_dim]. fp32 math, one rounding.
#include "elementwise/elementwise_policy.h"
#include "rope/rope.cuh"

namespace {

// zt:hot rope_apply_kernel  (on the streaming path: q and k of every self-attention; a spill fails CI)
template <typename T>
__global__ void rope_apply_kernel(int64_t pairs_total, int pairs, int heads, int tokens, int nhd, zt::Rope rope, const T* __restrict__ x, T* __restrict__ out) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < pairs_total; i += stride) {
        int j = (int)(i % pairs);
        int64_t row = i / pairs;
        int64_t n = nhd ? (row / heads) % tokens : row % tokens;
        int64_t at = row * 2 * pairs + 2 * j;
        float x0 = zt::elem<T>::load(x[at]);
        float x1 = zt::elem<T>::load(x[at + 1]);
        rope.rotate(n, j, x0, x1);
        out[at] = zt::elem<T>::store(x0);
        out[at + 1] = zt::elem<T>::store(x1);
    }
}

struct Launch {
    cudaStream_t stream;
    int64_t pairs_total;
    int pairs;
    int heads;
    int tokens;
    int nhd;
    zt::Rope rope;
    const void* x;
    void* out;

    template <typename T>
    zt_status operator()() const {
        rope_apply_kernel<T><<<zt::elementwise_blocks(pairs_total), zt::kElementwiseThreads, 0, stream>>>(
            pairs_total, pairs, heads, tokens, nhd, rope, static_cast<const T*>(x), static_cast<T*>(out));
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
    if (batch < 0 || heads <= 0 || (layout != 0 && layout != 1) || rows != (int64_t)batch * heads * tokens) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_rope_apply: bad batch, heads, layout or rows");
    }
    if (rows == 0) {
        return ZT_OK;
    }
    if (!x || !out) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_rope_apply: null pointer");
    }
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), rows * pairs, pairs, heads, tokens, layout, rope, x, out});
}
