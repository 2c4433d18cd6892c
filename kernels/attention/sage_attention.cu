// sage_attention.cu: SageAttention on sm_80+ tensor cores: S from INT8 m16n8k32 with the Q and
// K block scales (sm_scale * log2(e) already in the Q scale), exp2 online softmax, P·V on
// m16n8k16 f16 with fp32 accumulation. pv_mode 1 (FP8): a pre-pass quantizes V per channel to
// e4m3 (scale = max|v| / 448), and P is rounded to e4m3(P * 448); both are exact in f16, so the
// f16 MMA computes exactly the products an e4m3 MMA would (the e4m3 m16n8k32 instruction needs
// PTX ISA 8.4 / CUDA 12.4, beyond the toolkit CI compiles with). V scales apply in the epilogue.
// The ILGPU twin and the emulated oracle: src/Attention/Flash/SageAttention.cs.
#include <cuda_fp8.h>

#include "attention/flash_kernel.cuh"
#include "zt_attention.h"

namespace {

using namespace zt::flash;

constexpr float kFp8Max = 448.f;
constexpr float kVScaleFloor = 1e-8f;

// One thread per (b, hkv, channel): amax over the tokens, the scale, the e4m3 codes ([B, Hkv, Nkv, D]).
template <typename T>
__global__ void sage_v_quant(Problem p, const T* __restrict__ v, uint8_t* __restrict__ codes, float* __restrict__ scales) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)p.batch * p.kv_heads * p.head_dim) return;
    int c = (int)(i % p.head_dim);
    int64_t bh = i / p.head_dim;
    int b = (int)(bh / p.kv_heads), hkv = (int)(bh % p.kv_heads);
    float amax = 0.f;
    for (int64_t j = 0; j < p.kv_len; ++j) amax = fmaxf(amax, fabsf(zt::elem<T>::load(v[p.kv.of(b, hkv, j) + c])));
    float scale = fmaxf(__fdiv_rn(amax, kFp8Max), kVScaleFloor);
    scales[i] = scale;
    for (int64_t j = 0; j < p.kv_len; ++j)
        codes[(bh * p.kv_len + j) * p.head_dim + c] =
            (uint8_t)__nv_cvt_float_to_fp8(__fdiv_rn(zt::elem<T>::load(v[p.kv.of(b, hkv, j) + c]), scale), __NV_SATFINITE, __NV_E4M3);
}

__device__ __forceinline__ float e4m3_round(float x) {
    __half_raw h = __nv_cvt_fp8_to_halfraw(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3), __NV_E4M3);
    return __half2float(__half(h));
}

template <typename T, int kPv>
struct SageTraits {
    using QK = int8_t;
    using VS = __half;
    using Out = T;
    static constexpr bool kInt8 = true;
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

    // V rows [k0, k0 + 64) as f16 in shared memory (converted, so plain loads and stores).
    template <int D>
    __device__ __forceinline__ void stage_v(char* smem, int pitch, const Problem& p, int b, int hkv, int64_t k0) const {
        for (int i = threadIdx.x; i < kBlockN * D; i += kThreads) {
            int r = i / D, c = i % D;
            int64_t key = k0 + r;
            float x = 0.f;
            if (key < p.kv_len) {
                if constexpr (kPv == 1) {
                    int64_t bh = (int64_t)b * p.kv_heads + hkv;
                    __half_raw hr = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)v_codes[(bh * p.kv_len + key) * D + c], __NV_E4M3);
                    x = __half2float(__half(hr));
                } else {
                    x = zt::elem<T>::load(v[p.kv.of(b, hkv, key) + c]);
                }
            }
            reinterpret_cast<__half*>(smem + r * pitch)[c] = __float2half_rn(x);
        }
    }
    __device__ __forceinline__ float score_factor(const Problem& p, int b, int h, int hkv, int64_t row0, int64_t k0) const {
        if (row0 >= p.q_len) return 0.f;  // a warp past the last query: its rows are masked anyway
        return q_scale[((int64_t)b * p.heads + h) * q_blocks + row0 / q_rows] * k_scale[((int64_t)b * p.kv_heads + hkv) * k_blocks + k0 / kBlockN];
    }
    __device__ __forceinline__ float p_operand(float pe) const { return kPv == 1 ? e4m3_round(pe * kFp8Max) : pe; }
    __device__ __forceinline__ float out_scale(const Problem& p, int b, int hkv, int col) const {
        return kPv == 1 ? v_scale[((int64_t)b * p.kv_heads + hkv) * p.head_dim + col] / kFp8Max : 1.f;
    }
    __device__ __forceinline__ float lse_shift(const Problem& p, int b, int h, int hkv, int64_t row) const {
        if (!k_mean) return 0.f;
        const int8_t* qr = q + p.q.of(b, h, row);
        const float* km = k_mean + ((int64_t)b * p.kv_heads + hkv) * p.head_dim;
        float dot = 0.f;
        for (int c = 0; c < p.head_dim; ++c) dot += (float)qr[c] * km[c];
        return dot * q_scale[((int64_t)b * p.heads + h) * q_blocks + row / q_rows] * 0.69314718056f;
    }
};

