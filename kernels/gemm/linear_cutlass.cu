// zt:requires cutlass
// linear_cutlass.cu: CUTLASS 2.x-API tensor-core GEMMs for sm_80+ with the epilogue fused by an
// Sm80 epilogue visitor tree (EVT): the fast paths the dispatch table picks where measured faster.
//   zt_linear_int8_cutlass: int8 x int8 -> int32, D = act(sx[m] * (acc * sw[n]) + bias[n])
//                           (per-token x per-channel; the 128x128 scheme stays on linear_int8.cu,
//                           its per-K-tile scaling is not an epilogue)
//   zt_linear_cutlass:      f16/bf16, fp32 accumulation, D = act(acc + bias[n])
// act is GELU (tanh form, CUTLASS's GELU_taylor) or the identity. Alignment: K a multiple of 16
// (int8) or 8 (half), N a multiple of 8, 16-byte aligned pointers; otherwise the call returns
// ZT_ERROR_INVALID_ARGUMENT and the caller uses the hand-written kernel.
// Order matters: the visitor headers expect the GEMM and thread-map headers before them.
#include <cutlass/cutlass.h>
#include <cutlass/gemm/device/gemm_universal_adapter.h>
#include <cutlass/gemm/kernel/default_gemm_universal_with_visitor.h>
#include <cutlass/epilogue/thread/activation.h>
#include <cutlass/epilogue/threadblock/default_thread_map_tensor_op.h>
#include <cutlass/epilogue/threadblock/fusion/visitors.hpp>

#include "common/zt_common.cuh"
#include "gemm/gemm_policy.h"

namespace {

using namespace cute;
namespace tb = cutlass::epilogue::threadblock;

template <typename T> struct Cutlass { using Type = T; };
template <> struct Cutlass<__half> { using Type = cutlass::half_t; };
template <> struct Cutlass<__nv_bfloat16> { using Type = cutlass::bfloat16_t; };
template <> struct Cutlass<float> { using Type = float; };

// One GEMM configuration: operands, tile shapes, and the EVT that forms D.
template <typename ElementAB, typename ElementD, template <class> class Act, bool kScaled>
struct Config {
    static constexpr bool kInt8 = std::is_same<ElementAB, int8_t>::value;
    using ThreadblockShape = cutlass::gemm::GemmShape<128, 128, kInt8 ? 64 : 32>;
    using WarpShape = cutlass::gemm::GemmShape<64, 64, kInt8 ? 64 : 32>;
    using InstructionShape = cutlass::gemm::GemmShape<16, 8, kInt8 ? 32 : 16>;
    using Accumulator = typename std::conditional<kInt8, int32_t, float>::type;
    using MathOp = typename std::conditional<kInt8, cutlass::arch::OpMultiplyAddSaturate, cutlass::arch::OpMultiplyAdd>::type;
    static constexpr int kAlignAB = 16 / sizeof(ElementAB);
    static constexpr int kAlignD = 16 / sizeof(ElementD);
    static constexpr int kStages = 4;

    using ThreadMap = tb::OutputTileThreadLayout<ThreadblockShape, WarpShape, ElementD, kAlignD, 1>;
    using Acc = tb::VisitorAccFetch;
    using RowScale = tb::VisitorColBroadcast<ThreadMap, float, Stride<_1, _0, _0>>;  // one value per row m
    using ColVector = tb::VisitorRowBroadcast<ThreadMap, float, Stride<_0, _1, _0>>;  // one value per column n
    using Mul = tb::VisitorCompute<cutlass::multiplies, float, float, cutlass::FloatRoundStyle::round_to_nearest>;
    using MulAdd = tb::VisitorCompute<cutlass::homogeneous_multiply_add, float, float, cutlass::FloatRoundStyle::round_to_nearest>;
    using Plus = tb::VisitorCompute<cutlass::plus, float, float, cutlass::FloatRoundStyle::round_to_nearest>;
    // kScaled: sx[m] * (acc * sw[n]) + bias[n]; else acc + bias[n] (a null bias reads as 0).
    using Scaled = tb::Sm80EVT<MulAdd, RowScale, tb::Sm80EVT<Mul, Acc, ColVector>, ColVector>;
    using Biased = tb::Sm80EVT<Plus, Acc, ColVector>;
    using Pre = typename std::conditional<kScaled, Scaled, Biased>::type;
    using Activation = tb::Sm80EVT<tb::VisitorCompute<Act, ElementD, float, cutlass::FloatRoundStyle::round_to_nearest>, Pre>;
    using Store = tb::VisitorAuxStore<ThreadMap, ElementD, cutlass::FloatRoundStyle::round_to_nearest, Stride<int64_t, _1, _0>>;
    using EVT = tb::Sm80EVT<Store, Activation>;

