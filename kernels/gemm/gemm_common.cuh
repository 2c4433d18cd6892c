// gemm_common.cuh: the tensor-core GEMM the hand-written linears share, y = epilogue(x W^T):
// x [M, K] and W [N, K] row-major (PyTorch's Linear), fp32 or exact int32 accumulation, the fused
// epilogue. What differs per operand type is an Op (linear_half.cuh, linear_int8.cu,
// linear_fp8.cu): the element size and the MMA of one 32-byte k-step.
//
//   prologue   stages 0 .. kStages-2 in flight (one cp.async group each)
//   main loop  per 64-byte K tile: wait for its group, one barrier, issue the copy of the tile
//              kStages-1 ahead into the stage the barrier just freed, then two k-steps of
//              ldmatrix.x4 (A: 4 per warp, B: 2) and 16 MMAs (m16n8k16 or m16n8k32)
//   epilogue   (INT8: the int32 sums folded into fp32 after each 128 of K, or once) per-token x
//              per-channel scales, bias, GELU-tanh, one rounding (or the extra roundings the
//              ZT_LINEAR_ROUND_* flags ask for, see Epilogue); staged through shared memory
//              so each lane stores 4 consecutive outputs
//
// Geometry and the swizzle: gemm_policy.h. Edges: rows past M or N and 16-byte chunks past K are
// zero-filled by cp.async (src-size 0); their outputs are not stored. cp.async needs every row
// of x and W to start 16-byte aligned, (K * element size) % 16 == 0 and aligned bases: the host
// code checks that before the launch and otherwise launches the kAsync = false instance, which
// stages the same layout through registers with element loads (no cp.async, same results).
#pragma once

#include <cuda_fp8.h>

#include "common/zt_common.cuh"
#include "gemm/gemm_policy.h"
#include "zt_gemm.h"
#include "gemm/mma_sm80.cuh"

