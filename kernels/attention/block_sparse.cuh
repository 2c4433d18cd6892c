// block_sparse.cuh: what the block-sparse flash kernels share (block_sparse_attention.cu, sla.cu):
// the LutTiles schedule from the C ABI's pointers, the launch over head dims (dense and Sage), the argument checks.
#pragma once

#include "attention/flash_traits.cuh"
#include "hopper/attention_sm90.h"
#include "hopper/sage_attention_sm90.h"

namespace zt::flash {

template <bool Residual>
inline LutTiles<Residual> make_lut(const Problem& p, const void* lut, const void* counts, const float* residual, int block_q, int block_k) {
    LutTiles<Residual> keys{};
    keys.lut = static_cast<const int32_t*>(lut);
    keys.counts = static_cast<const int32_t*>(counts);
    keys.residual = residual;
    keys.q_blocks = (p.q_len + block_q - 1) / block_q;
    keys.k_blocks = (p.kv_len + block_k - 1) / block_k;
    keys.block_q = block_q;
    keys.block_k = block_k;
    return keys;
}

// 128-row CTAs when block_q allows, else 64 (block_q = 64).
template <typename Tr, typename Keys>
zt_status launch_sparse(const Problem& p, const Tr& tr, const Keys& keys, cudaStream_t stream, const char* name) {
    if (keys.block_q % kBlockM == 0)
        return p.head_dim == 64 ? launch_flash_rows<Tr, 64, kWarps, Keys>(p, tr, stream, name, keys)
                                : launch_flash_rows<Tr, 128, kWarps, Keys>(p, tr, stream, name, keys);
    return p.head_dim == 64 ? launch_flash_rows<Tr, 64, kWarpsSmall, Keys>(p, tr, stream, name, keys)
                            : launch_flash_rows<Tr, 128, kWarpsSmall, Keys>(p, tr, stream, name, keys);
}

// The dense kernel over a LUT schedule (with or without SLA's residual): launch_sparse with the
// dense traits, or on a compute capability 9.x device (block_q a multiple of 128) the sm_90a kernel
// over the same LUT (kernels/hopper/attention_sm90.cu). block_sparse_attention.cu's DenseLaunch and
// sla.cu's dense path both run it.
template <typename T, typename Keys>
zt_status launch_sparse_dense(const Problem& p, float scale, const Keys& keys, const void* q, const void* k, const void* v, void* o, cudaStream_t stream,
                              const char* name) {
    const zt_dtype dt = std::is_same_v<T, __half> ? ZT_DTYPE_F16 : ZT_DTYPE_BF16;
    if (zt::hopper::attention_sm90_sparse_eligible(dt, p, q, k, v, keys.block_q, keys.block_k))
        return zt::hopper::attention_sm90_sparse(stream, dt, p, scale, q, k, v, o, keys.lut, keys.counts, Keys::kResidual ? keys.residual : nullptr,
                                                 keys.block_q, keys.block_k);
    DenseTraits<T> tr{static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(o), nullptr, scale * 1.4426950408889634f};
    zt_status st = launch_sparse(p, tr, keys, stream, name);
    if (st == ZT_OK) zt::note_kernel(Keys::kResidual ? "sla_mma_sm80" : "block_sparse_attention_mma_sm80");
    return st;
}

// The Sage kernel over a LUT schedule (with or without SLA's residual): the fp8 V pre-pass when
// pv_mode = 1, then launch_sparse with the Sage traits; q, k are int8 codes with their scales
// (q_rows rows per q scale; kKRows keys per k scale: 64, or 1 for a scale per key token).
// block_sparse_attention.cu's SageLaunch and sla.cu's precision=sage path (kKRows 64) both run it;
// on a compute capability 9.x device (block_q a multiple of 128), the sm_90a kernel instead.
template <typename T, int kKRows, typename Keys>
zt_status launch_sparse_sage(const Problem& p, int q_rows, int pv_mode, const Keys& keys, const int8_t* q, const float* q_scale, const int8_t* k,
                             const float* k_scale, const T* v, uint8_t* v_fp8, float* v_scale, T* o, cudaStream_t stream, const char* name) {
    const int q_blocks = (p.q_len + q_rows - 1) / q_rows, k_blocks = (p.kv_len + kBlockN - 1) / kBlockN;
    if (pv_mode == 1) {
        zt_status st = sage_prepass<T>(p, v, v_fp8, v_scale, stream, name);
        if (st != ZT_OK) return st;
    }
    // A compute capability 9.x device takes the wgmma/TMA kernel over the same LUT (kernels/hopper/sage_attention_sm90.cu).
    const zt::hopper::SageSm90Args a{q_rows, kKRows, pv_mode, q, q_scale, k, k_scale, v, nullptr, v_fp8, v_scale, o, nullptr};
    const zt_dtype dt = std::is_same_v<T, __half> ? ZT_DTYPE_F16 : ZT_DTYPE_BF16;
    if (zt::hopper::sage_attention_sm90_sparse_eligible(dt, p, a, keys.block_q, keys.block_k))
        return zt::hopper::sage_attention_sm90_sparse(stream, dt, p, a, keys.lut, keys.counts, Keys::kResidual ? keys.residual : nullptr, keys.block_q,
                                                      keys.block_k);
    auto make = [&](auto mode) {
        return SageTraits<T, decltype(mode)::value, kKRows>{q, k, q_scale, k_scale, v, v_fp8, v_scale, nullptr, o, nullptr, q_rows, q_blocks, k_blocks};
    };
    zt_status st = pv_mode == 1 ? launch_sparse(p, make(std::integral_constant<int, 1>{}), keys, stream, name)
                                : launch_sparse(p, make(std::integral_constant<int, 0>{}), keys, stream, name);
    if (st == ZT_OK) zt::note_kernel(Keys::kResidual ? "sla_sage_mma_sm80" : "block_sparse_sage_attention_mma_sm80");
    return st;
}

// The flash checks plus the block grid: block_q a multiple of the smaller CTA's rows, block_k of the key
// tile (so a CTA reads one LUT row and a listed block is whole tiles), LUT and counts sized to it.
inline zt_status check_sparse(const char* name, int batch, int heads, int kv_heads, int q_len, int kv_len, int head_dim, int layout, int mask_kind,
                              int block_tokens, int block_q, int block_k, int64_t lut_count, int64_t counts_count) {
    zt_status st = check_problem(name, batch, heads, kv_heads, q_len, kv_len, head_dim, layout, mask_kind, block_tokens);
    if (st != ZT_OK) return st;
    if (block_q <= 0 || block_q % kBlockMSmall != 0 || block_k <= 0 || block_k % kBlockN != 0)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "block-sparse attention: block_q and block_k must be positive multiples of 64");
    int64_t q_blocks = (q_len + block_q - 1) / block_q, k_blocks = (kv_len + block_k - 1) / block_k;
    if (counts_count != (int64_t)batch * heads * q_blocks || lut_count != counts_count * k_blocks)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "block-sparse attention: lut must be [B, H, q_blocks, k_blocks] and counts [B, H, q_blocks]");
    return ZT_OK;
}

}  // namespace zt::flash
