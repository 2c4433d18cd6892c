/* zt_emu.h: the C side of the emulated CUDA device's two libraries.
 *
 *   libzoetrope_cuda_emu.so   an emulated CUDA driver: every entry point of driver_api.def,
 *                             each forwarding to the C# implementation installed with
 *                             zt_emu_driver_install (ILGPU's CUDA accelerator and our driver
 *                             binding load it in place of libcuda.so.1). No CUDA toolkit needed.
 *   libzoetrope_native_emu.so the hand-written kernels compiled to PTX only (compute_80), their
 *                             nvcc-generated host code unchanged, linked against the emulated
 *                             CUDA runtime (zt_emu_runtime.cpp) in place of cudart: the runtime
 *                             entry points that host code calls forward to the C# callbacks of
 *                             runtime_callbacks.def, installed with zt_emu_runtime_install.
 *
 * Installation is by name, not by position, so a library and an assembly of different ages fail
 * with the name that does not match instead of calling the wrong function. The C# side lives in
 * src/Emulator/Host.
 */
#ifndef ZT_EMU_H
#define ZT_EMU_H

#ifdef __cplusplus
#define ZT_EMU_EXTERN_C extern "C"
#else
#define ZT_EMU_EXTERN_C
#endif

#if defined(_WIN32)
#define ZT_EMU_API ZT_EMU_EXTERN_C __declspec(dllexport)
#else
#define ZT_EMU_API ZT_EMU_EXTERN_C __attribute__((visibility("default")))
#endif

/* The CUresult an entry point returns before its implementation is installed. */
#define ZT_EMU_CUDA_ERROR_NOT_INITIALIZED 3

/* Installs the driver implementations: functions[i] implements the entry point names[i].
 * Returns 0, or -1 - i for the first names[i] that is not an entry point of this library.
 * Entries not named keep returning CUDA_ERROR_NOT_INITIALIZED. May be called again (it replaces). */
ZT_EMU_API int zt_emu_driver_install(const char* const* names, void* const* functions, int count);

/* The number of driver entry points this library exports, and the name of entry i (NULL past the end). */
ZT_EMU_API int zt_emu_driver_entry_count(void);
ZT_EMU_API const char* zt_emu_driver_entry_name(int index);

/* Installs the runtime callbacks (runtime_callbacks.def) by name, then replays the fat binaries,
 * kernels and variables the library's static constructors registered before C# was there.
 * Returns 0; -1 - i for an unknown names[i]; -1000 - k when callback k of
 * runtime_callbacks.def is not given; or the cudaError_t a replayed registration returned. */
ZT_EMU_API int zt_emu_runtime_install(const char* const* names, void* const* functions, int count);

/* The number of runtime callbacks, and the name of callback i (NULL past the end). */
ZT_EMU_API int zt_emu_runtime_entry_count(void);
ZT_EMU_API const char* zt_emu_runtime_entry_name(int index);

/* How many fat binaries and kernels the library's host code registered (for tests and tools). */
ZT_EMU_API int zt_emu_runtime_registered(int* fatbins, int* functions);

#endif /* ZT_EMU_H */
