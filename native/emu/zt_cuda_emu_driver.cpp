// zt_cuda_emu_driver.cpp: libzoetrope_cuda_emu.so, the emulated CUDA driver (see zt_emu.h).
// Each entry point of driver_api.def becomes an exported C function with the driver's name that
// calls the C# implementation installed for it, or returns CUDA_ERROR_NOT_INITIALIZED while none
// is. Nothing else happens here: handles, memory, modules and launches are the C# side's.
//
// No CUDA toolkit is needed. CMake builds it before looking for nvcc; without CMake:
//   c++ -std=c++17 -O2 -fPIC -shared -fvisibility=hidden -Wl,--no-undefined
//       -o build/libzoetrope_cuda_emu.so native/emu/zt_cuda_emu_driver.cpp
// (the .NET build does the same through native/emu/zt_cuda_emu.targets when a C++ compiler is there).
#include <stddef.h>
#include <string.h>

#include "zt_emu.h"

namespace {

// One pointer type per entry point, from the same list as the stubs, so a stub can only call
// its implementation with its own signature.
#define ZT_CU(name, params, args) typedef int(*name##_fn) params;
#include "driver_api.def"
#undef ZT_CU

enum entry_index {
#define ZT_CU(name, params, args) name##_index,
#include "driver_api.def"
#undef ZT_CU
    entry_count
};

const char* const entry_names[entry_count] = {
#define ZT_CU(name, params, args) #name,
#include "driver_api.def"
#undef ZT_CU
};

// Written by zt_emu_driver_install (before the first call, in practice), read by every stub:
// atomic so a stub never sees a torn pointer if a caller installs while another thread calls.
void* implementations[entry_count];

void* implementation(int index) { return __atomic_load_n(&implementations[index], __ATOMIC_ACQUIRE); }

}  // namespace

#define ZT_CU(name, params, args)                                              \
    ZT_EMU_API int name params {                                               \
        name##_fn f = reinterpret_cast<name##_fn>(implementation(name##_index)); \
        return f ? f args : ZT_EMU_CUDA_ERROR_NOT_INITIALIZED;                 \
    }
#include "driver_api.def"
#undef ZT_CU

namespace {

int find_entry(const char* name) {
    for (int k = 0; name != nullptr && k < entry_count; ++k) {
        if (strcmp(name, entry_names[k]) == 0) {
            return k;
        }
    }
    return -1;
}

}  // namespace

ZT_EMU_API int zt_emu_driver_install(const char* const* names, void* const* functions, int count) {
    if ((names == nullptr || functions == nullptr) && count > 0) {
        return -1;
    }
    // Every name is checked before anything is published, so a failed install changes nothing.
    for (int i = 0; i < count; ++i) {
        if (find_entry(names[i]) < 0) {
            return -1 - i;
        }
    }
    for (int i = 0; i < count; ++i) {
        __atomic_store_n(&implementations[find_entry(names[i])], functions[i], __ATOMIC_RELEASE);
    }
    return 0;
}

ZT_EMU_API int zt_emu_driver_entry_count(void) { return entry_count; }

ZT_EMU_API const char* zt_emu_driver_entry_name(int index) {
    return index >= 0 && index < entry_count ? entry_names[index] : nullptr;
}
