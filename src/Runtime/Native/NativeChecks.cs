namespace Zoetrope.Runtime.Native;

/// <summary>
/// The checks the generated native wrappers run before and after a call: kept here, in plain
/// code, so the generated wrappers stay one line per tensor.
/// </summary>
internal static class NativeChecks
{
    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming <paramref name="kernel"/> and
    /// <paramref name="name"/> unless <paramref name="tensor"/> lives on <paramref name="backend"/>,
    /// is contiguous and has the expected dtype and shape.
    /// </summary>
    public static void Tensor(string kernel, string name, Runtime.Tensor tensor, IlgpuBackend backend, DType dtype, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        if (!ReferenceEquals(tensor.Backend, backend))
        {
            throw new ArgumentException($"{kernel}: tensor '{name}' ({tensor.Name}) lives on {tensor.Backend.Name}, the kernel runs on {backend.Name}", name);
        }
        if (tensor.DType != dtype)
        {
            throw new ArgumentException($"{kernel}: tensor '{name}' ({tensor.Name}) expected dtype {dtype.Name()}, got {tensor.DType.Name()}", name);
        }
        if (tensor.Shape != shape)
        {
            throw new ArgumentException($"{kernel}: tensor '{name}' ({tensor.Name}) expected shape {shape}, got {tensor.Shape}", name);
        }
        if (!tensor.IsContiguous)
        {
            throw new ArgumentException($"{kernel}: tensor '{name}' ({tensor.Name}) {tensor.Shape} must be contiguous", name);
        }
    }

    /// <summary>
    /// Throws a <see cref="ZoetropeKernelException"/> naming <paramref name="kernel"/> unless
    /// <paramref name="status"/> is 0. On the emulated device the detail also carries the device's
    /// own account of the failure (kernel, CTA, thread, instruction, PTX line), which the shim's
    /// fixed-size last-error text cannot hold.
    /// </summary>
    public static void Status(string kernel, int status)
    {
        if (status != 0)
        {
            string detail = ZtNative.LastError();
            if (EmulatedCuda.TakeDiagnostic() is { } emulated)
            {
                detail = string.IsNullOrEmpty(detail) ? $"emulated device: {emulated}" : $"{detail}; emulated device: {emulated}";
            }
            throw new ZoetropeKernelException(kernel, status, ZtNative.StatusString(status), detail);
        }
    }
}
