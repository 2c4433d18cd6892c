// flash_kernel.cuh: the flash-attention main loop on sm_80+ tensor cores, shared by attention.cu
// (f16/bf16 Q, K, V) and sage_attention.cu (INT8 Q, K; f16 P·V). A Traits type supplies what
// differs: the Q/K element, how V reaches shared memory (a raw cp.async copy, or converted), the
// factor on the raw scores, the rounding of P, the epilogue's per-channel scale, the LSE shift.
//
// CTA = 4 warps x 16 query rows of one (batch, head); key tiles of 64, K and V double-buffered:
//   prologue  Q tile and the first K/V tile (cp.async); Q fragments to registers (ldmatrix.x4)
//   per tile  prefetch the next visible K/V tile into the other stage;
//             S = Q K^T        m16n8k16 f16/bf16 or m16n8k32 s8, K fragments by ldmatrix.x2
//             S *= factor; mask; online softmax on the C fragments (row max over the quad)
//             P: C fragments re-packed as A fragments (no shared-memory round trip)
//             O = O * rescale + P V   m16n8k16, V fragments by ldmatrix.x2.trans
//   epilogue  O / l (x the per-channel scale), LSE = ln 2 (m + log2 l) + shift
// Which key tiles a CTA visits, and an optional f32 residual added to O before rounding, are a
// Keys schedule: AllTiles (every tile the mask may show) or LutTiles (a block map's LUT, SLA).
// Fragment layouts: kernels/gemm/mma_sm80.cuh.
#pragma once

#include "attention/flash_common.cuh"
#include "gemm/mma_sm80.cuh"

namespace zt::flash {

template <typename T> __device__ __forceinline__ void mma16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
template <> __device__ __forceinline__ void mma16<__half>(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) { zt::gemm::mma_f16(c, a, b); }
template <> __device__ __forceinline__ void mma16<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) { zt::gemm::mma_bf16(c, a, b); }

template <typename Tr, int D>
struct FlashSmem {
    using QK = typename Tr::QK;
    using VS = typename Tr::VS;
    static constexpr int kQkPitch = D * (int)sizeof(QK) + kPadBytes;  // bytes per Q/K row
    static constexpr int kVPitch = D * (int)sizeof(VS) + kPadBytes;   // bytes per V row
    static constexpr int kQBytes = kBlockM * kQkPitch;
    static constexpr int kKBytes = kBlockN * kQkPitch;
    static constexpr int kVBytes = kBlockN * kVPitch;
    static constexpr int kBytes = kQBytes + kStages * (kKBytes + kVBytes);
};

// Rows [row0, row0 + rows) of a strided Q or K into shared memory, 16-byte chunks, zero past `limit`.
template <typename QK, int D>
__device__ __forceinline__ void stage_rows(char* smem, int pitch, const QK* base, const Strides& st, int64_t b, int64_t h, int64_t row0, int rows, int64_t limit) {
    constexpr int kChunks = D * (int)sizeof(QK) / 16;
    for (int i = threadIdx.x; i < rows * kChunks; i += kThreads) {
        int r = i / kChunks, c = i % kChunks;
        bool ok = row0 + r < limit;
        const char* src = reinterpret_cast<const char*>(base + (ok ? st.of(b, h, row0 + r) : 0)) + c * 16;
        cp_async16(smem + r * pitch + c * 16, src, ok);
    }
}

// Every key tile the mask may show.
struct AllTiles {
    static constexpr bool kResidual = false;
    const float* residual = nullptr;
    __device__ __forceinline__ void begin(const Problem&, int, int, int64_t) {}
    __device__ __forceinline__ int64_t next(const Problem& p, int64_t k0, int64_t pos0, int64_t pos1, int64_t k_end) {
        while (k0 < k_end && !p.mask.tile_may_be_visible(pos0, pos1, k0, k0 + kBlockN, p.kv_len)) k0 += kBlockN;
        return k0;
    }
};

