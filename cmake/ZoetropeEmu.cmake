# The emulated CUDA device's native libraries (native/emu/zt_emu.h says what each is for).
#
#   libzoetrope_cuda_emu.so    the emulated driver: plain C++, no CUDA toolkit, so it is added
#                              before the top-level CMakeLists.txt looks for nvcc and exists on
#                              every machine with a C++ compiler (zt_add_cuda_emu_driver).
#   libzoetrope_native_emu.so  the kernels as PTX on the emulated runtime: needs nvcc, added from
#                              native/emu/CMakeLists.txt once CUDA is enabled.
#
# Both land in the build folder next to libzoetrope_native.so, where the .NET side looks.

function(zt_add_cuda_emu_driver)
  add_library(zoetrope_cuda_emu SHARED "${PROJECT_SOURCE_DIR}/native/emu/zt_cuda_emu_driver.cpp")
  set_target_properties(zoetrope_cuda_emu PROPERTIES
    OUTPUT_NAME zoetrope_cuda_emu
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}")
  # The stubs forward to C# function pointers and need nothing but libc.
  target_link_options(zoetrope_cuda_emu PRIVATE "LINKER:--no-undefined")
endfunction()
