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

// o = softmax(q k^T * scale + mask) v (and lse) with zt_attention's semantics, on the caller's stream.
zt_status attention_sm90(cudaStream_t stream, zt_dtype dtype, const zt::flash::Problem& p, float scale, const void* q, const void* k,
                         const void* v, void* o, void* lse);

}  // namespace zt::hopper
