// sage_attention.cu: SageAttention on sm_80+ tensor cores: S from INT8 m16n8k32 with the Q and
// K block scales (sm_scale * log2(e) already in the Q scale), exp2 online softmax, fp32
// accumulation. pv_mode 0: P.V on m16n8k16 in V's own type (f16, or bf16: no overflow to inf
// above f16's 65504), V copied raw. pv_mode 1 (FP8): a pre-pass quantizes V per channel to e4m3
// (scale = max|v| / 448) in the layout the kernel's cp.async and fragments want, and P is rounded
// to e4m3(P * 448): the native e4m3 m16n8k32 MMA on sm_89+ (PTX ISA 8.4, CUDA 12.4), and below
// that f16 m16n8k16 over the same codes (both operands exact in f16, so the same products). V
// scales apply in the epilogue. K scales per 64 keys (k_rows 64, one factor per tile) or per key
// token (k_rows 1: a KV cache written frame by frame, frames not multiples of 64 keys; each S
// column times its key's scale). (flash_traits.cuh: SageTraits and the pre-pass.)
// On a compute capability 9.x device, after the pre-pass: hopper/sage_attention_sm90.cu.
// The ILGPU twin and the emulated oracle: src/Attention/Flash/SageAttention.cs.
#include "attention/flash_traits.cuh"
#include "hopper/sage_attention_sm90.h"
#include "zt_attention.h"

namespace {

using namespace zt::flash;

template <typename T, int kPv, int kKRows>
zt_status launch(const Problem& p, const SageTraits<T, kPv, kKRows>& tr, cudaStream_t stream) {
    zt_status st = p.head_dim == 64 ? launch_flash<SageTraits<T, kPv, kKRows>, 64>(p, tr, stream, "zt_sage_attention")
                                    : launch_flash<SageTraits<T, kPv, kKRows>, 128>(p, tr, stream, "zt_sage_attention");
    if (st == ZT_OK) zt::note_kernel("sage_attention_mma_sm80");
    return st;
}

struct Launch {
    cudaStream_t stream;
    Problem p;
    int q_rows, k_rows, pv_mode;
    const void *q, *q_scale, *k, *k_scale, *v, *k_mean;
    void *v_fp8, *v_scale, *o, *lse;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same_v<T, float>) {
            return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_sage_attention: v and o must be f16 or bf16");
        } else {
            int q_blocks = (p.q_len + q_rows - 1) / q_rows, k_blocks = (p.kv_len + kBlockN - 1) / kBlockN;
            if (pv_mode == 1) {
                zt_status st = sage_prepass<T>(p, static_cast<const T*>(v), static_cast<uint8_t*>(v_fp8), static_cast<float*>(v_scale), stream,
                                               "zt_sage_attention (V pre-pass)");
                if (st != ZT_OK) return st;
            }
            // A compute capability 9.x device takes the wgmma/TMA kernel (kernels/hopper/sage_attention_sm90.cu).
            const zt_dtype dt = std::is_same_v<T, __half> ? ZT_DTYPE_F16 : ZT_DTYPE_BF16;
            const zt::hopper::SageSm90Args a{q_rows, k_rows, pv_mode, q, q_scale, k, k_scale, v, k_mean, v_fp8, v_scale, o, lse};
            if (zt::hopper::sage_attention_sm90_eligible(dt, p, a)) return zt::hopper::sage_attention_sm90(stream, dt, p, a);
            auto make = [&](auto mode, auto rows) {
                return SageTraits<T, decltype(mode)::value, decltype(rows)::value>{static_cast<const int8_t*>(q), static_cast<const int8_t*>(k),
                                                             static_cast<const float*>(q_scale), static_cast<const float*>(k_scale),
                                                             static_cast<const T*>(v), static_cast<const uint8_t*>(v_fp8),
                                                             static_cast<const float*>(v_scale), static_cast<const float*>(k_mean),
                                                             static_cast<T*>(o), static_cast<float*>(lse), q_rows, q_blocks, k_blocks};
            };
            using Pv0 = std::integral_constant<int, 0>;
            using Pv1 = std::integral_constant<int, 1>;
            using Block = std::integral_constant<int, kBlockN>;
            using PerKey = std::integral_constant<int, 1>;
            if (k_rows == 1) return pv_mode == 1 ? launch(p, make(Pv1{}, PerKey{}), stream) : launch(p, make(Pv0{}, PerKey{}), stream);
            return pv_mode == 1 ? launch(p, make(Pv1{}, Block{}), stream) : launch(p, make(Pv0{}, Block{}), stream);
        }
    }
};

}  // namespace

ZT_API zt_status zt_sage_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                                   int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks,
                                   float sm_scale, int32_t q_rows, int32_t k_rows, int32_t pv_mode, int32_t write_lse, int64_t q_count,
                                   int64_t kv_count, int64_t lse_count, int64_t q_scale_count, int64_t k_scale_count, int64_t channel_count,
                                   int64_t v_fp8_count, const void* q, const void* q_scale, const void* k, const void* k_scale, const void* v,
                                   const void* k_mean, void* v_fp8, void* v_scale, void* o, void* lse) {
    (void)sm_scale;  // folded into q_scale by the quantizer; kept in the ABI for the record
    zt_status st = check_problem("zt_sage_attention: bad extents", batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens);
    if (st != ZT_OK) return st;
    if (q_rows != 16 && q_rows != 32 && q_rows != 64 && q_rows != 128)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: q_rows must be 16, 32, 64 or 128");
    if (k_rows != kBlockN && k_rows != 1) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: k_rows must be 64 or 1");
    if (pv_mode != 0 && pv_mode != 1) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: pv_mode 0 (f16) or 1 (fp8)");
    int64_t ch = (int64_t)batch * kv_heads * head_dim;
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim ||
        q_scale_count != (int64_t)batch * heads * ((q_len + q_rows - 1) / q_rows) ||
        k_scale_count != (int64_t)batch * kv_heads * ((kv_len + k_rows - 1) / k_rows) || (write_lse && lse_count != (int64_t)batch * heads * q_len) ||
        (k_mean && channel_count != ch) || (pv_mode == 1 && (channel_count != ch || v_fp8_count < ch * v_code_pad(kv_len))))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: tensor sizes disagree with the extents");
    if (!q || !q_scale || !k || !k_scale || !v || !o || (write_lse && !lse) || (pv_mode == 1 && (!v_fp8 || !v_scale)))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sage_attention: null pointer");
    if (batch == 0 || q_len == 0) return ZT_OK;
    st = check_aligned("zt_sage_attention", {{"q", q}, {"k", k}, {"v", v}, {"o", o}, {"k_mean", k_mean}, {"v_fp8", v_fp8}});
    if (st != ZT_OK) return st;
    Problem p = make_problem(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, window, sinks, write_lse);
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), p, q_rows, k_rows, pv_mode, q, q_scale, k, k_scale, v, k_mean, v_fp8, v_scale, o, lse});
}
