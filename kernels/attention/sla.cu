// sla.cu: Sparse-Linear Attention = block-sparse flash over the LUT + proj(linear branch).
//   1. phi(k), key-block partials and their prefix (linear_common.cuh, segments of block_k)
//   2. sla_states: per (b, h, query block) S and z over the linear key blocks: each run of candidate
//      blocks is one prefix difference; variant 1 (complement) subtracts each listed block's
//   3. sla_linear: phi(q) S / (phi(q) . z + eps); sla_proj: x W^T + bias into an f32 residual
//   4. the block-sparse kernel (block_sparse.cuh) adding the residual before rounding, so with
//      W = 0 the output is block_sparse_attention's bit for bit
// The branches are separate kernels joined in the flash epilogue, not one fused kernel.
// The ILGPU twin and the oracle: src/Attention/Sparse/Sla.cs.
#include "attention/block_sparse.cuh"
#include "attention/linear_common.cuh"
#include "zt_sparse.h"

namespace {

using namespace zt::flash;
using zt::linear::Args;

struct Grid {
    int block_q, block_k, q_blocks, k_blocks, variant;
    int64_t q_offset;
    Mask mask;
    __device__ bool candidate(const Args& a, int qb, int kb) const {
        int64_t end = (int64_t)(qb + 1) * block_q;
        int64_t r1 = (end < a.q_len ? end : a.q_len) - 1;
        int64_t k0 = (int64_t)kb * block_k;
        return k0 < a.kv_len && mask.tile_may_be_visible((int64_t)qb * block_q + q_offset, r1 + q_offset, k0, k0 + block_k, a.kv_len);
    }
};

__global__ void sla_states(Args a, Grid g, const int32_t* __restrict__ lut, const int32_t* __restrict__ counts, const float* __restrict__ prefix,
                           float* __restrict__ states) {
    int64_t sf = a.state_floats();
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)a.batch * a.heads * g.q_blocks * sf) return;
    int64_t e = i % sf, row = i / sf;
    int qb = (int)(row % g.q_blocks);
    int64_t bh = row / g.q_blocks;
    int b = (int)(bh / a.heads), h = (int)(bh % a.heads);
    const float* p = prefix + ((int64_t)b * a.kv_heads + h / a.group) * a.segments * sf + e;
    auto at = [&](int kb) { return kb < 0 ? 0.f : p[kb * sf]; };
    float sum = 0.f;
    int start = -1;
    for (int kb = 0; kb <= g.k_blocks; ++kb) {
        bool cand = kb < g.k_blocks && g.candidate(a, qb, kb);
        if (cand && start < 0) start = kb;
        else if (!cand && start >= 0) {
            sum += at(kb - 1) - at(start - 1);
            start = -1;
        }
    }
    if (g.variant == 1)
        for (int j = 0; j < counts[row]; ++j) {
            int kb = lut[row * g.k_blocks + j];
            if (g.candidate(a, qb, kb)) sum -= at(kb) - at(kb - 1);
        }
    states[i] = sum;
}

__global__ void sla_linear(Args a, Grid g, const float* __restrict__ phi_q, const float* __restrict__ states, float* __restrict__ lin) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t)a.batch * a.heads * a.q_len * a.d) return;
    int d = a.d, d2 = (int)(idx % d);
    int64_t row = idx / d, i = row % a.q_len, bh = row / a.q_len;
    const float* s = states + (bh * g.q_blocks + i / g.block_q) * a.state_floats();
    const float* f = phi_q + row * d;
    lin[idx] = zt::linear::attend(f, s, d, d2);
}

__global__ void sla_proj(Args a, const float* __restrict__ lin, const float* __restrict__ w, const float* __restrict__ bias, float* __restrict__ residual) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t)a.batch * a.heads * a.q_len * a.d) return;
    int d = a.d, c = (int)(idx % d);
    int64_t row = idx / d, i = row % a.q_len, bh = row / a.q_len;
    int b = (int)(bh / a.heads), h = (int)(bh % a.heads);
    float sum = bias ? bias[c] : 0.f;
    for (int d2 = 0; d2 < d; ++d2) sum += w[(int64_t)c * d + d2] * lin[row * d + d2];
    residual[a.q.of(b, h, i) + c] = sum;
}

