// zt_core.cu: the shim's own exports (version, status names, last error) and the error
// recording every kernel file uses. The last error is per calling thread, so concurrent
// callers on different streams do not overwrite each other's detail.
#include <stdio.h>
#include <string.h>

#include "common/zt_common.cuh"

namespace {
thread_local char last_error[512] = "";
thread_local const char* last_kernel = "";
}

namespace zt {

zt_status fail(zt_status status, const char* detail) {
    snprintf(last_error, sizeof(last_error), "%s", detail ? detail : "");
    return status;
}

zt_status check_launch(const char* kernel) {
    cudaError_t err = cudaGetLastError();
    if (err == cudaSuccess) {
        return ZT_OK;
    }
    snprintf(last_error, sizeof(last_error), "%s: %s: %s", kernel, cudaGetErrorName(err), cudaGetErrorString(err));
    return ZT_ERROR_CUDA;
}

void note_kernel(const char* kernel) { last_kernel = kernel ? kernel : ""; }

zt_status allow_dynamic_smem(const void* kernel, int bytes, const char* name) {
    cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (err == cudaSuccess) {
        return ZT_OK;
    }
    (void)cudaGetLastError();  // a refused attribute is not sticky: clear it so the next launch starts clean
    snprintf(last_error, sizeof(last_error), "%s: %d bytes of dynamic shared memory refused: %s: %s", name, bytes, cudaGetErrorName(err),
             cudaGetErrorString(err));
    return ZT_ERROR_CUDA;
}

}  // namespace zt

ZT_API int32_t zt_version(void) { return 1; }

ZT_API const char* zt_status_string(zt_status status) {
    switch (status) {
        case ZT_OK: return "ZT_OK";
        case ZT_ERROR_INVALID_ARGUMENT: return "ZT_ERROR_INVALID_ARGUMENT";
        case ZT_ERROR_UNSUPPORTED_DTYPE: return "ZT_ERROR_UNSUPPORTED_DTYPE";
        case ZT_ERROR_UNSUPPORTED_ARCH: return "ZT_ERROR_UNSUPPORTED_ARCH";
        case ZT_ERROR_CUDA: return "ZT_ERROR_CUDA";
        default: return "ZT_ERROR_UNKNOWN";
    }
}

ZT_API const char* zt_last_error(void) { return last_error; }

// Returns and clears: an op that returns before launching (a zero extent) must not leave the
// previous op's kernel to be reported as its own.
ZT_API const char* zt_last_kernel(void) {
    const char* k = last_kernel;
    last_kernel = "";
    return k;
}