    using Kernel = typename cutlass::gemm::kernel::DefaultGemmWithVisitor<
        ElementAB, cutlass::layout::RowMajor, cutlass::ComplexTransform::kNone, kAlignAB,
        ElementAB, cutlass::layout::ColumnMajor, cutlass::ComplexTransform::kNone, kAlignAB,
        ElementD, cutlass::layout::RowMajor, kAlignD, Accumulator, float,
        cutlass::arch::OpClassTensorOp, cutlass::arch::Sm80, ThreadblockShape, WarpShape, InstructionShape,
        EVT, cutlass::gemm::threadblock::GemmIdentityThreadblockSwizzle<>, kStages, MathOp, 1>::GemmKernel;
    using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;

    static typename Pre::Arguments pre_args(const float* sx, const float* sw, const float* bias) {
        if constexpr (kScaled) {
            return {{sx}, {{}, {sw}, {}}, {bias}, {}};
        } else {
            return {{}, {bias}, {}};
        }
    }

    static zt_status run(cudaStream_t stream, int64_t m, int64_t n, int64_t k, const void* a, const void* b, const float* sx, const float* sw,
                         const float* bias, void* d, const char* name) {
        typename EVT::Arguments evt{{pre_args(sx, sw, bias), {}}, {static_cast<ElementD*>(d), {n, _1{}, _0{}}}};
        typename Gemm::Arguments args(cutlass::gemm::GemmUniversalMode::kGemm, {(int)m, (int)n, (int)k}, 1, evt, a, b, nullptr, nullptr, 0, 0, 0, 0,
                                      k, k, 0, 0);
        Gemm gemm;
        if (gemm.can_implement(args) != cutlass::Status::kSuccess) {
            return zt::fail(ZT_ERROR_INVALID_ARGUMENT, name);
        }
        // The EVT above needs no workspace; the adapter's own (split-k off) is empty too.
        if (gemm.initialize(args, nullptr, stream) != cutlass::Status::kSuccess || gemm.run(stream) != cutlass::Status::kSuccess) {
            return zt::fail(ZT_ERROR_CUDA, name);
        }
        return zt::check_launch(name);
    }
};

template <typename ElementAB, bool kScaled>
struct ByOutput {
    cudaStream_t stream;
    int64_t m, n, k;
    int gelu;
    const void* a;
    const void* b;
    const float* sx;
    const float* sw;
    const float* bias;
    void* d;
    const char* name;

    template <typename T>
    zt_status operator()() const {
        using D = typename Cutlass<T>::Type;
        if (gelu) {
            return Config<ElementAB, D, cutlass::epilogue::thread::GELU_taylor, kScaled>::run(stream, m, n, k, a, b, sx, sw, bias, d, name);
        }
        return Config<ElementAB, D, cutlass::epilogue::thread::Identity, kScaled>::run(stream, m, n, k, a, b, sx, sw, bias, d, name);
    }
};

bool aligned(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

ZT_API zt_status zt_linear_int8_cutlass(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, const void* x, const void* weight,
                                        const void* x_scale, const void* w_scale, const void* bias, void* y) {
    if (m <= 0 || n <= 0 || k <= 0 || k % 16 || n % 8 || m > 0x7FFFFFFF || !aligned(x) || !aligned(weight) || !aligned(y)) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8_cutlass: needs K % 16 == 0, N % 8 == 0 and 16-byte aligned operands");
    }
    if (!x_scale || !w_scale) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_int8_cutlass: null scale");
    if (dtype == ZT_DTYPE_F32) return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_linear_int8_cutlass: f16 or bf16 output");
    ByOutput<int8_t, true> run{zt::stream_of(stream), m, n, k, gelu, x, weight, static_cast<const float*>(x_scale), static_cast<const float*>(w_scale),
                               static_cast<const float*>(bias), y, "zt_linear_int8_cutlass"};
    switch (dtype) {
        case ZT_DTYPE_F16: return run.operator()<__half>();
        case ZT_DTYPE_BF16: return run.operator()<__nv_bfloat16>();
        default: return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_linear_int8_cutlass: f16 or bf16 output");
    }
}

ZT_API zt_status zt_linear_cutlass(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, const void* x, const void* weight,
                                   const void* bias, void* y) {
    if (m <= 0 || n <= 0 || k <= 0 || k % 8 || n % 8 || m > 0x7FFFFFFF || !aligned(x) || !aligned(weight) || !aligned(y)) {
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "zt_linear_cutlass: needs K % 8 == 0, N % 8 == 0 and 16-byte aligned operands");
    }
    switch (dtype) {
        case ZT_DTYPE_F16: {
            ByOutput<cutlass::half_t, false> run{zt::stream_of(stream), m, n, k, gelu, x, weight, nullptr, nullptr, static_cast<const float*>(bias), y, "zt_linear_cutlass"};
            return run.operator()<__half>();
        }
        case ZT_DTYPE_BF16: {
            ByOutput<cutlass::bfloat16_t, false> run{zt::stream_of(stream), m, n, k, gelu, x, weight, nullptr, nullptr, static_cast<const float*>(bias), y, "zt_linear_cutlass"};
            return run.operator()<__nv_bfloat16>();
        }
        default: return zt::fail(ZT_ERROR_UNSUPPORTED_DTYPE, "zt_linear_cutlass: f16 or bf16");
    }
}
