// qk_norm_rope.cu: RMSNorm over the full hidden dim, head split and Wan 3D RoPE in one pass
// (zt_qk_norm_rope); [B, N, H*D] in, [B, H, N, D] (layout 0) or [B, N, H, D] (layout 1) out, same type. Kernel: qk_norm_rope.cuh.
#include "rope/qk_norm_rope.cuh"

namespace {

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int tokens;
    int heads;
    int head_dim;
    float eps;
    bool nhd;
    zt::Rope rope;
    const void* x;
    const void* weight;
    void* out;

    template <typename T>
    zt_status operator()() const {
        return zt::launch_qk_norm_rope<T, T>(stream, rows, tokens, heads, head_dim, eps, nhd, rope, x, weight, static_cast<T*>(out), "zt_qk_norm_rope");
    }
};

}  // namespace

ZT_API zt_status zt_qk_norm_rope(zt_stream stream, zt_dtype dtype, int32_t layout, int32_t batch, int32_t tokens, int32_t heads, int32_t head_dim,
                                 int32_t dim, int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims,
                                 int32_t height_dims, int32_t positions, int32_t pairs, float eps, int64_t rows, const void* x, const void* weight,
                                 const void* table, void* out) {
    zt::Rope rope;
    if (zt_status s = zt::check_qk_args("zt_qk_norm_rope: bad layout, geometry, split, grid or pointer", layout, rows, batch, tokens, heads,
                                        head_dim, dim, frames, height, width, frame_offset, time_dims, height_dims, positions, pairs, x, weight,
                                        table, &rope)) {
        return s;
    }
    if (!out) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_qk_norm_rope: null out");
    }
    if ((int64_t)batch * tokens == 0) {
        return ZT_OK;
    }
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), (int64_t)batch * tokens, tokens, heads, head_dim, eps, layout == 1, rope, x, weight, out});
}
