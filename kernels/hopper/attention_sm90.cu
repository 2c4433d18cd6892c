// zt:requires sm_90a
// zt:sass sm_90a HGMMA
// attention_sm90.cu: dense f16/bf16 flash attention for Hopper (sm_90a), zt_attention's kernel on
// a compute capability 9.x device (attention.cu dispatches here; elsewhere the mma.sync kernel).
// The same semantics as flash_kernel.cuh: HND or NHD, GQA, mask none / causal / block-causal with
// window and sinks, base-2 softmax with scale * log2(e) folded in, the LSE in natural log. The
// same kernel over a block map's LUT is zt_block_sparse_attention's (and SLA's, with its f32
// residual) on 9.x devices (block_sparse_attention.cu, sla.cu).
//
//   schedule   flash_sm90_schedule.cuh  which key tiles a CTA visits: DenseKeys, LutKeys
//
//   policy     flash_sm90_policy.h      128 query rows (2 consumer warpgroups x 64), 128-key tiles
//   mainloop   flash_sm90_mainloop.cuh  TMA producer -> K/V ring (full/empty mbarriers) -> wgmma
//                                       S = Q K^T, online softmax in registers, P V from registers
//   epilogue   flash_sm90_epilogue.cuh  O / l through shared memory, predicated 16-byte stores
//
// Q, K and V are read through 4D tensor maps {D, tokens, heads, batch} with the layout's
// strides, in boxes of 64 columns (128 bytes: the 128-byte swizzle's width) x 128 tokens, so
// a tile past a sequence's end is zero-filled by TMA instead of reading the next head's rows.
//
// zt:hot attention_sm90_kernel  (a spill fails CI)
#include "attention/flash_common.cuh"
#include "hopper/attention_sm90.h"
#include "hopper/flash_sm90_epilogue.cuh"
#include "hopper/linear_sm90.h"  // current_device_is_sm90

namespace zt::hopper {

namespace attn90 {

// Keys (flash_sm90_schedule.cuh): DenseKeys for zt_attention, LutKeys for the block-sparse op.
template <typename T, int D, typename Keys>
__global__ void __launch_bounds__(kThreads, 1)
    attention_sm90_kernel(const __grid_constant__ CUtensorMap qmap, const __grid_constant__ CUtensorMap kmap, const __grid_constant__ CUtensorMap vmap,
                          zt::flash::Problem p, float factor, Keys keys, T* __restrict__ o, float* __restrict__ lse) {
    extern __shared__ char smem_raw[];
    const Ring<D> ring(smem_raw);
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
        if ((threadIdx.x >> 5) == 0 && elect_one()) produce<D>(ring, &qmap, &kmap, &vmap, walk, b, h, hkv, m0);
    } else {
        setmaxnreg_inc<kConsumerRegs>();
        Consumer<T, D> st(ring, p, wg - 1, m0);
        st.run(ring, walk, factor, PingPong{wg - 1});
        epilogue<T, D, Keys::kResidual>(ring, p, wg - 1, b, h, m0, st, o, p.write_lse ? lse : nullptr, keys.residual);
    }
}

}  // namespace attn90

namespace {

// The {D, tokens, heads, batch} map of a Q, K or V tensor (elements strided as st), 64 x 128 boxes.
zt_status encode_qkv(CUtensorMap* map, CUtensorMapDataType type, const void* base, const zt::flash::Problem& p, int heads, int tokens,
                     const zt::flash::Strides& st, const char* name) {
    const uint64_t dims[4] = {(uint64_t)p.head_dim, (uint64_t)tokens, (uint64_t)heads, (uint64_t)p.batch};
    const uint64_t strides[3] = {(uint64_t)st.token * 2, (uint64_t)st.head * 2, (uint64_t)st.batch * 2};
    const uint32_t box[4] = {(uint32_t)attn90::kChunkCols, (uint32_t)attn90::kBlockN, 1, 1};
    return encode_tma_tiled(map, type, 4, base, dims, strides, box, name);
}

template <typename T, int D, typename Keys>
zt_status launch(cudaStream_t stream, const zt::flash::Problem& p, float scale, const Keys& keys, const void* q, const void* k, const void* v, void* o,
                 void* lse, const char* name) {
    static_assert(attn90::kBlockM == attn90::kBlockN, "Q and K/V share the box shape");
    const CUtensorMapDataType type = std::is_same_v<T, __half> ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
    CUtensorMap qmap, kmap, vmap;
    zt_status st = encode_qkv(&qmap, type, q, p, p.heads, p.q_len, p.q, name);
    if (st == ZT_OK) st = encode_qkv(&kmap, type, k, p, p.kv_heads, p.kv_len, p.kv, name);
    if (st == ZT_OK) st = encode_qkv(&vmap, type, v, p, p.kv_heads, p.kv_len, p.kv, name);
    if (st != ZT_OK) return st;
    auto kernel = attn90::attention_sm90_kernel<T, D, Keys>;
    constexpr int bytes = attn90::Smem<D>::kBytes;
    st = zt::allow_dynamic_smem(kernel, bytes, name);
    if (st != ZT_OK) return st;
    const dim3 grid((unsigned)((p.q_len + attn90::kBlockM - 1) / attn90::kBlockM), (unsigned)p.heads, (unsigned)p.batch);
    kernel<<<grid, attn90::kThreads, bytes, stream>>>(qmap, kmap, vmap, p, scale * 1.4426950408889634f, keys, static_cast<T*>(o), static_cast<float*>(lse));
    st = zt::check_launch(name);
    if (st == ZT_OK) zt::note_kernel(name);
    return st;
}

// The kernel for dtype x head_dim, named "<prefix>_<dtype>_d<D>" for zt_last_kernel (the names
// are literals: note_kernel keeps the pointer).
template <typename Keys>
zt_status dispatch(cudaStream_t stream, zt_dtype dtype, const zt::flash::Problem& p, float scale, const Keys& keys, const void* q, const void* k,
                   const void* v, void* o, void* lse, const char* const (&names)[4]) {
    if (dtype == ZT_DTYPE_F16)
        return p.head_dim == 64 ? launch<__half, 64>(stream, p, scale, keys, q, k, v, o, lse, names[0])
                                : launch<__half, 128>(stream, p, scale, keys, q, k, v, o, lse, names[1]);
    if (dtype == ZT_DTYPE_BF16)
        return p.head_dim == 64 ? launch<__nv_bfloat16, 64>(stream, p, scale, keys, q, k, v, o, lse, names[2])
                                : launch<__nv_bfloat16, 128>(stream, p, scale, keys, q, k, v, o, lse, names[3]);
    return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "attention_sm90: f16 or bf16");
}

}  // namespace

