namespace Zoetrope.Emulator;

/// <summary>
/// A failure of the emulated device: an API misuse, PTX it cannot read, or a kernel fault or
/// checker finding. The message names the kernel, CTA, thread, instruction and PTX line where
/// there is one. The Host layer never lets it cross into native code: it becomes an error code,
/// and the message stays readable through <see cref="Device.EmuDevice.LastDiagnostic"/>.
/// </summary>
public sealed class EmulatorException : Exception
{
    /// <summary>Creates the exception.</summary>
    internal EmulatorException(EmuError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    /// <summary>The CUDA error this maps to.</summary>
    internal EmuError Error { get; }
}