// The key tiles of the blocks a LUT lists for the CTA's query block (ascending), in key blocks of
// block_k (a multiple of kBlockN); the CTA's rows never straddle query blocks (block_q % kBlockM == 0).
template <bool Residual>
struct LutTiles {
    static constexpr bool kResidual = Residual;
    const int32_t* lut;
    const int32_t* counts;
    const float* residual;
    int q_blocks, k_blocks, block_q, block_k;
    const int32_t* row_lut;
    int tiles, idx;

    __device__ __forceinline__ void begin(const Problem& p, int b, int h, int64_t m0) {
        int64_t row = ((int64_t)b * p.heads + h) * q_blocks + m0 / block_q;
        row_lut = lut + row * k_blocks;
        tiles = counts[row] * (block_k / kBlockN);
        idx = 0;
    }
    __device__ __forceinline__ int64_t next(const Problem& p, int64_t k_from, int64_t pos0, int64_t pos1, int64_t k_end) {
        const int per = block_k / kBlockN;
        for (; idx < tiles; ++idx) {
            int64_t k0 = (int64_t)row_lut[idx / per] * block_k + (int64_t)(idx % per) * kBlockN;
            if (k0 < k_from) continue;
            if (k0 >= k_end) break;
            if (p.mask.tile_may_be_visible(pos0, pos1, k0, k0 + kBlockN, p.kv_len)) return k0;
        }
        return k_end;
    }
};

