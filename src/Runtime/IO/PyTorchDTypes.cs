namespace Zoetrope.Runtime.IO;

/// <summary>
/// PyTorch's element types as a checkpoint names them: the legacy typed-storage classes that
/// <c>torch._utils._rebuild_tensor_v2</c> tensors carry (<c>torch.BFloat16Storage</c>...), and the
/// <c>torch.&lt;dtype&gt;</c> globals that <c>_rebuild_tensor_v3</c> pairs with an untyped storage
/// (PyTorch saves fp8 that way: there is no Float8 storage class). Each has its size, so every
/// byte range is checked, and the <see cref="DType"/> it maps to, or null when a Zoetrope tensor
/// holds no such values (listed, refused on load, as with safetensors).
/// </summary>
internal static class PyTorchDTypes
{
    /// <summary>One element type: the torch dtype name (as entries report it), its size and Zoetrope dtype.</summary>
    public sealed record Info(string TorchName, int Size, DType? DType);

    private static readonly Dictionary<string, Info> Storages = new(StringComparer.Ordinal)
    {
        ["DoubleStorage"] = new("float64", 8, Runtime.DType.F64),
        ["FloatStorage"] = new("float32", 4, Runtime.DType.F32),
        ["HalfStorage"] = new("float16", 2, Runtime.DType.F16),
        ["BFloat16Storage"] = new("bfloat16", 2, Runtime.DType.BF16),
        ["CharStorage"] = new("int8", 1, Runtime.DType.I8),
        ["ByteStorage"] = new("uint8", 1, Runtime.DType.U8),
        ["IntStorage"] = new("int32", 4, Runtime.DType.I32),
        ["LongStorage"] = new("int64", 8, null),
        ["ShortStorage"] = new("int16", 2, null),
        ["BoolStorage"] = new("bool", 1, null),
        ["ComplexFloatStorage"] = new("complex64", 8, null),
        ["ComplexDoubleStorage"] = new("complex128", 16, null),
    };

    private static readonly Dictionary<string, Info> DTypes = new(StringComparer.Ordinal)
    {
        ["float64"] = new("float64", 8, Runtime.DType.F64),
        ["float32"] = new("float32", 4, Runtime.DType.F32),
        ["float16"] = new("float16", 2, Runtime.DType.F16),
        ["bfloat16"] = new("bfloat16", 2, Runtime.DType.BF16),
        ["int8"] = new("int8", 1, Runtime.DType.I8),
        ["uint8"] = new("uint8", 1, Runtime.DType.U8),
        ["int32"] = new("int32", 4, Runtime.DType.I32),
        ["float8_e4m3fn"] = new("float8_e4m3fn", 1, Runtime.DType.F8E4M3),
        ["float8_e5m2"] = new("float8_e5m2", 1, Runtime.DType.F8E5M2),
        // Valid in PyTorch, not held by a Zoetrope tensor ("fnuz" variants have another bias and NaN).
        ["float8_e4m3fnuz"] = new("float8_e4m3fnuz", 1, null),
        ["float8_e5m2fnuz"] = new("float8_e5m2fnuz", 1, null),
        ["float8_e8m0fnu"] = new("float8_e8m0fnu", 1, null),
        ["int64"] = new("int64", 8, null),
        ["int16"] = new("int16", 2, null),
        ["uint16"] = new("uint16", 2, null),
        ["uint32"] = new("uint32", 4, null),
        ["uint64"] = new("uint64", 8, null),
        ["bool"] = new("bool", 1, null),
        ["bits8"] = new("bits8", 1, null),
        ["bits16"] = new("bits16", 2, null),
    };

    /// <summary>The element type of a legacy typed-storage class (<c>torch.FloatStorage</c> -> float32).</summary>
    public static bool TryStorage(string name, out Info info) => Storages.TryGetValue(name, out info!);

    /// <summary>The element type a <c>torch.&lt;name&gt;</c> dtype global names.</summary>
    public static bool TryDType(string name, out Info info) => DTypes.TryGetValue(name, out info!);
}