namespace zt::gemm {

__device__ __forceinline__ float gelu_tanh(float x) {
    return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

// v rounded to TOut and back (round to nearest even; the identity for f32).
template <typename TOut>
__device__ __forceinline__ float round_to(float v) { return elem<TOut>::load(elem<TOut>::store(v)); }

// acc * row_scale[m] * col_scale[n] (when given) + bias[n] (when given), then GELU-tanh; the
// caller rounds the result to TOut once. rounding (zt_gemm.h's ZT_LINEAR_ROUND_* flags) adds the
// roundings of an eager bf16 model whose ops the fused epilogue spans: R(acc) before the bias
// (a bias added as its own op) and R(acc + bias) before the GELU (nn.Linear then nn.GELU). The
// add after R(acc) is __fadd_rn so it is never contracted with a scale product into an FMA.
struct Epilogue {
    const float* row_scale;
    const float* col_scale;
    const float* bias;
    int gelu;
    int rounding;

    template <typename TOut>
    __device__ __forceinline__ float apply(int64_t m, int64_t n, float acc) const {
        float v = row_scale ? acc * row_scale[m] * col_scale[n] : acc;
        if (bias) v = rounding & ZT_LINEAR_ROUND_BEFORE_BIAS ? __fadd_rn(round_to<TOut>(v), bias[n]) : v + bias[n];
        if (!gelu) return v;
        if (rounding & ZT_LINEAR_ROUND_BEFORE_GELU) v = round_to<TOut>(v);
        return gelu_tanh(v);
    }

    // apply() for columns n .. n + 3, bias and col_scale read as one float4 each (16-byte aligned there).
    template <typename TOut>
    __device__ __forceinline__ void apply4(int64_t m, int64_t n, float (&v)[4]) const {
        if (row_scale) {
            float rs = row_scale[m];
            float4 cs = *reinterpret_cast<const float4*>(col_scale + n);
            v[0] = v[0] * rs * cs.x, v[1] = v[1] * rs * cs.y, v[2] = v[2] * rs * cs.z, v[3] = v[3] * rs * cs.w;
        }
        if (bias) {
            float4 b = *reinterpret_cast<const float4*>(bias + n);
            if (rounding & ZT_LINEAR_ROUND_BEFORE_BIAS) {
                v[0] = __fadd_rn(round_to<TOut>(v[0]), b.x), v[1] = __fadd_rn(round_to<TOut>(v[1]), b.y);
                v[2] = __fadd_rn(round_to<TOut>(v[2]), b.z), v[3] = __fadd_rn(round_to<TOut>(v[3]), b.w);
            } else {
                v[0] += b.x, v[1] += b.y, v[2] += b.z, v[3] += b.w;
            }
        }
        if (gelu) {
            const bool round_first = rounding & ZT_LINEAR_ROUND_BEFORE_GELU;
#pragma unroll
            for (int i = 0; i < 4; ++i) v[i] = gelu_tanh(round_first ? round_to<TOut>(v[i]) : v[i]);
        }
    }
};

// What a launch needs besides the Op. sx, sw: the INT8 block scheme's scales (two-level Ops
// only), [ceil(M/128), k_scale_tiles] and [ceil(N/128), k_scale_tiles], the int32 sums of every
// 128 of K folded with sx[m/128][kt] * sw[n/128][kt]; otherwise ep does all the scaling.
struct GemmArgs {
    int64_t m, n, k;
    const void* x;
    const void* w;
    Epilogue ep;
    const float* sx;
    const float* sw;
    int y_quads;  // n % 4 == 0, y aligned to 4 elements, bias and col_scale to 16 bytes: 4 columns per access
};

// Byte offset of 16-byte chunk c of row r inside one operand's stage (gemm_policy.h's swizzle).
__device__ __forceinline__ uint32_t swizzle(int r, int c) { return (uint32_t)(r * kBlockKBytes + ((c ^ ((r >> 1) & 3)) << 4)); }

// Host-side: whether every row of a [rows, k] operand of elem-byte elements at p starts 16-byte
// aligned (cp.async's requirement).
inline bool rows_aligned16(const void* p, int64_t k, int elem) { return (k * elem) % 16 == 0 && (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// One operand's share of a stage copy: this thread's kCopies chunks, rows fixed for the whole K
// loop. Rows past the operand's end keep a valid address (the tile's first row) and copy nothing.
template <int kElemBytes>
struct TileLoader {
    static constexpr int kCopies = kBlockM * kChunks / kThreads;  // 2
    const char* row_ptr[kCopies];
    uint32_t dst[kCopies];
    int chunk[kCopies];
    bool row_ok[kCopies];
    int64_t k_bytes;
    const void* base;  // the register-staged instance's view: [rows, k], tile rows from row0
    int64_t rows, k, row0;

    __device__ __forceinline__ TileLoader(const void* base_, int64_t rows_, int64_t k_, int64_t row0_) : base(base_), rows(rows_), k(k_), row0(row0_) {
        k_bytes = k * kElemBytes;
#pragma unroll
        for (int j = 0; j < kCopies; ++j) {
            int id = threadIdx.x + j * kThreads;
            int r = id / kChunks;
            chunk[j] = id % kChunks;
            row_ok[j] = row0 + r < rows;
            int64_t gr = row_ok[j] ? row0 + r : (row0 < rows ? row0 : 0);
            row_ptr[j] = static_cast<const char*>(base) + gr * k_bytes + chunk[j] * 16;
            dst[j] = swizzle(r, chunk[j]);
        }
    }

    // Tile kt (K bytes [kt * 64, kt * 64 + 64)) into the operand's stage at smem address `stage`.
    template <bool kAsync>
    __device__ __forceinline__ void load(uint32_t stage, char* stage_ptr, int64_t kt) const {
        if constexpr (kAsync) {
#pragma unroll
            for (int j = 0; j < kCopies; ++j) {
                // Rows 16-byte aligned: a chunk is all inside K or all past it.
                bool in = row_ok[j] && kt * kBlockKBytes + chunk[j] * 16 < k_bytes;
                cp_async_16(stage + dst[j], in ? row_ptr[j] + kt * kBlockKBytes : row_ptr[j], in ? 16 : 0);
            }
        } else {
            // Unaligned rows: consecutive lanes load consecutive elements of a row (coalesced),
            // zero past K or the last row, and store them one by one into the swizzled layout.
            using E = typename std::conditional<kElemBytes == 1, uint8_t, uint16_t>::type;
            constexpr int kElems = kBlockKBytes / kElemBytes;  // per row and stage
            const E* src = static_cast<const E*>(base);
            for (int e = threadIdx.x; e < kBlockM * kElems; e += kThreads) {
                int r = e / kElems, c = e % kElems;
                int64_t gr = row0 + r, gk = kt * kElems + c;
                E v = gr < rows && gk < k ? src[gr * k + gk] : E(0);
                *reinterpret_cast<E*>(stage_ptr + swizzle(r, c * kElemBytes / 16) + (c * kElemBytes) % 16) = v;
            }
        }
    }
};

// Four adjacent outputs in one access (round-to-nearest-even, as elem<T>::store).
template <typename T> struct Quad;
template <> struct Quad<float> {
    static __device__ __forceinline__ void store(float* p, const float (&v)[4]) { *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]); }
};
template <> struct Quad<__half> {
    static __device__ __forceinline__ void store(__half* p, const float (&v)[4]) {
        __half2 lo = __floats2half2_rn(v[0], v[1]), hi = __floats2half2_rn(v[2], v[3]);
        *reinterpret_cast<uint2*>(p) = make_uint2(*reinterpret_cast<uint32_t*>(&lo), *reinterpret_cast<uint32_t*>(&hi));
    }
};
template <> struct Quad<__nv_bfloat16> {
    static __device__ __forceinline__ void store(__nv_bfloat16* p, const float (&v)[4]) {
        __nv_bfloat162 lo = __floats2bfloat162_rn(v[0], v[1]), hi = __floats2bfloat162_rn(v[2], v[3]);
        *reinterpret_cast<uint2*>(p) = make_uint2(*reinterpret_cast<uint32_t*>(&lo), *reinterpret_cast<uint32_t*>(&hi));
    }
};

// Op: kElemBytes (1 or 2), Acc (float or int), kTwoLevel (INT8 block scheme: the Acc sums of
// every 128 of K folded into fp32 sums with that K tile's scales), and step(acc, a, b): the MMAs
// of one 32-byte k-step for the warp's 4 x 4 tiles, from fragments in the m16n8k32-s8 /
// m16n8k16 register layout (mma_sm80.cuh), which ldmatrix.x4 delivers for both. kMinBlocks:
// __launch_bounds__'s CTAs per SM (gemm_policy.h: 2 where 128 registers hold the Op without a
// spill, else 1).
//
// zt:hot gemm_kernel  (every tensor-core linear on the streaming path; a spill fails CI)
template <typename Op, typename TOut, bool kAsync>
__global__ void __launch_bounds__(kThreads, Op::kMinBlocks) gemm_kernel(GemmArgs a, TOut* __restrict__ y) {
    using Acc = typename Op::Acc;
    constexpr bool kTwoLevel = Op::kTwoLevel;  // exact int32 sums per 128 of K, folded into fp32 sums
    extern __shared__ __align__(128) char smem[];
    const uint32_t smem0 = smem_addr(smem);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wm = warp / kWarpsN, wn = warp % kWarpsN;
    const int64_t m0 = (int64_t)blockIdx.y * kBlockM, n0 = (int64_t)blockIdx.x * kBlockN;
    const int64_t k_tiles = (a.k * Op::kElemBytes + kBlockKBytes - 1) / kBlockKBytes;

    TileLoader<Op::kElemBytes> xl(a.x, a.m, a.k, m0);
    TileLoader<Op::kElemBytes> wl(a.w, a.n, a.k, n0);
    auto issue = [&](int64_t kt) {
        int s = (int)(kt % kStages);
        xl.template load<kAsync>(smem0 + s * kStageBytes, smem + s * kStageBytes, kt);
        wl.template load<kAsync>(smem0 + s * kStageBytes + kTileBytes, smem + s * kStageBytes + kTileBytes, kt);
    };

    // ldmatrix row addresses (stage 0, k-step 0) of this lane: A, matrix q = lane / 8 is rows
    // (q & 1) * 8 .. +7 at chunk q >> 1; B, matrix q is n-tile q >> 1 at chunk q & 1.
    const int q = lane >> 3, rr = lane & 7;
    int a_row[kTilesM], b_row[kTilesN / 2];
#pragma unroll
    for (int mi = 0; mi < kTilesM; ++mi) a_row[mi] = wm * kWarpM + mi * kMmaM + (q & 1) * 8 + rr;
#pragma unroll
    for (int np = 0; np < kTilesN / 2; ++np) b_row[np] = wn * kWarpN + (2 * np + (q >> 1)) * kMmaN + rr;

    // Zeroed by unrolled loops: an aggregate `= {}` makes nvcc build the arrays in local memory.
    Acc acc[kTilesM][kTilesN][4];
    float facc[kTilesM][kTilesN][4];
#pragma unroll
    for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
        for (int ni = 0; ni < kTilesN; ++ni)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[mi][ni][r] = 0, facc[mi][ni][r] = 0.f;
    const int64_t k_scale_tiles = (a.k + kScaleTile - 1) / kScaleTile;
    auto fold = [&](int64_t st) {
        // One CTA tile is one 128 x 128 scale tile, so one scale for the whole tile and K tile.
        float s = a.sx[blockIdx.y * k_scale_tiles + st] * a.sw[blockIdx.x * k_scale_tiles + st];
#pragma unroll
        for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
            for (int ni = 0; ni < kTilesN; ++ni)
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    facc[mi][ni][r] += (float)acc[mi][ni][r] * s;
                    acc[mi][ni][r] = 0;
                }
    };

#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
        if (s < k_tiles) issue(s);
        cp_async_commit_group();
    }
    for (int64_t kt = 0; kt < k_tiles; ++kt) {
        cp_async_wait_group<kStages - 2>();
        __syncthreads();  // tile kt visible to all; every warp is done with tile kt - 1's stage
        if (kt + kStages - 1 < k_tiles) issue(kt + kStages - 1);
        cp_async_commit_group();

        const uint32_t xs = smem0 + (uint32_t)(kt % kStages) * kStageBytes, ws = xs + kTileBytes;
#pragma unroll
        for (int step = 0; step < kBlockKBytes / kStepBytes; ++step) {
            uint32_t af[kTilesM][4], bf[kTilesN][2];
#pragma unroll
            for (int mi = 0; mi < kTilesM; ++mi) ldmatrix_x4(af[mi], xs + swizzle(a_row[mi], 2 * step + (q >> 1)));
#pragma unroll
            for (int np = 0; np < kTilesN / 2; ++np) {
                uint32_t r[4];
                ldmatrix_x4(r, ws + swizzle(b_row[np], 2 * step + (q & 1)));
                bf[2 * np][0] = r[0], bf[2 * np][1] = r[1], bf[2 * np + 1][0] = r[2], bf[2 * np + 1][1] = r[3];
            }
            Op::step(acc, af, bf);
        }
        if constexpr (kTwoLevel) {
            constexpr int kPerScale = kScaleTile * Op::kElemBytes / kBlockKBytes;
            if ((kt + 1) % kPerScale == 0 || kt + 1 == k_tiles) fold(kt / kPerScale);
        }
    }
    cp_async_wait_group<0>();

