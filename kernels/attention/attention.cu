// attention.cu: dense flash attention, f16/bf16 on sm_80+ tensor cores (flash_kernel.cuh with
// raw-copy traits); on sm_90, hopper/attention_sm90.cu. The ILGPU twin and the oracle: src/Attention/Flash/Attention.cs.
#include "attention/flash_traits.cuh"
#include "hopper/attention_sm90.h"
#include "zt_attention.h"

namespace {

using namespace zt::flash;

struct Launch {
    cudaStream_t stream;
    Problem p;
    float scale;
    const void *q, *k, *v;
    void *o, *lse;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same_v<T, float>) {
            return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_attention: f16 or bf16 (the tensor-core kernel has no f32 path)");
        } else {
            DenseTraits<T> tr{static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(o), static_cast<float*>(lse),
                              scale * 1.4426950408889634f};
            zt_status st = p.head_dim == 64 ? launch_flash<DenseTraits<T>, 64>(p, tr, stream, "zt_attention")
                                            : launch_flash<DenseTraits<T>, 128>(p, tr, stream, "zt_attention");
            if (st == ZT_OK) zt::note_kernel("attention_mma_sm80");
            return st;
        }
    }
};

}  // namespace

ZT_API zt_status zt_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                              int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks, float scale,
                              int32_t write_lse, int64_t q_count, int64_t kv_count, int64_t lse_count, const void* q, const void* k, const void* v,
                              void* o, void* lse) {
    zt_status st = check_problem("zt_attention: bad extents", batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens);
    if (st != ZT_OK) return st;
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim ||
        (write_lse && lse_count != (int64_t)batch * heads * q_len))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_attention: tensor sizes disagree with the extents");
    if (!q || !k || !v || !o || (write_lse && !lse)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_attention: null pointer");
    if (batch == 0 || q_len == 0) return ZT_OK;
    st = check_aligned("zt_attention", {{"q", q}, {"k", k}, {"v", v}, {"o", o}});
    if (st != ZT_OK) return st;
    Problem p = make_problem(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, window, sinks, write_lse);
    // A compute capability 9.x device takes the wgmma/TMA kernel (kernels/hopper/attention_sm90.cu).
    if (zt::hopper::attention_sm90_eligible(dtype, p, q, k, v)) return zt::hopper::attention_sm90(zt::stream_of(stream), dtype, p, scale, q, k, v, o, lse);
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), p, scale, q, k, v, o, lse});
}
