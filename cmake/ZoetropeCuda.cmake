# Helpers for the top-level CMakeLists.txt: the toolkit, the architectures, CUTLASS, the markers
# a kernel file carries in its first lines.

# CUDA 12.4 is the oldest toolkit that builds everything here: sm_90a (wgmma, TMA, setmaxnreg)
# needs 12.0, and PTX ISA 8.4 (mma.sync with e4m3/e5m2 operands on sm_89) needs 12.4.
set(ZT_CUDA_MIN_VERSION 12.4)
# Where .ci/install-cuda.sh unpacks Debian trixie's CUDA 12.4 (ZT_CUDA_PREFIX overrides it there too).
if(DEFINED ENV{ZT_CUDA_PREFIX})
  set(ZT_CUDA_PREFIX_DEFAULT "$ENV{ZT_CUDA_PREFIX}")
else()
  set(ZT_CUDA_PREFIX_DEFAULT /opt/zoetrope/cuda-12.4)
endif()

# nvcc, in this order: CMAKE_CUDA_COMPILER / CUDACXX when given, nvcc on PATH, the prefix above.
function(zt_find_nvcc)
  if(CMAKE_CUDA_COMPILER OR DEFINED ENV{CUDACXX})
    return()
  endif()
  find_program(ZT_NVCC nvcc)
  if(NOT ZT_NVCC AND EXISTS "${ZT_CUDA_PREFIX_DEFAULT}/bin/nvcc")
    set(ZT_NVCC "${ZT_CUDA_PREFIX_DEFAULT}/bin/nvcc")
  endif()
  if(ZT_NVCC)
    # check_language() probes in a sub-project that sees only the environment.
    set(ENV{CUDACXX} "${ZT_NVCC}")
  endif()
endfunction()

# What gets built, per kernel file:
#   every file   SASS for sm_80 (A100), sm_89 (L40S, RTX 4090), sm_90a (H100/H200: wgmma, TMA),
#                and PTX for compute_80 and compute_90, which a newer GPU JIT-compiles at load and
#                the emulated device interprets.
#   sm_90a files (`// zt:requires sm_90a`) SASS for sm_90a alone: arch-specific instructions have
#                no PTX that another GPU could run.
set(ZT_SASS_ARCHS 80 89 90a)
set(ZT_PTX_ARCHS 80 90)
function(zt_gencode out sm90a_only)
  set(flags "")
  if(sm90a_only)
    list(APPEND flags "-gencode=arch=compute_90a,code=sm_90a")
  else()
    foreach(arch IN LISTS ZT_SASS_ARCHS)
      list(APPEND flags "-gencode=arch=compute_${arch},code=sm_${arch}")
    endforeach()
    foreach(arch IN LISTS ZT_PTX_ARCHS)
      list(APPEND flags "-gencode=arch=compute_${arch},code=compute_${arch}")
    endforeach()
  endif()
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

# CUTLASS is header-only and never committed: -DCUTLASS_DIR=<checkout> (with include/cutlass/cutlass.h);
# else a checkout in the ignored folder .cutlass/; else, only when ZT_FETCH_CUTLASS is on (it needs
# a network), a pinned release; else the kernels that need it are skipped, said in one line.
option(ZT_WITH_CUTLASS "Build the kernels that use CUTLASS" ON)
option(ZT_FETCH_CUTLASS "Fetch CUTLASS when no checkout is given (needs a network)" OFF)
set(ZT_CUTLASS_TAG "v3.9.2" CACHE STRING "CUTLASS release fetched when ZT_FETCH_CUTLASS is on")

macro(zt_find_cutlass)
  set(ZT_HAVE_CUTLASS OFF)
  set(ZT_CUTLASS_WHY "")
  if(NOT ZT_WITH_CUTLASS)
    set(ZT_CUTLASS_WHY "ZT_WITH_CUTLASS=OFF")
  else()
    set(cutlass_include "")
    if(NOT CUTLASS_DIR AND EXISTS "${PROJECT_SOURCE_DIR}/.cutlass/include/cutlass/cutlass.h")
      set(CUTLASS_DIR "${PROJECT_SOURCE_DIR}/.cutlass")
    endif()
    if(CUTLASS_DIR)
      if(EXISTS "${CUTLASS_DIR}/include/cutlass/cutlass.h")
        set(cutlass_include "${CUTLASS_DIR}/include" "${CUTLASS_DIR}/tools/util/include")
      elseif(EXISTS "${CUTLASS_DIR}/cutlass/cutlass.h")
        set(cutlass_include "${CUTLASS_DIR}")
      else()
        message(FATAL_ERROR "zoetrope: CUTLASS_DIR=${CUTLASS_DIR} has no include/cutlass/cutlass.h")
      endif()
    elseif(ZT_FETCH_CUTLASS)
      include(FetchContent)
      FetchContent_Declare(cutlass GIT_REPOSITORY https://github.com/NVIDIA/cutlass.git GIT_TAG ${ZT_CUTLASS_TAG} GIT_SHALLOW TRUE)
      FetchContent_GetProperties(cutlass)
      if(NOT cutlass_POPULATED)
        FetchContent_Populate(cutlass)
      endif()
      set(cutlass_include "${cutlass_SOURCE_DIR}/include" "${cutlass_SOURCE_DIR}/tools/util/include")
    else()
      set(ZT_CUTLASS_WHY "no CUTLASS_DIR, no .cutlass/ checkout, ZT_FETCH_CUTLASS=OFF")
    endif()
    if(cutlass_include)
      add_library(zt_cutlass INTERFACE)
      target_include_directories(zt_cutlass SYSTEM INTERFACE ${cutlass_include})
      target_compile_definitions(zt_cutlass INTERFACE ZT_HAVE_CUTLASS=1)
      set(ZT_HAVE_CUTLASS ON)
    endif()
  endif()
  # For .ci/cuda_report.py: what this configure decided, not what the disk holds now.
  set(ZT_HAVE_CUTLASS_BUILT ${ZT_HAVE_CUTLASS} CACHE INTERNAL "CUTLASS kernels in the build")
endmacro()

# A kernel file states what it needs in its first lines: `// zt:requires cutlass` or
# `// zt:requires sm_90a`. The same markers drive .ci/cuda-check.sh.
function(zt_kernel_requirements file out_cutlass out_sm90a)
  file(STRINGS "${file}" head LIMIT_COUNT 10)
  set(cutlass OFF)
  set(sm90a OFF)
  foreach(line IN LISTS head)
    if(line MATCHES "zt:requires[ \t]+cutlass")
      set(cutlass ON)
    endif()
    if(line MATCHES "zt:requires[ \t]+sm_90a")
      set(sm90a ON)
    endif()
  endforeach()
  set(${out_cutlass} ${cutlass} PARENT_SCOPE)
  set(${out_sm90a} ${sm90a} PARENT_SCOPE)
endfunction()
