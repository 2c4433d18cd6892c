// conv3d.cu: the video decoders' 3-D convolution (zt_conv3d, zt_conv.h) as an implicit GEMM.
//
// Algorithm: y = act(A B^T + bias + residual) with A [M = To*Ho*Wo, K = Kt*Kh*Kw*Cin] the im2col
// of x, never materialised: the loader computes, per row m = (to, oh, ow) and K index
// k = (dt, dh, dw, ci), the input element x[to + dt - time_pad][(oh + dh - Kh/2) >> u][(ow + dw - Kw/2) >> u][ci]
// (u = 1 folds the nearest x2 upsampling into the indexing), zero outside x (causal time padding,
// "same" spatial padding). B = weight [Cout, K] is a plain row-major operand, as linear's W.
// The epilogue adds the f32 bias and the residual, applies the activation, rounds once and
// writes output channel co of conv frame to to y[to * S + co / cg][oh][ow][co % cg] (cg = Cout / S,
// the time shuffle).
//
// Layouts: x [T, H, W, Cin], weight [Cout, Kt, Kh, Kw, Cin], bias f32 [Cout], residual and
// y [To * S, Ho, Wo, cg], all contiguous. Precision: f16/bf16 operands on tensor cores
// (mma.sync m16n8k16, fp32 accumulators), f32 by exact fp32 FMAs (no TF32); fp32 epilogue, one
// round-to-nearest-even store.
//
// f16/bf16 (conv_policy.h's tiles; gemm_common.cuh's swizzle, weight TileLoader and HalfOp MMAs):
//   gather   Cin % 8 == 0 and x, weight 16-byte aligned: every 16-byte chunk of a K tile is
//            8 consecutive channels of one tap, so a chunk is one cp.async (src-size 0 zero-fills
//            the padding and the K tail); each thread keeps its two rows' (to, oh, ow) and its
//            chunk's (dt, dh, dw, ci), advanced by 32 channels per tile without a division.
//            Otherwise (any Cin, any alignment): element loads with the coordinates recomputed
//            per element, stored into the same swizzled layout (same results, slower).
//   pipeline kStages stages of cp.async groups, one barrier per K tile (gemm_common.cuh's loop).
//   epilogue the sums parked in shared memory half a warp tile at a time and read back as 4
//            consecutive channels per lane: one 8-byte store (and residual load) per lane when
//            cg % 4 == 0 and the pointers allow, else element by element.
// f32: a 64 x 64 SIMT tile per 16 x 16 group (4 x 4 outputs per thread), the same gather.
#include "conv/conv_policy.h"
#include "gemm/linear_half.cuh"
#include "zt_conv.h"

namespace {

using namespace zt;

// The convolution's geometry, as the kernels index it.
struct Geom {
    int t, h, w, cin, cout, kt, kh, kw, pad, up, s, cg;  // up: 0 or 1 (log2 of the upsampling)
    int ho, wo;
    int64_t hw;  // ho * wo
    int64_t m, k;
};

// The epilogue's operands: bias f32 [cout] or null, residual (y's shape) or null, act (ZT_CONV_ACT_*).
struct Epi {
    const float* bias;
    const void* residual;
    int act;
    int quads;  // cg % 4 == 0, y and residual 8-byte (4-element) aligned, bias 16-byte aligned
};

__device__ __forceinline__ float activate(int act, float v) {
    if (act == ZT_CONV_ACT_RELU) return fmaxf(v, 0.f);
    if (act == ZT_CONV_ACT_SILU) return v / (1.f + expf(-v));
    return v;
}

// y's (and the residual's) element index of output (m, co).
__device__ __forceinline__ int64_t out_index(const Geom& g, int64_t m, int co) {
    int64_t to = m / g.hw, pix = m - to * g.hw;
    int j = co / g.cg;
    return ((to * g.s + j) * g.hw + pix) * g.cg + (co - j * g.cg);
}

// The input offset of A[m][k], or -1 where it is padding (or m, k out of range).
__device__ __forceinline__ int64_t a_offset(const Geom& g, int64_t m, int64_t k) {
    if (m >= g.m || k >= g.k) return -1;
    int64_t to = m / g.hw;
    int pix = (int)(m - to * g.hw);
    int oh = pix / g.wo, ow = pix - oh * g.wo;
    int tap = (int)(k / g.cin), ci = (int)(k - (int64_t)tap * g.cin);
    int dw = tap % g.kw, r = tap / g.kw, dh = r % g.kh, dt = r / g.kh;
    int ti = (int)to + dt - g.pad, uh = oh + dh - g.kh / 2, uw = ow + dw - g.kw / 2;
    if (ti < 0 || ti >= g.t || uh < 0 || uh >= g.ho || uw < 0 || uw >= g.wo) return -1;
    return (((int64_t)ti * g.h + (uh >> g.up)) * g.w + (uw >> g.up)) * g.cin + ci;
}

// The A (gathered input) share of a stage copy: rows r0 + 64j (j < 2) of the tile, one 16-byte
// chunk each at the same K offset; the chunk's tap and channel advance with each issued tile.
struct GatherLoader {
    const char* x;
    Geom g;
    int to[2], oh[2], ow[2];
    bool row_ok[2];
    int r0, chunk;
    int ci, dt, dh, dw;  // the next tile's K coordinate of this thread's chunk

