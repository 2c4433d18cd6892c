// axpby.cu: out = a*x + b*y, elementwise over n elements (zt_axpby).
//
// Layout: x, y, out contiguous, one dtype (f32, f16, bf16). Precision: each element widened to
// fp32, a*x + b*y in fp32 (two multiplies and an add, as the ILGPU kernel), one round-to-
// nearest-even store. Memory-bound (3 tensors, 3 flops/element): the loop moves 16 bytes per
// thread per step when all three pointers are 16-byte aligned (8 halves or 4 floats), grid-
// strided, with a scalar tail; otherwise a scalar grid-stride loop.
#include "common/zt_common.cuh"
#include "elementwise/elementwise_policy.h"

namespace {

template <typename T>
__device__ __forceinline__ T combine(float a, T x, float b, T y) {
    using E = zt::elem<T>;
    return E::store(a * E::load(x) + b * E::load(y));
}

template <typename T>
__global__ void axpby_vec16(int64_t n, float a, const T* __restrict__ x, float b, const T* __restrict__ y, T* __restrict__ out) {
    constexpr int kPer = 16 / sizeof(T);
    const int64_t vecs = n / kPer;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const uint4* xv = reinterpret_cast<const uint4*>(x);
    const uint4* yv = reinterpret_cast<const uint4*>(y);
    uint4* ov = reinterpret_cast<uint4*>(out);
    for (int64_t v = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; v < vecs; v += stride) {
        uint4 xs = xv[v];
        uint4 ys = yv[v];
        uint4 os;
        const T* xe = reinterpret_cast<const T*>(&xs);
        const T* ye = reinterpret_cast<const T*>(&ys);
        T* oe = reinterpret_cast<T*>(&os);
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
            oe[k] = combine(a, xe[k], b, ye[k]);
        }
        ov[v] = os;
    }
    // The tail that does not fill a 16-byte vector.
    for (int64_t i = vecs * kPer + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        out[i] = combine(a, x[i], b, y[i]);
    }
}

template <typename T>
__global__ void axpby_scalar(int64_t n, float a, const T* __restrict__ x, float b, const T* __restrict__ y, T* __restrict__ out) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        out[i] = combine(a, x[i], b, y[i]);
    }
}

struct Launch {
    cudaStream_t stream;
    int64_t n;
    float a;
    const void* x;
    float b;
    const void* y;
    void* out;

    template <typename T>
    zt_status operator()() const {
        const T* xt = static_cast<const T*>(x);
        const T* yt = static_cast<const T*>(y);
        T* ot = static_cast<T*>(out);
        bool aligned = ((reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(y) | reinterpret_cast<uintptr_t>(out)) & 15) == 0;
        int64_t work = aligned ? (n * (int64_t)sizeof(T) + 15) / 16 : n;
        int blocks = zt::elementwise_blocks(work);
        if (aligned) {
            axpby_vec16<T><<<blocks, zt::kElementwiseThreads, 0, stream>>>(n, a, xt, b, yt, ot);
        } else {
            axpby_scalar<T><<<blocks, zt::kElementwiseThreads, 0, stream>>>(n, a, xt, b, yt, ot);
        }
        return zt::check_launch("zt_axpby");
    }
};

}  // namespace

ZT_API zt_status zt_axpby(zt_stream stream, zt_dtype dtype, int64_t n, float a, const void* x, float b, const void* y, void* out) {
    if (n < 0) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_axpby: n < 0");
    }
    if (n == 0) {
        return ZT_OK;
    }
    if (!x || !y || !out) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_axpby: null pointer");
    }
    return zt::dispatch_float(dtype, Launch{zt::stream_of(stream), n, a, x, b, y, out});
}
