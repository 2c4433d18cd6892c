// block_map.cu: block-map prediction on the GPU, the same passes as the ILGPU twin
// (src/Attention/Sparse/BlockMap.cs, which also states the selection order and rules):
//   pool    one thread per (b, head, block, channel): the sum of the block's rows of q or k, in row
//           order (a thread reads one block of tokens, never more); consecutive threads on
//           consecutive channels, so each warp's loads of a row are one contiguous run. q's sums
//           become means at once; k's stay sums for
//   smooth  one CTA per (b, kv head, 32 channels), kSmoothSlices warps: each warp adds a contiguous
//           run of k's block sums, the warps' totals are added in warp order (a fixed order, so
//           the same bits every run), then each block's mean minus the mean over all keys.
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
constexpr int kPoolThreads = 256;
constexpr int kSmoothSlices = 16;  // warps per smooth CTA: 512 key blocks (32K keys) is 32 sums per thread

// zt:hot select_blocks pool_blocks smooth_blocks  (on the streaming path: the block map of every SLA layer; a spill fails CI)
template <typename T>
__global__ void __launch_bounds__(kPoolThreads) pool_blocks(const T* __restrict__ x, Strides st, int64_t cells, int heads, int len, int d, int block,
                                                            int blocks, int keep_sums, float* __restrict__ pooled) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;  // (b, head, block, channel), channel fastest
    if (i >= cells) return;
    const int64_t cell = i / d;
    const int c = (int)(i - cell * d);
    const int64_t bh = cell / blocks;
    const int blk = (int)(cell - bh * blocks);
    const int b = (int)(bh / heads), h = (int)(bh - (int64_t)b * heads);
    const int r0 = blk * block, rows = min(len - r0, block);
    const T* p = x + st.of(b, h, r0) + c;
    float sum = 0.f;
#pragma unroll 8
    for (int r = 0; r < rows; ++r) sum += zt::elem<T>::load(p[(int64_t)r * st.token]);
    pooled[i] = keep_sums ? sum : sum / (float)rows;
}

__global__ void __launch_bounds__(32 * kSmoothSlices) smooth_blocks(float* __restrict__ pooled, int len, int d, int block, int blocks) {
    __shared__ float part[kSmoothSlices][32];
    const int lane = threadIdx.x, slice = threadIdx.y;
    const int c = blockIdx.y * 32 + lane;
    float* col = pooled + (int64_t)blockIdx.x * blocks * d + c;
    const int per = (blocks + kSmoothSlices - 1) / kSmoothSlices;
    const int b0 = min(blocks, slice * per), b1 = min(blocks, b0 + per);
    float sum = 0.f;
    if (c < d)
        for (int blk = b0; blk < b1; ++blk) sum += col[(int64_t)blk * d];
    part[slice][lane] = sum;
    __syncthreads();
    float all = 0.f;
#pragma unroll
    for (int s = 0; s < kSmoothSlices; ++s) all += part[s][lane];
    const float mean = all / (float)len;
    if (c < d)
        for (int blk = b0; blk < b1; ++blk) {
            const int rows = min(len - blk * block, block);
            col[(int64_t)blk * d] = col[(int64_t)blk * d] / (float)rows - mean;
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
        const int64_t nq = (int64_t)batch * a.heads * a.q_blocks * a.d, nk = (int64_t)batch * a.kv_heads * a.k_blocks * a.d;
        pool_blocks<T><<<(unsigned)((nq + kPoolThreads - 1) / kPoolThreads), kPoolThreads, 0, stream>>>(static_cast<const T*>(q), qs, nq, a.heads, a.q_len,
                                                                                                         a.d, a.block_q, a.q_blocks, 0, pq);
        if (a.kv_len > 0) {
            pool_blocks<T><<<(unsigned)((nk + kPoolThreads - 1) / kPoolThreads), kPoolThreads, 0, stream>>>(static_cast<const T*>(k), ks, nk, a.kv_heads,
                                                                                                             a.kv_len, a.d, a.block_k, a.k_blocks, 1, pk);
            smooth_blocks<<<dim3((unsigned)((int64_t)batch * a.kv_heads), (unsigned)((a.d + 31) / 32)), dim3(32, kSmoothSlices), 0, stream>>>(
                pk, a.kv_len, a.d, a.block_k, a.k_blocks);
        }
        zt_status st = zt::check_launch("zt_block_map (pool)");
        if (st != ZT_OK) return st;
        const int bytes = a.k_blocks * 16;
        if (bytes > 48 * 1024)
            if (zt_status e = zt::allow_dynamic_smem(select_blocks, bytes, "zt_block_map (select)")) return e;
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