    // Epilogue through shared memory: each warp parks its 64 x 32 fp32 sums in its own 8 KiB
    // (float2 unit u of row r at unit u ^ ((r & 3) << 2): conflict-free for the fragment-shaped
    // writes and the row-shaped reads), then reads them back as 4 consecutive columns per lane, so
    // 8 lanes cover a row and each store is one 16-byte (f32) or 8-byte (f16/bf16) access.
    static_assert(kThreads / 32 * kWarpM * kWarpN * (int)sizeof(float) <= kSmemBytes, "the C tile fits in the stages' shared memory");
    __syncthreads();  // every warp is done with the stages
    float* cw = reinterpret_cast<float*>(smem) + warp * (kWarpM * kWarpN);
#pragma unroll
    for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
        for (int ni = 0; ni < kTilesN; ++ni)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                int r = mi * kMmaM + g + 8 * h, u = (ni * kMmaN) / 2 + t;
                float2 v;
                if constexpr (kTwoLevel) {
                    v = make_float2(facc[mi][ni][2 * h], facc[mi][ni][2 * h + 1]);
                } else {
                    v = make_float2((float)acc[mi][ni][2 * h], (float)acc[mi][ni][2 * h + 1]);
                }
                *reinterpret_cast<float2*>(cw + r * kWarpN + 2 * (u ^ ((r & 3) << 2))) = v;
            }
    __syncthreads();  // (a warp reads only its own writes: __syncwarp would do, now that the emulator runs bar.warp.sync)
    constexpr int kQuadsPerRow = kWarpN / 4;           // 8
    constexpr int kRowsPerPass = 32 / kQuadsPerRow;    // 4
    const int c4 = lane % kQuadsPerRow;
    const int64_t col = n0 + wn * kWarpN + 4 * c4;
    for (int r = lane / kQuadsPerRow; r < kWarpM; r += kRowsPerPass) {
        const int64_t row = m0 + wm * kWarpM + r;
        if (row >= a.m || col >= a.n) continue;
        float4 q4 = *reinterpret_cast<const float4*>(cw + r * kWarpN + 2 * ((2 * c4) ^ ((r & 3) << 2)));
        float v[4] = {q4.x, q4.y, q4.z, q4.w};
        TOut* out = y + row * a.n + col;
        if (a.y_quads) {  // n % 4 == 0: all four columns are inside; bias and col_scale 16-byte aligned
            a.ep.template apply4<TOut>(row, col, v);
            Quad<TOut>::store(out, v);
        } else {
#pragma unroll
            for (int i = 0; i < 4; ++i)
                if (col + i < a.n) out[i] = elem<TOut>::store(a.ep.template apply<TOut>(row, col + i, v[i]));
        }
    }
}

