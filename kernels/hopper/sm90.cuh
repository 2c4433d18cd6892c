// sm90.cuh: the Hopper (sm_90a) primitives the warp-specialized kernels are built from, each a
// thin wrapper over one PTX instruction (PTX ISA 8.x), named after it:
//   mbarrier      init / arrive / arrive.expect_tx / try_wait.parity (spun in a loop): the
//                 full/empty handshakes between the TMA producer and the wgmma consumers
//   TMA           cp.async.bulk.tensor.2d global -> shared, completing bytes on an mbarrier; the
//                 tensor map is a `const __grid_constant__ CUtensorMap` kernel parameter
//   descriptors   the wgmma shared-memory matrix descriptor of a K-major operand stored with the
//                 128-byte swizzle (what TMA's CU_TENSOR_MAP_SWIZZLE_128B writes)
//   wgmma         fence / commit_group / wait_group and the m64nNk16 (f16, bf16 -> f32),
//                 m64nNk32 (s8 -> s32) and m64nNk32 (e4m3 -> f32) multiplies with both operands
//                 in shared memory
//   misc          elect.sync, setmaxnreg, fence.proxy.async
// Host side (not in device code): encode_tma_2d, cuTensorMapEncodeTiled reached through
// cudaGetDriverEntryPoint, so the library never links libcuda.
//
// Device code here is sm_90a only: include it from files marked `// zt:requires sm_90a`.
#pragma once

#include <cuda_fp8.h>
#include <cuda.h>  // CUtensorMap and the encode enums only: no libcuda symbol is referenced
#include <cuda_runtime.h>
#include <stdint.h>

#include "zoetrope.h"

namespace zt::hopper {

// ---------------------------------------------------------------------------------------------
// mbarrier (shared::cta, 64-bit). A barrier completes a phase when its pending arrivals reach
// zero and its transaction count (bytes announced by expect_tx, paid by TMA's complete_tx) is
// zero; waiters name the phase by its parity.

__device__ __forceinline__ uint32_t smem_u32(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

// `raw` rounded up to a multiple of `align` bytes of shared memory (a swizzled tile's base must sit
// on the swizzle's repeat, 1024 bytes for the 128-byte swizzle); the slack is in the kernels' sizes.
__device__ __forceinline__ char* align_shared(char* raw, uint32_t align) {
    return raw + ((align - (smem_u32(raw) & (align - 1))) & (align - 1));
}

__device__ __forceinline__ void mbar_init(uint64_t* bar, uint32_t arrivals) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(arrivals) : "memory");
}

__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_u32(bar)) : "memory");
}

// One arrival, and `bytes` more transaction bytes the phase waits for (the TMA loads' size).
__device__ __forceinline__ void mbar_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
}

// Blocks until the phase of parity `parity` has completed. try_wait may return false after a
// hardware-chosen time limit, hence the loop.
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
    asm volatile(
        "{\n"
        ".reg .pred done;\n"
        "WAIT_%=:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
        "@!done bra WAIT_%=;\n"
        "}\n" ::"r"(smem_u32(bar)),
        "r"(parity)
        : "memory");
}

// ---------------------------------------------------------------------------------------------
// Proxies and warps

// Makes the generic proxy's shared-memory writes (mbarrier.init included) visible to the async
// proxy (TMA, wgmma) and orders them before its later accesses.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// True in exactly one active lane of the warp (elect.sync over the full mask).
__device__ __forceinline__ bool elect_one() {
    uint32_t pred = 0;
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "elect.sync _|p, %1;\n"
        "selp.u32 %0, 1, 0, p;\n"
        "}\n"
        : "=r"(pred)
        : "r"(0xffffffffu));
    return pred != 0;
}

// Per-warpgroup register budget (all 128 threads execute it): the producer gives registers
// back, the consumers take them, within the CTA's allocation at launch.
template <int kRegs>
__device__ __forceinline__ void setmaxnreg_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegs)); }
template <int kRegs>
__device__ __forceinline__ void setmaxnreg_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegs)); }

