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

#endif /* ZT_ROPE_H */