    __device__ __forceinline__ GatherLoader(const void* x_, const Geom& g_, int64_t m0) : x(static_cast<const char*>(x_)), g(g_) {
        r0 = threadIdx.x / conv::kChunks;
        chunk = threadIdx.x % conv::kChunks;
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            int64_t m = m0 + r0 + 64 * j;
            row_ok[j] = m < g.m;
            int64_t t0 = row_ok[j] ? m / g.hw : 0;
            int pix = row_ok[j] ? (int)(m - t0 * g.hw) : 0;
            to[j] = (int)t0, oh[j] = pix / g.wo, ow[j] = pix - oh[j] * g.wo;
        }
        int k = chunk * conv::kChunk;
        int tap = k / g.cin;
        ci = k - tap * g.cin;
        dw = tap % g.kw, dh = (tap / g.kw) % g.kh, dt = tap / (g.kw * g.kh);
    }

    // Issues the next K tile into the stage at shared address `stage` (Cin % 8 == 0, x 16-byte aligned).
    __device__ __forceinline__ void load_async(uint32_t stage) {
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            int ti = to[j] + dt - g.pad, uh = oh[j] + dh - g.kh / 2, uw = ow[j] + dw - g.kw / 2;
            bool in = row_ok[j] && dt < g.kt && ti >= 0 && ti < g.t && uh >= 0 && uh < g.ho && uw >= 0 && uw < g.wo;
            const char* src = in ? x + ((((int64_t)ti * g.h + (uh >> g.up)) * g.w + (uw >> g.up)) * g.cin + ci) * 2 : x;
            gemm::cp_async_16(stage + gemm::swizzle(r0 + 64 * j, chunk), src, in ? 16 : 0);
        }
        // Next tile: 32 channels on; a chunk never straddles taps (Cin % 8 == 0).
        ci += conv::kBlockK;
        while (ci >= g.cin) {
            ci -= g.cin;
            if (++dw == g.kw) {
                dw = 0;
                if (++dh == g.kh) dh = 0, ++dt;
            }
        }
    }

    // Tile kt through registers: consecutive lanes load consecutive K of one row.
    __device__ __forceinline__ void load_scalar(char* stage_ptr, int64_t m0, int64_t kt) const {
        const uint16_t* src = reinterpret_cast<const uint16_t*>(x);
        for (int e = threadIdx.x; e < conv::kBlockM * conv::kBlockK; e += conv::kThreads) {
            int r = e / conv::kBlockK, c = e % conv::kBlockK;
            int64_t off = a_offset(g, m0 + r, kt * conv::kBlockK + c);
            *reinterpret_cast<uint16_t*>(stage_ptr + gemm::swizzle(r, c * 2 / 16) + (c * 2) % 16) = off >= 0 ? src[off] : uint16_t(0);
        }
    }
};

// Stores v[0..3] = outputs (m, co .. co + 3) through the epilogue (columns past cout skipped).
template <typename T>
__device__ __forceinline__ void store4(const Geom& g, const Epi& ep, T* __restrict__ y, int64_t m, int co, float (&v)[4]) {
    const T* res = static_cast<const T*>(ep.residual);
    if (ep.quads && co + 4 <= g.cout) {  // four channels of one group, contiguous in y
        int64_t yi = out_index(g, m, co);
        if (ep.bias) {
            float4 b = *reinterpret_cast<const float4*>(ep.bias + co);
            v[0] += b.x, v[1] += b.y, v[2] += b.z, v[3] += b.w;
        }
        if (res) {
            float r[4];
            load_vals<T, 4>(res + yi, r);
#pragma unroll
            for (int i = 0; i < 4; ++i) v[i] += r[i];
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) v[i] = activate(ep.act, v[i]);
        gemm::Quad<T>::store(y + yi, v);
        return;
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        if (co + i >= g.cout) break;
        int64_t yi = out_index(g, m, co + i);
        float a = v[i] + (ep.bias ? ep.bias[co + i] : 0.f) + (res ? elem<T>::load(res[yi]) : 0.f);
        y[yi] = elem<T>::store(activate(ep.act, a));
    }
}

