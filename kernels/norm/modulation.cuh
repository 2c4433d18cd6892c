// modulation.cuh: Wan's per-frame modulation for the row_norm engine (the CUDA twins of
// FrameModulation, ModulateEpilogue and ResidualSource in src/Attention/Norm/).
// e0 is [B, F, 6, dim] f32, a block's parameter [1, 6, dim] f32; vector 3c+k (k: 0 shift,
// 1 scale, 2 gate) of chunk c; token row r belongs to batch r / (F*T), frame (r mod F*T) / T.
// The vectors are shared by the T (1560) tokens of a frame, so their reads hit L1/L2.
#pragma once

#include "norm/row_norm.cuh"

namespace zt {

struct FrameModulation {
    const float* e0;
    const float* block;
    int frames;
    int frame_tokens;
    int dim;

    __device__ __forceinline__ float get(int64_t row, int col, int index) const {
        int64_t tokens = (int64_t)frames * frame_tokens;
        int64_t b = row / tokens;
        int64_t f = (row - b * tokens) / frame_tokens;
        return e0[((b * frames + f) * 6 + index) * dim + col] + block[(int64_t)index * dim + col];
    }
};

struct ModulateEpilogue {
    FrameModulation mod;
    int chunk;
    __device__ __forceinline__ float apply(int64_t row, int col, float v) const {
        return v * (1.f + mod.get(row, col, 3 * chunk + 1)) + mod.get(row, col, 3 * chunk);
    }
};

// x + gate * y as the normalized input; the output pass writes it to x_out.
template <typename T>
struct ResidualSource {
    const T* x;
    const T* y;
    T* x_out;
    FrameModulation gate;
    int gate_chunk;
    int dim;

    template <int kPer>
    __device__ __forceinline__ void load(int64_t row, int c, float (&v)[kPer]) const {
        float yv[kPer];
        load_pack<T, kPer>(x + row * dim + c, v);
        load_pack<T, kPer>(y + row * dim + c, yv);
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
            v[k] += gate.get(row, c + k, 3 * gate_chunk + 2) * yv[k];
        }
    }

    template <int kPer>
    __device__ __forceinline__ void emit(int64_t row, int c, const float (&v)[kPer]) const {
        store_pack<T, kPer>(x_out + row * dim + c, v);
    }
};

// Arguments every modulation op checks the same way.
inline zt_status check_modulation_args(const char* name, int32_t batch, int32_t frames, int32_t frame_tokens, int32_t tokens, int32_t dim, int32_t chunk) {
    if (batch < 0 || frames <= 0 || frame_tokens < 0 || dim <= 0 || (int64_t)frames * frame_tokens != tokens || (chunk != 0 && chunk != 1)) {
        return fail(ZT_ERROR_INVALID_ARGUMENT, name);
    }
    return ZT_OK;
}

}  // namespace zt
