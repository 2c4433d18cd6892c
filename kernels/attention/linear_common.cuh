// linear_common.cuh: the passes linear_attention.cu and sla.cu share (the ILGPU twins and their
// definition: src/Attention/Sparse/LinearEngine.cs and LinearAttention.cs).
//   phi_rows  one warp per row, lanes over D (coalesced): phi(x) (0 relu, 1 elu+1, 2 softmax over D)
//             into f32 [B, heads, N, D]
//   partials  one CTA per (b, hkv, chunk of segments, 64 x 64 tile of the state): the segment sums
//             phi(k)^T [v, 1] as a shared-memory tiled GEMM over the chunk's keys in order, writing
//             the running sum after each segment: the chunk-local inclusive prefix ("local")
//   scan      one thread per (b, hkv, state element), serial over the chunks only (N / 1024 steps):
//             each chunk's exclusive offset ("carry", from the carried state when there is one),
//             and the total into the carried state
// The prefix of segment s is local[s] + carry[s / chunk_segments]: the long scan over segments is
// split into a parallel chunk-local part (free inside partials, which walks its keys in order
// anyway) and a short carry, and no pass rewrites the prefix (it is written once, read by the
// consumers). Every sum runs in a fixed order, so results are the same run to run.
// A state is D x (D + 1) floats per (b, hkv): S row-major [D][D], then z [D] (the layout of the
// carried state and zsum, so S rows are 16-byte aligned for any D multiple of 4).
// gemm_rows: the consumers' product, rows of an f32 [rows, D] matrix (phi(q), o_lin) times a
// D x 64 slice staged in shared memory, optionally divided by the row's phi(q) . z + eps.
#pragma once

#include "attention/flash_common.cuh"

