// zt:requires sm_90a
// zt:sass sm_90a IGMMA
// zt:sass sm_90a QGMMA
// zt:sass sm_90a HGMMA
// sage_attention_sm90.cu: SageAttention on Hopper (sm_90a), zt_sage_attention's kernel on a compute
// capability 9.x device: the warp-specialized attention kernel of attention_sm90.cu
// (flash_sm90_kernel.cuh) over flash_sm90_traits.cuh's SageTr: INT8 S on wgmma s8 -> s32, the Q
// and K scales on the accumulator, the same exp2 online softmax, P V in V's 16-bit type (pv_mode
// 0) or e4m3 (pv_mode 1, over sage_attention.cu's V pre-pass codes). Same semantics as the
// mma.sync kernel (sage_attention.cu's header), with one difference in arithmetic only: the
// scales multiply S before the softmax's max and exp2 (the mma.sync kernel folds them into the
// exp2's FMA), so P may differ in the last bit.
//
// Tensor maps (4D, {innermost, tokens or channels, heads, batch}):
//   Q, K      INT8 {D, tokens}: boxes {D, 64} (Q, one per consumer warpgroup; K, two per tile:
//             flash_sm90_traits.cuh's half tiles),
//             the 128-byte swizzle for D = 128, the 64-byte one for D = 64 (rows of 64 bytes)
//   V         pv_mode 0: as the dense kernel's, {64, 64} boxes of f16/bf16, 128-byte swizzle
//             pv_mode 1: the codes {keys padded to 64, D, kv_heads, batch}, boxes {64, D} (one
//             per half tile), the 64-byte swizzle: past the padding, TMA's zero fill
//
// The same kernel over a block map's LUT (flash_sm90_schedule.cuh's LutKeys) is
// zt_block_sparse_sage_attention's and SLA's Sage branch's (with its f32 residual) on 9.x devices
// (block_sparse.cuh's launch_sparse_sage).
//
// zt:hot attention_sm90_kernel  (a spill fails CI)
// zt:regs sm_90a attention_sm90_kernel 168  (setmaxnreg: producer 24, consumers 240: 24 x 128 + 2 x 240 x 128 = 64,512 of 65,536)
#include "attention/flash_common.cuh"
#include "hopper/flash_sm90_kernel.cuh"
#include "hopper/attention_sm90.h"  // attention_sm90_eligible
#include "hopper/sage_attention_sm90.h"

namespace zt::hopper {

namespace {

using zt::flash::Problem;

// INT8 Q or K rows: {D, box_rows} boxes, the swizzle as wide as a row.
zt_status encode_int8(CUtensorMap* map, const void* base, const Problem& p, int heads, int tokens, const zt::flash::Strides& st, int box_rows,
                      const char* name) {
    const CUtensorMapSwizzle sw = p.head_dim == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B;
    return attn90::encode_rows(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, base, p, heads, tokens, st, p.head_dim, box_rows, sw, name);
}

// The pre-pass's e4m3 codes [b, hkv, channel, npad]: {npad, D, kv_heads, batch}, boxes {64 keys, D}
// (a half tile: rows of 64 bytes, the 64-byte swizzle).
zt_status encode_codes(CUtensorMap* map, const void* base, const Problem& p, const char* name) {
    const uint64_t npad = (uint64_t)zt::flash::v_code_pad(p.kv_len);
    const uint64_t dims[4] = {npad, (uint64_t)p.head_dim, (uint64_t)p.kv_heads, (uint64_t)p.batch};
    const uint64_t strides[3] = {npad, npad * p.head_dim, npad * p.head_dim * p.kv_heads};
    const uint32_t box[4] = {(uint32_t)attn90::kHalfKeys, (uint32_t)p.head_dim, 1, 1};
    return encode_tma_tiled(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 4, base, dims, strides, box, name, CU_TENSOR_MAP_SWIZZLE_64B);
}

template <typename T, int D, int kPv, int kKRows, typename Keys>
zt_status launch(cudaStream_t stream, const Problem& p, const SageSm90Args& a, const Keys& keys, const char* name) {
    CUtensorMap qmap, kmap, vmap;
    zt_status st = encode_int8(&qmap, a.q, p, p.heads, p.q_len, p.q, attn90::kWgRows, name);
    if (st == ZT_OK) st = encode_int8(&kmap, a.k, p, p.kv_heads, p.kv_len, p.kv, attn90::kHalfKeys, name);
    if (st == ZT_OK)
        st = kPv == 1 ? encode_codes(&vmap, a.v_codes, p, name)
                      : attn90::encode_qkv16<T>(&vmap, a.v, p, p.kv_heads, p.kv_len, p.kv, attn90::kHalfKeys, name);
    if (st != ZT_OK) return st;
    const attn90::SageTr<T, D, kPv, kKRows> tr{static_cast<const int8_t*>(a.q),
                                                 static_cast<const float*>(a.q_scale),
                                                 static_cast<const float*>(a.k_scale),
                                                 static_cast<const float*>(a.k_mean),
                                                 static_cast<const float*>(a.v_scale),
                                                 a.q_rows,
                                                 (int)((p.q_len + a.q_rows - 1) / a.q_rows),
                                                 (int)((p.kv_len + 63) / 64)};
    return attn90::launch_kernel(stream, p, tr, keys, qmap, kmap, vmap, a.o, a.lse, name);
}

// The kernel for dtype x D x pv_mode x k_rows, named "<op>_sm90_<dtype>_d<D>_<pv16|fp8>[_kpt]"
// for zt_last_kernel (literals: note_kernel keeps the pointer); names[k_rows == 1][pv_mode][D == 128].
using Names = const char* const[2][2][2];
#define ZT_SAGE90_NAMES(op, dt)                                                                                                        \
    {                                                                                                                                  \
        {{op "_sm90_" dt "_d64_pv16", op "_sm90_" dt "_d128_pv16"}, {op "_sm90_" dt "_d64_fp8", op "_sm90_" dt "_d128_fp8"}},          \
            {{op "_sm90_" dt "_d64_pv16_kpt", op "_sm90_" dt "_d128_pv16_kpt"}, {op "_sm90_" dt "_d64_fp8_kpt", op "_sm90_" dt "_d128_fp8_kpt"}} \
    }

template <typename T, int kPv, int kKRows, typename Keys>
zt_status by_dim(cudaStream_t stream, const Problem& p, const SageSm90Args& a, const Keys& keys, const char* const (&names)[2]) {
    return p.head_dim == 64 ? launch<T, 64, kPv, kKRows>(stream, p, a, keys, names[0]) : launch<T, 128, kPv, kKRows>(stream, p, a, keys, names[1]);
}

// SLA's Sage branch (Keys with a residual) quantizes k per 64 keys: no per-key instantiations.
template <typename T, typename Keys>
zt_status by_mode(cudaStream_t stream, const Problem& p, const SageSm90Args& a, const Keys& keys, Names& names) {
    if constexpr (!Keys::kResidual) {
        if (a.k_rows == 1)
            return a.pv_mode == 1 ? by_dim<T, 1, 1>(stream, p, a, keys, names[1][1]) : by_dim<T, 0, 1>(stream, p, a, keys, names[1][0]);
    } else {
        if (a.k_rows != 64) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "sage_attention_sm90: SLA's Sage branch takes k scales per 64 keys");
    }
    return a.pv_mode == 1 ? by_dim<T, 1, 64>(stream, p, a, keys, names[0][1]) : by_dim<T, 0, 64>(stream, p, a, keys, names[0][0]);
}

template <typename Keys>
zt_status by_type(cudaStream_t stream, zt_dtype dtype, const Problem& p, const SageSm90Args& a, const Keys& keys, Names& f16, Names& bf16) {
    if (dtype == ZT_DTYPE_F16) return by_mode<__half>(stream, p, a, keys, f16);
    if (dtype == ZT_DTYPE_BF16) return by_mode<__nv_bfloat16>(stream, p, a, keys, bf16);
    return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "sage_attention_sm90: v must be f16 or bf16");
}

}  // namespace

