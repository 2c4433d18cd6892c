// sla.cu: Sparse-Linear Attention = block-sparse flash over the LUT + proj(linear branch).
//   1. phi(k) and the key-block prefix (linear_common.cuh, segments of block_k: chunk-local
//      prefix + carry)
//   2. sla_linear, one CTA per (b, h, query block, 64 output columns), the state and the linear
//      output fused: warp 0 turns the block's runs of linear blocks (candidates; variant 1: those
//      the LUT does not list, from a shared bitmap) into prefix terms, 32 key blocks per ballot; every thread adds the
//      terms to its own elements of the state slice S[:, cols] and z (coalesced), and the block's
//      rows phi(q) S / (phi(q) . z + eps) follow from shared memory (gemm_rows). The state lives
//      only in shared memory: no [B, H, q_blocks, D, D + 1] buffer, and the candidate test runs
//      once per key block per CTA, not once per state element.
//   3. sla_proj: o_lin W^T + bias into an f32 residual (W^T's 64-column slice staged once per CTA
//      with coalesced reads, then gemm_rows)
//   4. the block-sparse kernel (block_sparse.cuh) adding the residual before rounding, so with
//      W = 0 the output is block_sparse_attention's bit for bit
// precision 1 (SageSLA): before step 1, q and k are quantized by zt_sage_quantize (q with the
// softmax scale * log2(e) folded, q_rows rows per scale; k smoothed, 64 rows per scale) into the
// caller's int8 workspaces, and step 4 is the block-sparse Sage kernel (launch_sparse_sage, with the
// fp8 V pre-pass for pv_mode 1) adding the same residual; the linear branch reads q and k as given.
// The SLA paper computes the linear branch inside the sparse kernel; here the flash epilogue takes
// it as a residual (flash_*.cuh are shared with the other attention ops).
// The ILGPU twin and the oracle: src/Attention/Sparse/Sla.cs.
#include "attention/block_sparse.cuh"
#include "attention/linear_common.cuh"
#include "zt_sage_quantize.h"
#include "zt_sparse.h"