namespace zt::linear {

using zt::flash::Strides;

constexpr float kEps = 1e-5f;
constexpr int kTile = 64;        // rows and columns of a CTA's output tile
constexpr int kPad = kTile + 1;  // shared row stride of transposed stages (conflict-free column stores)
constexpr int kSteps = 32;       // keys (partials) or head-dim entries (gemm_rows) staged per step
constexpr int kThreads = 256;    // 16 x 16 threads, 4 x 4 outputs each: rows ty + 16 i, columns tx + 16 j
constexpr int kChunkTokens = 1024;

struct Args {
    int batch, heads, kv_heads, q_len, kv_len, d, group, segments, segment_tokens, phi, chunk_segments, chunks;
    Strides q, kv;
    __host__ __device__ int64_t state_floats() const { return (int64_t)d * (d + 1); }
};

// Segments per chunk: about kChunkTokens keys, at least one segment. The C# side sizes the
// workspace with the same rule (LinearEngine.Args: segments and chunks, prefix_floats = PrefixFloats).
inline Args make_args(int batch, int heads, int kv_heads, int q_len, int kv_len, int d, int layout, int phi, int segment_tokens) {
    Args a{batch, heads, kv_heads, q_len, kv_len, d, heads / kv_heads, 1, segment_tokens, phi, 1, 1, Strides::contiguous(layout, heads, q_len, d),
           Strides::contiguous(layout, kv_heads, kv_len, d)};
    a.segments = kv_len > 0 ? (kv_len + segment_tokens - 1) / segment_tokens : 1;
    a.chunk_segments = segment_tokens >= kChunkTokens ? 1 : kChunkTokens / segment_tokens;
    a.chunks = (a.segments + a.chunk_segments - 1) / a.chunk_segments;
    return a;
}

// Workspace floats of the prefix: local [B, Hkv, segments, sf] then carry [B, Hkv, chunks, sf].
inline int64_t prefix_floats(const Args& a) { return (int64_t)a.batch * a.kv_heads * (a.segments + a.chunks) * a.state_floats(); }

// Element e of segment seg's inclusive prefix of (b, hkv) = bhkv.
__device__ __forceinline__ float prefix_at(const Args& a, const float* __restrict__ local, const float* __restrict__ carry, int64_t bhkv, int seg, int64_t e) {
    int64_t sf = a.state_floats();
    return local[(bhkv * a.segments + seg) * sf + e] + carry[(bhkv * a.chunks + seg / a.chunk_segments) * sf + e];
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// One warp per row: lane l handles columns l, l + 32, ... (consecutive lanes, consecutive addresses).
template <typename T>
__global__ void __launch_bounds__(kThreads) phi_rows(const T* __restrict__ x, Strides st, int batch, int heads, int len, int d, int phi, float* __restrict__ y) {
    int lane = threadIdx.x & 31;
    int64_t row = (int64_t)blockIdx.x * (kThreads / 32) + threadIdx.x / 32;
    if (row >= (int64_t)batch * heads * len) return;  // warp-uniform
    int64_t bh = row / len;
    int n = (int)(row % len), b = (int)(bh / heads), h = (int)(bh % heads);
    const T* src = x + st.of(b, h, n);
    float* dst = y + row * d;
    if (phi != 2) {
        for (int c = lane; c < d; c += 32) {
            float v = zt::elem<T>::load(src[c]);
            dst[c] = phi == 0 ? fmaxf(v, 0.f) : v > 0.f ? v + 1.f : expf(v);
        }
        return;
    }
    float mx = -INFINITY;
    for (int c = lane; c < d; c += 32) mx = fmaxf(mx, zt::elem<T>::load(src[c]));
    mx = warp_max(mx);
    float sum = 0.f;
    for (int c = lane; c < d; c += 32) sum += expf(zt::elem<T>::load(src[c]) - mx);
    sum = warp_sum(sum);  // a fixed butterfly: the same order every run
    for (int c = lane; c < d; c += 32) dst[c] = expf(zt::elem<T>::load(src[c]) - mx) / sum;
}

// grid (tiles of the state: d1 tile * col_tiles + col tile, chunk, b * kv_heads + hkv). Column
// tile 0 also sums z for its d1 rows (threads 0..63, two whole warps: no divergence in a warp).
template <typename T>
__global__ void __launch_bounds__(kThreads, 2) partials(Args a, const float* __restrict__ phi_k, const T* __restrict__ v, float* __restrict__ local) {
    __shared__ float k_s[kSteps][kTile];  // phi(k)[j][d1 tile]
    __shared__ float v_s[kSteps][kTile];  // v[j][column tile]
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int col_tiles = (a.d + kTile - 1) / kTile;
    const int d1_0 = (blockIdx.x / col_tiles) * kTile, c0 = (blockIdx.x % col_tiles) * kTile;
    const int64_t bh = blockIdx.z;
    const int b = (int)(bh / a.kv_heads), hkv = (int)(bh % a.kv_heads);
    const bool z_owner = c0 == 0 && tid < kTile;
    const int64_t sf = a.state_floats();
    // Staging: this thread always fills column sc of rows sk, sk + 4, ...
    const int sc = tid % kTile, sk = tid / kTile;
    const bool k_col = d1_0 + sc < a.d, v_col = c0 + sc < a.d;
    const float* kp = phi_k + bh * a.kv_len * a.d + d1_0 + sc;
    const T* vp = v + a.kv.of(b, hkv, 0) + c0 + sc;
    float acc[4][4] = {};
    float zacc = 0.f;
    const int seg0 = blockIdx.y * a.chunk_segments, seg1 = min(seg0 + a.chunk_segments, a.segments);
    for (int seg = seg0; seg < seg1; ++seg) {
        // Key indices fit an int (kv_len does); pointers step by 64-bit products below.
        const int j0 = seg * a.segment_tokens, j1 = min(j0 + a.segment_tokens, a.kv_len);
        for (int jb = j0; jb < j1; jb += kSteps) {
            // Stage kSteps keys: a warp reads 32 consecutive floats of a phi(k) row and of a v row.
#pragma unroll
            for (int r = 0; r < kSteps * kTile / kThreads; ++r) {
                int kk = sk + r * (kThreads / kTile);
                int j = jb + kk;
                bool in = j < j1;
                k_s[kk][sc] = in && k_col ? kp[(int64_t)j * a.d] : 0.f;
                v_s[kk][sc] = in && v_col ? zt::elem<T>::load(vp[j * a.kv.token]) : 0.f;
            }
            __syncthreads();
#pragma unroll 8
            for (int kk = 0; kk < kSteps; ++kk) {
                float f[4], w[4];
#pragma unroll
                for (int i = 0; i < 4; ++i) f[i] = k_s[kk][ty + 16 * i];
#pragma unroll
                for (int j = 0; j < 4; ++j) w[j] = v_s[kk][tx + 16 * j];
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 4; ++j) acc[i][j] += f[i] * w[j];
            }
            if (z_owner)
                for (int kk = 0; kk < kSteps; ++kk) zacc += k_s[kk][tid];
            __syncthreads();
        }
        // The chunk-local inclusive prefix through this segment.
        float* out = local + (bh * a.segments + seg) * sf;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            int d1 = d1_0 + ty + 16 * i;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                int c = c0 + tx + 16 * j;
                if (d1 < a.d && c < a.d) out[(int64_t)d1 * a.d + c] = acc[i][j];
            }
        }
        if (z_owner && d1_0 + tid < a.d) out[(int64_t)a.d * a.d + d1_0 + tid] = zacc;
    }
}

