// block_sparse_attention.cu: flash_kernel.cuh with the LutTiles schedule: a CTA of 128 query rows
// (64 when block_q is not a multiple of 128) visits only the key tiles of the blocks its query block's LUT row lists (ascending, the mask
// still applied inside them), so the work is the selected blocks' and nothing else changes: the
// dense traits (f16/bf16) or the Sage traits (INT8 Q/K, 16-bit or FP8 P·V, the V pre-pass).
// launch_sparse is also SLA's last step, with its f32 residual (sla.cu). On a 9.x device the dense
// variant runs kernels/hopper/attention_sm90.cu's kernel over the same LUT instead.
// The ILGPU twin and the oracle: src/Attention/Sparse/BlockSparseAttention.cs.
#include "attention/block_sparse.cuh"
#include "zt_sparse.h"

namespace {

using namespace zt::flash;

template <bool Residual>
struct DenseLaunch {
    cudaStream_t stream;
    Problem p;
    float scale;
    LutTiles<Residual> keys;
    const void *q, *k, *v;
    void* o;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same_v<T, float>) {
            return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_block_sparse_attention: f16 or bf16 (the tensor-core kernel has no f32 path)");
        } else {
            return launch_sparse_dense<T>(p, scale, keys, q, k, v, o, stream, "zt_block_sparse_attention");
        }
    }
};

struct SageLaunch {
    cudaStream_t stream;
    Problem p;
    int q_rows, k_rows, pv_mode;
    LutTiles<false> keys;
    const void *q, *q_scale, *k, *k_scale, *v;
    void *v_fp8, *v_scale, *o;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same_v<T, float>) {
            return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_block_sparse_sage_attention: v and o must be f16 or bf16");
        } else {
            const auto* q8 = static_cast<const int8_t*>(q);
            const auto* k8 = static_cast<const int8_t*>(k);
            const auto* qs = static_cast<const float*>(q_scale);
            const auto* ks = static_cast<const float*>(k_scale);
            const auto* vv = static_cast<const T*>(v);
            auto* codes = static_cast<uint8_t*>(v_fp8);
            auto* vs = static_cast<float*>(v_scale);
            auto* out = static_cast<T*>(o);
            const char* name = "zt_block_sparse_sage_attention";
            // k_rows 1: a K scale per key token (a KV cache written frame by frame); 64: per key tile.
            return k_rows == 1 ? launch_sparse_sage<T, 1>(p, q_rows, pv_mode, keys, q8, qs, k8, ks, vv, codes, vs, out, stream, name)
                               : launch_sparse_sage<T, kBlockN>(p, q_rows, pv_mode, keys, q8, qs, k8, ks, vv, codes, vs, out, stream, name);
        }
    }
};

}  // namespace

ZT_API zt_status zt_block_sparse_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len,
                                           int32_t kv_len, int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window,
                                           int32_t sinks, int32_t block_q, int32_t block_k, float scale, int64_t q_count, int64_t kv_count,
                                           int64_t lut_count, int64_t counts_count, const void* q, const void* k, const void* v, const void* lut,
                                           const void* counts, const void* residual, void* o) {
    const char* name = "zt_block_sparse_attention";
    zt_status st = check_sparse(name, batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, block_q, block_k, lut_count, counts_count);
    if (st != ZT_OK) return st;
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_sparse_attention: tensor sizes disagree with the extents");
    if (!q || !k || !v || !lut || !counts || !o) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_sparse_attention: null pointer");
    if (batch == 0 || q_len == 0) return ZT_OK;
    st = check_aligned(name, {{"q", q}, {"k", k}, {"v", v}, {"o", o}});
    if (st != ZT_OK) return st;
    Problem p = make_problem(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, window, sinks, 0);
    if (residual)  // SLA's path: the same kernel adding the f32 residual
        return zt::dispatch_float(dtype, DenseLaunch<true>{zt::stream_of(stream), p, scale,
                                                           make_lut<true>(p, lut, counts, static_cast<const float*>(residual), block_q, block_k), q, k, v, o});
    return zt::dispatch_float(dtype, DenseLaunch<false>{zt::stream_of(stream), p, scale, make_lut<false>(p, lut, counts, nullptr, block_q, block_k), q, k, v, o});
}

ZT_API zt_status zt_block_sparse_sage_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len,
                                                int32_t kv_len, int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens,
                                                int32_t window, int32_t sinks, int32_t block_q, int32_t block_k, int32_t q_rows, int32_t k_rows,
                                                int32_t pv_mode, int64_t q_count, int64_t kv_count, int64_t q_scale_count, int64_t k_scale_count,
                                                int64_t channel_count, int64_t v_fp8_count, int64_t lut_count, int64_t counts_count, const void* q,
                                                const void* q_scale, const void* k, const void* k_scale, const void* v, const void* lut, const void* counts,
                                                void* v_fp8, void* v_scale, void* o) {
    const char* name = "zt_block_sparse_sage_attention";
    zt_status st = check_sparse(name, batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, block_q, block_k, lut_count, counts_count);
    if (st != ZT_OK) return st;
    if (q_rows != 16 && q_rows != 32 && q_rows != 64 && q_rows != 128)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_sparse_sage_attention: q_rows must be 16, 32, 64 or 128");
    if (k_rows != kBlockN && k_rows != 1) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_sparse_sage_attention: k_rows must be 64 or 1");
    if (pv_mode != 0 && pv_mode != 1) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_sparse_sage_attention: pv_mode 0 (f16) or 1 (fp8)");
    int64_t ch = (int64_t)batch * kv_heads * head_dim;
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim ||
        q_scale_count != (int64_t)batch * heads * ((q_len + q_rows - 1) / q_rows) ||
        k_scale_count != (int64_t)batch * kv_heads * ((kv_len + k_rows - 1) / k_rows) ||
        (pv_mode == 1 && (channel_count != ch || v_fp8_count < ch * v_code_pad(kv_len))))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_sparse_sage_attention: tensor sizes disagree with the extents");
    if (!q || !q_scale || !k || !k_scale || !v || !lut || !counts || !o || (pv_mode == 1 && (!v_fp8 || !v_scale)))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_sparse_sage_attention: null pointer");
    if (batch == 0 || q_len == 0) return ZT_OK;
    st = check_aligned(name, {{"q", q}, {"k", k}, {"v", v}, {"o", o}, {"v_fp8", v_fp8}});
    if (st != ZT_OK) return st;
    Problem p = make_problem(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, window, sinks, 0);
    return zt::dispatch_float(dtype, SageLaunch{zt::stream_of(stream), p, q_rows, k_rows, pv_mode, make_lut<false>(p, lut, counts, nullptr, block_q, block_k),
                                                q, q_scale, k, k_scale, v, v_fp8, v_scale, o});
}
