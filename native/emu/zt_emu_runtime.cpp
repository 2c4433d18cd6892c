// zt_emu_runtime.cpp: the emulated CUDA runtime linked into libzoetrope_native_emu.so in place of
// cudart. It defines the entry points nvcc's generated host code and our native code call, and
// forwards what needs the device to the C# callbacks of runtime_callbacks.def.
//
// Registration: the host code's static constructors call __cudaRegisterFatBinary and
// __cudaRegisterFunction while the library is being loaded, before C# can have installed any
// callback. They are buffered here and replayed, in order, by zt_emu_runtime_install; later ones
// go straight through. __cudaRegisterFatBinary's handle is the address of our record of it.
//
// Launch: <<<grid, block, shared, stream>>> pushes the configuration (__cudaPushCallConfiguration),
// the host stub pops it and calls cudaLaunchKernel(stub, ...), which goes to C# with the stub's
// address; C# knows the stub's fat binary and device name from the registrations.
//
// Errors: every failing call sets this thread's last error, which cudaGetLastError returns and
// clears and cudaPeekAtLastError returns. Kernel faults are reported by the launch itself (the
// emulated device is synchronous), so the check after a launch sees them; unlike a GPU's sticky
// errors they do not poison later calls. __cudaUnregisterFatBinary (atexit) stays native: the
// .NET runtime may be gone by then.
#include <cuda_runtime_api.h>
#include <stddef.h>
#include <string.h>

#include <mutex>
#include <vector>

#include "zt_emu.h"

// Declared by nvcc's crt/host_runtime.h, which only generated code includes.
extern "C" {
void** __cudaRegisterFatBinary(void* fat_cubin);
void __cudaRegisterFatBinaryEnd(void** handle);
void __cudaUnregisterFatBinary(void** handle);
void __cudaRegisterFunction(void** handle, const char* host_fun, char* device_fun, const char* device_name, int thread_limit,
                            uint3* tid, uint3* bid, dim3* block_dim, dim3* grid_dim, int* warp_size);
void __cudaRegisterVar(void** handle, char* host_var, char* device_address, const char* device_name, int ext, size_t size,
                       int constant, int global);
void __cudaRegisterManagedVar(void** handle, void** host_var_address, char* device_address, const char* device_name, int ext,
                              size_t size, int constant, int global);
char __cudaInitModule(void** handle);
unsigned __cudaPushCallConfiguration(dim3 grid_dim, dim3 block_dim, size_t shared_mem, struct CUstream_st* stream);
cudaError_t __cudaPopCallConfiguration(dim3* grid_dim, dim3* block_dim, size_t* shared_mem, void* stream);
cudaError_t __cudaGetKernel(cudaKernel_t* kernel, const void* host_fun);
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid_dim, dim3 block_dim, void** args, size_t shared_mem,
                               cudaStream_t stream);
}

