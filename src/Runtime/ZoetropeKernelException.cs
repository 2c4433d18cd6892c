namespace Zoetrope.Runtime;

/// <summary>A native kernel returned a failing status. <see cref="Kernel"/> names the exported function.</summary>
public sealed class ZoetropeKernelException : ZoetropeDeviceException
{
    /// <summary>Creates the exception for <paramref name="kernel"/> with the shim's status name and detail.</summary>
    public ZoetropeKernelException(string kernel, int status, string statusName, string detail)
        : base($"{kernel} failed with {statusName}{(string.IsNullOrEmpty(detail) ? string.Empty : ": " + detail)}", statusName)
    {
        Kernel = kernel;
        Status = status;
    }

    /// <summary>The exported function that failed (zt_...).</summary>
    public string Kernel { get; }

    /// <summary>The raw zt_status code.</summary>
    public int Status { get; }
}
