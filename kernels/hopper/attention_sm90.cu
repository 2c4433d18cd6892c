// zt:requires sm_90a
// zt:sass sm_90a HGMMA
// attention_sm90.cu: dense f16/bf16 flash attention for Hopper (sm_90a), zt_attention's kernel on
// a compute capability 9.x device (attention.cu dispatches here; elsewhere the mma.sync kernel).
// The same semantics as flash_kernel.cuh: HND or NHD, GQA, mask none / causal / block-causal with
// window and sinks, base-2 softmax with scale * log2(e) folded in, the LSE in natural log. The
// same kernel over a block map's LUT is zt_block_sparse_attention's (and SLA's, with its f32
// residual) on 9.x devices (block_sparse_attention.cu, sla.cu).
//
//   kernel     flash_sm90_kernel.cuh    the kernel template and its launch (shared with Sage)
//   traits     flash_sm90_traits.cuh    DenseTr: what the dense variant's operands are
//   schedule   flash_sm90_schedule.cuh  which key tiles a CTA visits: DenseKeys, LutKeys
//
//   policy     flash_sm90_policy.h      128 query rows (2 consumer warpgroups x 64), 128-key tiles
//   mainloop   flash_sm90_mainloop.cuh  TMA producer -> K/V ring (full/empty mbarriers) -> wgmma
//                                       S = Q K^T, online softmax in registers, P V from registers
//   epilogue   flash_sm90_epilogue.cuh  O / l through shared memory, predicated 16-byte stores
//
// Q, K and V are read through 4D tensor maps {D, tokens, heads, batch} with the layout's
// strides, in boxes of 64 columns (128 bytes: the 128-byte swizzle's width) x 128 tokens for Q
// and 64 for K and V (two per tile: a tile's halves are any two 64-key chunks, so a LUT walk
// pairs its selected chunks wherever they lie), so the rows of a tile past a sequence's end are
// zero-filled by TMA instead of reading the next head's rows.
//
// zt:hot attention_sm90_kernel  (a spill fails CI)
// zt:regs sm_90a attention_sm90_kernel 168  (setmaxnreg: producer 24, consumers 240: 24 x 128 + 2 x 240 x 128 = 64,512 of 65,536)
#include "attention/flash_common.cuh"
#include "hopper/attention_sm90.h"
#include "hopper/flash_sm90_kernel.cuh"
#include "hopper/linear_sm90.h"  // current_device_is_sm90

namespace zt::hopper {

namespace {

template <typename T, int D, typename Keys>
zt_status launch(cudaStream_t stream, const zt::flash::Problem& p, float scale, const Keys& keys, const void* q, const void* k, const void* v, void* o,
                 void* lse, const char* name) {
    CUtensorMap qmap, kmap, vmap;
    zt_status st = attn90::encode_qkv16<T>(&qmap, q, p, p.heads, p.q_len, p.q, attn90::kBlockM, name);
    if (st == ZT_OK) st = attn90::encode_qkv16<T>(&kmap, k, p, p.kv_heads, p.kv_len, p.kv, attn90::kHalfKeys, name);
    if (st == ZT_OK) st = attn90::encode_qkv16<T>(&vmap, v, p, p.kv_heads, p.kv_len, p.kv, attn90::kHalfKeys, name);
    if (st != ZT_OK) return st;
    return attn90::launch_kernel(stream, p, attn90::DenseTr<T, D>{scale * 1.4426950408889634f}, keys, qmap, kmap, vmap, o, lse, name);
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
    return attn90::sparse_blocks_fit(block_q, block_k) && attention_sm90_eligible(dtype, p, q, k, v);
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