// zt:hot conv3d_mma_kernel  (every Wan VAE decoder convolution; a spill fails CI)
template <typename T, bool kAsync>
__global__ void __launch_bounds__(conv::kThreads, conv::kMinBlocks) conv3d_mma_kernel(Geom g, const void* __restrict__ x, const void* __restrict__ w, Epi ep,
                                                                                       T* __restrict__ y) {
    using namespace zt::conv;
    extern __shared__ __align__(128) char smem[];
    const uint32_t smem0 = gemm::smem_addr(smem);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, gr = lane >> 2, t4 = lane & 3;
    const int wm = warp / kWarpsN, wn = warp % kWarpsN;
    const int64_t m0 = (int64_t)blockIdx.x * kBlockM;
    const int n0 = blockIdx.y * kBlockN;
    const int64_t k_tiles = (g.k + kBlockK - 1) / kBlockK;

    GatherLoader al(x, g, m0);
    gemm::TileLoader<2> wl(w, g.cout, g.k, n0);
    // Tiles are issued in order, so the gather's incremental K coordinate stays in step.
    auto issue = [&](int64_t kt) {
        int s = (int)(kt % kStages);
        if constexpr (kAsync) {
            al.load_async(smem0 + s * kStageBytes);
        } else {
            al.load_scalar(smem + s * kStageBytes, m0, kt);
        }
        wl.template load<kAsync>(smem0 + s * kStageBytes + kTileBytesA, smem + s * kStageBytes + kTileBytesA, kt);
    };

    // ldmatrix row addresses (gemm_common.cuh's): A matrix q = lane / 8 is rows (q & 1) * 8.. at
    // chunk q >> 1; B matrix q is n-tile q >> 1 at chunk q & 1.
    const int q = lane >> 3, rr = lane & 7;
    int a_row[gemm::kTilesM], b_row[gemm::kTilesN / 2];
#pragma unroll
    for (int mi = 0; mi < gemm::kTilesM; ++mi) a_row[mi] = wm * kWarpM + mi * gemm::kMmaM + (q & 1) * 8 + rr;
#pragma unroll
    for (int np = 0; np < gemm::kTilesN / 2; ++np) b_row[np] = wn * kWarpN + (2 * np + (q >> 1)) * gemm::kMmaN + rr;

    float acc[gemm::kTilesM][gemm::kTilesN][4];
#pragma unroll
    for (int mi = 0; mi < gemm::kTilesM; ++mi)
#pragma unroll
        for (int ni = 0; ni < gemm::kTilesN; ++ni)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[mi][ni][r] = 0.f;

#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
        if (s < k_tiles) issue(s);
        gemm::cp_async_commit_group();
    }
    for (int64_t kt = 0; kt < k_tiles; ++kt) {
        gemm::cp_async_wait_group<kStages - 2>();
        __syncthreads();  // tile kt visible to all; every warp is done with tile kt - 1's stage
        if (kt + kStages - 1 < k_tiles) issue(kt + kStages - 1);
        gemm::cp_async_commit_group();

        const uint32_t xs = smem0 + (uint32_t)(kt % kStages) * kStageBytes, ws = xs + kTileBytesA;
#pragma unroll
        for (int step = 0; step < kBlockKBytes / gemm::kStepBytes; ++step) {
            uint32_t af[gemm::kTilesM][4], bf[gemm::kTilesN][2];
#pragma unroll
            for (int mi = 0; mi < gemm::kTilesM; ++mi) gemm::ldmatrix_x4(af[mi], xs + gemm::swizzle(a_row[mi], 2 * step + (q >> 1)));
#pragma unroll
            for (int np = 0; np < gemm::kTilesN / 2; ++np) {
                uint32_t r[4];
                gemm::ldmatrix_x4(r, ws + gemm::swizzle(b_row[np], 2 * step + (q & 1)));
                bf[2 * np][0] = r[0], bf[2 * np][1] = r[1], bf[2 * np + 1][0] = r[2], bf[2 * np + 1][1] = r[3];
            }
            gemm::HalfOp<T>::step(acc, af, bf);
        }
    }
    gemm::cp_async_wait_group<0>();

    // Epilogue: each warp parks half of its 64 x 32 sums (rows of MMA tiles 2p, 2p + 1) in its own
    // 4 KiB (float2 unit u of row r at u ^ ((r & 3) << 2), gemm_common.cuh's conflict-free pattern),
    // then reads them back as 4 consecutive channels per lane (8 lanes per row).
    __syncthreads();  // every warp is done with the stages
    float* cw = reinterpret_cast<float*>(smem) + warp * (kEpilogueRows * kWarpN);
    constexpr int kQuadsPerRow = kWarpN / 4;         // 8
    constexpr int kRowsPerPass = 32 / kQuadsPerRow;  // 4
    const int c4 = lane % kQuadsPerRow;
    const int co = n0 + wn * kWarpN + 4 * c4;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
