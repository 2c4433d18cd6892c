// flash_traits.cuh: the Traits of flash_kernel.cuh, shared by the dense and Sage kernels and
// their block-sparse forms (attention.cu, sage_attention.cu, block_sparse_attention.cu, sla.cu).
//   DenseTraits  f16/bf16 Q, K, V copied raw; scores * scale * log2(e)
//   SageTraits   INT8 Q, K with block scales (K: per 64 keys, or kKRows = 1: per key token, the
//                tile's 64 scales staged after its V tile); V copied raw and P.V in V's own 16-bit type
//                (pv_mode 0), or V's e4m3 codes from the pre-pass (pv_mode 1): the native e4m3
//                m16n8k32 MMA on sm_89+, f16 MMAs over the same codes below that
// A Traits supplies kVTileBytes<D>, stage_v (the V tile, by cp.async) and pv (O += P V over it).
#pragma once

#include <cuda_fp8.h>

#include "attention/flash_kernel.cuh"

namespace zt::flash {

template <typename T>
struct DenseTraits {
    using QK = T;
    using Out = T;
    static constexpr bool kInt8 = false;
    template <int D> static constexpr int kVTileBytes = kBlockN * D * (int)sizeof(T);
    const T* q;
    const T* k;
    const T* v;
    T* o;
    float* lse;
    float scale_log2;

    template <int D>
    __device__ __forceinline__ void stage_v(char* smem, const Problem& p, int b, int hkv, int64_t k0) const {
        stage_rows<T, D>(smem, v, p.kv, b, hkv, k0, kBlockN, p.kv_len);
    }
    template <int D, int kMT>
    __device__ __forceinline__ void pv(float (&o)[kMT][D / 8][4], const float (&s)[kMT][kBlockN / 8][4], const char* vt) const {
        pv_b16<T, D, kMT>(o, s, vt);
    }
    __device__ __forceinline__ float score_factor(const Problem&, int, int, int, int64_t, int64_t) const { return scale_log2; }
    __device__ __forceinline__ float out_scale(const Problem&, int, int, int) const { return 1.f; }
    __device__ __forceinline__ float lse_shift_part(const Problem&, int, int, int, int64_t, int) const { return 0.f; }
};

constexpr float kFp8Max = 448.f;
constexpr float kVScaleFloor = 1e-8f;

// --- the pv_mode 1 pre-pass ---------------------------------------------------------------------
// V's per-channel scale max|v| / 448 and its e4m3 codes, laid out as the attention kernel reads
// them: codes[b, hkv, c, 0 .. npad) with npad = Nkv rounded up to 64 (zeros past Nkv), so a key
// tile is D rows of 64 bytes (cp.async), and within each 16 keys, the word a lane takes for B
// fragment lane t (bytes 4t .. 4t + 3) holds keys {2t, 2t + 1, 2t + 8, 2t + 9}: the keys an m16n8
// C fragment of S gives lane t, so P needs no shuffle either for the e4m3 m16n8k32 MMA (k index
// 4t + i) or as two f16 k16 half-words (keys 2t, 2t + 1 | 2t + 8, 2t + 9).
// Three passes, each a 2-D grid over (token chunk, b * hkv), deterministic (max is exact):
//   sage_v_amax   16-byte loads along the channels, a partial max per 256 tokens (into the codes buffer)
//   sage_v_scale  one thread per channel over the partials (Nkv / 256 of them): the scale
//   sage_v_codes  a 64-key tile per block, transposed and permuted in shared memory, 16-byte stores
constexpr int kVChunk = 256;
constexpr int kVThreads = 256;

__host__ __device__ constexpr int64_t v_code_pad(int64_t kv_len) { return (kv_len + kBlockN - 1) / kBlockN * kBlockN; }

template <typename T, int D>
__global__ void __launch_bounds__(kVThreads) sage_v_amax(Problem p, const T* __restrict__ v, float* __restrict__ partial) {
    constexpr int kLanes = D / 8, kRowsPer = kVThreads / kLanes;  // 8 elements per 16-byte load
    constexpr int kPitch = D + kLanes;  // a warp's rows start kLanes banks apart: conflict-free stores
    __shared__ float red[kRowsPer * kPitch];
    const int bh = blockIdx.y, b = bh / p.kv_heads, hkv = bh % p.kv_heads;
    const int cv = threadIdx.x % kLanes, r = threadIdx.x / kLanes;
    const int64_t j0 = (int64_t)blockIdx.x * kVChunk;
    const int64_t j1 = j0 + kVChunk < p.kv_len ? j0 + kVChunk : p.kv_len;
    float amax[8] = {};
    for (int64_t j = j0 + r; j < j1; j += kRowsPer) {
        uint4 raw = *reinterpret_cast<const uint4*>(v + p.kv.of(b, hkv, j) + cv * 8);
        const T* x = reinterpret_cast<const T*>(&raw);
#pragma unroll
        for (int e = 0; e < 8; ++e) amax[e] = fmaxf(amax[e], fabsf(zt::elem<T>::load(x[e])));
    }
#pragma unroll
    for (int e = 0; e < 8; ++e) red[r * kPitch + e * kLanes + cv] = amax[e];  // lanes along cv: no bank conflict
    __syncthreads();
    if (threadIdx.x < D) {
        float m = 0.f;
        for (int i = 0; i < kRowsPer; ++i) m = fmaxf(m, red[i * kPitch + threadIdx.x]);
        const int e = threadIdx.x / kLanes, c = (threadIdx.x % kLanes) * 8 + e;
        partial[((int64_t)bh * gridDim.x + blockIdx.x) * D + c] = m;
    }
}

template <typename T>  // per V type only so that the header defines no non-template kernel
__global__ void sage_v_scale(int channels, int d, int chunks, const float* __restrict__ partial, float* __restrict__ scales) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= channels) return;
    const int64_t bh = i / d, c = i % d;
    float amax = 0.f;
    for (int k = 0; k < chunks; ++k) amax = fmaxf(amax, partial[(bh * chunks + k) * d + c]);
    scales[i] = fmaxf(__fdiv_rn(amax, kFp8Max), kVScaleFloor);
}