// One thread per (b, hkv, e): consecutive threads, consecutive elements of every chunk's state.
static __global__ void scan(Args a, const float* __restrict__ local, float* __restrict__ carry, float* __restrict__ state, float* __restrict__ zsum) {
    int64_t sf = a.state_floats();
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)a.batch * a.kv_heads * sf) return;
    int64_t e = i % sf, bh = i / sf, dd = (int64_t)a.d * a.d;
    float run = !state ? 0.f : e < dd ? state[bh * dd + e] : zsum[bh * a.d + (e - dd)];
    for (int c = 0; c < a.chunks; ++c) {
        carry[(bh * a.chunks + c) * sf + e] = run;
        int last = min((c + 1) * a.chunk_segments, a.segments) - 1;
        run += local[(bh * a.segments + last) * sf + e];
    }
    if (state) {
        if (e < dd) state[bh * dd + e] = run;
        else zsum[bh * a.d + (e - dd)] = run;
    }
}

// Shared memory of a gemm_rows CTA, in floats: the D x 64 slice (row stride kPad), z [D], the
// staged rows [kSteps][kPad] and the row denominators [64].
inline int gemm_smem_bytes(int d) { return (int)sizeof(float) * (d * kPad + d + kSteps * kPad + kTile); }

struct GemmSmem {
    float *b, *z, *a, *den;
    __device__ static GemmSmem of(float* smem, int d) { return {smem, smem + d * kPad, smem + d * kPad + d, smem + d * kPad + d + kSteps * kPad}; }
};

// out(row, c0 + col, value) for rows [r0, r1) of x (f32 [*, D] rows at x + row * D), value =
// (x_row . b[:, col]) / (x_row . z + eps) when `divide`, else x_row . b[:, col]; sm.b and sm.z
// hold the CTA's slice (staged by the caller, followed by a barrier). Sums run over the head dim
// in order (the definition's order), in f32.
template <typename Out>
__device__ __forceinline__ void gemm_rows(const float* __restrict__ x, int64_t r0, int64_t r1, int d, int c0, bool divide, const GemmSmem& sm, Out out) {
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int sk = tid % kSteps, sr = tid / kSteps;  // staging: entry sk of rows sr, sr + 8, ...
    for (int64_t rt = r0; rt < r1; rt += kTile) {
        float acc[4][4] = {};
        float den = kEps;
        for (int k0 = 0; k0 < d; k0 += kSteps) {
            // A warp reads 32 consecutive floats of one row; stored transposed ([k][row], padded).
#pragma unroll
            for (int m = 0; m < kSteps * kTile / kThreads; ++m) {
                int r = sr + m * (kThreads / kSteps);
                sm.a[sk * kPad + r] = rt + r < r1 && k0 + sk < d ? x[(rt + r) * d + k0 + sk] : 0.f;
            }
            __syncthreads();
            int steps = min(kSteps, d - k0);
            for (int kk = 0; kk < steps; ++kk) {
                float f[4], w[4];
#pragma unroll
                for (int i = 0; i < 4; ++i) f[i] = sm.a[kk * kPad + ty + 16 * i];
#pragma unroll
                for (int j = 0; j < 4; ++j) w[j] = sm.b[(k0 + kk) * kPad + tx + 16 * j];
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 4; ++j) acc[i][j] += f[i] * w[j];
            }
            if (divide && tid < kTile)
                for (int kk = 0; kk < steps; ++kk) den += sm.a[kk * kPad + tid] * sm.z[k0 + kk];
            __syncthreads();
        }
        if (divide && tid < kTile) sm.den[tid] = den;
        __syncthreads();
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            int r = ty + 16 * i;
            float dv = divide ? sm.den[r] : 1.f;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                int c = c0 + tx + 16 * j;
                if (rt + r < r1 && c < d) out(rt + r, c, divide ? acc[i][j] / dv : acc[i][j]);
            }
        }
        // (sm.den is next written after the next tile's barriers.)
    }
}

inline unsigned blocks_for(int64_t n) { return (unsigned)((n + 255) / 256); }

// phi(k), the chunk-local prefix and the carry into `prefix` (prefix_floats(a)); phi_k is scratch [B, Hkv, Nkv, D].
template <typename T>
zt_status build_prefix(const Args& a, const T* k, const T* v, float* phi_k, float* prefix, float* state, float* zsum, cudaStream_t stream, const char* name) {
    int64_t kv_rows = (int64_t)a.batch * a.kv_heads * a.kv_len;
    float* local = prefix;
    float* carry = prefix + (int64_t)a.batch * a.kv_heads * a.segments * a.state_floats();
    if (kv_rows > 0) phi_rows<T><<<(unsigned)((kv_rows + 7) / 8), kThreads, 0, stream>>>(k, a.kv, a.batch, a.kv_heads, a.kv_len, a.d, a.phi, phi_k);
    int tiles = (a.d + kTile - 1) / kTile;
    partials<T><<<dim3(tiles * tiles, a.chunks, a.batch * a.kv_heads), kThreads, 0, stream>>>(a, phi_k, v, local);
    scan<<<blocks_for((int64_t)a.batch * a.kv_heads * a.state_floats()), 256, 0, stream>>>(a, local, carry, state, zsum);
    return zt::check_launch(name);
}

}  // namespace zt::linear
