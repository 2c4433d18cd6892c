namespace Zoetrope.Runtime.IO;

/// <summary>The safetensors dtype names: their sizes (for validation) and the ones that map to a <see cref="DType"/>.</summary>
internal static class SafeTensorsDTypes
{
    private static readonly Dictionary<string, (int Size, DType? DType)> Known = new(StringComparer.Ordinal)
    {
        ["F64"] = (8, DType.F64),
        ["F32"] = (4, DType.F32),
        ["F16"] = (2, DType.F16),
        ["BF16"] = (2, DType.BF16),
        ["I8"] = (1, DType.I8),
        ["U8"] = (1, DType.U8),
        ["I32"] = (4, DType.I32),
        ["F8_E4M3"] = (1, DType.F8E4M3),
        ["F8_E5M2"] = (1, DType.F8E5M2),
        // Valid in the format, not held by a Zoetrope tensor: listed, refused on access.
        ["BOOL"] = (1, null),
        ["I16"] = (2, null),
        ["U16"] = (2, null),
        ["U32"] = (4, null),
        ["I64"] = (8, null),
        ["U64"] = (8, null),
        ["F8_E8M0"] = (1, null),
    };

    public static bool TryGet(string name, out int size, out DType? dtype)
    {
        if (Known.TryGetValue(name, out var v))
        {
            size = v.Size;
            dtype = v.DType;
            return true;
        }
        size = 0;
        dtype = null;
        return false;
    }

    public static string NameOf(DType dtype) =>
        Known.First(kv => kv.Value.DType == dtype).Key;
}