template <typename T, int D>
__global__ void __launch_bounds__(kVThreads) sage_v_codes(Problem p, const T* __restrict__ v, const float* __restrict__ scales,
                                                          uint8_t* __restrict__ codes) {
    constexpr int kLanes = D / 8;
    __shared__ __align__(16) T vt[kBlockN * D];            // the tile as loaded: [key][channel]
    __shared__ __align__(16) uint8_t ct[D * kBlockN];      // the codes: [channel][permuted key], swz<64>
    __shared__ float sc[D];
    const int bh = blockIdx.y, b = bh / p.kv_heads, hkv = bh % p.kv_heads;
    const int64_t k0 = (int64_t)blockIdx.x * kBlockN, npad = v_code_pad(p.kv_len);
    for (int c = threadIdx.x; c < D; c += kVThreads) sc[c] = scales[(int64_t)bh * D + c];
    for (int i = threadIdx.x; i < kBlockN * kLanes; i += kVThreads) {
        int r = i / kLanes, cv = i % kLanes;
        uint4 raw = make_uint4(0, 0, 0, 0);
        if (k0 + r < p.kv_len) raw = *reinterpret_cast<const uint4*>(v + p.kv.of(b, hkv, k0 + r) + cv * 8);
        *reinterpret_cast<uint4*>(vt + r * D + cv * 8) = raw;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < D * (kBlockN / 16); i += kVThreads) {
        const int c = i % D, grp = i / D;  // lanes along the channels: conflict-free column reads
        uint32_t w[4] = {0, 0, 0, 0};
#pragma unroll
        for (int o = 0; o < 16; ++o) {
            float x = zt::elem<T>::load(vt[(grp * 16 + o) * D + c]);
            uint32_t code = (uint32_t)__nv_cvt_float_to_fp8(__fdiv_rn(x, sc[c]), __NV_SATFINITE, __NV_E4M3);
            const int pos = 4 * ((o & 7) >> 1) + (o & 1) + 2 * (o >> 3);  // key o's byte in the 16-key group
            w[pos >> 2] |= code << (8 * (pos & 3));
        }
        *reinterpret_cast<uint4*>(ct + swz<64>(c, grp)) = make_uint4(w[0], w[1], w[2], w[3]);
    }
    __syncthreads();
    for (int i = threadIdx.x; i < D * (kBlockN / 16); i += kVThreads) {
        const int c = i >> 2, ch = i & 3;
        *reinterpret_cast<uint4*>(codes + ((int64_t)bh * D + c) * npad + k0 + ch * 16) = *reinterpret_cast<const uint4*>(ct + swz<64>(c, ch));
    }
}

