// block_map.cu: block-map prediction on the GPU, the same two passes as the ILGPU twin
// (src/Attention/Sparse/BlockMap.cs, which also states the selection order and rules):
//   pool    one thread per (b, head, channel): block means of q, and of k minus k's mean (smoothing)
//   select  one CTA of 128 threads per (b, h, query block): flags and scores into shared memory,
//           the softmax mass, each candidate's rank and preceding mass by counting (every thread
//           reduces max and total in the same order, so all agree), the ascending LUT by prefix counts.
// Work per query block is O(k_blocks^2 / 128): 512 key blocks (32K keys) is 2K steps per thread.
#include "attention/flash_common.cuh"
#include "zt_sparse.h"

namespace {

using zt::flash::Mask;
using zt::flash::Strides;

constexpr int kSelectThreads = 128;

// zt:hot select_blocks pool_blocks  (on the streaming path: the block map of every SLA layer; a spill fails CI)
template <typename T>
__global__ void pool_blocks(const T* __restrict__ x, Strides st, int batch, int heads, int len, int d, int block, int smooth, float* __restrict__ pooled) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)batch * heads * d) return;
    int c = (int)(i % d);
    int64_t bh = i / d;
    int b = (int)(bh / heads), h = (int)(bh % heads);
    int blocks = (len + block - 1) / block;
    float* out = pooled + bh * blocks * d + c;
    float all = 0.f;
    for (int blk = 0; blk < blocks; ++blk) {
        int r0 = blk * block, r1 = min(len, r0 + block);
        float sum = 0.f;
        for (int r = r0; r < r1; ++r) sum += zt::elem<T>::load(x[st.of(b, h, r) + c]);
        all += sum;
        out[(int64_t)blk * d] = sum / (float)(r1 - r0);
    }
    if (smooth) {
        float mean = all / (float)len;
        for (int blk = 0; blk < blocks; ++blk) out[(int64_t)blk * d] -= mean;
    }
}

struct MapArgs {
    int heads, kv_heads, q_len, kv_len, d, group, block_q, block_k, q_blocks, k_blocks, rule, budget, sink_keys, keep_diagonal;
    float threshold, scale;
    int64_t q_offset;
    Mask mask;

    // 0: not a candidate, 1: a candidate, 2: forced (SparseBlocks.Candidate / Diagonal, BlockMap.Flag).
    __device__ int flag(int qb, int kb) const {
        int64_t end = (int64_t)(qb + 1) * block_q;
        int64_t pos0 = (int64_t)qb * block_q + q_offset, pos1 = (end < q_len ? end : q_len) - 1 + q_offset;
        int64_t k0 = (int64_t)kb * block_k;
        if (k0 >= kv_len || !mask.tile_may_be_visible(pos0, pos1, k0, k0 + block_k, kv_len)) return 0;
        bool forced = k0 < sink_keys || (keep_diagonal && k0 <= pos1 && k0 + block_k > pos0);
        return forced ? 2 : 1;
    }
};

__device__ __forceinline__ bool beats(int fi, float si, int i, int fj, float sj, int j) {
    if ((fi == 2) != (fj == 2)) return fi == 2;
    return fi == 2 ? i < j : (si > sj || (si == sj && i < j));
}

__global__ void __launch_bounds__(kSelectThreads) select_blocks(MapArgs a, const float* __restrict__ pq, const float* __restrict__ pk, int32_t* __restrict__ lut,
                                                                int32_t* __restrict__ counts) {
    extern __shared__ float smem[];
    float* score = smem;
    float* prob = score + a.k_blocks;
    int* flag = reinterpret_cast<int*>(prob + a.k_blocks);
    int* keep = flag + a.k_blocks;
    const int64_t row = blockIdx.x;
    const int qb = (int)(row % a.q_blocks);
    const int64_t bh = row / a.q_blocks;
    const int b = (int)(bh / a.heads), h = (int)(bh % a.heads);
    const float* q = pq + row * a.d;
    const float* k = pk + ((int64_t)b * a.kv_heads + h / a.group) * a.k_blocks * a.d;
    for (int kb = threadIdx.x; kb < a.k_blocks; kb += kSelectThreads) {
        int f = a.flag(qb, kb);
        float dot = 0.f;
        if (f)
            for (int c = 0; c < a.d; ++c) dot += q[c] * k[(int64_t)kb * a.d + c];
        flag[kb] = f;
        score[kb] = dot * a.scale;
    }
    __syncthreads();
    float mx = -INFINITY;
    for (int kb = 0; kb < a.k_blocks; ++kb)
        if (flag[kb]) mx = fmaxf(mx, score[kb]);
    for (int kb = threadIdx.x; kb < a.k_blocks; kb += kSelectThreads) prob[kb] = flag[kb] ? expf(score[kb] - mx) : 0.f;
    __syncthreads();
    float total = 0.f;
    for (int kb = 0; kb < a.k_blocks; ++kb) total += prob[kb];
    for (int j = threadIdx.x; j < a.k_blocks; j += kSelectThreads) {
        int rank = 0;
        float before = 0.f;
        if (flag[j])
            for (int i = 0; i < a.k_blocks; ++i)
                if (flag[i] && i != j && beats(flag[i], score[i], i, flag[j], score[j], j)) {
                    ++rank;
                    before += prob[i];
                }
        keep[j] = flag[j] == 2 || (flag[j] == 1 && (a.rule == 0 ? rank < a.budget : before < a.threshold * total));
    }
    __syncthreads();
    int count = 0;
    for (int kb = 0; kb < a.k_blocks; ++kb) count += keep[kb];
    int32_t* out = lut + row * a.k_blocks;
    for (int j = threadIdx.x; j < a.k_blocks; j += kSelectThreads) {
        if (keep[j]) {
            int pos = 0;
            for (int i = 0; i < j; ++i) pos += keep[i];
            out[pos] = j;
        }
        if (j >= count) out[j] = -1;
    }
    if (threadIdx.x == 0) counts[row] = count;
}

