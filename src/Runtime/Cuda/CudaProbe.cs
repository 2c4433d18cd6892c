namespace Zoetrope.Runtime.Cuda;

/// <summary>The outcome of looking for a CUDA driver and GPUs.</summary>
/// <param name="Available">True when the driver initialised and at least one GPU is present.</param>
/// <param name="Reason">Why not, when <paramref name="Available"/> is false; empty otherwise.</param>
/// <param name="DriverVersion">The driver's CUDA version as 1000*major + 10*minor, or 0.</param>
/// <param name="Devices">The GPUs found.</param>
public sealed record CudaProbe(bool Available, string Reason, int DriverVersion, IReadOnlyList<CudaDeviceInfo> Devices)
{
    /// <summary>The driver version as major.minor (12.4), or "none".</summary>
    public string DriverVersionText => DriverVersion == 0 ? "none" : $"{DriverVersion / 1000}.{DriverVersion % 1000 / 10}";
}
