using Zoetrope.Emulator.Device;
using Zoetrope.Emulator.Exec;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// What the Host layer asks of the device to load and run kernels. <see cref="DeviceExecutor"/>
/// is the emulated device itself; tests put a recording fake here to see what a launch through
/// the driver or runtime entry points hands the device (function, geometry, parameter bytes).
/// </summary>
internal interface IEmuExecutor
{
    /// <summary>Loads PTX text (cuModuleLoadData, a fat binary's PTX).</summary>
    EmuModule LoadModule(string ptx, string origin);

    /// <summary>Runs a kernel to completion.</summary>
    LaunchStats Launch(EmuFunction function, LaunchConfig config, ReadOnlySpan<byte> parameters);

    /// <summary>cudaFuncAttributeMaxDynamicSharedMemorySize / CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.</summary>
    void SetMaxDynamicShared(EmuFunction function, int bytes);

    /// <summary>The dynamic shared memory a launch of <paramref name="function"/> may ask for now.</summary>
    int DynamicSharedLimit(EmuFunction function);
}
