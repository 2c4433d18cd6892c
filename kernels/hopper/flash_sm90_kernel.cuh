// flash_sm90_kernel.cuh: the sm_90a attention kernel over a Traits (flash_sm90_traits.cuh: DenseTr
// for attention_sm90.cu, SageTr for sage_attention_sm90.cu) and a Keys schedule
// (flash_sm90_schedule.cuh), and its host-side launch: one template, every variant.
#pragma once

#include "hopper/flash_sm90_epilogue.cuh"
#include "hopper/flash_sm90_traits.cuh"

namespace zt::hopper::attn90 {

// Keys (flash_sm90_schedule.cuh): DenseKeys for the dense ops, LutKeys for the block-sparse ones.
template <typename Tr, typename Keys>
__global__ void __launch_bounds__(kThreads, 1)
    attention_sm90_kernel(const __grid_constant__ CUtensorMap qmap, const __grid_constant__ CUtensorMap kmap, const __grid_constant__ CUtensorMap vmap,
                          zt::flash::Problem p, Tr tr, Keys keys, typename Tr::Out* __restrict__ o, float* __restrict__ lse) {
    extern __shared__ char smem_raw[];
    const Ring<Tr> ring(smem_raw);
    if (threadIdx.x == 0) ring.init();
    __syncthreads();

    // Masked problems visit more keys in later row blocks: those start first (FA3 does the same).
    const int mb = p.mask.kind != 0 ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x;
    const int64_t m0 = (int64_t)mb * kBlockM;
    const int b = blockIdx.z, h = blockIdx.y, hkv = h / p.group;
    const typename Keys::Walk walk(keys, p, b, h, m0);
    const int wg = threadIdx.x >> 7;
    if (wg == 0) {
        setmaxnreg_dec<kProducerRegs>();
        if ((threadIdx.x >> 5) == 0 && elect_one()) produce<Tr>(ring, &qmap, &kmap, &vmap, walk, b, h, hkv, m0);
    } else {
        setmaxnreg_inc<kConsumerRegs>();
        Consumer<Tr> st(ring, p, wg - 1, m0);
        st.run(ring, tr, p, b, h, walk, PingPong{wg - 1});
        epilogue<Tr, Keys::kResidual>(ring, p, tr, wg - 1, b, h, m0, st, o, p.write_lse ? lse : nullptr, keys.residual);
    }
}

// The {D, tokens, heads, batch} map of a Q, K or V tensor of elem_bytes-byte elements (strided as
// st), boxes {box_cols, box_rows} with the given swizzle (box_cols * elem_bytes its span).
inline zt_status encode_rows(CUtensorMap* map, CUtensorMapDataType type, int elem_bytes, const void* base, const zt::flash::Problem& p, int heads,
                             int tokens, const zt::flash::Strides& st, int box_cols, int box_rows, CUtensorMapSwizzle swizzle, const char* name) {
    const uint64_t dims[4] = {(uint64_t)p.head_dim, (uint64_t)tokens, (uint64_t)heads, (uint64_t)p.batch};
    const uint64_t strides[3] = {(uint64_t)st.token * elem_bytes, (uint64_t)st.head * elem_bytes, (uint64_t)st.batch * elem_bytes};
    const uint32_t box[4] = {(uint32_t)box_cols, (uint32_t)box_rows, 1, 1};
    return encode_tma_tiled(map, type, 4, base, dims, strides, box, name, swizzle);
}

// A 16-bit Q, K or V: boxes of 64 columns x box_rows (Q: 128 rows; K, V: 64-key halves of a
// tile, flash_sm90_traits.cuh's load_halves) in the 128-byte swizzle.
template <typename T>
zt_status encode_qkv16(CUtensorMap* map, const void* base, const zt::flash::Problem& p, int heads, int tokens, const zt::flash::Strides& st,
                       int box_rows, const char* name) {
    const CUtensorMapDataType type = std::is_same_v<T, __half> ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
    return encode_rows(map, type, 2, base, p, heads, tokens, st, kChunkCols, box_rows, CU_TENSOR_MAP_SWIZZLE_128B, name);
}

// One CTA per 128 query rows of a (head, batch); the kernel is recorded under `name` (a literal:
// note_kernel keeps the pointer).
template <typename Tr, typename Keys>
zt_status launch_kernel(cudaStream_t stream, const zt::flash::Problem& p, const Tr& tr, const Keys& keys, const CUtensorMap& qmap, const CUtensorMap& kmap,
                        const CUtensorMap& vmap, void* o, void* lse, const char* name) {
    auto kernel = attention_sm90_kernel<Tr, Keys>;
    constexpr int bytes = Tr::Sm::kBytes;
    zt_status st = zt::allow_dynamic_smem(kernel, bytes, name);
    if (st != ZT_OK) return st;
    const dim3 grid((unsigned)((p.q_len + kBlockM - 1) / kBlockM), (unsigned)p.heads, (unsigned)p.batch);
    kernel<<<grid, kThreads, bytes, stream>>>(qmap, kmap, vmap, p, tr, keys, static_cast<typename Tr::Out*>(o), static_cast<float*>(lse));
    st = zt::check_launch(name);
    if (st == ZT_OK) zt::note_kernel(name);
    return st;
}

}  // namespace zt::hopper::attn90
