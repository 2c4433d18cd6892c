/* zt_conv.h: the video decoders' 3-D convolution (kernels/conv/). Channel-last frames, stride 1,
 * causal in time, "same" zero padding in space, an optional nearest x2 spatial upsampling folded
 * into the input indexing, an optional time shuffle of the output channels into frames, and a
 * fused bias + residual + activation epilogue; fp32 accumulation, one round-to-nearest-even store. */
#ifndef ZT_CONV_H
#define ZT_CONV_H

#include "zoetrope.h"

/* zt_conv3d's act values (Zoetrope.Quant.Conv.ConvActivation). */
enum {
    ZT_CONV_ACT_NONE = 0,
    ZT_CONV_ACT_RELU = 1,
    ZT_CONV_ACT_SILU = 2
};

/** conv3d: y = act(conv(x, weight) + bias + residual), an implicit GEMM (M = To*Ho*Wo output pixels, N = cout, K = kt*kh*kw*cin).
 * x [t, h, w, cin]; weight [cout, kt, kh, kw, cin]; an A element is x at (to + dt - time_pad,
 * (oh + dh - kh/2) / upsample, (ow + dw - kw/2) / upsample, ci), zero outside x; To = t + time_pad - kt + 1,
 * Ho = h * upsample, Wo = w * upsample (upsample 1 or 2; kh, kw odd). Output channel co of conv frame to
 * is y[to * time_shuffle + co / (cout / time_shuffle)][oh][ow][co % (cout / time_shuffle)]; the y_* extents
 * repeat y's shape ([To * time_shuffle, Ho, Wo, cout / time_shuffle], checked). f16/bf16: tensor cores
 * (mma.sync m16n8k16), f32: exact fp32 FMAs. Allocates nothing.
 *
 * @tensor x in dtype(dtype) shape(t, h, w, cin)
 * @tensor weight in dtype(dtype) shape(cout, kt, kh, kw, cin)
 * @tensor bias in dtype(f32) shape(cout) optional
 * @tensor residual in dtype(dtype) shape(y_frames, y_height, y_width, y_channels) optional
 * @tensor y out dtype(dtype) shape(y_frames, y_height, y_width, y_channels)
 */
ZT_API zt_status zt_conv3d(zt_stream stream, zt_dtype dtype, int32_t t, int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t kt, int32_t kh, int32_t kw,
                           int32_t time_pad, int32_t upsample, int32_t time_shuffle, int32_t act, int32_t y_frames, int32_t y_height, int32_t y_width,
                           int32_t y_channels, const void* x, const void* weight, const void* bias, const void* residual, void* y);

#endif
