// linear_common.cuh: the passes linear_attention.cu and sla.cu share (the ILGPU twins and their
// definition: src/Attention/Sparse/LinearEngine.cs and LinearAttention.cs).
//   phi_rows  one thread per row: phi(x) (0 relu, 1 elu+1, 2 softmax over D) into f32 [B, heads, N, D]
//   partials  one thread per (b, hkv, segment, d1, col): sum over the segment of phi(k)[d1] * [v, 1][col]
//   scan      one thread per (b, hkv, d1, col): inclusive prefix over segments from the carried state,
//             which receives the total
// A state is D x (D + 1) floats per (b, hkv): S and, in column D, z.
#pragma once

#include "attention/flash_common.cuh"

namespace zt::linear {

using zt::flash::Strides;

constexpr float kEps = 1e-5f;

struct Args {
    int batch, heads, kv_heads, q_len, kv_len, d, group, segments, segment_tokens, phi;
    Strides q, kv;
    __host__ __device__ int64_t state_floats() const { return (int64_t)d * (d + 1); }
};

inline Args make_args(int batch, int heads, int kv_heads, int q_len, int kv_len, int d, int layout, int phi, int segment_tokens) {
    Args a{batch, heads, kv_heads, q_len, kv_len, d, heads / kv_heads, 1, segment_tokens, phi, Strides::contiguous(layout, heads, q_len, d),
           Strides::contiguous(layout, kv_heads, kv_len, d)};
    a.segments = kv_len > 0 ? (kv_len + segment_tokens - 1) / segment_tokens : 1;
    return a;
}

template <typename T>
__global__ void phi_rows(const T* __restrict__ x, Strides st, int batch, int heads, int len, int d, int phi, float* __restrict__ y) {
    int64_t row = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= (int64_t)batch * heads * len) return;
    int64_t bh = row / len;
    int n = (int)(row % len), b = (int)(bh / heads), h = (int)(bh % heads);
    const T* src = x + st.of(b, h, n);
    float* dst = y + row * d;
    float mx = -INFINITY;
    for (int c = 0; c < d; ++c) {
        float v = zt::elem<T>::load(src[c]);
        mx = fmaxf(mx, v);
        dst[c] = phi == 0 ? fmaxf(v, 0.f) : phi == 1 ? (v > 0.f ? v + 1.f : expf(v)) : v;
    }
    if (phi == 2) {
        float sum = 0.f;
        for (int c = 0; c < d; ++c) {
            float e = expf(dst[c] - mx);
            dst[c] = e;
            sum += e;
        }
        for (int c = 0; c < d; ++c) dst[c] /= sum;
    }
}

template <typename T>
__global__ void partials(Args a, const float* __restrict__ phi_k, const T* __restrict__ v, float* __restrict__ out) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t total = (int64_t)a.batch * a.kv_heads * a.segments * a.state_floats();
    if (i >= total) return;
    int cols = a.d + 1;
    int col = (int)(i % cols);
    int64_t rest = i / cols;
    int d1 = (int)(rest % a.d);
    rest /= a.d;
    int seg = (int)(rest % a.segments);
    int64_t bh = rest / a.segments;
    int b = (int)(bh / a.kv_heads), hkv = (int)(bh % a.kv_heads);
    int64_t j0 = (int64_t)seg * a.segment_tokens, j1 = min(j0 + a.segment_tokens, (int64_t)a.kv_len);
    float sum = 0.f;
    for (int64_t j = j0; j < j1; ++j) {
        float w = col < a.d ? zt::elem<T>::load(v[a.kv.of(b, hkv, j) + col]) : 1.f;
        sum += phi_k[(bh * a.kv_len + j) * a.d + d1] * w;
    }
    out[i] = sum;
}

// static: one definition per including file (linear_attention.cu and sla.cu both include this
// header, and a non-template kernel with external linkage would be defined twice at the link).
static __global__ void scan(Args a, float* __restrict__ prefix, float* __restrict__ state, float* __restrict__ zsum) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)a.batch * a.kv_heads * a.state_floats()) return;
    int cols = a.d + 1;
    int col = (int)(i % cols);
    int64_t rest = i / cols;
    int d1 = (int)(rest % a.d);
    int64_t bh = rest / a.d;
    int64_t s_at = (bh * a.d + d1) * a.d + col, z_at = bh * a.d + d1;
    float run = !state ? 0.f : col < a.d ? state[s_at] : zsum[z_at];
    for (int seg = 0; seg < a.segments; ++seg) {
        int64_t at = ((bh * a.segments + seg) * a.d + d1) * cols + col;
        run += prefix[at];
        prefix[at] = run;
    }
    if (state) {
        if (col < a.d) state[s_at] = run;
        else zsum[z_at] = run;
    }
}

// Column d2 of phi(q) S / (phi(q) . z + eps) for one phi(q) row and one D x (D + 1) state (z in column D).
__device__ __forceinline__ float attend(const float* f, const float* s, int d, int d2) {
    float num = 0.f, den = kEps;
    for (int d1 = 0; d1 < d; ++d1) {
        num += f[d1] * s[(int64_t)d1 * (d + 1) + d2];
        den += f[d1] * s[(int64_t)d1 * (d + 1) + d];
    }
    return num / den;
}

inline unsigned blocks_for(int64_t n) { return (unsigned)((n + 255) / 256); }

// phi(k), the partials and their prefix into `prefix` ([B, Hkv, segments, D, D + 1]); phi_k is scratch [B, Hkv, Nkv, D].
template <typename T>
zt_status build_prefix(const Args& a, const T* k, const T* v, float* phi_k, float* prefix, float* state, float* zsum, cudaStream_t stream, const char* name) {
    int64_t kv_rows = (int64_t)a.batch * a.kv_heads * a.kv_len;
    if (kv_rows > 0) phi_rows<T><<<blocks_for(kv_rows), 256, 0, stream>>>(k, a.kv, a.batch, a.kv_heads, a.kv_len, a.d, a.phi, phi_k);
    partials<T><<<blocks_for((int64_t)a.batch * a.kv_heads * a.segments * a.state_floats()), 256, 0, stream>>>(a, phi_k, v, prefix);
    scan<<<blocks_for((int64_t)a.batch * a.kv_heads * a.state_floats()), 256, 0, stream>>>(a, prefix, state, zsum);
    return zt::check_launch(name);
}

}  // namespace zt::linear