bool sage_attention_sm90_eligible(zt_dtype dtype, const Problem& p, const SageSm90Args& a) {
    if (a.k_rows != 64 && a.k_rows != 1) return false;
    // Per-key K scales are indexed key * step in int32 (SageTr::logits; step = Hkv in NHD, 1 in HND).
    if (a.k_rows == 1 && (int64_t)p.kv_len * (p.kv.token / p.head_dim) >= (int64_t(1) << 31)) return false;
    if (reinterpret_cast<uintptr_t>(a.v_codes) % 16 != 0) return false;
    // The rest is the dense kernel's: V's type, head dim, extents, 16-byte bases, TMA's stride
    // limit (its 2-byte rows bound Q's and K's INT8 ones), a 9.x device.
    return attention_sm90_eligible(dtype, p, a.q, a.k, a.v);
}

bool sage_attention_sm90_sparse_eligible(zt_dtype dtype, const Problem& p, const SageSm90Args& a, int block_q, int block_k) {
    return attn90::sparse_blocks_fit(block_q, block_k) && sage_attention_sm90_eligible(dtype, p, a);
}

zt_status sage_attention_sm90(cudaStream_t stream, zt_dtype dtype, const Problem& p, const SageSm90Args& a) {
    static Names f16 = ZT_SAGE90_NAMES("sage_attention", "f16"), bf16 = ZT_SAGE90_NAMES("sage_attention", "bf16");
    return by_type(stream, dtype, p, a, attn90::DenseKeys{}, f16, bf16);
}

zt_status sage_attention_sm90_sparse(cudaStream_t stream, zt_dtype dtype, const Problem& p, const SageSm90Args& a, const void* lut, const void* counts,
                                     const float* residual, int block_q, int block_k) {
    const int q_blocks = (int)((p.q_len + block_q - 1) / block_q), k_blocks = (int)((p.kv_len + block_k - 1) / block_k);
    const auto* l = static_cast<const int32_t*>(lut);
    const auto* c = static_cast<const int32_t*>(counts);
    if (residual) {
        static Names f16 = ZT_SAGE90_NAMES("sla_sage", "f16"), bf16 = ZT_SAGE90_NAMES("sla_sage", "bf16");
        return by_type(stream, dtype, p, a, attn90::LutKeys<true>{residual, l, c, q_blocks, k_blocks, block_q, block_k}, f16, bf16);
    }
    static Names f16 = ZT_SAGE90_NAMES("block_sparse_sage_attention", "f16"), bf16 = ZT_SAGE90_NAMES("block_sparse_sage_attention", "bf16");
    return by_type(stream, dtype, p, a, attn90::LutKeys<false>{nullptr, l, c, q_blocks, k_blocks, block_q, block_k}, f16, bf16);
}

}  // namespace zt::hopper