#pragma unroll
        for (int mh = 0; mh < 2; ++mh)
#pragma unroll
            for (int ni = 0; ni < gemm::kTilesN; ++ni)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    int r = mh * gemm::kMmaM + gr + 8 * h, u = (ni * gemm::kMmaN) / 2 + t4;
                    const float* a = acc[2 * half + mh][ni];
                    *reinterpret_cast<float2*>(cw + r * kWarpN + 2 * (u ^ ((r & 3) << 2))) = make_float2(a[2 * h], a[2 * h + 1]);
                }
        __syncwarp();
        for (int r = lane / kQuadsPerRow; r < kEpilogueRows; r += kRowsPerPass) {
            const int64_t m = m0 + wm * kWarpM + half * kEpilogueRows + r;
            if (m >= g.m || co >= g.cout) continue;
            float4 q4 = *reinterpret_cast<const float4*>(cw + r * kWarpN + 2 * ((2 * c4) ^ ((r & 3) << 2)));
            float v[4] = {q4.x, q4.y, q4.z, q4.w};
            store4<T>(g, ep, y, m, co, v);
        }
        __syncwarp();  // the next half overwrites what this one read
    }
}

// fp32: a 64 x 64 tile per 16 x 16 group, 4 x 4 outputs per thread (rows ty + 16i, columns tx + 16j).
// Stages are K-major with a 66-word pitch: a warp stores 16 K x 2 rows at banks 2k + r (all 32
// distinct), and the FMA loop reads two A words (broadcast) and 16 consecutive B words.
__global__ void __launch_bounds__(conv::kF32Threads * conv::kF32Threads) conv3d_f32_kernel(Geom g, const float* __restrict__ x, const float* __restrict__ w, Epi ep,
                                                                                            float* __restrict__ y) {
    using namespace zt::conv;
    constexpr int kPitch = kF32Tile + 2;
    __shared__ float as[kF32K][kPitch];
    __shared__ float bs[kF32K][kPitch];
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kF32Threads + tx;
    const int64_t m0 = (int64_t)blockIdx.x * kF32Tile;
    const int n0 = blockIdx.y * kF32Tile;
    const int lk = tid % kF32K, lr = tid / kF32K;  // this thread loads K offset lk of rows lr + 16i
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;
    for (int64_t k0 = 0; k0 < g.k; k0 += kF32K) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            int r = lr + 16 * i;
            int64_t off = a_offset(g, m0 + r, k0 + lk);
            as[lk][r] = off >= 0 ? x[off] : 0.f;
            int n = n0 + r;
            bs[lk][r] = n < g.cout && k0 + lk < g.k ? w[(int64_t)n * g.k + k0 + lk] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kF32K; ++kk) {
            float b[4];
#pragma unroll
            for (int j = 0; j < 4; ++j) b[j] = bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                float a = as[kk][ty + 16 * i];
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += a * b[j];
            }
        }
        __syncthreads();
    }
    const float* res = static_cast<const float*>(ep.residual);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        int64_t m = m0 + ty + 16 * i;
        if (m >= g.m) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            int co = n0 + tx + 16 * j;
            if (co >= g.cout) continue;
            int64_t yi = out_index(g, m, co);
            float v = acc[i][j] + (ep.bias ? ep.bias[co] : 0.f) + (res ? res[yi] : 0.f);
            y[yi] = activate(ep.act, v);
        }
    }
}

bool aligned(const void* p, int bytes) { return (reinterpret_cast<uintptr_t>(p) % bytes) == 0; }

struct Launch {
    cudaStream_t stream;
    Geom g;
    const void* x;
    const void* w;
    Epi ep;
    void* y;