inline bool grid_fits(int64_t m) { return (m + kBlockM - 1) / kBlockM <= 65535; }

// Host-side: whether rounding holds only ZT_LINEAR_ROUND_* flags.
inline bool rounding_known(int32_t rounding) { return (rounding & ~(ZT_LINEAR_ROUND_BEFORE_BIAS | ZT_LINEAR_ROUND_BEFORE_GELU)) == 0; }

// Launches gemm_kernel<Op, TOut, ...>: the cp.async instance when every row of x and W is
// 16-byte aligned, else the register-staged one. The grid is N tiles x M tiles (the caller checks
// grid_fits(m)).
template <typename Op, typename TOut>
zt_status launch_gemm(cudaStream_t stream, GemmArgs a, TOut* y, const char* name) {
    auto al16 = [](const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; };
    a.y_quads = a.n % 4 == 0 && (reinterpret_cast<uintptr_t>(y) % (4 * sizeof(TOut))) == 0 && al16(a.ep.bias) && al16(a.ep.col_scale);
    bool aligned = rows_aligned16(a.x, a.k, Op::kElemBytes) && rows_aligned16(a.w, a.k, Op::kElemBytes);
    auto kernel = aligned ? gemm_kernel<Op, TOut, true> : gemm_kernel<Op, TOut, false>;
    zt_status st = allow_dynamic_smem(kernel, kSmemBytes, name);
    if (st != ZT_OK) return st;
    dim3 grid((unsigned)((a.n + kBlockN - 1) / kBlockN), (unsigned)((a.m + kBlockM - 1) / kBlockM));
    kernel<<<grid, kThreads, kSmemBytes, stream>>>(a, y);
    return check_launch(name);
}

}  // namespace zt::gemm
