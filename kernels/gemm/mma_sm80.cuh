// mma_sm80.cuh: the warp-level tensor-core instructions the GEMMs use (sm_80+), with the
// register fragments documented in the PTX ISA. In a warp, lane = 4 * g + t:
//   m16n8k32 s8 : a0 = A[g][4t..+3], a1 = A[g+8][4t..], a2 = A[g][16+4t..], a3 = A[g+8][16+4t..];
//                 b0 = B[4t..+3][g], b1 = B[16+4t..][g]
//   m16n8k16 f16/bf16: a0 = A[g][2t..+1], a1 = A[g+8][2t..], a2 = A[g][8+2t..], a3 = A[g+8][8+2t..];
//                 b0 = B[2t..+1][g], b1 = B[8+2t..][g]
//   m16n8k32 e4m3 (sm_89+): the s8 layout above, fp32 C/D
//   C/D (both): c0 = C[g][2t], c1 = C[g][2t+1], c2 = C[g+8][2t], c3 = C[g+8][2t+1]
// (the same layout src/Quant/Gemm/Int8Mma.cs emulates on the CPU). Also the data movement the
// GEMMs feed them with: cp.async (16 bytes, zero-filling) and ldmatrix.x4.
#pragma once

#include <stdint.h>

namespace zt::gemm {

__device__ __forceinline__ void mma_s8(int (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ void mma_f16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Native FP8 MMA: sm_89 and later (PTX ISA 8.4, CUDA 12.4). Code for older targets (the compute_80
// PTX the emulated device runs) takes the widening path instead; test with #if ZT_GEMM_E4M3_MMA.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
#define ZT_GEMM_E4M3_MMA 1
__device__ __forceinline__ void mma_e4m3(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#else
#define ZT_GEMM_E4M3_MMA 0
#endif

// The shared-state-space address of a generic pointer into shared memory.
__device__ __forceinline__ uint32_t smem_addr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

// 16 bytes global -> shared without passing through registers; the first src_bytes (0..16) are
// read and the rest zero-filled. Both addresses must be 16-byte aligned even when src_bytes is 0
// (pass any valid aligned address then: nothing is read).
__device__ __forceinline__ void cp_async_16(uint32_t smem, const void* gmem, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit_group() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait_group() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

// Four 8 x 8 matrices of 16-bit elements (8 rows of 16 bytes each): lane l supplies the address of
// row l % 8 of matrix l / 8 and receives, from each matrix i, r[i] = row l / 4, bytes 4 (l % 4)..+3.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t smem) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem)
                 : "memory");
}

}  // namespace zt::gemm
