using Zoetrope.Emulator.Device;
using Zoetrope.Emulator.Exec;

namespace Zoetrope.Emulator.Host;

/// <summary>The <see cref="IEmuExecutor"/> that is the emulated device.</summary>
internal sealed class DeviceExecutor(EmuDevice device) : IEmuExecutor
{
    public EmuModule LoadModule(string ptx, string origin) => device.LoadModule(ptx, origin);

    public LaunchStats Launch(EmuFunction function, LaunchConfig config, ReadOnlySpan<byte> parameters) =>
        device.Launch(function, config, parameters);

    public void SetMaxDynamicShared(EmuFunction function, int bytes) => device.SetMaxDynamicShared(function, bytes);

    public int DynamicSharedLimit(EmuFunction function) => device.DynamicSharedLimit(function);
}
