namespace Zoetrope.Emulator.Host;

/// <summary>
/// The CUresult and cudaError_t values the emulated driver and runtime return (numbers from
/// cuda.h and driver_types.h; where the two enums agree one constant serves both), the mapping
/// from <see cref="EmuError"/>, and the driver's names and texts for cuGetErrorName/String.
/// </summary>
internal static class CudaCodes
{
    public const int Success = 0;
    public const int InvalidValue = 1;
    public const int OutOfMemory = 2;
    public const int NotInitialized = 3;
    /// <summary>cudaErrorInvalidConfiguration (runtime only; the driver says INVALID_VALUE).</summary>
    public const int RuntimeInvalidConfiguration = 9;
    /// <summary>cudaErrorInvalidDeviceFunction (runtime only).</summary>
    public const int RuntimeInvalidDeviceFunction = 98;
    public const int InvalidDevice = 101;
    /// <summary>CUDA_ERROR_INVALID_IMAGE.</summary>
    public const int InvalidImage = 200;
    /// <summary>cudaErrorInvalidKernelImage.</summary>
    public const int InvalidKernelImage = 200;
    public const int InvalidContext = 201;
    /// <summary>CUDA_ERROR_NO_BINARY_FOR_GPU, and cudaErrorNoKernelImageForDevice (both 209).</summary>
    public const int NoBinaryForGpu = 209;
    public const int PeerAccessUnsupported = 217;
    public const int InvalidPtx = 218;
    public const int InvalidHandle = 400;
    /// <summary>CUDA_ERROR_NOT_FOUND.</summary>
    public const int NotFound = 500;
    public const int NotReady = 600;
    public const int IllegalAddress = 700;
    public const int LaunchOutOfResources = 701;
    public const int HostMemoryAlreadyRegistered = 712;
    public const int HostMemoryNotRegistered = 713;
    public const int IllegalInstruction = 715;
    public const int MisalignedAddress = 716;
    public const int LaunchFailed = 719;
    public const int NotSupported = 801;
    public const int Unknown = 999;

    /// <summary>The CUresult for <paramref name="error"/>.</summary>
    public static int Driver(EmuError error) => error switch
    {
        EmuError.None => Success,
        EmuError.InvalidValue => InvalidValue,
        EmuError.OutOfMemory => OutOfMemory,
        EmuError.InvalidPtx => InvalidPtx,
        EmuError.NotFound => NotFound,
        EmuError.InvalidConfiguration => InvalidValue,
        EmuError.OutOfResources => LaunchOutOfResources,
        EmuError.IllegalAddress => IllegalAddress,
        EmuError.MisalignedAddress => MisalignedAddress,
        EmuError.LaunchFailed => LaunchFailed,
        EmuError.NotSupported => NotSupported,
        EmuError.IllegalInstruction => IllegalInstruction,
        _ => Unknown,
    };

    /// <summary>The cudaError_t for <paramref name="error"/>.</summary>
    public static int Runtime(EmuError error) => error switch
    {
        EmuError.None => Success,
        EmuError.InvalidValue => InvalidValue,
        EmuError.OutOfMemory => OutOfMemory,
        EmuError.InvalidPtx => InvalidPtx,
        EmuError.NotFound => RuntimeInvalidDeviceFunction,
        EmuError.InvalidConfiguration => RuntimeInvalidConfiguration,
        EmuError.OutOfResources => LaunchOutOfResources,
        EmuError.IllegalAddress => IllegalAddress,
        EmuError.MisalignedAddress => MisalignedAddress,
        EmuError.LaunchFailed => LaunchFailed,
        EmuError.NotSupported => NotSupported,
        EmuError.IllegalInstruction => IllegalInstruction,
        _ => Unknown,
    };

    /// <summary>cuGetErrorName's and cuGetErrorString's answers for the codes this driver returns.</summary>
    public static readonly IReadOnlyDictionary<int, (string Name, string Text)> DriverTexts = new Dictionary<int, (string, string)>
    {
        [Success] = ("CUDA_SUCCESS", "no error"),
        [InvalidValue] = ("CUDA_ERROR_INVALID_VALUE", "invalid argument"),
        [OutOfMemory] = ("CUDA_ERROR_OUT_OF_MEMORY", "out of memory"),
        [NotInitialized] = ("CUDA_ERROR_NOT_INITIALIZED", "initialization error"),
        [100] = ("CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"),
        [InvalidDevice] = ("CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"),
        [InvalidImage] = ("CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"),
        [InvalidContext] = ("CUDA_ERROR_INVALID_CONTEXT", "invalid device context"),
        [NoBinaryForGpu] = ("CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"),
        [PeerAccessUnsupported] = ("CUDA_ERROR_PEER_ACCESS_UNSUPPORTED", "peer access is not supported between these two devices"),
        [InvalidPtx] = ("CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"),
        [InvalidHandle] = ("CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"),
        [NotFound] = ("CUDA_ERROR_NOT_FOUND", "named symbol not found"),
        [NotReady] = ("CUDA_ERROR_NOT_READY", "device not ready"),
        [IllegalAddress] = ("CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"),
        [LaunchOutOfResources] = ("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"),
        [HostMemoryAlreadyRegistered] = ("CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED", "part or all of the requested memory range is already mapped"),
        [HostMemoryNotRegistered] = ("CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED", "pointer does not correspond to a registered memory region"),
        [IllegalInstruction] = ("CUDA_ERROR_ILLEGAL_INSTRUCTION", "an illegal instruction was encountered"),
        [MisalignedAddress] = ("CUDA_ERROR_MISALIGNED_ADDRESS", "misaligned address"),
        [LaunchFailed] = ("CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"),
        [NotSupported] = ("CUDA_ERROR_NOT_SUPPORTED", "operation not supported"),
        [Unknown] = ("CUDA_ERROR_UNKNOWN", "unknown error"),
    };
}
