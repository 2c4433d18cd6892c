namespace Zoetrope.Emulator;

/// <summary>
/// What went wrong, in the terms of the CUDA error the emulated runtime and driver return for it
/// (the Host layer maps each to cudaError_t / CUresult).
/// </summary>
internal enum EmuError
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>A bad argument to an API call (cudaErrorInvalidValue / CUDA_ERROR_INVALID_VALUE).</summary>
    InvalidValue,
    /// <summary>Device memory exhausted (cudaErrorMemoryAllocation / CUDA_ERROR_OUT_OF_MEMORY).</summary>
    OutOfMemory,
    /// <summary>PTX the front end cannot read (CUDA_ERROR_INVALID_PTX).</summary>
    InvalidPtx,
    /// <summary>No kernel of that name in the module (CUDA_ERROR_NOT_FOUND).</summary>
    NotFound,
    /// <summary>Too many threads, too much shared memory, a bad grid (cudaErrorInvalidConfiguration, CUDA_ERROR_INVALID_VALUE).</summary>
    InvalidConfiguration,
    /// <summary>More shared memory than the function may use (CUDA_ERROR_OUT_OF_RESOURCES / cudaErrorLaunchOutOfResources).</summary>
    OutOfResources,
    /// <summary>An access outside device memory or a misaligned one (CUDA_ERROR_ILLEGAL_ADDRESS / MISALIGNED_ADDRESS).</summary>
    IllegalAddress,
    /// <summary>A misaligned access (CUDA_ERROR_MISALIGNED_ADDRESS).</summary>
    MisalignedAddress,
    /// <summary>A checker finding: a race, an uninitialised read, a divergent barrier, a read before a cp.async wait (CUDA_ERROR_LAUNCH_FAILED).</summary>
    LaunchFailed,
    /// <summary>An instruction the interpreter does not implement (CUDA_ERROR_NOT_SUPPORTED).</summary>
    NotSupported,
    /// <summary>A trap or a bad instruction operand (CUDA_ERROR_ILLEGAL_INSTRUCTION).</summary>
    IllegalInstruction,
}
