// adaln_modulate.cu: y = LayerNorm(x) * (1 + scale) + shift with per-frame vectors
// (zt_adaln_modulate), on the row_norm engine. Layout and precision: zt_norm.h.
#include "norm/modulation.cuh"

namespace {

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int dim;
    float eps;
    const void* x;
    zt::FrameModulation mod;
    int chunk;
    int per_op;
    void* y;

    template <typename T>
    zt_status operator()() const {
        zt::RowSource<T> src{static_cast<const T*>(x), dim};
        zt::ModulateEpilogue<T> ep{mod, chunk, per_op};
        return zt::launch_row_norm<T, false, 4>(stream, rows, dim, eps, src, ep, static_cast<T*>(y), zt::aligned16(x) && mod.aligned(), "zt_adaln_modulate");
    }
};

}  // namespace

ZT_API zt_status zt_adaln_modulate(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t frames, int32_t frame_tokens, int32_t tokens, int32_t dim, int32_t chunk, float eps,
                                   int32_t rounding, const void* x, const void* modulation, const void* block_modulation, void* y) {
    if (zt_status s = zt::check_modulation_args("zt_adaln_modulate: bad batch/frames/tokens/dim/chunk", batch, frames, frame_tokens, tokens, dim, chunk)) {
        return s;
    }
    if (zt_status s = zt::check_rounding("zt_adaln_modulate: rounding must be 0 (fused) or 1 (per-op)", rounding)) {
        return s;
    }
    int64_t rows = (int64_t)batch * tokens;
    if (rows == 0) {
        return ZT_OK;
    }
    if (!x || !modulation || !block_modulation || !y) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_adaln_modulate: null pointer");
    }
    zt::FrameModulation mod{static_cast<const float*>(modulation), static_cast<const float*>(block_modulation), frames, frame_tokens, dim};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), rows, dim, eps, x, mod, chunk, rounding, y});
}
