using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// A kernel the native library's host code registered (__cudaRegisterFunction): its host stub,
/// whose address cudaLaunchKernel and cudaFuncSetAttribute receive, and its mangled device name
/// in the PTX of its fat binary. The function is resolved on first use.
/// </summary>
internal sealed class RegisteredKernel(RegisteredFatBinary fatBinary, nint stub, string deviceName)
{
    private EmuFunction? _function;

    /// <summary>The fat binary whose PTX holds the kernel.</summary>
    public RegisteredFatBinary FatBinary { get; } = fatBinary;

    /// <summary>The host stub's address.</summary>
    public nint Stub { get; } = stub;

    /// <summary>The .entry name.</summary>
    public string DeviceName { get; } = deviceName;

    /// <summary>The kernel on the device, loading its module the first time.</summary>
    /// <exception cref="EmulatorException">The module does not load, or has no such entry (NotFound).</exception>
    public EmuFunction Function()
    {
        var f = Volatile.Read(ref _function);
        if (f is null || !ReferenceEquals(f.Module, FatBinary.Module()))
        {
            f = FatBinary.Module().GetFunction(DeviceName);
            Volatile.Write(ref _function, f);
        }
        return f;
    }
}
