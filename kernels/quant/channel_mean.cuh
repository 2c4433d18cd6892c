// channel_mean.cuh: the smoothing mean over tokens per (b, h, channel) that Sage's K quantization
// subtracts, in two passes with a fixed summation order (deterministic run to run, and no thread
// reads more than one chunk of tokens): each op first writes the double sum of every chunk of
// kMeanRows tokens per channel its own way (qk_norm_rope_int8 from its f32 workspace rows,
// sage_quantize from its input), then channel_mean_total adds the chunks. One CTA per (b, h, 32
// channels); its kMeanSlices warps each add a contiguous run of chunks, and warp 0 adds the runs
// in order (512 chunks, 32K tokens, is 64 partials per thread).
#pragma once

#include <cstdint>

namespace zt::quant {

constexpr int kMeanRows = 64;     // tokens per partial sum
constexpr int kMeanThreads = 256; // threads per partial-sum CTA
constexpr int kMeanSlices = 8;    // warps per channel_mean_total CTA

// A template so that every .cu including this header may instantiate it without a second definition.
template <int kSlices = kMeanSlices>
__global__ void __launch_bounds__(32 * kSlices) channel_mean_total(int tokens, int head_dim, int chunks, const double* __restrict__ part,
                                                                   float* __restrict__ mean) {
    __shared__ double acc[kSlices][32];
    const int lane = threadIdx.x, slice = threadIdx.y;
    const int c = blockIdx.y * 32 + lane;
    const int64_t bh = blockIdx.x;
    const double* col = part + bh * chunks * head_dim + c;
    const int per = (chunks + kSlices - 1) / kSlices;
    const int k0 = min(chunks, slice * per), k1 = min(chunks, k0 + per);
    double s = 0;
    if (c < head_dim) {
        for (int k = k0; k < k1; ++k) s += col[(int64_t)k * head_dim];
    }
    acc[slice][lane] = s;
    __syncthreads();
    if (slice == 0 && c < head_dim) {
        double all = 0;
#pragma unroll
        for (int w = 0; w < kSlices; ++w) all += acc[w][lane];
        mean[bh * head_dim + c] = (float)(all / tokens);
    }
}

}  // namespace zt::quant