template <typename T>
zt_status sage_prepass(const Problem& p, const T* v, uint8_t* codes, float* scales, cudaStream_t stream, const char* name) {
    if (p.kv_len == 0) return ZT_OK;
    const unsigned bh = (unsigned)(p.batch * p.kv_heads);
    const int chunks = (p.kv_len + kVChunk - 1) / kVChunk;
    const unsigned tiles = (unsigned)(v_code_pad(p.kv_len) / kBlockN);
    float* partial = reinterpret_cast<float*>(codes);  // chunks * 4 bytes per channel <= npad: the codes overwrite it last
    const int channels = p.batch * p.kv_heads * p.head_dim;
    if (p.head_dim == 64) sage_v_amax<T, 64><<<dim3(chunks, bh), kVThreads, 0, stream>>>(p, v, partial);
    else sage_v_amax<T, 128><<<dim3(chunks, bh), kVThreads, 0, stream>>>(p, v, partial);
    sage_v_scale<T><<<(channels + 255) / 256, 256, 0, stream>>>(channels, p.head_dim, chunks, partial, scales);
    if (p.head_dim == 64) sage_v_codes<T, 64><<<dim3(tiles, bh), kVThreads, 0, stream>>>(p, v, scales, codes);
    else sage_v_codes<T, 128><<<dim3(tiles, bh), kVThreads, 0, stream>>>(p, v, scales, codes);
    return zt::check_launch(name);
}

// 4 bytes global -> shared, asynchronously (cp.async.ca: sizes below 16); zero-filled when !pred.
__device__ __forceinline__ void cp_async4(void* smem, const void* gmem, bool pred) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    int n = pred ? 4 : 0;
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(gmem), "r"(n));
}

// --- e4m3 operands ---------------------------------------------------------------------------------

// Four floats as e4m3 codes in one word (a first), an A-fragment register of the e4m3 MMA.
__device__ __forceinline__ uint32_t e4m3x4(float a, float b, float c, float d) {
    uint32_t lo = __nv_cvt_float2_to_fp8x2(make_float2(a, b), __NV_SATFINITE, __NV_E4M3);
    uint32_t hi = __nv_cvt_float2_to_fp8x2(make_float2(c, d), __NV_SATFINITE, __NV_E4M3);
    return lo | (hi << 16);
}

// Two e4m3 codes of a word (bytes 0, 1 with sel 0x4140; bytes 2, 3 with 0x4342) as a half2 of
// their values times 2^-8, exactly: the code's exponent and mantissa bits placed under f16's are
// the same significand at an exponent 8 lower (bias 7 vs 15), subnormals included. Five integer
// ops instead of a conversion; the 2^8 goes into the epilogue's channel scale.
__device__ __forceinline__ uint32_t e4m3x2_as_half2(uint32_t w, uint32_t sel) {
    uint32_t x = __byte_perm(w, 0, sel);
    return ((x & 0x007F007Fu) << 7) | ((x & 0x00800080u) << 8);
}

