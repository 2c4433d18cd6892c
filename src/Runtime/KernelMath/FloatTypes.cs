namespace Zoetrope.Runtime.KernelMath;

/// <summary>Maps the float dtypes ILGPU kernels take (f32, f16, bf16) to their storage type and codec.</summary>
internal static class FloatTypes
{
    /// <summary>The dtypes <see cref="Visit"/> accepts.</summary>
    public static IReadOnlyList<DType> Supported { get; } = [DType.F32, DType.F16, DType.BF16];

    /// <summary>Calls <paramref name="visitor"/> with the storage type and codec of <paramref name="dtype"/>.</summary>
    /// <exception cref="NotSupportedException">The dtype is not f32, f16 or bf16.</exception>
    public static void Visit<TVisitor>(DType dtype, TVisitor visitor)
        where TVisitor : IFloatTypeVisitor
    {
        switch (dtype)
        {
            case DType.F32:
                visitor.Visit<float, F32Codec>();
                break;
            case DType.F16:
                visitor.Visit<ILGPU.Half, F16Codec>();
                break;
            case DType.BF16:
                visitor.Visit<ushort, Bf16Codec>();
                break;
            default:
                throw new NotSupportedException($"ILGPU float kernels take f32, f16 or bf16, not {dtype.Name()}");
        }
    }
}
