// gated_residual_adaln.cu: x_out = x + gate * y; h = LayerNorm(x_out) * (1 + scale) + shift
// (zt_gated_residual_adaln): one pass of the row_norm engine with a residual source, so the
// updated residual stream is written once and never read back. Layout and precision: zt_norm.h.
#include "norm/modulation.cuh"

namespace {

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int dim;
    float eps;
    const void* x;
    const void* y;
    void* x_out;
    zt::FrameModulation gate;
    int gate_chunk;
    zt::FrameModulation norm;
    int norm_chunk;
    int per_op;
    void* h;

    template <typename T>
    zt_status operator()() const {
        zt::ResidualSource<T> src{static_cast<const T*>(x), static_cast<const T*>(y), static_cast<T*>(x_out), gate, gate_chunk, dim, per_op};
        zt::ModulateEpilogue<T> ep{norm, norm_chunk, per_op};
        bool vec = zt::aligned16(x) && zt::aligned16(y) && zt::aligned16(x_out) && gate.aligned() && norm.aligned();
        return zt::launch_row_norm<T, false, 4>(stream, rows, dim, eps, src, ep, static_cast<T*>(h), vec, "zt_gated_residual_adaln");
    }
};

}  // namespace

ZT_API zt_status zt_gated_residual_adaln(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t frames, int32_t frame_tokens, int32_t tokens, int32_t dim,
                                         int32_t gate_chunk, int32_t norm_chunk, float eps, int32_t rounding, const void* x, const void* y, const void* modulation,
                                         const void* gate_modulation, const void* norm_modulation, void* x_out, void* h) {
    const char* bad = "zt_gated_residual_adaln: bad batch/frames/tokens/dim/chunk";
    if (zt_status s = zt::check_modulation_args(bad, batch, frames, frame_tokens, tokens, dim, gate_chunk)) {
        return s;
    }
    if (zt_status s = zt::check_modulation_args(bad, batch, frames, frame_tokens, tokens, dim, norm_chunk)) {
        return s;
    }
    if (zt_status s = zt::check_rounding("zt_gated_residual_adaln: rounding must be 0 (fused) or 1 (per-op)", rounding)) {
        return s;
    }
    int64_t rows = (int64_t)batch * tokens;
    if (rows == 0) {
        return ZT_OK;
    }
    if (!x || !y || !modulation || !gate_modulation || !norm_modulation || !x_out || !h) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_gated_residual_adaln: null pointer");
    }
    const float* e0 = static_cast<const float*>(modulation);
    zt::FrameModulation gate{e0, static_cast<const float*>(gate_modulation), frames, frame_tokens, dim};
    zt::FrameModulation norm{e0, static_cast<const float*>(norm_modulation), frames, frame_tokens, dim};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), rows, dim, eps, x, y, x_out, gate, gate_chunk, norm, norm_chunk, rounding, h});
}
