/* Attention kernels (kernels/attention/). Tensors are flat vectors here: q, k, v and o are
 * addressed by strides from (layout, heads, tokens, head_dim); see src/Attention/Flash/. */
#ifndef ZT_ATTENTION_H
#define ZT_ATTENTION_H

#include "zoetrope.h"

/** Flash attention: o = softmax(q k^T * scale + mask) v; lse = ln sum exp (natural log) when write_lse.
 * layout: 0 = HND [B, H, N, D], 1 = NHD [B, N, H, D]. mask_kind: 0 none, 1 causal, 2 block-causal
 * (block_tokens, window blocks, sink blocks). Queries are the last q_len positions of kv_len.
 * head_dim 64 or 128; dtype f16 or bf16. q, k, v and o must be 16-byte aligned (cp.async and 16-byte stores): an
 * unaligned view is refused, naming it.
 *
 * @tensor q in dtype(dtype) shape(q_count)
 * @tensor k in dtype(dtype) shape(kv_count)
 * @tensor v in dtype(dtype) shape(kv_count)
 * @tensor o out dtype(dtype) shape(q_count)
 * @tensor lse out dtype(f32) shape(lse_count) optional
 */
ZT_API zt_status zt_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                              int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks, float scale,
                              int32_t write_lse, int64_t q_count, int64_t kv_count, int64_t lse_count, const void* q, const void* k, const void* v,
                              void* o, void* lse);

/** SageAttention: S = (q_i8 k_i8^T) * q_scale[row block] * k_scale[key block or key] (base-2 logits: sm_scale * log2(e)
 * is folded into q_scale), exp2 softmax, P·V with fp32 accumulation: pv_mode 0 = P rounded to V's type and V as
 * given (f16 or bf16, m16n8k16); 1 = e4m3 P * 448 and e4m3 V per channel (v_scale = max|v| / 448 over tokens, v_fp8
 * codes written by a pre-pass as [B, Hkv, D, Nkv rounded up to 64] with keys permuted within groups of 16, so
 * v_fp8_count >= B*Hkv*D*ceil64(Nkv)), V scales applied in the epilogue; native m16n8k32 e4m3 on sm_89+, exact f16
 * m16n8k16 on sm_80/86. q, k, v, o, k_mean and v_fp8 must be 16-byte aligned (cp.async): an unaligned view is
 * refused, naming it.
 * q_rows: query rows per q scale (16, 32, 64 or 128). k_rows: keys per k scale, 64 (k_scale [B, Hkv, ceil(Nkv / 64)])
 * or 1 (a scale per key token, k_scale in k's layout without D: [B, Hkv, Nkv] for HND, [B, Nkv, Hkv] for NHD; a KV
 * cache written frame by frame), k_scale_count = B*Hkv*ceil(Nkv / k_rows). lse adds q . k_mean * sm_scale when
 * k_mean is given (K was smoothed). dtype: v and o, f16 or bf16.
 *
 * @tensor q in dtype(i8) shape(q_count)
 * @tensor q_scale in dtype(f32) shape(q_scale_count)
 * @tensor k in dtype(i8) shape(kv_count)
 * @tensor k_scale in dtype(f32) shape(k_scale_count)
 * @tensor v in dtype(dtype) shape(kv_count)
 * @tensor k_mean in dtype(f32) shape(channel_count) optional
 * @tensor v_fp8 inout dtype(u8) shape(v_fp8_count) optional
 * @tensor v_scale inout dtype(f32) shape(channel_count) optional
 * @tensor o out dtype(dtype) shape(q_count)
 * @tensor lse out dtype(f32) shape(lse_count) optional
 */
ZT_API zt_status zt_sage_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                                   int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks,
                                   float sm_scale, int32_t q_rows, int32_t k_rows, int32_t pv_mode, int32_t write_lse, int64_t q_count,
                                   int64_t kv_count, int64_t lse_count, int64_t q_scale_count, int64_t k_scale_count, int64_t channel_count,
                                   int64_t v_fp8_count, const void* q, const void* q_scale, const void* k, const void* k_scale, const void* v,
                                   const void* k_mean, void* v_fp8, void* v_scale, void* o, void* lse);

#endif /* ZT_ATTENTION_H */
