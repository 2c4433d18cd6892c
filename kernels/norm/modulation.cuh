// modulation.cuh: Wan's per-frame modulation for the row_norm engine (the CUDA twins of
// FrameModulation, ModulateEpilogue and ResidualSource in src/Attention/Norm/).
// e0 is [B, F, 6, dim] f32, a block's parameter [1, 6, dim] f32; vector 3c+k (k: 0 shift,
// 1 scale, 2 gate) of chunk c; token row r belongs to batch r / (F*T), frame (r mod F*T) / T.
// The vectors are shared by the T (1560) tokens of a frame, so their reads hit L1/L2; a row finds
// its frame once (FrameModulation::frame) and reads the vectors a pack at a time, 16 bytes per
// load, so L1 sees as many requests for them as for the row itself.
// per_op (rounding=per-op, zt_norm.h): Self-Forcing/LongLive's bf16 op boundaries; explicit
// __fmul_rn/__fadd_rn keep nvcc from fusing a product and a sum PyTorch rounds between (for f32,
// where the rounding between them is the identity).
#pragma once

#include "norm/row_norm.cuh"

namespace zt {

struct FrameModulation {
    const float* e0;
    const float* block;
    int frames;
    int frame_tokens;
    int dim;

    // e0's [6, dim] vectors of the row's (batch, frame): the one division per row.
    __device__ __forceinline__ const float* frame(int64_t row) const {
        int64_t tokens = (int64_t)frames * frame_tokens;
        int64_t b = row / tokens;
        int64_t f = (row - b * tokens) / frame_tokens;
        return e0 + (b * frames + f) * 6 * dim;
    }

    // e0[frame, index, c .. c + kPer) + block[index, c .. c + kPer), 16 bytes at a time when kPer allows.
    template <int kPer>
    __device__ __forceinline__ void get(const float* frame_e0, int index, int c, float (&v)[kPer]) const {
        float w[kPer];
        load_f32<kPer>(frame_e0 + (int64_t)index * dim + c, v);
        load_f32<kPer>(block + (int64_t)index * dim + c, w);
#pragma unroll
        for (int k = 0; k < kPer; ++k) v[k] += w[k];
    }

    // Whether e0 and block allow 16-byte loads of packs starting at multiples of 4 columns.
    bool aligned() const { return aligned16(e0) && aligned16(block) && dim % 4 == 0; }
};

template <typename T>
struct ModulateEpilogue {
    FrameModulation mod;
    int chunk;
    int per_op;
    struct Row {
        const float* e0;
    };
    __device__ __forceinline__ Row at(int64_t row) const { return {mod.frame(row)}; }
    template <int kPer>
    __device__ __forceinline__ void apply(const Row& r, int c, float (&v)[kPer]) const {
        float scale[kPer], shift[kPer];
        mod.get<kPer>(r.e0, 3 * chunk + 1, c, scale);
        mod.get<kPer>(r.e0, 3 * chunk, c, shift);
        if (per_op) {
            // norm1(x) * (1 + e[1]) + e[0]: R(e0 + block) per vector, R(LN), R(1 + scale), R(product); the store rounds the sum.
#pragma unroll
            for (int k = 0; k < kPer; ++k) {
                const float s = round_to<T>(__fadd_rn(1.f, round_to<T>(scale[k])));
                v[k] = __fadd_rn(round_to<T>(__fmul_rn(round_to<T>(v[k]), s)), round_to<T>(shift[k]));
            }
        } else {
#pragma unroll
            for (int k = 0; k < kPer; ++k) v[k] = v[k] * (1.f + scale[k]) + shift[k];
        }
    }
};

// x + gate * y, in place in x: fused, or per-op `x + y * e[2]`: R(x + R(y * R(gate))) (the final
// R is the caller's store).
template <typename T, int kPer>
__device__ __forceinline__ void gated_sum(float (&x)[kPer], const float (&y)[kPer], const float (&gate)[kPer], int per_op) {
    if (per_op) {
#pragma unroll
        for (int k = 0; k < kPer; ++k) x[k] = __fadd_rn(x[k], round_to<T>(__fmul_rn(y[k], round_to<T>(gate[k]))));
    } else {
#pragma unroll
        for (int k = 0; k < kPer; ++k) x[k] += gate[k] * y[k];
    }
}

// x + gate * y as the normalized input; the output pass writes it to x_out. Per-op rounds it to
// T before the statistics (PyTorch's next LayerNorm reads the stored residual).
template <typename T>
struct ResidualSource {
    const T* x;
    const T* y;
    T* x_out;
    FrameModulation gate;
    int gate_chunk;
    int dim;
    int per_op;

    struct Row {
        int64_t at;
        const float* e0;
    };
    __device__ __forceinline__ Row at(int64_t row) const { return {row * dim, gate.frame(row)}; }

    template <int kPer>
    __device__ __forceinline__ void load(const Row& r, int c, float (&v)[kPer]) const {
        float yv[kPer], g[kPer];
        load_vals<T, kPer>(x + r.at + c, v);
        load_vals<T, kPer>(y + r.at + c, yv);
        gate.get<kPer>(r.e0, 3 * gate_chunk + 2, c, g);
        gated_sum<T, kPer>(v, yv, g, per_op);
        if (per_op) {
#pragma unroll
            for (int k = 0; k < kPer; ++k) v[k] = round_to<T>(v[k]);
        }
    }

    template <int kPer>
    __device__ __forceinline__ void emit(const Row& r, int c, const float (&v)[kPer]) const {
        store_vals<T, kPer>(x_out + r.at + c, v);
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
