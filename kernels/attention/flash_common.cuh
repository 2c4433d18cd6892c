// flash_common.cuh: what the flash kernels share. The mask predicate is the same formula as
// src/Attention/Flash/AttentionMask.cs (queries are the last q_len of kv_len positions); the
// strides are AttentionGeometry's; the PTX wrappers are documented in the PTX ISA (cp.async,
// ldmatrix) and in kernels/gemm/mma_sm80.cuh (the MMA fragments).
#pragma once

#include <stdint.h>

#include "attention/flash_policy.h"
#include "common/zt_common.cuh"

namespace zt::flash {

struct Strides {
    int64_t batch, head, token;
    __host__ __device__ int64_t of(int64_t b, int64_t h, int64_t n) const { return b * batch + h * head + n * token; }
    // layout 0 = HND [B, H, N, D], 1 = NHD [B, N, H, D]
    static __host__ Strides contiguous(int layout, int64_t heads, int64_t tokens, int64_t d) {
        return layout == 0 ? Strides{heads * tokens * d, tokens * d, d} : Strides{heads * tokens * d, d, heads * d};
    }
};

// The keys one query position sees, as bounds: key visible iff key < hi && (key >= lo || key < sink_end).
// The same predicate as Mask::visible for keys in [0, kv_len), computed once per row so the main
// loop compares instead of dividing (block-causal is the streaming case).
struct KeyRange {
    int64_t lo, hi, sink_end;
    __device__ __forceinline__ bool has(int64_t key) const { return key < hi && (key >= lo || key < sink_end); }
};

struct Mask {
    int kind, block, window, sinks;  // kind: 0 none, 1 causal, 2 block-causal

    __device__ __forceinline__ KeyRange keys_of(int64_t pos, int64_t kv_len) const {
        KeyRange r{0, kv_len, 0};
        if (kind == 1) r.hi = pos + 1;
        if (kind == 2) {
            int64_t qb = pos / block;  // truncating, as visible()
            r.hi = (qb + 1) * block;
            if (window > 0) {
                r.lo = (qb - window + 1) * block;
                r.sink_end = (int64_t)sinks * block;
            }
        }
        if (r.hi > kv_len) r.hi = kv_len;
        return r;
    }

    __device__ __forceinline__ bool visible(int64_t pos, int64_t key) const {
        if (kind == 1) return key <= pos;
        if (kind == 2) {
            int64_t qb = pos / block, kb = key / block;
            return kb <= qb && (kb < sinks || window == 0 || kb > qb - window);
        }
        return true;
    }
    __device__ __forceinline__ int64_t key_end(int64_t pos, int64_t kv_len) const {
        int64_t end = kv_len;
        if (kind == 1) end = pos + 1;
        if (kind == 2) end = (pos / block + 1) * block;
        return end < kv_len ? end : kv_len;
    }
    // Conservative: false only when no query in [pos0, pos1] sees a key in [k0, k1).
    __device__ __forceinline__ bool tile_may_be_visible(int64_t pos0, int64_t pos1, int64_t k0, int64_t k1, int64_t kv_len) const {
        if (k0 >= key_end(pos1, kv_len)) return false;
        if (kind == 2 && window > 0) {
            int64_t window_start = (pos0 / block - window + 1) * (int64_t)block;
            return k0 < (int64_t)sinks * block || k1 > window_start;
        }
        return true;
    }
};

struct Problem {
    int batch, heads, kv_heads, q_len, kv_len, head_dim, group, write_lse;
    int64_t q_offset;
    Strides q, kv;
    Mask mask;
};

// --- PTX wrappers -----------------------------------------------------------------------------

// 16 bytes global -> shared, asynchronously; zero-filled when !pred (src-size 0 reads nothing).
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool pred) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    int n = pred ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(n));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// ldmatrix: lane l supplies the address of row (l % 8) of matrix (l / 8).
__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void* p) {
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x2(uint32_t (&r)[2], const void* p) {
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x2_trans(uint32_t (&r)[2], const void* p) {
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
}

// Two floats as one packed 16-bit pair (low half = a), the A-operand word of a 16-bit MMA.
template <typename T> __device__ __forceinline__ uint32_t pack2(float a, float b);
template <> __device__ __forceinline__ uint32_t pack2<__half>(float a, float b) {
    __half2 h = __floats2half2_rn(a, b);
    return *reinterpret_cast<uint32_t*>(&h);
}
template <> __device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float a, float b) {
    __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<uint32_t*>(&h);
}

__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], const void* p) {
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// Shared-memory tiles of rows of kRowBytes (64, 128 or 256) in 16-byte chunks, with the chunk
// index XORed by the row: the 8 rows one ldmatrix matrix reads (same logical chunk) land in 8
// different 16-byte bank groups, and so do the 8 rows of a C-fragment store, without padding.
template <int kRowBytes>
__device__ __forceinline__ int swz(int row, int chunk) {
    static_assert(kRowBytes == 64 || kRowBytes % 128 == 0, "rows of 64 bytes or whole 128-byte lines");
    if constexpr (kRowBytes == 64) return row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4);  // two rows per 128-byte line
    else return row * kRowBytes + ((chunk ^ (row & 7)) << 4);
}

// Max and sum across the 4 lanes of a quad (the lanes holding one row of an m16n8 C fragment).
__device__ __forceinline__ float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

}  // namespace zt::flash
