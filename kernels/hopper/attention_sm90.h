// attention_sm90.h: the sm_90a dense attention (attention_sm90.cu) as zt_attention sees it.
// attention.cu asks attention_sm90_eligible() and, when true, launches attention_sm90() instead
// of the mma.sync flash kernel.
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include "zoetrope.h"

namespace zt::flash {
struct Problem;
}

namespace zt::hopper {

// What the kernel needs beyond zt_attention's own checks: a compute capability 9.x device, f16
// or bf16, head_dim 64 or 128, and what TMA needs of q, k, v (16-byte aligned bases; every row
// stride, D * 2 or H * D * 2 bytes, is then a multiple of 16; token coordinates fit int32).
bool attention_sm90_eligible(zt_dtype dtype, const zt::flash::Problem& p, const void* q, const void* k, const void* v);

// The block-sparse kernel's extra condition: block_q a multiple of the CTA's 128 rows (a CTA reads
// one LUT row); block_k a multiple of 64.
bool attention_sm90_sparse_eligible(zt_dtype dtype, const zt::flash::Problem& p, const void* q, const void* k, const void* v, int block_q, int block_k);

// o = softmax(q k^T * scale + mask) v (and lse) with zt_attention's semantics, on the caller's stream.
zt_status attention_sm90(cudaStream_t stream, zt_dtype dtype, const zt::flash::Problem& p, float scale, const void* q, const void* k,
                         const void* v, void* o, void* lse);

// zt_block_sparse_attention's semantics (the keys of the blocks lut [B, H, q_blocks, k_blocks]
// lists, counts [B, H, q_blocks] of them per row, the mask still applied), plus residual (f32, as
// O) added before rounding when not null (SLA).
zt_status attention_sm90_sparse(cudaStream_t stream, zt_dtype dtype, const zt::flash::Problem& p, float scale, const void* q, const void* k,
                                const void* v, void* o, const void* lut, const void* counts, const float* residual, int block_q, int block_k);

}  // namespace zt::hopper
