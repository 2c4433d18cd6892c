// linear_attention.cu: linear attention with an optional carried state (linear_common.cuh's
// passes, then one thread per output element reading its segment's prefix state: segment i / block
// when causal, the last one otherwise). The ILGPU twin and the oracle: src/Attention/Sparse/LinearAttention.cs.
#include "attention/linear_common.cuh"
#include "zt_sparse.h"

namespace {

using namespace zt::linear;

template <typename T>
__global__ void linear_output(Args a, int causal, const float* __restrict__ phi_q, const float* __restrict__ prefix, T* __restrict__ o) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t)a.batch * a.heads * a.q_len * a.d) return;
    int d = a.d, d2 = (int)(idx % d);
    int64_t row = idx / d, i = row % a.q_len, bh = row / a.q_len;
    int b = (int)(bh / a.heads), h = (int)(bh % a.heads);
    int64_t bhkv = (int64_t)b * a.kv_heads + h / a.group;
    int seg = causal ? (int)(i / a.segment_tokens) : a.segments - 1;
    const float* s = prefix + (bhkv * a.segments + seg) * a.state_floats();
    const float* f = phi_q + row * d;
    o[a.q.of(b, h, i) + d2] = zt::elem<T>::store(attend(f, s, d, d2));
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
        phi_rows<T><<<blocks_for(rows), 256, 0, stream>>>(static_cast<const T*>(q), a.q, a.batch, a.heads, a.q_len, a.d, a.phi, phi_q);
        linear_output<T><<<blocks_for(rows * a.d), 256, 0, stream>>>(a, causal, phi_q, prefix, static_cast<T*>(o));
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
    int64_t need = q_count + kv_count + (int64_t)batch * kv_heads * a.segments * a.state_floats();
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim || work_count < need ||
        ((state || zsum) && (state_count != (int64_t)batch * kv_heads * head_dim * head_dim || zsum_count != (int64_t)batch * kv_heads * head_dim)))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_attention: tensor sizes disagree with the extents");
    if (!q || !k || !v || !work || !o || (!state) != (!zsum)) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_attention: null pointer (state and zsum go together)");
    if (batch == 0) return ZT_OK;
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), a, causal, q, k, v, static_cast<float*>(state), static_cast<float*>(zsum),
                                            static_cast<float*>(work), o});
}
