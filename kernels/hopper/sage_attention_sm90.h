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

}  // namespace zt::hopper
