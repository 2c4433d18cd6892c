using ILGPU;
using ILGPU.Runtime;

namespace Zoetrope.Runtime;

/// <summary>Device memory allocated through an ILGPU accelerator (CPU or CUDA).</summary>
internal sealed class IlgpuStorage : TensorStorage
{
    internal IlgpuStorage(IlgpuBackend backend, MemoryBuffer1D<byte, Stride1D.Dense> buffer)
        : base(backend, buffer.Length)
    {
        Buffer = buffer;
    }

    /// <summary>The ILGPU buffer.</summary>
    public MemoryBuffer1D<byte, Stride1D.Dense> Buffer { get; }

    /// <summary>The raw device address of the first byte (CUDA accelerators).</summary>
    public IntPtr DevicePointer
    {
        get
        {
            ThrowIfDisposed();
            return Buffer.NativePtr;
        }
    }

    /// <inheritdoc />
    protected override void Free() => Buffer.Dispose();
}
