// zt:requires sm_90a
// zt:sass sm_90a HGMMA
// zt:sass sm_90a IGMMA
// zt:sass sm_90a QGMMA
// linear_sm90.cu: the linears on Hopper: zt_linear (f16/bf16), zt_linear_int8's two schemes
// (per-token x per-channel, 128 x 128 blocks) and zt_linear_fp8 (e4m3, per-token x per-channel) as
// one warp-specialized, persistent TMA + wgmma GEMM:
//   policy     gemm_sm90_policy.h    128 x 128 tiles, 128 bytes of K per stage, 4 stages, 3 warpgroups
//   scheduler  gemm_sm90_scheduler.cuh  grid = min(tiles, SMs), static round robin
//   mainloop   gemm_sm90_mainloop.cuh   TMA producer -> full/empty mbarriers -> wgmma consumers
//   epilogue   gemm_sm90_epilogue.cuh   gemm_common.cuh's Epilogue in registers, staged in shared
//                                       memory, written to y by whole rows (16-byte stores)
// Results match the mma.sync kernels' (gemm_common.cuh): exact int32 sums for INT8 (the block
// scheme folds each 128 of K into fp32 with its scales, as gemm_common.cuh's kTwoLevel does), fp32
// sums up to summation order for f16/bf16 and FP8, the same epilogue math and roundings. FP8: a
// real H100's e4m3 wgmma accumulates with about 14 significant bits (DeepSeek-V3, 3.3.2), so its
// partial sums are promoted into a full fp32 accumulator every 128 of K (DeepGEMM; KSum in
// gemm_sm90_policy.h); the emulator's wgmma sums in full fp32, so there the promotion only
// changes the summation order, unless ZOETROPE_EMU_FP8_ACC=hopper turns on its model of the
// ~14-bit accumulation (src/Emulator/Isa/Wgmma.cs; HostLinearKernelTests checks K = 4096 under it).
//
// zt:hot gemm_sm90_ws  (a spill fails CI)
// zt:regs sm_90a gemm_sm90_ws 168  (setmaxnreg: producer 40, consumers 232: 40 x 128 + 2 x 232 x 128 = 64,512 of 65,536)
#include <stdlib.h>

#include <atomic>

#include "hopper/gemm_sm90_epilogue.cuh"
#include "hopper/gemm_sm90_mainloop.cuh"
#include "hopper/linear_sm90.h"

