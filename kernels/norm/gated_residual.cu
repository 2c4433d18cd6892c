// gated_residual.cu: out = x + gate * y with the gate per latent frame (zt_gated_residual).
// Elementwise and memory-bound: one CTA per row (so the row's frame, and with it the gate vector,
// is found once per row, not per element), its threads over packs of 4 elements (the gate one float4
// per pack, so a warp reads both as contiguous runs) when the hidden size and pointers allow, else over elements.
// The gate vectors are shared by a frame's tokens and come from L1/L2. fp32 math, one rounding
// (per_op: zt::gated_sum's roundings at PyTorch's op boundaries).
#include "norm/modulation.cuh"

namespace {

constexpr int kMaxThreads = 256;

// zt:hot gated_residual_kernel  (on the streaming path: twice per DiT block; a spill fails CI)
template <typename T, int kPer>
__global__ void __launch_bounds__(kMaxThreads) gated_residual_kernel(int dim, zt::FrameModulation mod, int gate_index, int per_op, const T* __restrict__ x,
                                                                     const T* __restrict__ y, T* __restrict__ out) {
    const int64_t row = blockIdx.x;
    const float* e0 = mod.frame(row);
    const int64_t at = row * dim;
    for (int c = threadIdx.x * kPer; c < dim; c += blockDim.x * kPer) {
        float xv[kPer], yv[kPer], g[kPer];
        zt::load_vals<T, kPer>(x + at + c, xv);
        zt::load_vals<T, kPer>(y + at + c, yv);
        mod.get<kPer>(e0, gate_index, c, g);
        zt::gated_sum<T, kPer>(xv, yv, g, per_op);
        zt::store_vals<T, kPer>(out + at + c, xv);
    }
}

// Threads for a row of `packs` packs: as few passes as 256 threads allow, split evenly, whole warps.
inline int row_threads(int packs) {
    int passes = (packs + kMaxThreads - 1) / kMaxThreads;
    int threads = (packs + passes - 1) / passes;
    return (threads + 31) / 32 * 32;
}

struct Launch {
    cudaStream_t stream;
    int64_t rows;
    int dim;
    zt::FrameModulation mod;
    int gate_index;
    int per_op;
    const void* x;
    const void* y;
    void* out;

    template <typename T>
    zt_status operator()() const {
        constexpr int kVec = 4;  // 8 bytes of bf16 per lane, so the f32 gate is one float4 (a warp: 512 contiguous bytes)
        const T* xt = static_cast<const T*>(x);
        const T* yt = static_cast<const T*>(y);
        T* ot = static_cast<T*>(out);
        if (rows > 0x7FFFFFFF) {
            return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_gated_residual: too many rows for one launch");
        }
        if (dim % kVec == 0 && zt::aligned16(x) && zt::aligned16(y) && zt::aligned16(out) && mod.aligned()) {
            gated_residual_kernel<T, kVec><<<(unsigned)rows, row_threads(dim / kVec), 0, stream>>>(dim, mod, gate_index, per_op, xt, yt, ot);
        } else {
            gated_residual_kernel<T, 1><<<(unsigned)rows, row_threads(dim), 0, stream>>>(dim, mod, gate_index, per_op, xt, yt, ot);
        }
        return zt::check_launch("zt_gated_residual");
    }
};

}  // namespace

ZT_API zt_status zt_gated_residual(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t frames, int32_t frame_tokens, int32_t tokens, int32_t dim, int32_t chunk,
                                   int32_t rounding, const void* x, const void* y, const void* modulation, const void* block_modulation, void* out) {
    if (zt_status s = zt::check_modulation_args("zt_gated_residual: bad batch/frames/tokens/dim/chunk", batch, frames, frame_tokens, tokens, dim, chunk)) {
        return s;
    }
    if (zt_status s = zt::check_rounding("zt_gated_residual: rounding must be 0 (fused) or 1 (per-op)", rounding)) {
        return s;
    }
    int64_t n = (int64_t)batch * tokens * dim;
    if (n == 0) {
        return ZT_OK;
    }
    if (!x || !y || !modulation || !block_modulation || !out) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_gated_residual: null pointer");
    }
    zt::FrameModulation mod{static_cast<const float*>(modulation), static_cast<const float*>(block_modulation), frames, frame_tokens, dim};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), (int64_t)batch * tokens, dim, mod, 3 * chunk + 2, rounding, x, y, out});
}