struct Launch {
    cudaStream_t stream;
    MapArgs a;
    int batch;
    Strides qs, ks;
    const void *q, *k;
    float* work;
    int32_t *lut, *counts;

    template <typename T>
    zt_status operator()() const {
        float* pq = work;
        float* pk = work + (int64_t)batch * a.heads * a.q_blocks * a.d;
        int64_t nq = (int64_t)batch * a.heads * a.d, nk = (int64_t)batch * a.kv_heads * a.d;
        pool_blocks<T><<<(unsigned)((nq + 255) / 256), 256, 0, stream>>>(static_cast<const T*>(q), qs, batch, a.heads, a.q_len, a.d, a.block_q, 0, pq);
        if (a.kv_len > 0)
            pool_blocks<T><<<(unsigned)((nk + 255) / 256), 256, 0, stream>>>(static_cast<const T*>(k), ks, batch, a.kv_heads, a.kv_len, a.d, a.block_k, 1, pk);
        zt_status st = zt::check_launch("zt_block_map (pool)");
        if (st != ZT_OK) return st;
        size_t bytes = (size_t)a.k_blocks * 16;
        if (bytes > 48 * 1024) {
            cudaError_t e = cudaFuncSetAttribute(select_blocks, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
            if (e != cudaSuccess) return zt::fail(ZT_ERROR_CUDA, cudaGetErrorString(e));
        }
        select_blocks<<<(unsigned)((int64_t)batch * a.heads * a.q_blocks), kSelectThreads, bytes, stream>>>(a, pq, pk, lut, counts);
        return zt::check_launch("zt_block_map (select)");
    }
};

}  // namespace

ZT_API zt_status zt_block_map(zt_stream stream, zt_dtype dtype, int32_t batch, int32_t heads, int32_t kv_heads, int32_t q_len, int32_t kv_len,
                              int32_t head_dim, int32_t layout, int32_t mask_kind, int32_t block_tokens, int32_t window, int32_t sinks, int32_t block_q,
                              int32_t block_k, int32_t rule, float value, int32_t budget, int32_t sink_keys, int32_t keep_diagonal, float scale,
                              int64_t q_count, int64_t kv_count, int64_t lut_count, int64_t counts_count, int64_t work_count, const void* q,
                              const void* k, void* work, void* lut, void* counts) {
    if (batch < 0 || q_len < 0 || kv_len < 0 || heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0 || head_dim <= 0 || block_q <= 0 || block_k <= 0 ||
        (rule != 0 && rule != 1) || (mask_kind == 2 && block_tokens <= 0) || mask_kind < 0 || mask_kind > 2 || (layout != 0 && layout != 1))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_map: bad extents, blocks, rule, mask or layout");
    int64_t q_blocks = (q_len + block_q - 1) / block_q, k_blocks = (kv_len + block_k - 1) / block_k;
    if (q_count != (int64_t)batch * heads * q_len * head_dim || kv_count != (int64_t)batch * kv_heads * kv_len * head_dim ||
        counts_count != (int64_t)batch * heads * q_blocks || lut_count != counts_count * k_blocks ||
        work_count < (int64_t)batch * heads * q_blocks * head_dim + (int64_t)batch * kv_heads * k_blocks * head_dim)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_map: tensor sizes disagree with the extents");
    if (!q || !k || !work || !lut || !counts) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_block_map: null pointer");
    if (batch == 0 || q_len == 0) return ZT_OK;
    MapArgs a{heads, kv_heads, q_len, kv_len, head_dim, heads / kv_heads, block_q, block_k, (int)q_blocks, (int)k_blocks, rule, budget, sink_keys,
              keep_diagonal, value, scale, (int64_t)kv_len - q_len, Mask{mask_kind, block_tokens, window, sinks}};
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), a, batch, Strides::contiguous(layout, heads, q_len, head_dim),
                                            Strides::contiguous(layout, kv_heads, kv_len, head_dim), q, k, static_cast<float*>(work),
                                            static_cast<int32_t*>(lut), static_cast<int32_t*>(counts)});
}