struct Launch {
    cudaStream_t stream;
    Problem p;
    Args a;
    Grid g;
    float scale;
    const void *q, *k, *v, *lut, *counts, *proj, *bias;
    float* work;
    void* o;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same_v<T, float>) {
            return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_sla: f16 or bf16 (the tensor-core kernel has no f32 path)");
        } else {
            using zt::linear::blocks_for;
            int64_t nq = (int64_t)a.batch * a.heads * a.q_len * a.d, sf = a.state_floats();
            float* phi_q = work;
            float* phi_k = phi_q + nq;
            float* prefix = phi_k + (int64_t)a.batch * a.kv_heads * a.kv_len * a.d;
            float* states = prefix + (int64_t)a.batch * a.kv_heads * a.segments * sf;
            float* lin = states + (int64_t)a.batch * a.heads * g.q_blocks * sf;
            float* residual = lin + nq;
            zt_status st = zt::linear::build_prefix<T>(a, static_cast<const T*>(k), static_cast<const T*>(v), phi_k, prefix, nullptr, nullptr, stream,
                                                       "zt_sla (prefix)");
            if (st != ZT_OK) return st;
            zt::linear::phi_rows<T><<<blocks_for(nq / a.d), 256, 0, stream>>>(static_cast<const T*>(q), a.q, a.batch, a.heads, a.q_len, a.d, a.phi, phi_q);
            sla_states<<<blocks_for((int64_t)a.batch * a.heads * g.q_blocks * sf), 256, 0, stream>>>(
                a, g, static_cast<const int32_t*>(lut), static_cast<const int32_t*>(counts), prefix, states);
            sla_linear<<<blocks_for(nq), 256, 0, stream>>>(a, g, phi_q, states, lin);
            sla_proj<<<blocks_for(nq), 256, 0, stream>>>(a, lin, static_cast<const float*>(proj), static_cast<const float*>(bias), residual);
            st = zt::check_launch("zt_sla (linear branch)");
            if (st != ZT_OK) return st;
            DenseTraits<T> tr{static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(o), nullptr, scale * 1.4426950408889634f};
            return launch_sparse(p, tr, make_lut<true>(p, lut, counts, residual, g.block_q, g.block_k), stream, "zt_sla (sparse branch)");
        }
    }
};

}  // namespace

ZT_API zt_status zt_sla(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len, int32_t head_dim,
                        int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks, int32_t block_q, int32_t block_k,
                        int32_t phi, int32_t variant, float scale, int64_t q_count, int64_t kv_count, int64_t lut_count, int64_t counts_count,
                        int64_t proj_count, int64_t bias_count, int64_t work_count, const void* q, const void* k, const void* v, const void* lut,
                        const void* counts, const void* proj, const void* bias, void* work, void* o) {
    zt_status st = check_sparse("zt_sla: bad extents", batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, block_q, block_k,
                                lut_count, counts_count);
    if (st != ZT_OK) return st;
    if (phi < 0 || phi > 2 || (variant != 0 && variant != 1)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: phi 0..2, variant 0 (all) or 1 (complement)");
    Args a = zt::linear::make_args(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, phi, block_k);
    int q_blocks = (q_len + block_q - 1) / block_q;
    int64_t sf = a.state_floats();
    int64_t need = 3 * q_count + kv_count + (int64_t)batch * kv_heads * a.segments * sf + (int64_t)batch * heads * q_blocks * sf;
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim ||
        proj_count != (int64_t)head_dim * head_dim || (bias && bias_count != head_dim) || work_count < need)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: tensor sizes disagree with the extents");
    if (!q || !k || !v || !lut || !counts || !proj || !work || !o) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: null pointer");
    if (batch == 0 || q_len == 0) return ZT_OK;
    Problem p = make_problem(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, window, sinks, 0);
    Grid g{block_q, block_k, q_blocks, a.segments == 1 && kv_len == 0 ? 0 : (kv_len + block_k - 1) / block_k, variant, (int64_t)kv_len - q_len,
           Mask{mask_kind, block_tokens, window, sinks}};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), p, a, g, scale, q, k, v, lut, counts, proj, bias, static_cast<float*>(work), o});
}