    template <typename T>
    zt_status operator()() const {
        if constexpr (std::is_same<T, float>::value) {
            dim3 grid((unsigned)((g.m + conv::kF32Tile - 1) / conv::kF32Tile), (unsigned)((g.cout + conv::kF32Tile - 1) / conv::kF32Tile));
            conv3d_f32_kernel<<<grid, dim3(conv::kF32Threads, conv::kF32Threads), 0, stream>>>(g, static_cast<const float*>(x), static_cast<const float*>(w), ep,
                                                                                                 static_cast<float*>(y));
            return check_launch("zt_conv3d");
        } else {
            Epi e = ep;
            e.quads = g.cg % 4 == 0 && aligned(y, 8) && (!e.residual || aligned(e.residual, 8)) && (!e.bias || aligned(e.bias, 16));
            // cp.async moves 16-byte chunks: 8 channels of one tap, from 16-byte aligned rows.
            bool async = g.cin % conv::kChunk == 0 && aligned(x, 16) && aligned(w, 16);
            auto kernel = async ? conv3d_mma_kernel<T, true> : conv3d_mma_kernel<T, false>;
            zt_status st = allow_dynamic_smem(kernel, conv::kSmemBytes, "zt_conv3d");
            if (st != ZT_OK) return st;
            dim3 grid((unsigned)((g.m + conv::kBlockM - 1) / conv::kBlockM), (unsigned)((g.cout + conv::kBlockN - 1) / conv::kBlockN));
            kernel<<<grid, conv::kThreads, conv::kSmemBytes, stream>>>(g, x, w, e, static_cast<T*>(y));
            return check_launch("zt_conv3d");
        }
    }
};

}  // namespace

ZT_API zt_status zt_conv3d(zt_stream stream, zt_dtype dtype, int32_t t, int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t kt, int32_t kh, int32_t kw,
                           int32_t time_pad, int32_t upsample, int32_t time_shuffle, int32_t act, int32_t y_frames, int32_t y_height, int32_t y_width,
                           int32_t y_channels, const void* x, const void* weight, const void* bias, const void* residual, void* y) {
    if (t < 1 || h < 1 || w < 1 || cin < 1 || cout < 1 || kt < 1 || kh < 1 || kw < 1 || kh % 2 == 0 || kw % 2 == 0 || time_pad < 0)
        return fail(ZT_ERROR_INVALID_ARGUMENT, "zt_conv3d: extents must be positive, kh and kw odd, time_pad >= 0");
    if (upsample != 1 && upsample != 2) return fail(ZT_ERROR_INVALID_ARGUMENT, "zt_conv3d: upsample must be 1 or 2");
    if (time_shuffle < 1 || cout % time_shuffle != 0) return fail(ZT_ERROR_INVALID_ARGUMENT, "zt_conv3d: time_shuffle must divide cout");
    if (act < ZT_CONV_ACT_NONE || act > ZT_CONV_ACT_SILU) return fail(ZT_ERROR_INVALID_ARGUMENT, "zt_conv3d: unknown act");
    const int64_t to = (int64_t)t + time_pad - kt + 1;
    if (to < 1) return fail(ZT_ERROR_INVALID_ARGUMENT, "zt_conv3d: fewer frames (with the padding) than the kernel's kt");
    Geom g{t, h, w, cin, cout, kt, kh, kw, time_pad, upsample == 2 ? 1 : 0, time_shuffle, cout / time_shuffle, h * upsample, w * upsample, 0, 0, 0};
    g.hw = (int64_t)g.ho * g.wo;
    g.m = to * g.hw;
    g.k = (int64_t)kt * kh * kw * cin;
    if (y_frames != to * time_shuffle || y_height != g.ho || y_width != g.wo || y_channels != g.cg)
        return fail(ZT_ERROR_INVALID_ARGUMENT, "zt_conv3d: y's extents are not [To * time_shuffle, h * upsample, w * upsample, cout / time_shuffle]");
    if ((g.m + conv::kF32Tile - 1) / conv::kF32Tile > 0x7fffffff || g.k > 0x7fffffff)
        return fail(ZT_ERROR_INVALID_ARGUMENT, "zt_conv3d: too large");
    if (!x || !weight || !y) return fail(ZT_ERROR_INVALID_ARGUMENT, "zt_conv3d: null pointer");
    Epi ep{static_cast<const float*>(bias), residual, act, 0};
    return dispatch_float(dtype, Launch{stream_of(stream), g, x, weight, ep, y});
}