bool attention_sm90_eligible(zt_dtype dtype, const zt::flash::Problem& p, const void* q, const void* k, const void* v) {
    if (dtype != ZT_DTYPE_F16 && dtype != ZT_DTYPE_BF16) return false;
    if (p.head_dim != 64 && p.head_dim != 128) return false;
    if (p.kv_len <= 0 || p.q_len <= 0) return false;  // a tensor map has no zero extent
    for (const void* x : {q, k, v})
        if (reinterpret_cast<uintptr_t>(x) % 16 != 0) return false;
    // Strides are whole rows of D * 2 bytes (multiples of 16); TMA takes strides below 2^40 bytes.
    if ((int64_t)p.batch * p.heads * p.q_len * p.head_dim * 2 >= (int64_t(1) << 40)) return false;
    if ((int64_t)p.batch * p.kv_heads * p.kv_len * p.head_dim * 2 >= (int64_t(1) << 40)) return false;
    return current_device_is_sm90();
}

bool attention_sm90_sparse_eligible(zt_dtype dtype, const zt::flash::Problem& p, const void* q, const void* k, const void* v, int block_q, int block_k) {
    // A CTA's 128 rows must lie in one query block (one LUT row); key blocks are walked in
    // 64-key halves of the 128-key tile (check_sparse has made block_k a multiple of 64).
    return block_q % attn90::kBlockM == 0 && block_k % (attn90::kBlockN / 2) == 0 && attention_sm90_eligible(dtype, p, q, k, v);
}

zt_status attention_sm90(cudaStream_t stream, zt_dtype dtype, const zt::flash::Problem& p, float scale, const void* q, const void* k,
                         const void* v, void* o, void* lse) {
    static constexpr const char* kNames[4] = {"attention_sm90_f16_d64", "attention_sm90_f16_d128", "attention_sm90_bf16_d64", "attention_sm90_bf16_d128"};
    return dispatch(stream, dtype, p, scale, attn90::DenseKeys{}, q, k, v, o, lse, kNames);
}

zt_status attention_sm90_sparse(cudaStream_t stream, zt_dtype dtype, const zt::flash::Problem& p, float scale, const void* q, const void* k,
                                const void* v, void* o, const void* lut, const void* counts, const float* residual, int block_q, int block_k) {
    const int q_blocks = (int)((p.q_len + block_q - 1) / block_q), k_blocks = (int)((p.kv_len + block_k - 1) / block_k);
    const auto* l = static_cast<const int32_t*>(lut);
    const auto* c = static_cast<const int32_t*>(counts);
    if (residual) {
        static constexpr const char* kNames[4] = {"sla_sm90_f16_d64", "sla_sm90_f16_d128", "sla_sm90_bf16_d64", "sla_sm90_bf16_d128"};
        return dispatch(stream, dtype, p, scale, attn90::LutKeys<true>{residual, l, c, q_blocks, k_blocks, block_q, block_k}, q, k, v, o, nullptr, kNames);
    }
    static constexpr const char* kNames[4] = {"block_sparse_attention_sm90_f16_d64", "block_sparse_attention_sm90_f16_d128",
                                              "block_sparse_attention_sm90_bf16_d64", "block_sparse_attention_sm90_bf16_d128"};
    return dispatch(stream, dtype, p, scale, attn90::LutKeys<false>{nullptr, l, c, q_blocks, k_blocks, block_q, block_k}, q, k, v, o, nullptr, kNames);
}

}  // namespace zt::hopper