__device__ __forceinline__ float e4m3_round(float x) {
    __half_raw h = __nv_cvt_fp8_to_halfraw(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3), __NV_E4M3);
    return __half2float(__half(h));
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
// mma.sync m16n8k32 e4m3 x e4m3 -> f32 (sm_89+, PTX ISA 8.4): fragments as mma_s8's.
__device__ __forceinline__ void mma_e4m3(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
constexpr bool kNativeE4m3 = true;
#else
constexpr bool kNativeE4m3 = false;
#endif

// kKRows: keys per K scale. 64: k_scale[b, hkv, k0 / 64], one factor per tile (score_factor).
// 1: k_scale is k's layout without D (so key j's scale sits at k's offset / D), for a KV cache
// written frame by frame; the tile's 64 scales ride with its V tile (cp.async, zero past Nkv) and
// flash_kernel multiplies each column by its own (kKeyScales, key_scales).
template <typename T, int kPv, int kKRows = kBlockN>
struct SageTraits {
    static_assert(kKRows == kBlockN || kKRows == 1, "K scales per 64 keys or per key");
    using QK = int8_t;
    using Out = T;
    static constexpr bool kInt8 = true;
    static constexpr bool kKeyScales = kKRows == 1;
    template <int D> static constexpr int kVDataBytes = kPv == 1 ? D * kBlockN : kBlockN * D * (int)sizeof(T);
    template <int D> static constexpr int kVTileBytes = kVDataBytes<D> + (kKeyScales ? kBlockN * (int)sizeof(float) : 0);
    const int8_t* q;
    const int8_t* k;
    const float* q_scale;
    const float* k_scale;
    const T* v;
    const uint8_t* v_codes;
    const float* v_scale;
    const float* k_mean;
    T* o;
    float* lse;
    int q_rows, q_blocks, k_blocks;

    // pv_mode 0: V rows raw. pv_mode 1: the pre-pass's D code rows of this tile's 64 keys.
    template <int D>
    __device__ __forceinline__ void stage_v(char* smem, const Problem& p, int b, int hkv, int64_t k0) const {
        if constexpr (kPv == 1) {
            const uint8_t* base = v_codes + (((int64_t)b * p.kv_heads + hkv) * D) * v_code_pad(p.kv_len) + k0;
            for (int i = threadIdx.x; i < D * 4; i += blockDim.x) {
                int c = i >> 2, ch = i & 3;
                cp_async16(smem + swz<64>(c, ch), base + (int64_t)c * v_code_pad(p.kv_len) + ch * 16, true);
            }
        } else {
            stage_rows<T, D>(smem, v, p.kv, b, hkv, k0, kBlockN, p.kv_len);
        }
        if constexpr (kKeyScales) {
            // One 4-byte copy per key (the scales of one head are strided by Hkv in an nhd cache).
            float* ks = reinterpret_cast<float*>(smem + kVDataBytes<D>);
            const int64_t at = p.kv.of(b, hkv, k0) / D, step = p.kv.token / D;
            for (int i = threadIdx.x; i < kBlockN; i += blockDim.x) {
                const bool ok = k0 + i < p.kv_len;
                cp_async4(ks + i, k_scale + (ok ? at + i * step : 0), ok);
            }
        }
    }

    // kKeyScales: the K scales of lane t's columns j * 8 + 2t + e of the staged tile (broadcast float2 reads).
    template <int D>
    __device__ __forceinline__ void key_scales(float (&kc)[kBlockN / 8][2], const char* vt) const {
        const float* ks = reinterpret_cast<const float*>(vt + kVDataBytes<D>);
        const int t = threadIdx.x & 3;
#pragma unroll
        for (int j = 0; j < kBlockN / 8; ++j) {
            const float2 x = *reinterpret_cast<const float2*>(ks + j * 8 + 2 * t);
            kc[j][0] = x.x;
            kc[j][1] = x.y;
        }
    }

    template <int D, int kMT>
    __device__ __forceinline__ void pv(float (&o)[kMT][D / 8][4], const float (&s)[kMT][kBlockN / 8][4], const char* vt) const {
        if constexpr (kPv == 0) {
            pv_b16<T, D, kMT>(o, s, vt);  // bf16 V stays bf16 (no f16 overflow above 65504)
        } else {
            const int lane = threadIdx.x & 31;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
            // P * 448 as e4m3, in the key order of the codes (see the pre-pass): two k32 steps.
            uint32_t pa[kMT][2][4];
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
                for (int kk = 0; kk < 2; ++kk)
#pragma unroll
                    for (int hg = 0; hg < 2; ++hg) {  // hg: the first or second 16 keys of the step
                        const int j = 4 * kk + 2 * hg;
                        pa[mt][kk][2 * hg] = e4m3x4(s[mt][j][0] * kFp8Max, s[mt][j][1] * kFp8Max, s[mt][j + 1][0] * kFp8Max, s[mt][j + 1][1] * kFp8Max);
                        pa[mt][kk][2 * hg + 1] = e4m3x4(s[mt][j][2] * kFp8Max, s[mt][j][3] * kFp8Max, s[mt][j + 1][2] * kFp8Max, s[mt][j + 1][3] * kFp8Max);
                    }
#pragma unroll
            for (int n = 0; n < D / 8; ++n) {
                uint32_t vb[4];  // word t of channel n * 8 + g in each 16-key group
                ldsm_x4(vb, vt + swz<64>(n * 8 + (lane & 7), lane >> 3));
                const uint32_t b0[2] = {vb[0], vb[1]}, b1[2] = {vb[2], vb[3]};
#pragma unroll
                for (int mt = 0; mt < kMT; ++mt) {
                    mma_e4m3(o[mt][n], pa[mt][0], b0);
                    mma_e4m3(o[mt][n], pa[mt][1], b1);
                }
            }
#else
            // sm_80: the same codes as f16 (times 2^-8, exact) on m16n8k16; P rounded to e4m3 (exact in f16).
            uint32_t pa[kMT][4][4];
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
                for (int kk = 0; kk < 4; ++kk) {
                    const int j = 2 * kk;
                    pa[mt][kk][0] = pack2<__half>(e4m3_round(s[mt][j][0] * kFp8Max), e4m3_round(s[mt][j][1] * kFp8Max));
                    pa[mt][kk][1] = pack2<__half>(e4m3_round(s[mt][j][2] * kFp8Max), e4m3_round(s[mt][j][3] * kFp8Max));
                    pa[mt][kk][2] = pack2<__half>(e4m3_round(s[mt][j + 1][0] * kFp8Max), e4m3_round(s[mt][j + 1][1] * kFp8Max));
                    pa[mt][kk][3] = pack2<__half>(e4m3_round(s[mt][j + 1][2] * kFp8Max), e4m3_round(s[mt][j + 1][3] * kFp8Max));
                }
#pragma unroll
            for (int n = 0; n < D / 8; ++n) {
                uint32_t vb[4];
                ldsm_x4(vb, vt + swz<64>(n * 8 + (lane & 7), lane >> 3));
#pragma unroll
                for (int kk = 0; kk < 4; ++kk) {
                    const uint32_t bf[2] = {e4m3x2_as_half2(vb[kk], 0x4140), e4m3x2_as_half2(vb[kk], 0x4342)};
#pragma unroll
                    for (int mt = 0; mt < kMT; ++mt) zt::gemm::mma_f16(o[mt][n], pa[mt][kk], bf);
                }
            }
#endif
        }
    }

    __device__ __forceinline__ float score_factor(const Problem& p, int b, int h, int hkv, int64_t row0, int64_t k0) const {
        if (row0 >= p.q_len) row0 = p.q_len - 1;  // a tile past the last query: never stored, but kept finite
        const float qs = q_scale[((int64_t)b * p.heads + h) * q_blocks + row0 / q_rows];
        if constexpr (kKeyScales) return qs;  // times each column's K scale in flash_kernel
        else return qs * k_scale[((int64_t)b * p.kv_heads + hkv) * k_blocks + k0 / kBlockN];
    }
    __device__ __forceinline__ float out_scale(const Problem& p, int b, int hkv, int col) const {
        if constexpr (kPv == 0) return 1.f;
        // P carries 448; the sm_80 path's V halves carry 2^-8 (e4m3x2_as_half2).
        constexpr float kUnits = kNativeE4m3 ? 1.f / kFp8Max : 256.f / kFp8Max;
        return v_scale[((int64_t)b * p.kv_heads + hkv) * p.head_dim + col] * kUnits;
    }
    // Lane t's part of (q . k_mean) * q_scale * ln 2: channels 4t + 16i, 4-byte q and 16-byte k_mean loads.
    __device__ __forceinline__ float lse_shift_part(const Problem& p, int b, int h, int hkv, int64_t row, int t) const {
        if (!k_mean || row >= p.q_len) return 0.f;
        const int8_t* qr = q + p.q.of(b, h, row);
        const float* km = k_mean + ((int64_t)b * p.kv_heads + hkv) * p.head_dim;
        float dot = 0.f;
        for (int c = 4 * t; c < p.head_dim; c += 16) {
            const char4 w = *reinterpret_cast<const char4*>(qr + c);
            const float4 m = *reinterpret_cast<const float4*>(km + c);
            dot += (float)w.x * m.x + (float)w.y * m.y + (float)w.z * m.z + (float)w.w * m.w;
        }
        return dot * q_scale[((int64_t)b * p.heads + h) * q_blocks + row / q_rows] * 0.69314718056f;
    }
};

}  // namespace zt::flash