template <typename T, int kPv>
zt_status launch(const Problem& p, const SageTraits<T, kPv>& tr, cudaStream_t stream) {
    return p.head_dim == 64 ? launch_flash<SageTraits<T, kPv>, 64>(p, tr, stream, "zt_sage_attention")
                            : launch_flash<SageTraits<T, kPv>, 128>(p, tr, stream, "zt_sage_attention");
}

struct Launch {
    cudaStream_t stream;
    Problem p;
    int q_rows, pv_mode;
    const void *q, *q_scale, *k, *k_scale, *v, *k_mean;
    void *v_fp8, *v_scale, *o, *lse;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same_v<T, float>) {
            return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_sage_attention: v and o must be f16 or bf16");
        } else {
            int q_blocks = (p.q_len + q_rows - 1) / q_rows, k_blocks = (p.kv_len + kBlockN - 1) / kBlockN;
            if (pv_mode == 1) {
                int64_t n = (int64_t)p.batch * p.kv_heads * p.head_dim;
                sage_v_quant<T><<<(unsigned)((n + 255) / 256), 256, 0, stream>>>(p, static_cast<const T*>(v), static_cast<uint8_t*>(v_fp8),
                                                                                 static_cast<float*>(v_scale));
                zt_status st = zt::check_launch("zt_sage_attention (V pre-pass)");
                if (st != ZT_OK) return st;
            }
            auto make = [&](auto mode) {
                return SageTraits<T, decltype(mode)::value>{static_cast<const int8_t*>(q), static_cast<const int8_t*>(k),
                                                             static_cast<const float*>(q_scale), static_cast<const float*>(k_scale),
                                                             static_cast<const T*>(v), static_cast<const uint8_t*>(v_fp8),
                                                             static_cast<const float*>(v_scale), static_cast<const float*>(k_mean),
                                                             static_cast<T*>(o), static_cast<float*>(lse), q_rows, q_blocks, k_blocks};
            };
            return pv_mode == 1 ? launch(p, make(std::integral_constant<int, 1>{}), stream) : launch(p, make(std::integral_constant<int, 0>{}), stream);
        }
    }
};

}  // namespace

ZT_API zt_status zt_sage_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                                   int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks,
                                   float sm_scale, int32_t q_rows, int32_t pv_mode, int32_t write_lse, int64_t q_count, int64_t kv_count,
                                   int64_t lse_count, int64_t q_scale_count, int64_t k_scale_count, int64_t channel_count, int64_t v_fp8_count,
                                   const void* q, const void* q_scale, const void* k, const void* k_scale, const void* v, const void* k_mean,
                                   void* v_fp8, void* v_scale, void* o, void* lse) {
    (void)sm_scale;  // folded into q_scale by the quantizer; kept in the ABI for the record
    zt_status st = check_problem("zt_sage_attention: bad extents", batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens);
    if (st != ZT_OK) return st;
    if (q_rows != 16 && q_rows != 32 && q_rows != 64 && q_rows != 128)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: q_rows must be 16, 32, 64 or 128");
    if (pv_mode != 0 && pv_mode != 1) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: pv_mode 0 (f16) or 1 (fp8)");
    int64_t ch = (int64_t)batch * kv_heads * head_dim;
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim ||
        q_scale_count != (int64_t)batch * heads * ((q_len + q_rows - 1) / q_rows) ||
        k_scale_count != (int64_t)batch * kv_heads * ((kv_len + kBlockN - 1) / kBlockN) || (write_lse && lse_count != (int64_t)batch * heads * q_len) ||
        (k_mean && channel_count != ch) || (pv_mode == 1 && (channel_count != ch || v_fp8_count < (int64_t)batch * kv_heads * kv_len * head_dim)))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: tensor sizes disagree with the extents");
    if (!q || !q_scale || !k || !k_scale || !v || !o || (write_lse && !lse) || (pv_mode == 1 && (!v_fp8 || !v_scale)))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: null pointer");
    if (batch == 0 || q_len == 0) return ZT_OK;
    Problem p = make_problem(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, window, sinks, write_lse);
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), p, q_rows, pv_mode, q, q_scale, k, k_scale, v, k_mean, v_fp8, v_scale, o, lse});
}
