/* zt_rope.h: Wan 3D RoPE and the fused QK-norm + RoPE (kernels/rope/).
 *
 * Tokens are frame-major over a (frames, height, width) grid; the frame index is shifted by
 * frame_offset. A head of head_dim = time_dims + height_dims + width_dims elements rotates its
 * (x[2j], x[2j+1]) pairs by the angle of its axis's coordinate, read from the f32 table
 * [positions, head_dim/2, 2] (cos, sin). Layout 0 = [B, H, N, D] (HND), 1 = [B, N, H, D] (NHD);
 * both are passed as [rows = B*H*N, D]. fp32 math, one rounding. */
#ifndef ZT_ROPE_H
#define ZT_ROPE_H

#include "zoetrope.h"

/** RoPE on a per-head tensor: out = rotate(x).
 *
 * @tensor x in dtype(dtype) shape(rows, head_dim)
 * @tensor table in dtype(f32) shape(positions, pairs, 2)
 * @tensor out out dtype(dtype) shape(rows, head_dim)
 */
ZT_API zt_status zt_rope_apply(zt_stream stream, zt_dtype dtype, int32_t layout, int32_t batch, int32_t heads, int32_t tokens, int32_t head_dim,
                               int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims, int32_t height_dims,
                               int32_t positions, int32_t pairs, int64_t rows, const void* x, const void* table, void* out);

/** QK-norm + RoPE: RMSNorm of x over its full hidden dim (dim = heads * head_dim) with weight, head split, RoPE; [B, N, dim] -> [B, H, N, D]
 * (layout 0) or [B, N, H, D] (layout 1: x's own order, e.g. straight into a KV-cache pool of token rows). out is passed as
 * [rows = batch * heads * tokens, head_dim] in either layout.
 *
 * @tensor x in dtype(dtype) shape(batch, tokens, dim)
 * @tensor weight in dtype(dtype) shape(dim)
 * @tensor table in dtype(f32) shape(positions, pairs, 2)
 * @tensor out out dtype(dtype) shape(rows, head_dim)
 */
ZT_API zt_status zt_qk_norm_rope(zt_stream stream, zt_dtype dtype, int32_t layout, int32_t batch, int32_t tokens, int32_t heads, int32_t head_dim,
                                 int32_t dim, int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims,
                                 int32_t height_dims, int32_t positions, int32_t pairs, float eps, int64_t rows, const void* x, const void* weight,
                                 const void* table, void* out);

/** QK-norm + RoPE + Sage INT8: v = qk_norm_rope(x) into workspace (f32, in the output's layout); smooth 1: mean = mean over tokens of v per
 * (b, h, d) written to mean, smooth 2: mean given (read, no mean kernels: the caller fixes it once and reuses it), and v -= mean;
 * v *= q_scale; per (b, h, block of block_rows tokens) scale = max(amax|v| / 127, 1e-8), q = clamp(round_half_even(v / scale), -127, 127).
 * Layout 0: q [B, H, N, D]; layout 1: q [B, N, H, D]; q is passed as [rows = batch * heads * tokens, head_dim] in either. Scales: block_rows
 * 1 (one per token and head, blocks = tokens) are in q's order without D, [B, H, N] or [B, N, H]; block_rows > 1 are [B, H, blocks] in both
 * layouts; scale is passed as [batch, heads, blocks] (same element count).
 *
 * @tensor x in dtype(dtype) shape(batch, tokens, dim)
 * @tensor weight in dtype(dtype) shape(dim)
 * @tensor table in dtype(f32) shape(positions, pairs, 2)
 * The workspace holds the f32 rows (rows * head_dim, in q's layout), then, when computing the mean over more than 64 tokens, the mean's
 * partial sums as doubles (from the next even float): workspace_count >= rows * head_dim + (rows * head_dim & 1) + 2 * batch * heads *
 * ceil(tokens / 64) * head_dim.
 *
 * @tensor workspace inout dtype(f32) shape(workspace_count)
 * @tensor q out dtype(i8) shape(rows, head_dim)
 * @tensor scale out dtype(f32) shape(batch, heads, blocks)
 * @tensor mean inout dtype(f32) shape(batch, heads, head_dim) optional
 */
ZT_API zt_status zt_qk_norm_rope_int8(zt_stream stream, zt_dtype dtype, int32_t layout, int32_t batch, int32_t tokens, int32_t heads, int32_t head_dim,
                                      int32_t dim, int32_t frames, int32_t height, int32_t width, int32_t frame_offset, int32_t time_dims,
                                      int32_t height_dims, int32_t positions, int32_t pairs, float eps, int32_t block_rows, int32_t blocks, int32_t smooth,
                                      float q_scale, int64_t workspace_count, int64_t rows, const void* x, const void* weight, const void* table,
                                      void* workspace, void* q, void* scale, void* mean);

#endif /* ZT_ROPE_H */