namespace {

using namespace zt::flash;
using zt::linear::Args;
using zt::linear::GemmSmem;
using zt::linear::kPad;
using zt::linear::kThreads;
using zt::linear::kTile;

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

// Key blocks of one LUT row as a bitmap (SparseBlocks.MaxKeyBlocks = 2048 blocks, 64 words).
constexpr int kListedWords = 2048 / 32;

// Whether key block kb feeds the linear branch of query block qb: a candidate the mask may show,
// and, variant 1 (complement), not one the LUT lists for the exact branch.
__device__ __forceinline__ bool linear_block(const Args& a, const Grid& g, int qb, int kb, const unsigned* listed) {
    if (kb >= g.k_blocks || !g.candidate(a, qb, kb)) return false;
    return g.variant != 1 || !((listed[kb >> 5] >> (kb & 31)) & 1u);
}

// A term t != 0 of a state: t > 0 adds the prefix of key block t - 1, t < 0 subtracts that of -t - 1.
// Warp 0 writes window w's terms (at most 64) in lane order and their count: a run [s, e] of linear
// blocks is P[e] - P[s - 1]. The complement is built from runs of the blocks the LUT does not list,
// never by subtracting the listed ones from the candidates' runs: when the LUT lists every candidate,
// that subtraction would leave S and z as rounding noise and their ratio as garbage, where the runs
// leave both exactly zero.
__device__ __forceinline__ void window_terms(const Args& a, const Grid& g, int qb, int w, const unsigned* listed, bool& prev, int* terms,
                                             int* n_terms) {
    const unsigned all = 0xffffffffu;
    const int lane = threadIdx.x & 31;
    int plus = 0, minus = 0;
    int kb = w * 32 + lane;
    bool in = linear_block(a, g, qb, kb, listed);
    unsigned m = __ballot_sync(all, in);
    bool before = lane > 0 ? (m >> (lane - 1)) & 1u : prev;
    bool after = lane < 31 ? (m >> (lane + 1)) & 1u : linear_block(a, g, qb, kb + 1, listed);
    if (in && !before && kb > 0) minus = -kb;
    if (in && !after) plus = kb + 1;
    prev = __shfl_sync(all, in, 31);
    unsigned mm = __ballot_sync(all, minus != 0), mp = __ballot_sync(all, plus != 0), below = (1u << lane) - 1u;
    if (minus) terms[__popc(mm & below)] = minus;
    if (plus) terms[__popc(mm) + __popc(mp & below)] = plus;
    if (lane == 0) *n_terms = __popc(mm) + __popc(mp);
}

// grid (column tiles, q_blocks, b * heads + h); dynamic shared memory gemm_smem_bytes(d).
__global__ void __launch_bounds__(kThreads) sla_linear(Args a, Grid g, const int32_t* __restrict__ lut, const int32_t* __restrict__ counts,
                                                       const float* __restrict__ local, const float* __restrict__ carry, const float* __restrict__ phi_q,
                                                       float* __restrict__ lin) {
    extern __shared__ float smem[];
    __shared__ int terms[64];
    __shared__ int n_terms;
    __shared__ unsigned listed[kListedWords];
    const GemmSmem sm = GemmSmem::of(smem, a.d);
    const int d = a.d, c0 = blockIdx.x * kTile, qb = blockIdx.y, tid = threadIdx.x;
    const int64_t bh = blockIdx.z, row = bh * g.q_blocks + qb;
    const int b = (int)(bh / a.heads), h = (int)(bh % a.heads);
    const int64_t bhkv = (int64_t)b * a.kv_heads + h / a.group;
    // This thread's elements of the slice: idx < d * 64 is S[idx / 64][c0 + idx % 64], the rest z.
    const int slice = d * kTile + d;
    auto at = [&](int idx) -> float& { return idx < d * kTile ? sm.b[(idx / kTile) * kPad + idx % kTile] : sm.z[idx - d * kTile]; };
    auto elem = [&](int idx) -> int64_t { return idx < d * kTile ? (c0 + idx % kTile < d ? (int64_t)(idx / kTile) * d + c0 + idx % kTile : -1) : (int64_t)d * d + idx - d * kTile; };
    for (int idx = tid; idx < slice; idx += kThreads) at(idx) = 0.f;
    const int windows = (g.k_blocks + 31) / 32;
    if (g.variant == 1) {
        for (int i = tid; i < windows; i += kThreads) listed[i] = 0u;
        __syncthreads();
        const int n_sel = counts[row];
        for (int j = tid; j < n_sel; j += kThreads) {
            int kb = lut[row * g.k_blocks + j];
            if (kb >= 0 && kb < g.k_blocks) atomicOr(&listed[kb >> 5], 1u << (kb & 31));
        }
        __syncthreads();
    }
    bool prev = false;
    for (int w = 0; w < windows; ++w) {
        if (tid < 32) window_terms(a, g, qb, w, listed, prev, terms, &n_terms);
        __syncthreads();
        const int n = n_terms;
        for (int idx = tid; idx < slice && n > 0; idx += kThreads) {
            int64_t e = elem(idx);
            if (e < 0) continue;
            float sum = at(idx);
            for (int t = 0; t < n; ++t) {
                int x = terms[t];
                float p = zt::linear::prefix_at(a, local, carry, bhkv, x > 0 ? x - 1 : -x - 1, e);
                sum += x > 0 ? p : -p;
            }
            at(idx) = sum;
        }
        __syncthreads();
    }
    const int64_t r0 = (int64_t)qb * g.block_q, r1 = min(r0 + g.block_q, (int64_t)a.q_len);
    zt::linear::gemm_rows(phi_q + bh * a.q_len * d, r0, r1, d, c0, true, sm, [&](int64_t r, int c, float val) { lin[(bh * a.q_len + r) * d + c] = val; });
}

// grid (column tiles, 64-row tiles of q_len, b * heads + h); dynamic shared memory gemm_smem_bytes(d).
__global__ void __launch_bounds__(kThreads) sla_proj(Args a, const float* __restrict__ lin, const float* __restrict__ w, const float* __restrict__ bias,
                                                     float* __restrict__ residual) {
    extern __shared__ float smem[];
    const GemmSmem sm = GemmSmem::of(smem, a.d);
    const int d = a.d, c0 = blockIdx.x * kTile;
    const int64_t bh = blockIdx.z, r0 = (int64_t)blockIdx.y * kTile;
    const int b = (int)(bh / a.heads), h = (int)(bh % a.heads);
    // W^T's slice, b[k][c] = W[c0 + c][k]: a warp reads 32 consecutive floats of a W row; the padded
    // stride makes the transposed shared stores conflict-free.
    for (int idx = threadIdx.x; idx < d * kTile; idx += kThreads) {
        int c = idx / d, k = idx % d;
        sm.b[k * kPad + c] = c0 + c < d ? w[(int64_t)(c0 + c) * d + k] : 0.f;
    }
    __syncthreads();
    zt::linear::gemm_rows(lin + bh * a.q_len * d, r0, min(r0 + kTile, (int64_t)a.q_len), d, c0, false, sm,
                          [&](int64_t r, int c, float val) { residual[a.q.of(b, h, r) + c] = val + (bias ? bias[c] : 0.f); });
}

// precision 1's operands: the int8 codes, scales and k's mean, the V pre-pass's buffers (pv_mode 1).
struct SageOperands {
    int precision, pv_mode, q_rows, layout;
    int8_t *q, *k;
    float *q_scale, *k_scale, *k_mean, *v_scale;
    uint8_t* v_fp8;
};

struct Launch {
    cudaStream_t stream;
    zt_dtype dtype;
    Problem p;
    Args a;
    Grid g;
    float scale;
    const void *q, *k, *v, *lut, *counts, *proj, *bias;
    float* work;
    SageOperands sage;
    void* o;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same_v<T, float>) {
            return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_sla: f16 or bf16 (the tensor-core kernel has no f32 path)");
        } else {
            int64_t nq = (int64_t)a.batch * a.heads * a.q_len * a.d;
            float* phi_q = work;
            float* phi_k = phi_q + nq;
            float* prefix = phi_k + (int64_t)a.batch * a.kv_heads * a.kv_len * a.d;
            float* carry = prefix + (int64_t)a.batch * a.kv_heads * a.segments * a.state_floats();
            float* lin = prefix + zt::linear::prefix_floats(a);
            float* residual = lin + nq;
            zt_status st = ZT_OK;
            if (sage.precision == 1) {
                // sage_quantize's rule; the q fold is the dense kernel's scale * log2(e) in f32 (for D 64 and
                // 128 the same float as SageQuantize.Params.QScale's log2(e) / sqrt(D)). k's mean chunk sums
                // follow the dense work from the next even float (8-byte aligned on an aligned work).
                const int64_t nk = (int64_t)a.batch * a.kv_heads * a.kv_len * a.d, chunks = (a.kv_len + 63) / 64;
                const int64_t used = (int64_t)(residual - work) + nq;
                float* part = work + used + (used & 1);
                const int64_t part_count = chunks > 1 ? 2 * (int64_t)a.batch * a.kv_heads * chunks * a.d : 0;
                const int q_blocks = (a.q_len + sage.q_rows - 1) / sage.q_rows, k_blocks = (a.kv_len + 63) / 64;
                st = zt_sage_quantize(static_cast<zt_stream>(stream), dtype, a.batch, a.heads, a.q_len, a.d, sage.layout, sage.q_rows, 0, scale * 1.4426950408889634f, nq,
                                      (int64_t)a.batch * a.heads * q_blocks, 0, 0, q, nullptr, sage.q, sage.q_scale, nullptr);
                if (st != ZT_OK) return st;
                st = zt_sage_quantize(static_cast<zt_stream>(stream), dtype, a.batch, a.kv_heads, a.kv_len, a.d, sage.layout, 64, 1, 1.f, nk, (int64_t)a.batch * a.kv_heads * k_blocks,
                                      (int64_t)a.batch * a.kv_heads * a.d, part_count, k, part_count ? part : nullptr, sage.k, sage.k_scale, sage.k_mean);
                if (st != ZT_OK) return st;
            }
            st = zt::linear::build_prefix<T>(a, static_cast<const T*>(k), static_cast<const T*>(v), phi_k, prefix, nullptr, nullptr, stream,
                                                       "zt_sla (prefix)");
            if (st != ZT_OK) return st;
            zt::linear::phi_rows<T><<<(unsigned)((nq / a.d + 7) / 8), kThreads, 0, stream>>>(static_cast<const T*>(q), a.q, a.batch, a.heads, a.q_len, a.d,
                                                                                              a.phi, phi_q);
            int smem = zt::linear::gemm_smem_bytes(a.d);
            if ((st = zt::allow_dynamic_smem(sla_linear, smem, "zt_sla (linear)")) != ZT_OK) return st;
            if ((st = zt::allow_dynamic_smem(sla_proj, smem, "zt_sla (proj)")) != ZT_OK) return st;
            unsigned col_tiles = (unsigned)((a.d + kTile - 1) / kTile), bhs = (unsigned)(a.batch * a.heads);
            sla_linear<<<dim3(col_tiles, g.q_blocks, bhs), kThreads, smem, stream>>>(a, g, static_cast<const int32_t*>(lut), static_cast<const int32_t*>(counts),
                                                                                   prefix, carry, phi_q, lin);
            sla_proj<<<dim3(col_tiles, (unsigned)((a.q_len + kTile - 1) / kTile), bhs), kThreads, smem, stream>>>(
                a, lin, static_cast<const float*>(proj), static_cast<const float*>(bias), residual);
            st = zt::check_launch("zt_sla (linear branch)");
            if (st != ZT_OK) return st;
            const auto keys = make_lut<true>(p, lut, counts, residual, g.block_q, g.block_k);
            if (sage.precision == 1)
                return launch_sparse_sage<T, kBlockN>(p, sage.q_rows, sage.pv_mode, keys, sage.q, sage.q_scale, sage.k, sage.k_scale, static_cast<const T*>(v),
                                             sage.v_fp8, sage.v_scale, static_cast<T*>(o), stream, "zt_sla (Sage sparse branch)");
            return launch_sparse_dense<T>(p, scale, keys, q, k, v, o, stream, "zt_sla (sparse branch)");
        }
    }
};

}  // namespace

