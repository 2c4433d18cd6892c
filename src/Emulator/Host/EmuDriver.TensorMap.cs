using Zoetrope.Emulator.Isa;

namespace Zoetrope.Emulator.Host;

// cuTensorMapEncodeTiled: the emulated driver's TMA descriptors (Isa/TensorMap.cs holds the
// encoding). The emulated runtime's cudaGetDriverEntryPoint hands out this same function, so a
// kernel library gets the encoder without linking libcuda.
internal static unsafe partial class EmuDriver
{
    /// <summary>
    /// The encoder with the driver's C signature: CUtensorMap*, CUtensorMapDataType, cuuint32_t
    /// rank, void* globalAddress, const cuuint64_t* globalDim, const cuuint64_t* globalStrides
    /// (rank - 1), const cuuint32_t* boxDim, const cuuint32_t* elementStrides, and the four enums.
    /// </summary>
    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    internal static int cuTensorMapEncodeTiled(void* map, int dataType, uint rank, void* globalAddress, ulong* globalDim, ulong* globalStrides,
        uint* boxDim, uint* elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill) =>
        EncodeTiled((byte*)map, dataType, rank, (ulong)globalAddress, globalDim, globalStrides, boxDim, elementStrides, interleave, swizzle, l2Promotion, oobFill);

    /// <summary>cuTensorMapEncodeTiled's body, callable from C# (tests).</summary>
    internal static int EncodeTiled(byte* map, int dataType, uint rank, ulong globalAddress, ulong* globalDim, ulong* globalStrides,
        uint* boxDim, uint* elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill)
    {
        try
        {
            NotNull(map, "tensorMap", nameof(cuTensorMapEncodeTiled));
            NotNull(globalDim, "globalDim", nameof(cuTensorMapEncodeTiled));
            NotNull(boxDim, "boxDim", nameof(cuTensorMapEncodeTiled));
            NotNull(elementStrides, "elementStrides", nameof(cuTensorMapEncodeTiled));
            if (rank > 1)
            {
                NotNull(globalStrides, "globalStrides", nameof(cuTensorMapEncodeTiled));
            }
            int n = (int)Math.Min(rank, 5u);
            string? why = TensorMap.Validate(dataType, (int)Math.Min(rank, 6u), globalAddress,
                new ReadOnlySpan<ulong>(globalDim, n), rank > 1 ? new ReadOnlySpan<ulong>(globalStrides, n - 1) : [],
                new ReadOnlySpan<uint>(boxDim, n), new ReadOnlySpan<uint>(elementStrides, n), interleave, swizzle, l2Promotion, oobFill, out var m);
            if (why is not null)
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuTensorMapEncodeTiled: {why}");
            }
            m!.Encode(new Span<byte>(map, TensorMap.Bytes));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuTensorMapEncodeTiled));
        }
    }
}
