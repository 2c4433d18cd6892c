/* zt_quant.h: symmetric quantization (kernels/quant/). x [rows, cols] -> codes (int8 or fp8_e4m3)
 * and f32 scales. granularity 0 = per row ([rows] scales), 1 = per tensor ([1]), 2 = per
 * block_rows x block_cols tile ([ceil(rows/br) * ceil(cols/bc)], row-major); scales are passed
 * flat. scale = max(amax / qmax, floor) (IEEE division); int8 = clamp(rint(x / scale), -127, 127)
 * (round half to even); fp8 = E4M3(x / scale), nearest even, satfinite. Bit-exact with the C#
 * reference (QuantMath.cs, Fp8Math.cs). */
#ifndef ZT_QUANT_H
#define ZT_QUANT_H

#include "zoetrope.h"

/** Quantize x into codes q and scales; row_amax is a caller-provided f32 workspace of max(rows, 1) floats (per-tensor only).
 *
 * @tensor x in dtype(dtype) shape(rows, cols)
 * @tensor q out dtype(format) shape(rows, cols)
 * @tensor scale out dtype(f32) shape(scales)
 * @tensor row_amax inout dtype(f32) shape(workspace_rows)
 */
ZT_API zt_status zt_quantize(zt_stream stream, zt_dtype dtype, zt_dtype format, int32_t granularity, int64_t rows, int64_t cols, int32_t block_rows,
                             int32_t block_cols, float qmax, float floor, int64_t scales, int64_t workspace_rows, const void* x, void* q, void* scale, void* row_amax);

/** Dequantize: y = decode(q) * scale (fp32 product, one rounding).
 *
 * @tensor q in dtype(format) shape(rows, cols)
 * @tensor scale in dtype(f32) shape(scales)
 * @tensor y out dtype(dtype) shape(rows, cols)
 */
ZT_API zt_status zt_dequantize(zt_stream stream, zt_dtype dtype, zt_dtype format, int32_t granularity, int64_t rows, int64_t cols, int32_t block_rows,
                               int32_t block_cols, int64_t scales, const void* q, const void* scale, void* y);

#endif /* ZT_QUANT_H */