namespace zt::hopper {

using namespace gemm90;

struct Sm90Args {
    int64_t m, n, k;
    int64_t k_tiles;
    int k_per_tile;  // elements of K per stage: 64 (16-bit) or 128 (int8, e4m3)
    int vec16;       // y's rows 16-byte aligned: 16-byte stores (gemm_sm90_epilogue.cuh)
    zt::gemm::Epilogue ep;
    const float* sx;  // KSum::kPromotedScaled: [ceil(m / 128), k_tiles] and [ceil(n / 128), k_tiles]
    const float* sw;
};

// T: the operand type (Wgmma<T>), TOut: y's, kSum: how K is summed (gemm_sm90_policy.h).
template <typename T, typename TOut, KSum kSum>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_sm90_ws(const __grid_constant__ CUtensorMap a_map, const __grid_constant__ CUtensorMap b_map, Sm90Args args, TOut* __restrict__ y) {
    extern __shared__ char smem[];
    const Ring ring(smem);
    if (threadIdx.x == 0) ring.init();
    __syncthreads();

    const TileScheduler sched(args.m, args.n);
    const int wg = threadIdx.x / 128;
    if (wg == 0) {
        setmaxnreg_dec<kProducerRegs>();
        if (threadIdx.x < 32 && elect_one()) produce(ring, &a_map, &b_map, sched, args.k_tiles, args.k_per_tile);
        return;
    }
    setmaxnreg_inc<kConsumerRegs>();
    using Op = Wgmma<T>;
    AccOf<Op, kSum> acc[kAccRegs];
    RingPos pos;
    for (int64_t t = sched.first(); sched.valid(t); t = sched.next(t)) {
        StageScales scales{nullptr, nullptr};
        if constexpr (kSum == KSum::kPromotedScaled) scales = {args.sx + sched.m0(t) / kBlockM * args.k_tiles, args.sw + sched.n0(t) / kBlockN * args.k_tiles};
        consume<Op, kSum>(ring, pos, args.k_tiles, wg - 1, acc, scales);
        store_tile<TOut>(acc, args.ep, y, args.m, args.n, sched.m0(t) + (wg - 1) * kWgRows, sched.n0(t), args.vec16 != 0,
                         ring.out + (wg - 1) * kOutWgBytes<TOut>);
    }
}

namespace {

struct DeviceInfo {
    int sm90;  // 0 unknown, 1 yes, 2 no
    int sms;
};

// Per device, filled once (a benign race: every thread writes the same values).
constexpr int kMaxDevices = 64;
// One word per device, (sms << 2) | known (0 unknown, 1 sm_90, 2 not): a single atomic, so a
// thread that sees "sm_90" also sees its SM count (two relaxed atomics could show sm_90 with 0 SMs
// on a weakly ordered host, GH200's aarch64, and launch an empty grid).
std::atomic<int64_t> g_device[kMaxDevices];

DeviceInfo device_info() {
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= kMaxDevices) {
        (void)cudaGetLastError();
        return {2, 0};
    }
    int64_t word = g_device[dev].load(std::memory_order_relaxed);
    if ((word & 3) == 0) {
        int major = 0, sms = 0;
        bool ok = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess &&
                  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) == cudaSuccess;
        if (!ok) (void)cudaGetLastError();
        const int known = ok && major == 9 && sms > 0 ? 1 : 2;
        word = ((int64_t)(ok ? sms : 0) << 2) | known;
        g_device[dev].store(word, std::memory_order_relaxed);
    }
    return {(int)(word & 3), (int)(word >> 2)};
}

// ZOETROPE_SM90_MAX_CTAS=N caps the persistent grid at N CTAs (read once): on the small shapes an
// emulated device can afford, that makes a CTA walk several tiles, which the grid = min(tiles, SMs)
// rule otherwise only does on large ones (the ring's phases carried across tiles, the producer
// filling the next tile during the epilogue).
int max_ctas(int sms) {
    static const int cap = [] {
        const char* v = getenv("ZOETROPE_SM90_MAX_CTAS");
        int c = v ? atoi(v) : 0;
        return c > 0 ? c : 0;
    }();
    return cap > 0 && cap < sms ? cap : sms;
}

template <typename T> constexpr CUtensorMapDataType tma_type();
template <> constexpr CUtensorMapDataType tma_type<__half>() { return CU_TENSOR_MAP_DATA_TYPE_FLOAT16; }
template <> constexpr CUtensorMapDataType tma_type<__nv_bfloat16>() { return CU_TENSOR_MAP_DATA_TYPE_BFLOAT16; }
template <> constexpr CUtensorMapDataType tma_type<int8_t>() { return CU_TENSOR_MAP_DATA_TYPE_UINT8; }  // bits moved as they are
template <> constexpr CUtensorMapDataType tma_type<__nv_fp8_e4m3>() { return CU_TENSOR_MAP_DATA_TYPE_UINT8; }  // TMA has no fp8 type: bytes

