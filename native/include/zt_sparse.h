/* Sparse and linear attention (kernels/attention/): block maps, block-sparse flash attention
 * (dense and Sage precision), linear attention with a carried state, and SLA. Tensors are flat
 * vectors addressed by strides from (layout, heads, tokens, head_dim) as in zt_attention.h;
 * LUTs are [B, H, q_blocks, k_blocks] int32 (selected key blocks ascending, then -1) with counts
 * [B, H, q_blocks]. The C# twins and oracles: src/Attention/Sparse/. */
#ifndef ZT_SPARSE_H
#define ZT_SPARSE_H

#include "zoetrope.h"

/** Block map: pooled q (block_q rows) against smoothed pooled k (block_k keys), per query block
 * rule 0 = top `budget` blocks, 1 = smallest prefix with softmax mass >= value; sink blocks (keys
 * < sink_keys) and, with keep_diagonal, the blocks at the query block's positions always kept.
 * work: f32, B*H*q_blocks*D + B*Hkv*k_blocks*D (the pooled means).
 *
 * @tensor q in dtype(dtype) shape(q_count)
 * @tensor k in dtype(dtype) shape(kv_count)
 * @tensor work inout dtype(f32) shape(work_count)
 * @tensor lut out dtype(i32) shape(lut_count)
 * @tensor counts out dtype(i32) shape(counts_count)
 */
ZT_API zt_status zt_block_map(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                              int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks, int32_t block_q,
                              int32_t block_k, int32_t rule, float value, int32_t budget, int32_t sink_keys, int32_t keep_diagonal, float scale,
                              int64_t q_count, int64_t kv_count, int64_t lut_count, int64_t counts_count, int64_t work_count, const void* q,
                              const void* k, void* work, void* lut, void* counts);

/** Block-sparse flash attention, f16/bf16: zt_attention restricted to the key blocks the LUT lists
 * for each query block (the mask still applies inside them). residual (f32, q's layout) is added
 * to O before rounding when given (SLA's linear branch).
 *
 * @tensor q in dtype(dtype) shape(q_count)
 * @tensor k in dtype(dtype) shape(kv_count)
 * @tensor v in dtype(dtype) shape(kv_count)
 * @tensor lut in dtype(i32) shape(lut_count)
 * @tensor counts in dtype(i32) shape(counts_count)
 * @tensor residual in dtype(f32) shape(q_count) optional
 * @tensor o out dtype(dtype) shape(q_count)
 */
ZT_API zt_status zt_block_sparse_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len,
                                           int32_t kv_len, int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window,
                                           int32_t sinks, int32_t block_q, int32_t block_k, float scale, int64_t q_count, int64_t kv_count,
                                           int64_t lut_count, int64_t counts_count, const void* q, const void* k, const void* v, const void* lut,
                                           const void* counts, const void* residual, void* o);

/** Block-sparse SageAttention: zt_sage_attention (INT8 Q/K, k_rows 64 or 1 and k_scale as there, pv_mode 0 V's type /
 * 1 fp8, v_fp8 and alignment as there) over the LUT's blocks.
 *
 * @tensor q in dtype(i8) shape(q_count)
 * @tensor q_scale in dtype(f32) shape(q_scale_count)
 * @tensor k in dtype(i8) shape(kv_count)
 * @tensor k_scale in dtype(f32) shape(k_scale_count)
 * @tensor v in dtype(dtype) shape(kv_count)
 * @tensor lut in dtype(i32) shape(lut_count)
 * @tensor counts in dtype(i32) shape(counts_count)
 * @tensor v_fp8 inout dtype(u8) shape(v_fp8_count) optional
 * @tensor v_scale inout dtype(f32) shape(channel_count) optional
 * @tensor o out dtype(dtype) shape(q_count)
 */
ZT_API zt_status zt_block_sparse_sage_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len,
                                                int32_t kv_len, int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens,
                                                int32_t window, int32_t sinks, int32_t block_q, int32_t block_k, int32_t q_rows, int32_t k_rows,
                                                int32_t pv_mode, int64_t q_count, int64_t kv_count, int64_t q_scale_count, int64_t k_scale_count,
                                                int64_t channel_count, int64_t v_fp8_count, int64_t lut_count, int64_t counts_count, const void* q,
                                                const void* q_scale, const void* k, const void* k_scale, const void* v, const void* lut, const void* counts,
                                                void* v_fp8, void* v_scale, void* o);

