// linear_attention.cu: linear attention with an optional carried state (linear_common.cuh's
// passes, then one CTA per (b, h, 64 query rows of one state, 64 output columns): the query's
// state (segment i / block when causal, the last one otherwise) staged once into shared memory
// from the prefix, then gemm_rows). The ILGPU twin and the oracle: src/Attention/Sparse/LinearAttention.cs.
#include "attention/linear_common.cuh"
#include "zt_sparse.h"

namespace {

using namespace zt::linear;

// grid (column tiles, row tiles of every state's rows, b * heads + h); dynamic shared memory
// gemm_smem_bytes(d). Rows sharing a state: a causal segment's, or all q_len when non-causal.
template <typename T>
__global__ void __launch_bounds__(kThreads) linear_output(Args a, int causal, const float* __restrict__ phi_q, const float* __restrict__ local,
                                                          const float* __restrict__ carry, T* __restrict__ o) {
    extern __shared__ float smem[];
    const GemmSmem sm = GemmSmem::of(smem, a.d);
    const int d = a.d, c0 = blockIdx.x * kTile;
    const int64_t bh = blockIdx.z;
    const int b = (int)(bh / a.heads), h = (int)(bh % a.heads);
    const int64_t bhkv = (int64_t)b * a.kv_heads + h / a.group;
    const int64_t span = causal ? a.segment_tokens : a.q_len;  // rows per state
    const int64_t tiles = (span + kTile - 1) / kTile;
    const int seg = causal ? (int)(blockIdx.y / tiles) : a.segments - 1;
    const int64_t r0 = (causal ? (int64_t)seg * span : 0) + (blockIdx.y % tiles) * kTile;
    const int64_t r1 = min(r0 + kTile, min((causal ? (int64_t)seg * span : 0) + span, (int64_t)a.q_len));
    if (r0 >= r1) return;  // CTA-uniform
    // The state slice: a warp reads 32 consecutive floats of one S row (and of its carry).
    for (int idx = threadIdx.x; idx < d * kTile; idx += kThreads) {
        int d1 = idx / kTile, c = idx % kTile;
        sm.b[d1 * kPad + c] = c0 + c < d ? prefix_at(a, local, carry, bhkv, seg, (int64_t)d1 * d + c0 + c) : 0.f;
    }
    for (int d1 = threadIdx.x; d1 < d; d1 += kThreads) sm.z[d1] = prefix_at(a, local, carry, bhkv, seg, (int64_t)d * d + d1);
    __syncthreads();
    gemm_rows(phi_q + bh * a.q_len * d, r0, r1, d, c0, true, sm,
              [&](int64_t row, int c, float val) { o[a.q.of(b, h, row) + c] = zt::elem<T>::store(val); });
}

struct Launch {
    cudaStream_t stream;
    Args a;
    int causal;
    const void *q, *k, *v;
    float *state, *zsum, *work;
    void* o;

    template <typename T>
    zt_status operator()() const {
        float* phi_q = work;
        float* phi_k = phi_q + (int64_t)a.batch * a.heads * a.q_len * a.d;
        float* prefix = phi_k + (int64_t)a.batch * a.kv_heads * a.kv_len * a.d;
        zt_status st = build_prefix<T>(a, static_cast<const T*>(k), static_cast<const T*>(v), phi_k, prefix, state, zsum, stream, "zt_linear_attention (prefix)");
        if (st != ZT_OK) return st;
        int64_t rows = (int64_t)a.batch * a.heads * a.q_len;
        if (rows == 0) return ZT_OK;
        phi_rows<T><<<(unsigned)((rows + 7) / 8), kThreads, 0, stream>>>(static_cast<const T*>(q), a.q, a.batch, a.heads, a.q_len, a.d, a.phi, phi_q);
        int smem = gemm_smem_bytes(a.d);
        st = zt::allow_dynamic_smem(linear_output<T>, smem, "zt_linear_attention (output)");
        if (st != ZT_OK) return st;
        int64_t span = causal ? a.segment_tokens : a.q_len, tiles = (span + kTile - 1) / kTile;
        unsigned row_tiles = (unsigned)(tiles * (causal ? a.segments : 1));
        linear_output<T><<<dim3((a.d + kTile - 1) / kTile, row_tiles, a.batch * a.heads), kThreads, smem, stream>>>(
            a, causal, phi_q, prefix, prefix + (int64_t)a.batch * a.kv_heads * a.segments * a.state_floats(), static_cast<T*>(o));
        return zt::check_launch("zt_linear_attention (output)");
    }
};

}  // namespace

ZT_API zt_status zt_linear_attention(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                                     int32_t head_dim, int32_t layout, int32_t phi, int32_t causal, int32_t segment_tokens, int64_t q_count,
                                     int64_t kv_count, int64_t state_count, int64_t zsum_count, int64_t work_count, const void* q, const void* k,
                                     const void* v, void* state, void* zsum, void* work, void* o) {
    if (batch < 0 || q_len < 0 || kv_len < 0 || heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0 || head_dim <= 0 || phi < 0 || phi > 2 ||
        segment_tokens <= 0 || (causal && q_len != kv_len) || (layout != 0 && layout != 1))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_attention: bad extents, phi, segment or layout (causal needs q_len == kv_len)");
    Args a = make_args(batch, heads, kv_heads, q_len, kv_len, head_dim, layout, phi, segment_tokens);
    int64_t need = q_count + kv_count + prefix_floats(a);
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim || work_count < need ||
        ((state || zsum) && (state_count != (int64_t)batch * kv_heads * head_dim * head_dim || zsum_count != (int64_t)batch * kv_heads * head_dim)))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_attention: tensor sizes disagree with the extents");
    if (!q || !k || !v || !work || !o || (!state) != (!zsum)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_attention: null pointer (state and zsum go together)");
    if (batch == 0) return ZT_OK;
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), a, causal, q, k, v, static_cast<float*>(state), static_cast<float*>(zsum),
                                            static_cast<float*>(work), o});
}