ZT_API zt_status zt_sla(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len, int32_t head_dim,
                        int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks, int32_t block_q, int32_t block_k,
                        int32_t phi, int32_t variant, int32_t precision, int32_t pv_mode, int32_t q_rows, float scale, int64_t q_count, int64_t kv_count,
                        int64_t lut_count, int64_t counts_count, int64_t proj_count, int64_t bias_count, int64_t work_count, int64_t q_scale_count,
                        int64_t k_scale_count, int64_t channel_count, int64_t v_fp8_count, const void* q, const void* k, const void* v, const void* lut,
                        const void* counts, const void* proj, const void* bias, void* work, void* q_i8, void* q_scale, void* k_i8, void* k_scale,
                        void* k_mean, void* v_fp8, void* v_scale, void* o) {
    zt_status st = check_sparse("zt_sla: bad extents", batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, block_q, block_k,
                                lut_count, counts_count);
    if (st != ZT_OK) return st;
    if (phi < 0 || phi > 2 || (variant != 0 && variant != 1)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: phi 0..2, variant 0 (all) or 1 (complement)");
    if (precision != 0 && precision != 1) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: precision 0 (dense) or 1 (sage)");
    const bool sage = precision == 1;
    if (sage && (pv_mode != 0 && pv_mode != 1)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: precision 1 (sage) takes pv_mode 0 (f16) or 1 (fp8)");
    if (sage && q_rows != 16 && q_rows != 32 && q_rows != 64 && q_rows != 128)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: precision 1 (sage) takes q_rows 16, 32, 64 or 128");
    Args a = zt::linear::make_args(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, phi, block_k);
    int q_blocks = (q_len + block_q - 1) / block_q;
    int64_t need = 3 * q_count + kv_count + zt::linear::prefix_floats(a);
    const int64_t chunks = ((int64_t)kv_len + 63) / 64, ch = (int64_t)batch * kv_heads * head_dim;
    if (sage) need += (need & 1) + (chunks > 1 ? 2 * chunks * ch : 0);
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim ||
        proj_count != (int64_t)head_dim * head_dim || (bias && bias_count != head_dim) || work_count < need)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: tensor sizes disagree with the extents");
    if (sage && (q_scale_count != (int64_t)batch * heads * ((q_len + q_rows - 1) / q_rows) || k_scale_count != (int64_t)batch * kv_heads * chunks ||
                 channel_count != ch || (pv_mode == 1 && v_fp8_count < ch * v_code_pad(kv_len))))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: precision 1 (sage) operand sizes disagree with the extents (q_scale [B, H, ceil(Nq / q_rows)], "
                                                   "k_scale [B, Hkv, ceil(Nkv / 64)], k_mean and v_scale [B, Hkv, D], v_fp8 >= B*Hkv*D*ceil64(Nkv))");
    if (!q || !k || !v || !lut || !counts || !proj || !work || !o) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: null pointer");
    if (sage && (!q_i8 || !q_scale || !k_i8 || !k_scale || !k_mean || (pv_mode == 1 && (!v_fp8 || !v_scale))))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: precision 1 (sage) needs q_i8, q_scale, k_i8, k_scale, k_mean (and v_fp8, v_scale for pv_mode 1)");
    if (sage && (reinterpret_cast<uintptr_t>(work) & 7) != 0)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: precision 1 (sage) needs an 8-byte aligned work (it holds k's mean chunk sums as doubles)");
    if (block_k > 0 && (kv_len + block_k - 1) / block_k > 32 * kListedWords)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_sla: more than 2048 key blocks (SparseBlocks.MaxKeyBlocks): raise block_k");
    // The sparse kernel moves q, k, v and o (and the int8 codes and fp8 V) in 16-byte chunks: refuse an unaligned view by name.
    if (zt_status st = check_aligned("zt_sla", {{"q", q}, {"k", k}, {"v", v}, {"o", o}})) return st;
    if (sage) {
        if (zt_status st = check_aligned("zt_sla", {{"q_i8", q_i8}, {"k_i8", k_i8}, {"v_fp8", pv_mode == 1 ? v_fp8 : nullptr}})) return st;
    }
    if (batch == 0 || q_len == 0) return ZT_OK;
    Problem p = make_problem(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens, window, sinks, 0);
    Grid g{block_q, block_k, q_blocks, a.segments == 1 && kv_len == 0 ? 0 : (kv_len + block_k - 1) / block_k, variant, (int64_t)kv_len - q_len,
           Mask{mask_kind, block_tokens, window, sinks}};
    SageOperands so{precision, pv_mode, q_rows, layout, static_cast<int8_t*>(q_i8), static_cast<int8_t*>(k_i8), static_cast<float*>(q_scale),
                    static_cast<float*>(k_scale), static_cast<float*>(k_mean), static_cast<float*>(v_scale), static_cast<uint8_t*>(v_fp8)};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), dtype, p, a, g, scale, q, k, v, lut, counts, proj, bias, static_cast<float*>(work), so, o});
}
