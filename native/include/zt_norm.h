/* zt_norm.h: row normalizations of the DiT block (kernels/norm/). Rows are contiguous
 * [rows, dim]; fp32 math, one round-to-nearest-even store; f32/f16/bf16 storage.
 * `rounding` (rms_norm and the modulation ops): 0 fused, as above; 1 per-op, a round-to-nearest-even
 * to dtype at each boundary between the eager PyTorch ops the kernel stands for (Self-Forcing and
 * LongLive run them all in bf16), fp32 math and statistics inside each; each function lists them. */
#ifndef ZT_NORM_H
#define ZT_NORM_H

#include "zoetrope.h"

/** RMSNorm: y = x * rsqrt(mean(x^2) + eps) * weight, over the last dimension.
 * Per-op (WanRMSNorm): y = R(R(x * rstd) * weight).
 *
 * @tensor x in dtype(dtype) shape(rows, dim)
 * @tensor weight in dtype(dtype) shape(dim)
 * @tensor y out dtype(dtype) shape(rows, dim)
 */
ZT_API zt_status zt_rms_norm(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t dim, float eps, int32_t rounding, const void* x, const void* weight, void* y);

/** LayerNorm: y = (x - mean) * rsqrt(var + eps) [* weight] [+ bias], biased variance about the mean.
 *
 * @tensor x in dtype(dtype) shape(rows, dim)
 * @tensor weight in dtype(dtype) shape(dim) optional
 * @tensor bias in dtype(dtype) shape(dim) optional
 * @tensor y out dtype(dtype) shape(rows, dim)
 */
ZT_API zt_status zt_layer_norm(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t dim, float eps, const void* x, const void* weight, const void* bias, void* y);

/* Wan's per-frame modulation: x [batch, tokens = frames * frame_tokens, dim]; e0 (modulation)
 * [batch, frames, 6, dim] f32 plus a block's learned [1, 6, dim] f32; vector 3*chunk + k, k = 0
 * shift, 1 scale, 2 gate; chunk 0 = self-attention, 1 = FFN. */

/** adaLN: y = LayerNorm(x) * (1 + scale) + shift, scale and shift per latent frame (LayerNorm without affine).
 * Per-op: each vector v = R(e0 + block), n = R(LayerNorm(x)), y = R(R(n * R(1 + v_scale)) + v_shift).
 *
 * @tensor x in dtype(dtype) shape(batch, tokens, dim)
 * @tensor modulation in dtype(f32) shape(batch, frames, 6, dim)
 * @tensor block_modulation in dtype(f32) shape(1, 6, dim)
 * @tensor y out dtype(dtype) shape(batch, tokens, dim)
 */
ZT_API zt_status zt_adaln_modulate(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t frames, int32_t frame_tokens, int32_t tokens, int32_t dim, int32_t chunk, float eps,
                                   int32_t rounding, const void* x, const void* modulation, const void* block_modulation, void* y);

/** Gated residual: out = x + gate * y, gate per latent frame. Per-op: g = R(e0 + block), out = R(x + R(y * g)).
 *
 * @tensor x in dtype(dtype) shape(batch, tokens, dim)
 * @tensor y in dtype(dtype) shape(batch, tokens, dim)
 * @tensor modulation in dtype(f32) shape(batch, frames, 6, dim)
 * @tensor block_modulation in dtype(f32) shape(1, 6, dim)
 * @tensor out out dtype(dtype) shape(batch, tokens, dim)
 */
ZT_API zt_status zt_gated_residual(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t frames, int32_t frame_tokens, int32_t tokens, int32_t dim, int32_t chunk,
                                   int32_t rounding, const void* x, const void* y, const void* modulation, const void* block_modulation, void* out);

/** Fused block boundary: x_out = x + gate * y (gate from gate_modulation), h = LayerNorm(x_out) * (1 + scale) + shift (from norm_modulation).
 * Per-op: x_out as zt_gated_residual's, h as zt_adaln_modulate's of the stored x_out.
 *
 * @tensor x in dtype(dtype) shape(batch, tokens, dim)
 * @tensor y in dtype(dtype) shape(batch, tokens, dim)
 * @tensor modulation in dtype(f32) shape(batch, frames, 6, dim)
 * @tensor gate_modulation in dtype(f32) shape(1, 6, dim)
 * @tensor norm_modulation in dtype(f32) shape(1, 6, dim)
 * @tensor x_out out dtype(dtype) shape(batch, tokens, dim)
 * @tensor h out dtype(dtype) shape(batch, tokens, dim)
 */
ZT_API zt_status zt_gated_residual_adaln(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t frames, int32_t frame_tokens, int32_t tokens, int32_t dim,
                                         int32_t gate_chunk, int32_t norm_chunk, float eps, int32_t rounding, const void* x, const void* y, const void* modulation,
                                         const void* gate_modulation, const void* norm_modulation, void* x_out, void* h);

/* The video VAE's per-pixel norm: rows are pixels of channel-last frames [T, H, W, C]. */

/** Channel RMS norm (Wan VAE's RMS_norm, F.normalize * sqrt(C)): y = act(x / max(||x||_2, eps) * sqrt(C) * gamma [+ bias]),
 * act = SiLU (x * sigmoid(x)) when silu = 1, identity when 0; an all-zero pixel gives act(bias).
 *
 * @tensor x in dtype(dtype) shape(rows, channels)
 * @tensor gamma in dtype(dtype) shape(channels)
 * @tensor bias in dtype(dtype) shape(channels) optional
 * @tensor y out dtype(dtype) shape(rows, channels)
 */
ZT_API zt_status zt_channel_rms_norm(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t channels, float eps, int32_t silu, const void* x, const void* gamma,
                                     const void* bias, void* y);

#endif /* ZT_NORM_H */