// zt:hot flash_kernel  (on the streaming path: dense, Sage and block-sparse attention; a spill fails CI)
template <typename Tr, int D, typename Keys>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm) flash_kernel(Problem p, Tr tr, Keys keys) {
    using QK = typename Tr::QK;
    using VS = typename Tr::VS;
    using Sm = FlashSmem<Tr, D>;
    constexpr int kKSteps = Tr::kInt8 ? D / 32 : D / 16;  // MMA k-steps of S over the head dim
    constexpr int kDTiles = D / 8;                         // n8 tiles of O
    extern __shared__ __align__(16) char smem[];
    char* qs = smem;
    char* ks = smem + Sm::kQBytes;
    char* vs = ks + kStages * Sm::kKBytes;

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int b = blockIdx.z, h = blockIdx.y, hkv = h / p.group;
    const int64_t m0 = (int64_t)blockIdx.x * kBlockM;
    const int64_t wm0 = m0 + warp * 16;  // this warp's first query row
    const int64_t pos0 = m0 + p.q_offset;
    const int64_t last = (m0 + kBlockM < p.q_len ? m0 + kBlockM : p.q_len) - 1;
    const int64_t pos1 = last + p.q_offset;
    const int64_t k_end = p.mask.key_end(pos1, p.kv_len);
    keys.begin(p, b, h, m0);
    auto next_tile = [&](int64_t k0) { return keys.next(p, k0, pos0, pos1, k_end); };
    auto load_kv = [&](int stage, int64_t k0) {
        stage_rows<QK, D>(ks + stage * Sm::kKBytes, Sm::kQkPitch, tr.k, p.kv, b, hkv, k0, kBlockN, p.kv_len);
        tr.template stage_v<D>(vs + stage * Sm::kVBytes, Sm::kVPitch, p, b, hkv, k0);
    };

    stage_rows<QK, D>(qs, Sm::kQkPitch, tr.q, p.q, b, h, m0, kBlockM, p.q_len);
    int64_t k0 = next_tile(0);
    if (k0 < k_end) load_kv(0, k0);
    cp_async_commit();

    float o[kDTiles][4] = {};
    float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
    uint32_t qa[kKSteps][4];
    bool q_loaded = false;
    int stage = 0;
    while (k0 < k_end) {
        const int64_t k_next = next_tile(k0 + kBlockN);
        if (k_next < k_end) load_kv(stage ^ 1, k_next);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        if (!q_loaded) {
#pragma unroll
            for (int kk = 0; kk < kKSteps; ++kk) {
                int row = warp * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
                int col = kk * (Tr::kInt8 ? 32 : 16 * (int)sizeof(QK)) + (lane >> 4) * 16;  // bytes
                ldsm_x4(qa[kk], qs + row * Sm::kQkPitch + col);
            }
            q_loaded = true;
        }

        // S = Q K^T for the warp's 16 rows x 64 keys.
        const char* kt = ks + stage * Sm::kKBytes;
        float s[kBlockN / 8][4];
#pragma unroll
        for (int j = 0; j < kBlockN / 8; ++j) {
            if constexpr (Tr::kInt8) {
                int acc[4] = {0, 0, 0, 0};
#pragma unroll
                for (int kk = 0; kk < kKSteps; ++kk) {
                    uint32_t kb[2];
                    ldsm_x2(kb, kt + (j * 8 + (lane & 7)) * Sm::kQkPitch + kk * 32 + ((lane >> 3) & 1) * 16);
                    zt::gemm::mma_s8(acc, qa[kk], kb);
                }
#pragma unroll
                for (int e = 0; e < 4; ++e) s[j][e] = (float)acc[e];
            } else {
#pragma unroll
                for (int e = 0; e < 4; ++e) s[j][e] = 0.f;
#pragma unroll
                for (int kk = 0; kk < kKSteps; ++kk) {
                    uint32_t kb[2];
                    ldsm_x2(kb, kt + (j * 8 + (lane & 7)) * Sm::kQkPitch + kk * 32 + ((lane >> 3) & 1) * 16);
                    mma16<QK>(s[j], qa[kk], kb);
                }
            }
        }

        // Scale to base-2 logits, mask, online softmax (rows g and g + 8 of the warp tile).
        const float factor = tr.score_factor(p, b, h, hkv, wm0, k0);
        float new_max[2] = {row_max[0], row_max[1]};
#pragma unroll
        for (int j = 0; j < kBlockN / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                int64_t row = wm0 + g + (e >= 2 ? 8 : 0);
                int64_t key = k0 + j * 8 + 2 * t + (e & 1);
                bool ok = row < p.q_len && key < p.kv_len && p.mask.visible(row + p.q_offset, key);
                s[j][e] = ok ? s[j][e] * factor : -INFINITY;
                new_max[e >> 1] = fmaxf(new_max[e >> 1], s[j][e]);
            }
        float rescale[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            new_max[i] = quad_max(new_max[i]);
            rescale[i] = new_max[i] == -INFINITY ? 1.f : exp2f(row_max[i] - new_max[i]);
            row_max[i] = new_max[i];
            row_sum[i] *= rescale[i];
        }
#pragma unroll
        for (int j = 0; j < kBlockN / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                float pe = s[j][e] == -INFINITY ? 0.f : exp2f(s[j][e] - row_max[e >> 1]);
                row_sum[e >> 1] += pe;  // lane-partial; the quad is summed in the epilogue
                s[j][e] = tr.p_operand(pe);
            }
#pragma unroll
        for (int n = 0; n < kDTiles; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e) o[n][e] *= rescale[e >> 1];

        // O += P V: the C fragments of n-tiles 2kk and 2kk + 1 are the A fragment of k-chunk kk.
        const char* vt = vs + stage * Sm::kVBytes;
#pragma unroll
        for (int kk = 0; kk < kBlockN / 16; ++kk) {
            uint32_t pa[4] = {pack2<VS>(s[2 * kk][0], s[2 * kk][1]), pack2<VS>(s[2 * kk][2], s[2 * kk][3]),
                              pack2<VS>(s[2 * kk + 1][0], s[2 * kk + 1][1]), pack2<VS>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int n = 0; n < kDTiles; ++n) {
                uint32_t vb[2];
                ldsm_x2_trans(vb, vt + (kk * 16 + (lane & 15)) * Sm::kVPitch + n * 8 * (int)sizeof(VS));
                mma16<VS>(o[n], pa, vb);
            }
        }
        __syncthreads();  // the stage is refilled by the next iteration's prefetch
        stage ^= 1;
        k0 = k_next;
    }
    cp_async_wait<0>();

    // Epilogue.
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        row_sum[i] = quad_sum(row_sum[i]);
        int64_t row = wm0 + g + i * 8;
        if (row >= p.q_len) continue;
        float inv = row_sum[i] > 0.f ? 1.f / row_sum[i] : 0.f;
        typename Tr::Out* out = tr.o + p.q.of(b, h, row);
#pragma unroll
        for (int n = 0; n < kDTiles; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                int col = n * 8 + 2 * t + e;
                float val = o[n][i * 2 + e] * tr.out_scale(p, b, hkv, col) * inv;
                if constexpr (Keys::kResidual) val += keys.residual[p.q.of(b, h, row) + col];
                out[col] = zt::elem<typename Tr::Out>::store(val);
            }
        if (p.write_lse && t == 0) {
            tr.lse[((int64_t)b * p.heads + h) * p.q_len + row] =
                row_sum[i] > 0.f ? 0.69314718056f * (row_max[i] + log2f(row_sum[i])) + tr.lse_shift(p, b, h, hkv, row) : -INFINITY;
        }
    }
}

