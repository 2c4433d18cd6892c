// sage_attention_sm90.h: the sm_90a SageAttention (sage_attention_sm90.cu) as zt_sage_attention
// sees it: sage_attention.cu asks sage_attention_sm90_eligible() and, when true, launches
// sage_attention_sm90() (after its pv_mode 1 V pre-pass) instead of the mma.sync kernel.
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include "zoetrope.h"

namespace zt::flash {
struct Problem;
}

namespace zt::hopper {

// zt_sage_attention's operands (sage_attention.cu): INT8 q, k with their scales, v (f16/bf16),
// k_mean (or null), the pre-pass's V codes and scales (pv_mode 1), o and lse.
struct SageSm90Args {
    int q_rows, k_rows, pv_mode;
    const void *q, *q_scale, *k, *k_scale, *v, *k_mean, *v_codes, *v_scale;
    void *o, *lse;
};

// What the kernel needs beyond zt_sage_attention's checks: a compute capability 9.x device, f16 or
// bf16 V, head_dim 64 or 128, 16-byte aligned q, k, v and codes (TMA), token coordinates in int32.
bool sage_attention_sm90_eligible(zt_dtype dtype, const zt::flash::Problem& p, const SageSm90Args& a);

zt_status sage_attention_sm90(cudaStream_t stream, zt_dtype dtype, const zt::flash::Problem& p, const SageSm90Args& a);

// The block-sparse form's extra condition (as attention_sm90_sparse_eligible): block_q a multiple
// of the CTA's 128 rows, block_k of 64.
bool sage_attention_sm90_sparse_eligible(zt_dtype dtype, const zt::flash::Problem& p, const SageSm90Args& a, int block_q, int block_k);

// zt_block_sparse_sage_attention's semantics (the key blocks lut [B, H, q_blocks, k_blocks] lists,
// counts [B, H, q_blocks] of them per row, the mask still applied), plus residual (f32, as O)
// added before rounding when not null (SLA's Sage branch). No LSE.
zt_status sage_attention_sm90_sparse(cudaStream_t stream, zt_dtype dtype, const zt::flash::Problem& p, const SageSm90Args& a, const void* lut,
                                     const void* counts, const float* residual, int block_q, int block_k);

}  // namespace zt::hopper