namespace {

#define ZT_RT(name, params, args) typedef int(*name##_fn) params;
#include "runtime_callbacks.def"
#undef ZT_RT

enum callback_index {
#define ZT_RT(name, params, args) name##_index,
#include "runtime_callbacks.def"
#undef ZT_RT
    callback_count
};

const char* const callback_names[callback_count] = {
#define ZT_RT(name, params, args) #name,
#include "runtime_callbacks.def"
#undef ZT_RT
};

struct fatbin_record {
    const void* wrapper;
    bool live;
};

struct function_record {
    void** handle;
    const void* stub;
    const char* device_name;
};

struct var_record {
    void** handle;
    void* host_var;
    const char* device_name;
    size_t bytes;
    int kind;
};

struct registry {
    std::mutex gate;
    bool installed = false;
    void* callbacks[callback_count] = {};
    // Records live for the process: the handle given to the host code is a record's address.
    std::vector<fatbin_record*> fatbins;
    std::vector<function_record> functions;
    std::vector<var_record> vars;
};

// Constructed on first use: the registering static constructors of other translation units may
// run before this one's.
registry& reg() {
    static registry* r = new registry();
    return *r;
}

thread_local cudaError_t last_error = cudaSuccess;

struct call_configuration {
    dim3 grid;
    dim3 block;
    size_t shared;
    void* stream;
};

// A stack, as a launch's arguments may themselves launch (the pop happens in the stub).
thread_local std::vector<call_configuration> pending_configurations;

cudaError_t record(cudaError_t error) {
    if (error != cudaSuccess) {
        last_error = error;
    }
    return error;
}

template <typename Fn>
Fn callback(callback_index index) {
    registry& r = reg();
    std::lock_guard<std::mutex> lock(r.gate);
    return r.installed ? reinterpret_cast<Fn>(r.callbacks[index]) : nullptr;
}

// Calls callback `name` with `args`, or fails with cudaErrorInitializationError before install.
#define ZT_FORWARD(name, ...)                                                   \
    do {                                                                        \
        name##_fn f_ = callback<name##_fn>(name##_index);                       \
        return record(f_ ? static_cast<cudaError_t>(f_(__VA_ARGS__)) : cudaErrorInitializationError); \
    } while (0)

int replay(registry& r) {
    auto fatbin = reinterpret_cast<register_fatbin_fn>(r.callbacks[register_fatbin_index]);
    auto function = reinterpret_cast<register_function_fn>(r.callbacks[register_function_index]);
    auto var = reinterpret_cast<register_var_fn>(r.callbacks[register_var_index]);
    for (fatbin_record* f : r.fatbins) {
        if (int e = fatbin(f, f->wrapper)) {
            return e;
        }
    }
    for (const function_record& f : r.functions) {
        if (int e = function(f.handle, f.stub, f.device_name)) {
            return e;
        }
    }
    for (const var_record& v : r.vars) {
        if (int e = var(v.handle, v.host_var, v.device_name, v.bytes, v.kind)) {
            return e;
        }
    }
    return 0;
}

int find_callback(const char* name) {
    for (int k = 0; name != nullptr && k < callback_count; ++k) {
        if (strcmp(name, callback_names[k]) == 0) {
            return k;
        }
    }
    return -1;
}

void add_var(void** handle, void* host_var, const char* device_name, size_t size, int kind) {
    registry& r = reg();
    std::lock_guard<std::mutex> lock(r.gate);
    if (r.installed) {
        auto f = reinterpret_cast<register_var_fn>(r.callbacks[register_var_index]);
        record(static_cast<cudaError_t>(f(handle, host_var, device_name, size, kind)));
    } else {
        r.vars.push_back({handle, host_var, device_name, size, kind});
    }
}

cudaError_t launch(const void* stub, dim3 grid, dim3 block, void** args, size_t shared, void* stream) {
    const unsigned int dims[6] = {grid.x, grid.y, grid.z, block.x, block.y, block.z};
    ZT_FORWARD(launch, stub, dims, args, shared, stream);
}

}  // namespace

// ---- install -----------------------------------------------------------------------------------

ZT_EMU_API int zt_emu_runtime_install(const char* const* names, void* const* functions, int count) {
    if ((names == nullptr || functions == nullptr) && count > 0) {
        return -1;
    }
    void* table[callback_count] = {};
    for (int i = 0; i < count; ++i) {
        int k = find_callback(names[i]);
        if (k < 0) {
            return -1 - i;
        }
        table[k] = functions[i];
    }
    for (int k = 0; k < callback_count; ++k) {
        if (table[k] == nullptr) {
            return -1000 - k;
        }
    }
    registry& r = reg();
    std::lock_guard<std::mutex> lock(r.gate);
    memcpy(r.callbacks, table, sizeof(table));
    r.installed = true;
    // Replayed on every install, so a second install (a fresh C# state) sees them all again.
    return replay(r);
}

ZT_EMU_API int zt_emu_runtime_entry_count(void) { return callback_count; }

ZT_EMU_API const char* zt_emu_runtime_entry_name(int index) {
    return index >= 0 && index < callback_count ? callback_names[index] : nullptr;
}

ZT_EMU_API int zt_emu_runtime_registered(int* fatbins, int* functions) {
    registry& r = reg();
    std::lock_guard<std::mutex> lock(r.gate);
    if (fatbins != nullptr) {
        *fatbins = static_cast<int>(r.fatbins.size());
    }
    if (functions != nullptr) {
        *functions = static_cast<int>(r.functions.size());
    }
    return 0;
}

// ---- registration (nvcc's host code) -----------------------------------------------------------

void** __cudaRegisterFatBinary(void* fat_cubin) {
    registry& r = reg();
    std::lock_guard<std::mutex> lock(r.gate);
    auto* f = new fatbin_record{fat_cubin, true};
    r.fatbins.push_back(f);
    if (r.installed) {
        auto cb = reinterpret_cast<register_fatbin_fn>(r.callbacks[register_fatbin_index]);
        record(static_cast<cudaError_t>(cb(f, fat_cubin)));
    }
    return reinterpret_cast<void**>(f);
}

void __cudaRegisterFatBinaryEnd(void** /*handle*/) {}