// ---------------------------------------------------------------------------------------------
// TMA: one box of a 2D tensor map, coordinates {c0 (innermost, elements), c1 (rows)}, into
// shared memory at dst; the bytes complete on bar. Boxes past the tensor's end are zero-filled
// (and still counted in full by complete_tx).
__device__ __forceinline__ void tma_load_2d(void* dst, const CUtensorMap* map, uint64_t* bar, int32_t c0, int32_t c1) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4}], [%2];\n" ::"r"(smem_u32(dst)),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(smem_u32(bar)), "r"(c0), "r"(c1)
        : "memory");
}

// ---------------------------------------------------------------------------------------------
// wgmma shared-memory descriptor of a K-major operand in the 128-byte swizzle layout (PTX ISA
// "Matrix Descriptor Format"): bits 0-13 start address >> 4, 16-29 leading byte offset >> 4
// (unused by K-major swizzled layouts; 1 by convention), 32-45 stride byte offset >> 4 (1024:
// one 8-row x 128-byte swizzle atom to the next along M/N), 62-63 layout 1 = 128B swizzle. The
// operand's rows are 128 bytes (64 f16/bf16 or 128 s8 of K) and the buffer is 1024-byte aligned
// (base offset 0); the k-th 32-byte slice of K starts at base + 32 k, the same swizzle applying.
__device__ __forceinline__ uint64_t desc_k128b(uint32_t smem_addr) {
    return (uint64_t)((smem_addr >> 4) & 0x3FFF) | ((uint64_t)1 << 16) | ((uint64_t)(1024 >> 4) << 32) | ((uint64_t)1 << 62);
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory"); }

// The accumulators must not be touched by other code while a wgmma is in flight: this tells the
// compiler the registers are read and written here (after wgmma_wait), so it keeps them in place.
template <int kN>
__device__ __forceinline__ void fence_regs(float (&d)[kN]) {
#pragma unroll
    for (int i = 0; i < kN; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
template <int kN>
__device__ __forceinline__ void fence_regs(int (&d)[kN]) {
#pragma unroll
    for (int i = 0; i < kN; ++i) asm volatile("" : "+r"(d[i])::"memory");
}
// A register operand (the A fragments of a wgmma from registers, e.g. attention's P).
template <int kM, int kN>
__device__ __forceinline__ void fence_regs(uint32_t (&d)[kM][kN]) {
#pragma unroll
    for (int i = 0; i < kM; ++i)
#pragma unroll
        for (int j = 0; j < kN; ++j) asm volatile("" : "+r"(d[i][j])::"memory");
}

// D[64 x 128] (+)= A[64 x 16] B[128 x 16]^T, f32 accumulators; scale_d = 0 overwrites D.
// Fragment (PTX ISA "wgmma D matrix fragment"): warp w of the warpgroup holds rows 16w..16w+15;
// d[4j + r]: row 16w + lane/4 + 8 (r >= 2), column 8j + 2 (lane % 4) + (r & 1).
#define ZT_WGMMA_D64                                                                                                                           \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, " \
    "%29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, "  \
    "%56, %57, %58, %59, %60, %61, %62, %63}"
#define ZT_WGMMA_OUT64(c, d)                                                                                                                    \
    c(d[0]), c(d[1]), c(d[2]), c(d[3]), c(d[4]), c(d[5]), c(d[6]), c(d[7]), c(d[8]), c(d[9]), c(d[10]), c(d[11]), c(d[12]), c(d[13]), c(d[14]), \
        c(d[15]), c(d[16]), c(d[17]), c(d[18]), c(d[19]), c(d[20]), c(d[21]), c(d[22]), c(d[23]), c(d[24]), c(d[25]), c(d[26]), c(d[27]),     \
        c(d[28]), c(d[29]), c(d[30]), c(d[31]), c(d[32]), c(d[33]), c(d[34]), c(d[35]), c(d[36]), c(d[37]), c(d[38]), c(d[39]), c(d[40]),     \
        c(d[41]), c(d[42]), c(d[43]), c(d[44]), c(d[45]), c(d[46]), c(d[47]), c(d[48]), c(d[49]), c(d[50]), c(d[51]), c(d[52]), c(d[53]),     \
        c(d[54]), c(d[55]), c(d[56]), c(d[57]), c(d[58]), c(d[59]), c(d[60]), c(d[61]), c(d[62]), c(d[63])

template <typename T>
struct Wgmma;  // Wgmma<operand type>::m64n128(d, desc_a, desc_b, scale_d): one K step (32 bytes)

// One specialization per operand type: kK of K per wgmma (32 bytes), the accumulator type and its
// register constraint, the PTX shape.types and what follows the scale-d predicate. The 16-bit
// forms take imm-scale-a/b (1: no negation) and the transposes (0: both operands K-major); the
// 1-byte ones are K-major only: s8 -> exact s32 takes nothing more, E4M3 x E4M3 -> f32 the
// operand scales (1; the per-token x per-channel scales are the epilogue's).
#define ZT_WGMMA(T, TAcc, c, kSteps, ptx_shape_types, ptx_tail)                                                                      \
    template <>                                                                                                                    \
    struct Wgmma<T> {                                                                                                              \
        using Acc = TAcc;                                                                                                          \
        static constexpr int kK = kSteps;                                                                                          \
        static __device__ __forceinline__ void m64n128(TAcc (&d)[64], uint64_t da, uint64_t db, int scale_d) {                    \
            asm volatile(                                                                                                          \
                "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                                                       \
                "wgmma.mma_async.sync.aligned." ptx_shape_types " " ZT_WGMMA_D64 ", %64, %65, p" ptx_tail ";\n}\n"                   \
                : ZT_WGMMA_OUT64(c, d)                                                                                             \
                : "l"(da), "l"(db), "r"(scale_d));                                                                                 \
        }                                                                                                                          \
    };
ZT_WGMMA(__half, float, "+f", 16, "m64n128k16.f32.f16.f16", ", 1, 1, 0, 0")
ZT_WGMMA(__nv_bfloat16, float, "+f", 16, "m64n128k16.f32.bf16.bf16", ", 1, 1, 0, 0")
ZT_WGMMA(int8_t, int, "+r", 32, "m64n128k32.s32.s8.s8", "")
ZT_WGMMA(__nv_fp8_e4m3, float, "+f", 32, "m64n128k32.f32.e4m3.e4m3", ", 1, 1")
#undef ZT_WGMMA
#undef ZT_WGMMA_D64
#undef ZT_WGMMA_OUT64

// ---------------------------------------------------------------------------------------------
// Host side

// Encodes the 2D tensor map of a row-major [rows, cols] matrix of `elem_bytes`-byte elements
// (row stride cols * elem_bytes, which TMA needs to be a multiple of 16, base 16-byte aligned),
// read in boxes of box_rows x box_cols with the 128-byte swizzle (box_cols * elem_bytes == 128)
// and zero fill past the edges. On failure records "<kernel>: ..." for zt_last_error().
zt_status encode_tma_2d(CUtensorMap* map, CUtensorMapDataType type, int elem_bytes, const void* base, int64_t rows, int64_t cols, int box_rows,
                        int box_cols, const char* kernel);

// The same for a tensor map of rank 2..5 (attention's {D, tokens, heads, batch} maps): dims[0]
// innermost (elements), strides_bytes[i] the step of dim i + 1 (multiples of 16, in any order:
// NHD's heads are closer than its tokens), box[i] elements (box[0] * elem_bytes at most the
// swizzle's span: 128 bytes, or 64 for Sage's INT8 rows of 64 bytes and FP8 V code halves).
zt_status encode_tma_tiled(CUtensorMap* map, CUtensorMapDataType type, int rank, const void* base, const uint64_t* dims, const uint64_t* strides_bytes,
                           const uint32_t* box, const char* kernel, CUtensorMapSwizzle swizzle = CU_TENSOR_MAP_SWIZZLE_128B);

}  // namespace zt::hopper