template <typename T, typename TOut, KSum kSum>
zt_status launch(cudaStream_t stream, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep, const float* sx,
                 const float* sw, void* y, const char* name) {
    constexpr int kElem = sizeof(T);
    const int per_tile = kBlockKBytes / kElem;
    CUtensorMap a_map, b_map;
    zt_status st = encode_tma_2d(&a_map, tma_type<T>(), kElem, x, m, k, kBlockM, per_tile, name);
    if (st == ZT_OK) st = encode_tma_2d(&b_map, tma_type<T>(), kElem, w, n, k, kBlockN, per_tile, name);
    if (st != ZT_OK) return st;
    // The block scheme's scale tile is one stage of K and one CTA tile of M and N.
    static_assert(kSum != KSum::kPromotedScaled || (kBlockKBytes / kElem == zt::gemm::kScaleTile && kBlockM == zt::gemm::kScaleTile && kBlockN == zt::gemm::kScaleTile),
                  "one stage x one tile is one 128 x 128 scale tile");
    auto kernel = gemm_sm90_ws<T, TOut, kSum>;
    constexpr int kSmem = kSmemBytesFor<TOut>;
    st = allow_dynamic_smem(kernel, kSmem, name);
    if (st != ZT_OK) return st;
    const bool vec16 = (n * (int64_t)sizeof(TOut)) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
    Sm90Args args{m, n, k, (k + per_tile - 1) / per_tile, per_tile, vec16, ep, sx, sw};
    const TileScheduler sched(m, n);
    const int64_t grid = TileScheduler::grid(sched.tiles, max_ctas(device_info().sms));
    kernel<<<(unsigned)grid, kThreads, kSmem, stream>>>(a_map, b_map, args, static_cast<TOut*>(y));
    st = check_launch(name);
    if (st == ZT_OK) note_kernel(name);
    return st;
}

// The W8A8 linears (1-byte operands T) into f32, f16 or bf16; names: the kernel name per output
// type in that order, then the error for any other dtype.
template <typename T, KSum kSum>
zt_status launch_w8a8(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                      const float* sx, const float* sw, void* y, const char* const (&names)[4]) {
    switch (dtype) {
        case ZT_DTYPE_F32: return launch<T, float, kSum>(stream, m, n, k, x, w, ep, sx, sw, y, names[0]);
        case ZT_DTYPE_F16: return launch<T, __half, kSum>(stream, m, n, k, x, w, ep, sx, sw, y, names[1]);
        case ZT_DTYPE_BF16: return launch<T, __nv_bfloat16, kSum>(stream, m, n, k, x, w, ep, sx, sw, y, names[2]);
        default: return fail(ZT_ERROR_UNSUPPORTED_DTYPE, names[3]);
    }
}

}  // namespace

bool current_device_is_sm90() { return device_info().sm90 == 1; }

zt_status linear_sm90(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                      void* y) {
    switch (dtype) {
        case ZT_DTYPE_F16: return launch<__half, __half, KSum::kWhole>(stream, m, n, k, x, w, ep, nullptr, nullptr, y, "linear_sm90_ws_f16");
        case ZT_DTYPE_BF16: return launch<__nv_bfloat16, __nv_bfloat16, KSum::kWhole>(stream, m, n, k, x, w, ep, nullptr, nullptr, y, "linear_sm90_ws_bf16");
        default: return fail(ZT_ERROR_UNSUPPORTED_DTYPE, "linear_sm90: dtype must be f16 or bf16");
    }
}

zt_status linear_int8_sm90(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                           void* y) {
    static const char* const names[] = {"linear_int8_sm90_ws_f32", "linear_int8_sm90_ws_f16", "linear_int8_sm90_ws_bf16", "linear_int8_sm90: dtype must be f32, f16 or bf16"};
    return launch_w8a8<int8_t, KSum::kWhole>(stream, dtype, m, n, k, x, w, ep, nullptr, nullptr, y, names);
}

zt_status linear_int8_block_sm90(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                                 const float* sx, const float* sw, void* y) {
    static const char* const names[] = {"linear_int8_block_sm90_ws_f32", "linear_int8_block_sm90_ws_f16", "linear_int8_block_sm90_ws_bf16",
                                        "linear_int8_block_sm90: dtype must be f32, f16 or bf16"};
    return launch_w8a8<int8_t, KSum::kPromotedScaled>(stream, dtype, m, n, k, x, w, ep, sx, sw, y, names);
}

zt_status linear_fp8_sm90(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                          void* y) {
    static const char* const names[] = {"linear_fp8_sm90_ws_f32", "linear_fp8_sm90_ws_f16", "linear_fp8_sm90_ws_bf16", "linear_fp8_sm90: dtype must be f32, f16 or bf16"};
    return launch_w8a8<__nv_fp8_e4m3, KSum::kPromoted>(stream, dtype, m, n, k, x, w, ep, nullptr, nullptr, y, names);
}

}  // namespace zt::hopper