// Host side: the problem from the C ABI's scalars, and the launch (dynamic shared memory above 48 KB is opted into).
inline Problem make_problem(int batch, int heads, int kv_heads, int q_len, int kv_len, int head_dim, int layout, int mask_kind, int block, int window,
                            int sinks, int write_lse) {
    Problem p{};
    p.batch = batch; p.heads = heads; p.kv_heads = kv_heads; p.q_len = q_len; p.kv_len = kv_len; p.head_dim = head_dim;
    p.group = heads / kv_heads; p.write_lse = write_lse; p.q_offset = (int64_t)kv_len - q_len;
    p.q = Strides::contiguous(layout, heads, q_len, head_dim);
    p.kv = Strides::contiguous(layout, kv_heads, kv_len, head_dim);
    p.mask = Mask{mask_kind, block, window, sinks};
    return p;
}

template <typename Tr, int D, typename Keys = AllTiles>
zt_status launch_flash(const Problem& p, const Tr& tr, cudaStream_t stream, const char* name, const Keys& keys = Keys{}) {
    constexpr int bytes = FlashSmem<Tr, D>::kBytes;
    cudaError_t e = cudaFuncSetAttribute(flash_kernel<Tr, D, Keys>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e != cudaSuccess) return zt::fail(ZT_ERROR_CUDA, cudaGetErrorString(e));
    dim3 grid((unsigned)((p.q_len + kBlockM - 1) / kBlockM), (unsigned)p.heads, (unsigned)p.batch);
    flash_kernel<Tr, D, Keys><<<grid, kThreads, bytes, stream>>>(p, tr, keys);
    return zt::check_launch(name);
}

// Argument checks every flash export shares.
inline zt_status check_problem(const char* name, int batch, int heads, int kv_heads, int q_len, int kv_len, int head_dim, int layout, int mask_kind,
                               int block) {
    if (batch < 0 || q_len < 0 || kv_len < 0 || heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, name);
    if (head_dim != 64 && head_dim != 128) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "flash attention: head_dim must be 64 or 128");
    if (layout != 0 && layout != 1) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "flash attention: layout must be 0 (HND) or 1 (NHD)");
    if (mask_kind < 0 || mask_kind > 2 || (mask_kind == 2 && block <= 0))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "flash attention: mask_kind 0..2, block-causal needs block_tokens > 0");
    if (heads > 65535 || batch > 65535) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "flash attention: heads and batch must fit a grid dimension");
    return ZT_OK;
}

}  // namespace zt::flash
