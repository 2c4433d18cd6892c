namespace Zoetrope.Runtime.IO;

/// <summary>One tensor listed in a safetensors header.</summary>
/// <param name="Name">Its key.</param>
/// <param name="DTypeName">The dtype as the file names it (F32, BF16, I64...).</param>
/// <param name="DType">The matching dtype, or null when Zoetrope holds no such tensors (I64, BOOL...).</param>
/// <param name="Shape">Its shape.</param>
/// <param name="FileOffset">Absolute byte offset of its data in the file.</param>
/// <param name="ByteLength">Bytes of data.</param>
public sealed record SafeTensorsEntry(string Name, string DTypeName, DType? DType, Shape Shape, long FileOffset, long ByteLength);