void __cudaUnregisterFatBinary(void** handle) {
    if (handle != nullptr) {
        reinterpret_cast<fatbin_record*>(handle)->live = false;
    }
}

void __cudaRegisterFunction(void** handle, const char* host_fun, char* /*device_fun*/, const char* device_name,
                            int /*thread_limit*/, uint3* /*tid*/, uint3* /*bid*/, dim3* /*block_dim*/,
                            dim3* /*grid_dim*/, int* /*warp_size*/) {
    registry& r = reg();
    std::lock_guard<std::mutex> lock(r.gate);
    r.functions.push_back({handle, host_fun, device_name});
    if (r.installed) {
        auto cb = reinterpret_cast<register_function_fn>(r.callbacks[register_function_index]);
        record(static_cast<cudaError_t>(cb(handle, host_fun, device_name)));
    }
}

void __cudaRegisterVar(void** handle, char* host_var, char* /*device_address*/, const char* device_name, int /*ext*/,
                       size_t size, int constant, int /*global*/) {
    add_var(handle, host_var, device_name, size, constant ? 1 : 0);
}

void __cudaRegisterManagedVar(void** handle, void** host_var_address, char* /*device_address*/, const char* device_name,
                              int /*ext*/, size_t size, int /*constant*/, int /*global*/) {
    add_var(handle, host_var_address, device_name, size, 2);
}

char __cudaInitModule(void** /*handle*/) { return 1; }

// ---- launch ------------------------------------------------------------------------------------

unsigned __cudaPushCallConfiguration(dim3 grid_dim, dim3 block_dim, size_t shared_mem, struct CUstream_st* stream) {
    pending_configurations.push_back({grid_dim, block_dim, shared_mem, stream});
    return 0;
}

cudaError_t __cudaPopCallConfiguration(dim3* grid_dim, dim3* block_dim, size_t* shared_mem, void* stream) {
    if (pending_configurations.empty()) {
        return record(cudaErrorMissingConfiguration);
    }
    const call_configuration c = pending_configurations.back();
    pending_configurations.pop_back();
    *grid_dim = c.grid;
    *block_dim = c.block;
    *shared_mem = c.shared;
    *static_cast<void**>(stream) = c.stream;
    return cudaSuccess;
}

cudaError_t cudaLaunchKernel(const void* func, dim3 grid_dim, dim3 block_dim, void** args, size_t shared_mem,
                             cudaStream_t stream) {
    return launch(func, grid_dim, block_dim, args, shared_mem, stream);
}

// The non-legacy launch path of CUDA 12 host code: the kernel handle is the stub itself.
cudaError_t __cudaGetKernel(cudaKernel_t* kernel, const void* host_fun) {
    *kernel = reinterpret_cast<cudaKernel_t>(const_cast<void*>(host_fun));
    return cudaSuccess;
}

cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid_dim, dim3 block_dim, void** args, size_t shared_mem,
                               cudaStream_t stream) {
    return launch(reinterpret_cast<const void*>(kernel), grid_dim, block_dim, args, shared_mem, stream);
}

cudaError_t cudaFuncSetAttribute(const void* func, enum cudaFuncAttribute attr, int value) {
    ZT_FORWARD(func_set_attribute, func, static_cast<int>(attr), value);
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes* attr, const void* func) {
    if (attr == nullptr) {
        return record(cudaErrorInvalidValue);
    }
    auto f = callback<func_get_attribute_fn>(func_get_attribute_index);
    if (f == nullptr) {
        return record(cudaErrorInitializationError);
    }
    memset(attr, 0, sizeof(*attr));
    // CUfunction_attribute numbers: what the driver's cuFuncGetAttribute answers.
    int v[10] = {};
    for (int k = 0; k < 10; ++k) {
        if (int e = f(&v[k], k, func)) {
            return record(static_cast<cudaError_t>(e));
        }
    }
    attr->maxThreadsPerBlock = v[0];
    attr->sharedSizeBytes = static_cast<size_t>(v[1]);
    attr->constSizeBytes = static_cast<size_t>(v[2]);
    attr->localSizeBytes = static_cast<size_t>(v[3]);
    attr->numRegs = v[4];
    attr->ptxVersion = v[5];
    attr->binaryVersion = v[6];
    attr->cacheModeCA = v[7];
    attr->maxDynamicSharedSizeBytes = v[8];
    attr->preferredShmemCarveout = v[9];
    return cudaSuccess;
}

// ---- memory, device, streams -------------------------------------------------------------------

cudaError_t cudaMalloc(void** dev_ptr, size_t size) { ZT_FORWARD(malloc, dev_ptr, size); }

