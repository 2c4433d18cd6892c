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

zt_status encode_tma_tiled(CUtensorMap* map, CUtensorMapDataType type, int rank, const void* base, const uint64_t* dims, const uint64_t* strides_bytes,
                           const uint32_t* box, const char* kernel, CUtensorMapSwizzle swizzle) {
    zt_status st = ZT_OK;
    auto fn = encode_fn(kernel, &st);
    if (!fn) return st;
    cuuint64_t d[5], s[4];
    cuuint32_t b[5], elem_strides[5];
    for (int i = 0; i < rank; ++i) {
        d[i] = (cuuint64_t)dims[i];
        b[i] = (cuuint32_t)box[i];
        elem_strides[i] = 1;
        if (i + 1 < rank) s[i] = (cuuint64_t)strides_bytes[i];  // the innermost stride is the element
    }
    CUresult r = fn(map, type, (cuuint32_t)rank, const_cast<void*>(base), d, s, b, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                    CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: cuTensorMapEncodeTiled failed (CUresult %d) for a rank-%d tensor of dims [%llu, %llu, ...], box [%u, %u, ...]", kernel,
                 (int)r, rank, (unsigned long long)dims[0], (unsigned long long)dims[1], box[0], box[1]);
        return fail(ZT_ERROR_CUDA, msg);
    }
    return ZT_OK;
}

zt_status encode_tma_2d(CUtensorMap* map, CUtensorMapDataType type, int elem_bytes, const void* base, int64_t rows, int64_t cols, int box_rows,
                        int box_cols, const char* kernel) {
    const uint64_t dims[2] = {(uint64_t)cols, (uint64_t)rows};
    const uint64_t strides[1] = {(uint64_t)(cols * elem_bytes)};  // bytes between rows
    const uint32_t box[2] = {(uint32_t)box_cols, (uint32_t)box_rows};
    return encode_tma_tiled(map, type, 2, base, dims, strides, box, kernel);
}

}  // namespace zt::hopper
