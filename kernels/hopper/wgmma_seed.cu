// zt:requires sm_90a
// zt:sass sm_90a HGMMA
// wgmma_seed.cu: the seed of the Hopper kernels, and CI's proof that the toolchain reaches them.
// One warpgroup (4 warps, 128 threads) computes D[64 x 8] (f32) = A[64 x 16] · B[8 x 16]ᵀ (f16)
// with a single `wgmma.mma_async.m64n8k16`, both operands read by the tensor cores from shared
// memory through matrix descriptors. It is built for sm_90a alone (CMake gives a
// `zt:requires sm_90a` file no other -gencode), and .ci/cuda-check.sh fails unless cuobjdump
// finds HGMMA in its SASS: the check that a Hopper kernel did not fall back to HMMA.
//
// Nothing launches it yet: it has no host entry point and no op. The warp-specialized Hopper
// mainloop (attention and GEMMs, on the emulator's wgmma/TMA/mbarrier support) grows from here.
//
// Layouts (PTX ISA, "Asynchronous Warpgroup Level Matrix Shared Memory Layout", no swizzle):
//   both operands K-major; the unit is the 8 x 8 "core matrix": 8 rows of 16 bytes, contiguous
//   (128 bytes). A's core matrix (i, j) (rows 8i.., k 8j..) sits at (2i + j) * 128 bytes, so
//   the leading byte offset (next core matrix along K) is 128 and the stride byte offset (next
//   along M) is 256. B has one core matrix along N and two along K: j * 128 bytes.
//   Descriptor: bits 0-13 address >> 4, 16-29 LBO >> 4, 32-45 SBO >> 4, 62-63 swizzle (0).
//   D fragment: warp w holds rows 16w..16w+15; lane l holds rows 16w + l/4 (+ 8 for d[2], d[3])
//   and columns 2(l % 4) (+ 1 for d[1], d[3]), the mma.sync m16n8 accumulator layout.
#include <cuda_fp16.h>
#include <stdint.h>

namespace zt::hopper {

__device__ __forceinline__ uint64_t smem_descriptor(const void* base, uint32_t lbo, uint32_t sbo) {
    uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(base));
    return (uint64_t)((addr >> 4) & 0x3FFF) | ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) | ((uint64_t)((sbo >> 4) & 0x3FFF) << 32);
}

// Byte offset of element (row, k) of a K-major operand with two core matrices along K.
__device__ __forceinline__ int core_offset(int row, int k) { return ((row >> 3) * 2 + (k >> 3)) * 128 + (row & 7) * 16 + (k & 7) * 2; }

__global__ void __launch_bounds__(128, 1) wgmma_seed_kernel(const __half* __restrict__ a, const __half* __restrict__ b, float* __restrict__ d) {
    __shared__ __align__(128) __half as[64 * 16];
    __shared__ __align__(128) __half bs[8 * 16];
    const int tid = threadIdx.x;
    for (int i = tid; i < 64 * 16; i += 128) as[core_offset(i / 16, i % 16) / 2] = a[i];
    bs[core_offset(tid / 16, tid % 16) / 2] = b[tid];
    // Generic-proxy stores become visible to the tensor cores' async proxy only through this fence.
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();

    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    const uint64_t da = smem_descriptor(as, 128, 256), db = smem_descriptor(bs, 128, 256);
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
    // scale-d = 0: D = A·B (the accumulator's old value is ignored); scales +1, no transposes.
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %6, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16 {%0, %1, %2, %3}, %4, %5, p, 1, 1, 0, 0;\n"
        "}\n"
        : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
        : "l"(da), "l"(db), "r"(0));
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");

    const int warp = tid >> 5, lane = tid & 31;
    const int row = warp * 16 + (lane >> 2), col = (lane & 3) * 2;
    d[row * 8 + col] = acc[0];
    d[row * 8 + col + 1] = acc[1];
    d[(row + 8) * 8 + col] = acc[2];
    d[(row + 8) * 8 + col + 1] = acc[3];
}

}  // namespace zt::hopper
