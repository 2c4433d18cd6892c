/* SageAttention's INT8 quantization of an already-normed, rotated q or k (kernels/attention/sage_quantize.cu;
 * src/Attention/Flash/SageQuantize.cs). Kept in its own header so the attention exports beside it can change
 * independently. */
#ifndef ZT_SAGE_QUANTIZE_H
#define ZT_SAGE_QUANTIZE_H

#include "zoetrope.h"

/** Sage INT8 quantization of x (f32, f16 or bf16), layout 0 = HND [B, H, N, D], 1 = NHD [B, N, H, D]:
 *   v   = (x - mean) * q_scale      mean over the N tokens of each (b, h, channel) when smooth (K), else 0;
 *                                   q_scale = sm_scale * log2(e) for Q, 1 for K (the caller's value)
 *   scale[b, h, blk] = max(amax(|v| over the block's block_rows tokens) / 127, 1e-8)
 *   q   = clamp(round_half_even(v / scale), -127, 127), int8 in x's layout
 * all in fp32 with IEEE division (the rule of qk_norm_rope_int8). The mean [B, H, D] f32 (smooth only) is a
 * double sum in a fixed order: per 64-token chunk, then the chunks in 8 contiguous runs added in run order.
 * work: f32, needed when smooth and N > 64: at least 2 * B * H * ceil(N / 64) * D floats (the chunk sums as
 * doubles), 8-byte aligned; null otherwise. blocks = ceil(N / block_rows); block_rows 16, 32, 64 or 128.
 *
 * @tensor x in dtype(dtype) shape(x_count)
 * @tensor work inout dtype(f32) shape(work_count) optional
 * @tensor q out dtype(i8) shape(x_count)
 * @tensor scale out dtype(f32) shape(scale_count)
 * @tensor mean out dtype(f32) shape(mean_count) optional
 */
ZT_API zt_status zt_sage_quantize(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t tokens, int32_t head_dim, int32_t layout,
                                  int32_t block_rows, int32_t smooth, float q_scale, int64_t x_count, int64_t scale_count, int64_t mean_count,
                                  int64_t work_count, const void* x, void* work, void* q, void* scale, void* mean);

#endif /* ZT_SAGE_QUANTIZE_H */
