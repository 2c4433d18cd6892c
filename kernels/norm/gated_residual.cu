// gated_residual.cu: out = x + gate * y with the gate per latent frame (zt_gated_residual).
// Elementwise and memory-bound: grid-stride over packs of 16 bytes (8 bf16 / 4 f32) when the
// hidden size and pointers allow, else over elements; the gate vectors are shared by a frame's
// tokens and come from L1/L2. fp32 math, one rounding.
#include "elementwise/elementwise_policy.h"
#include "norm/modulation.cuh"

namespace {

// zt:hot gated_residual_kernel  (on the streaming path: twice per DiT block; a spill fails CI)
template <typename T, int kPer>
__global__ void gated_residual_kernel(int64_t n, int dim, zt::FrameModulation mod, int gate_index, const T* __restrict__ x, const T* __restrict__ y, T* __restrict__ out) {
    const int64_t packs = n / kPer;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; p < packs; p += stride) {
        int64_t i = p * kPer;
        int64_t row = i / dim;
        int col = (int)(i - row * dim);
        float xv[kPer], yv[kPer], o[kPer];
        zt::load_pack<T, kPer>(x + i, xv);
        zt::load_pack<T, kPer>(y + i, yv);
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
            o[k] = xv[k] + mod.get(row, col + k, gate_index) * yv[k];
        }
        zt::store_pack<T, kPer>(out + i, o);
    }
}

struct Launch {
    cudaStream_t stream;
    int64_t n;
    int dim;
    zt::FrameModulation mod;
    int gate_index;
    const void* x;
    const void* y;
    void* out;

    template <typename T>
    zt_status operator()() const {
        constexpr int kVec = 16 / sizeof(T);
        const T* xt = static_cast<const T*>(x);
        const T* yt = static_cast<const T*>(y);
        T* ot = static_cast<T*>(out);
        // Packs must not straddle rows (the gate changes per row only at frame boundaries, but the
        // column index must stay inside one row): dim a multiple of the pack.
        if (dim % kVec == 0 && zt::aligned16(x) && zt::aligned16(y) && zt::aligned16(out)) {
            gated_residual_kernel<T, kVec><<<zt::elementwise_blocks(n / kVec), zt::kElementwiseThreads, 0, stream>>>(n, dim, mod, gate_index, xt, yt, ot);
        } else {
            gated_residual_kernel<T, 1><<<zt::elementwise_blocks(n), zt::kElementwiseThreads, 0, stream>>>(n, dim, mod, gate_index, xt, yt, ot);
        }
        return zt::check_launch("zt_gated_residual");
    }
};

}  // namespace

ZT_API zt_status zt_gated_residual(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t frames, int32_t frame_tokens, int32_t tokens, int32_t dim, int32_t chunk,
                                   const void* x, const void* y, const void* modulation, const void* block_modulation, void* out) {
    if (zt_status s = zt::check_modulation_args("zt_gated_residual: bad batch/frames/tokens/dim/chunk", batch, frames, frame_tokens, tokens, dim, chunk)) {
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
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), n, dim, mod, 3 * chunk + 2, x, y, out});
}