/** Linear attention: o = phi(q) S / (phi(q) . z + 1e-5), S = sum phi(k)^T v, z = sum phi(k); phi 0 relu,
 * 1 elu+1, 2 softmax over D. causal = 0: S, z over all keys; 1: block-linear, a query of block c
 * (block_tokens) sees blocks <= c (q_len == kv_len). state [B, Hkv, D, D] and zsum [B, Hkv, D] (f32,
 * optional together) are added on entry and hold the totals on exit. work: f32, B*H*Nq*D + B*Hkv*Nkv*D
 * + B*Hkv*(segments + chunks)*D*(D+1), segments = ceil(kv_len / segment_tokens) (1 when kv_len = 0), chunks =
 * ceil(segments / max(1, 1024 / segment_tokens)) (the prefix is chunk-local sums plus a carry per chunk).
 *
 * @tensor q in dtype(dtype) shape(q_count)
 * @tensor k in dtype(dtype) shape(kv_count)
 * @tensor v in dtype(dtype) shape(kv_count)
 * @tensor state inout dtype(f32) shape(state_count) optional
 * @tensor zsum inout dtype(f32) shape(zsum_count) optional
 * @tensor work inout dtype(f32) shape(work_count)
 * @tensor o out dtype(dtype) shape(q_count)
 */
ZT_API zt_status zt_linear_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                                     int32_t head_dim, int32_t layout, int32_t phi, int32_t causal, int32_t segment_tokens, int64_t q_count,
                                     int64_t kv_count, int64_t state_count, int64_t zsum_count, int64_t work_count, const void* q, const void* k,
                                     const void* v, void* state, void* zsum, void* work, void* o);

/** SLA: o = block-sparse attention over the LUT + (linear attention of the query block's linear
 * key blocks) W^T + bias, where the linear key blocks are every candidate (variant 0) or the
 * candidates the LUT does not list (variant 1). proj [D, D] (out, in) and bias [D] are f32.
 * precision 0 (dense): the sparse branch is zt_block_sparse_attention's kernel over q, k, v.
 * precision 1 (sage, SageSLA): zt_sla first quantizes q and k as zt_sage_quantize does (q: q_scale
 * = scale * log2(e), q_rows rows per scale; k: smoothed, 64 rows per scale) into q_i8, q_scale, k_i8,
 * k_scale and k_mean [B, Hkv, D], then the sparse branch is zt_block_sparse_sage_attention's kernel over
 * them (pv_mode 0: P.V in v's 16-bit type; 1: e4m3 with v_fp8 and v_scale filled by its pre-pass), adding
 * the same residual; the linear branch reads the unquantized q and k. These operands are the caller's
 * workspaces (null, with zero counts, for precision 0; v_fp8 and v_scale only for pv_mode 1).
 * work: f32, 3*B*H*Nq*D + B*Hkv*Nkv*D + B*Hkv*(segments + chunks)*D*(D+1), segments and chunks as for
 * zt_linear_attention with segment_tokens = block_k; precision 1 adds, from the next even float,
 * 2*B*Hkv*ceil(Nkv / 64)*D floats (k's mean chunk sums as doubles) when Nkv > 64. At most 2048 key
 * blocks. q, k, v, o and v_fp8 must be 16-byte aligned (the sparse kernel moves them in 16-byte chunks):
 * an unaligned view is refused, naming it.
 *
 * @tensor q in dtype(dtype) shape(q_count)
 * @tensor k in dtype(dtype) shape(kv_count)
 * @tensor v in dtype(dtype) shape(kv_count)
 * @tensor lut in dtype(i32) shape(lut_count)
 * @tensor counts in dtype(i32) shape(counts_count)
 * @tensor proj in dtype(f32) shape(proj_count)
 * @tensor bias in dtype(f32) shape(bias_count) optional
 * @tensor work inout dtype(f32) shape(work_count)
 * @tensor q_i8 inout dtype(i8) shape(q_count) optional
 * @tensor q_scale inout dtype(f32) shape(q_scale_count) optional
 * @tensor k_i8 inout dtype(i8) shape(kv_count) optional
 * @tensor k_scale inout dtype(f32) shape(k_scale_count) optional
 * @tensor k_mean inout dtype(f32) shape(channel_count) optional
 * @tensor v_fp8 inout dtype(u8) shape(v_fp8_count) optional
 * @tensor v_scale inout dtype(f32) shape(channel_count) optional
 * @tensor o out dtype(dtype) shape(q_count)
 */
ZT_API zt_status zt_sla(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len, int32_t head_dim,
                        int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks, int32_t block_q, int32_t block_k,
                        int32_t phi, int32_t variant, int32_t precision, int32_t pv_mode, int32_t q_rows, float scale, int64_t q_count, int64_t kv_count,
                        int64_t lut_count, int64_t counts_count, int64_t proj_count, int64_t bias_count, int64_t work_count, int64_t q_scale_count,
                        int64_t k_scale_count, int64_t channel_count, int64_t v_fp8_count, const void* q, const void* k, const void* v, const void* lut,
                        const void* counts, const void* proj, const void* bias, void* work, void* q_i8, void* q_scale, void* k_i8, void* k_scale,
                        void* k_mean, void* v_fp8, void* v_scale, void* o);

#endif /* ZT_SPARSE_H */
