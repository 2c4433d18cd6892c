namespace Zoetrope.Runtime;

/// <summary>
/// A device could not be used: no driver, no GPU, the native shim not built, or a CUDA call
/// failed. <see cref="ErrorName"/> carries the CUDA error name (CUDA_ERROR_NO_DEVICE...) when
/// there is one.
/// </summary>
public class ZoetropeDeviceException : Exception
{
    /// <summary>Creates the exception with a message that says why.</summary>
    public ZoetropeDeviceException(string message, string? errorName = null, Exception? inner = null)
        : base(errorName is null ? message : $"{message} ({errorName})", inner)
    {
        ErrorName = errorName;
    }

    /// <summary>The CUDA error name, or null when the failure was not a CUDA status.</summary>
    public string? ErrorName { get; }
}