cudaError_t cudaFree(void* dev_ptr) { ZT_FORWARD(free, dev_ptr); }

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind) {
    ZT_FORWARD(memcpy, dst, src, count, static_cast<int>(kind), nullptr);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind, cudaStream_t stream) {
    ZT_FORWARD(memcpy, dst, src, count, static_cast<int>(kind), stream);
}

cudaError_t cudaMemset(void* dev_ptr, int value, size_t count) { ZT_FORWARD(memset, dev_ptr, value, count, nullptr); }

cudaError_t cudaMemsetAsync(void* dev_ptr, int value, size_t count, cudaStream_t stream) {
    ZT_FORWARD(memset, dev_ptr, value, count, stream);
}

cudaError_t cudaGetDeviceCount(int* count) {
    if (count == nullptr) {
        return record(cudaErrorInvalidValue);
    }
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
    if (device == nullptr) {
        return record(cudaErrorInvalidValue);
    }
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : record(cudaErrorInvalidDevice); }

cudaError_t cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
    ZT_FORWARD(device_attribute, value, static_cast<int>(attr), device);
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) { ZT_FORWARD(synchronize, stream); }

// Driver entry points without linking libcuda (how TMA code gets cuTensorMapEncodeTiled): the
// emulated driver's implementation, from C#. CUDA 12.4 declares one C signature with the status
// pointer (defaulted to NULL in C++), and a per-thread-default-stream twin of it.
cudaError_t cudaGetDriverEntryPoint(const char* symbol, void** funcPtr, unsigned long long flags,
                                    enum cudaDriverEntryPointQueryResult* driverStatus) {
    (void)flags;
    if (symbol == nullptr || funcPtr == nullptr) {
        return record(cudaErrorInvalidValue);
    }
    int found = 0;
    auto f = callback<driver_entry_point_fn>(driver_entry_point_index);
    if (f == nullptr) {
        return record(cudaErrorInitializationError);
    }
    if (int e = f(symbol, funcPtr, &found)) {
        return record(static_cast<cudaError_t>(e));
    }
    if (driverStatus != nullptr) {
        *driverStatus = found ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
    }
    return record(cudaSuccess);
}

extern "C" cudaError_t cudaGetDriverEntryPoint_ptsz(const char* symbol, void** funcPtr, unsigned long long flags,
                                                    enum cudaDriverEntryPointQueryResult* driverStatus) {
    return cudaGetDriverEntryPoint(symbol, funcPtr, flags, driverStatus);
}

cudaError_t cudaDeviceSynchronize(void) { ZT_FORWARD(synchronize, nullptr); }

// ---- errors ------------------------------------------------------------------------------------

cudaError_t cudaGetLastError(void) {
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return last_error; }

namespace {

struct error_text {
    cudaError_t code;
    const char* name;
    const char* text;
};

// The codes this runtime and the C# side return; their names are cudart's, the texts ours.
const error_text error_texts[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInitializationError, "cudaErrorInitializationError",
     "initialization error (the emulated runtime's callbacks are not installed)"},
    {cudaErrorMissingConfiguration, "cudaErrorMissingConfiguration", "__global__ function call is not configured"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration", "invalid configuration argument"},
    {cudaErrorInvalidDeviceFunction, "cudaErrorInvalidDeviceFunction", "invalid device function"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidPtx, "cudaErrorInvalidPtx", "a PTX JIT compilation failed"},
    {cudaErrorNoKernelImageForDevice, "cudaErrorNoKernelImageForDevice", "no kernel image is available for execution on the device"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorSymbolNotFound, "cudaErrorSymbolNotFound", "named symbol not found"},
    {cudaErrorIllegalAddress, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
    {cudaErrorLaunchOutOfResources, "cudaErrorLaunchOutOfResources", "too many resources requested for launch"},
    {cudaErrorIllegalInstruction, "cudaErrorIllegalInstruction", "an illegal instruction was encountered"},
    {cudaErrorMisalignedAddress, "cudaErrorMisalignedAddress", "misaligned address"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {cudaErrorNotSupported, "cudaErrorNotSupported", "operation not supported"},
    {cudaErrorUnknown, "cudaErrorUnknown", "unknown error"},
};

const error_text* find_error(cudaError_t error) {
    for (const error_text& e : error_texts) {
        if (e.code == error) {
            return &e;
        }
    }
    return nullptr;
}

}  // namespace

const char* cudaGetErrorName(cudaError_t error) {
    const error_text* e = find_error(error);
    return e ? e->name : "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
    const error_text* e = find_error(error);
    return e ? e->text : "unrecognized error code";
}
