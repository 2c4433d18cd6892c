// tma_host.cu: TMA descriptors for the Hopper kernels, encoded on the host. cuTensorMapEncodeTiled
// is a driver API function; the library does not link libcuda (the runtime loads the driver), so
// it is reached through cudaGetDriverEntryPoint, once per process. No device code here.
#include <stdio.h>

#include <cudaTypedefs.h>

#include "common/zt_common.cuh"
#include "hopper/sm90.cuh"

namespace zt::hopper {

namespace {

PFN_cuTensorMapEncodeTiled_v12000 encode_fn(const char* kernel, zt_status* st) {
    static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
    static cudaError_t err = [] {
        void* p = nullptr;
        cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
        cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &p, cudaEnableDefault, &found);
        if (e == cudaSuccess && (found != cudaDriverEntryPointSuccess || !p)) e = cudaErrorSymbolNotFound;
        if (e == cudaSuccess) fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
        (void)cudaGetLastError();  // a failed lookup must not surface as the next launch's error
        return e;
    }();
    if (err != cudaSuccess) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: cuTensorMapEncodeTiled not found through cudaGetDriverEntryPoint: %s", kernel, cudaGetErrorName(err));
        *st = fail(ZT_ERROR_CUDA, msg);
    }
    return fn;
}

}  // namespace

zt_status encode_tma_2d(CUtensorMap* map, CUtensorMapDataType type, int elem_bytes, const void* base, int64_t rows, int64_t cols, int box_rows,
                        int box_cols, const char* kernel) {
    zt_status st = ZT_OK;
    auto fn = encode_fn(kernel, &st);
    if (!fn) return st;
    const cuuint64_t dims[2] = {(cuuint64_t)cols, (cuuint64_t)rows};
    const cuuint64_t strides[1] = {(cuuint64_t)(cols * elem_bytes)};  // bytes between rows; the innermost stride is the element
    const cuuint32_t box[2] = {(cuuint32_t)box_cols, (cuuint32_t)box_rows};
    const cuuint32_t elem_strides[2] = {1, 1};
    CUresult r = fn(map, type, 2, const_cast<void*>(base), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                    CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: cuTensorMapEncodeTiled failed (CUresult %d) for a [%lld, %lld] x %d-byte tensor, box %d x %d", kernel, (int)r,
                 (long long)rows, (long long)cols, elem_bytes, box_rows, box_cols);
        return fail(ZT_ERROR_CUDA, msg);
    }
    return ZT_OK;
}

}  // namespace zt::hopper
