using System.Buffers.Binary;

namespace Zoetrope.Emulator.Isa;

/// <summary>
/// A TMA tensor map (CUtensorMap, 128 opaque bytes) as the emulated driver encodes it and the
/// emulated cp.async.bulk.tensor decodes it. The real encoding is undocumented; ours starts with
/// a magic word and a version so that a map the driver did not write (garbage, a zeroed buffer, a
/// map from another encoder) is reported instead of read as some tensor. Layout (little-endian):
/// <code>
///  0 u32 magic "ZTMP"   4 u16 version   6 u8 dtype (CUtensorMapDataType)   7 u8 rank (1..5)
///  8 u64 global address
/// 16 u64 global dims[5]                 56 u64 global strides in bytes[4] (dims 1..rank-1)
/// 88 u16 box dims[5]                    98 u8 element strides[5]
/// 103 u8 interleave   104 u8 swizzle   105 u8 L2 promotion   106 u8 OOB fill
/// </code>
/// </summary>
internal sealed record TensorMap
{
    public const uint Magic = 0x504D545A; // "ZTMP"
    public const ushort Version = 1;
    public const int Bytes = 128;

    public int DataType { get; init; }
    public int Rank { get; init; }
    public ulong GlobalAddress { get; init; }
    public ulong[] Dims { get; init; } = new ulong[5];
    /// <summary>Byte strides of dimensions 0..4; dimension 0's is the element size.</summary>
    public ulong[] Strides { get; init; } = new ulong[5];
    public int[] Box { get; init; } = new int[5];
    public int[] ElementStrides { get; init; } = new int[5];
    public int Interleave { get; init; }
    public SwizzleMode Swizzle { get; init; }
    public int L2Promotion { get; init; }
    public int OobFill { get; init; }

    public int ElementSize => ElementBytes(DataType);

    /// <summary>Elements the box holds along dimension <paramref name="d"/> (the traversal stride skips elements).</summary>
    public int BoxElems(int d) => (Box[d] + ElementStrides[d] - 1) / ElementStrides[d];

    /// <summary>The bytes one box occupies in shared memory (what complete_tx credits).</summary>
    public int BoxBytes
    {
        get
        {
            int n = ElementSize;
            for (int d = 0; d < Rank; d++)
            {
                n *= BoxElems(d);
            }
            return n;
        }
    }

    /// <summary>
    /// Fills an element the box holds outside the tensor: zeros, or with
    /// CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA the float type's canonical NaN (the
    /// encoder admits that fill for float types only).
    /// </summary>
    public void FillOutOfBounds(Span<byte> element)
    {
        element.Clear();
        if (OobFill != 1)
        {
            return;
        }
        switch (element.Length)
        {
            case 2:
                BinaryPrimitives.WriteUInt16LittleEndian(element, 0x7FFF);
                break;
            case 4:
                BinaryPrimitives.WriteUInt32LittleEndian(element, 0x7FFFFFFF);
                break;
            case 8:
                BinaryPrimitives.WriteUInt64LittleEndian(element, 0x7FFFFFFFFFFFFFFF);
                break;
        }
    }

    /// <summary>The size of a CUtensorMapDataType's element, or 0 for an unknown type.</summary>
    public static int ElementBytes(int dataType) => dataType switch
    {
        0 => 1,                        // UINT8
        1 or 6 or 9 => 2,              // UINT16, FLOAT16, BFLOAT16
        2 or 3 or 7 or 10 or 11 or 12 => 4, // UINT32, INT32, FLOAT32, FLOAT32_FTZ, TFLOAT32, TFLOAT32_FTZ
        4 or 5 or 8 => 8,              // UINT64, INT64, FLOAT64
        _ => 0,
    };

    public void Encode(Span<byte> map)
    {
        map[..Bytes].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(map, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(map[4..], Version);
        map[6] = (byte)DataType;
        map[7] = (byte)Rank;
        BinaryPrimitives.WriteUInt64LittleEndian(map[8..], GlobalAddress);
        for (int d = 0; d < 5; d++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(map[(16 + (8 * d))..], Dims[d]);
            if (d > 0)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(map[(56 + (8 * (d - 1)))..], Strides[d]);
            }
            BinaryPrimitives.WriteUInt16LittleEndian(map[(88 + (2 * d))..], (ushort)Box[d]);
            map[98 + d] = (byte)ElementStrides[d];
        }
        map[103] = (byte)Interleave;
        map[104] = (byte)Swizzle;
        map[105] = (byte)L2Promotion;
        map[106] = (byte)OobFill;
    }

    /// <summary>Decodes a map; null with the reason when the bytes are not one the emulated driver wrote.</summary>
    public static TensorMap? Decode(ReadOnlySpan<byte> map, out string? why)
    {
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(map);
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(map[4..]);
        if (magic != Magic || version != Version)
        {
            why = $"the 128 bytes are not a tensor map cuTensorMapEncodeTiled wrote (magic 0x{magic:x8}, version {version}; expected 0x{Magic:x8}, {Version})";
            return null;
        }
        int rank = map[7];
        int esize = ElementBytes(map[6]);
        if (rank is < 1 or > 5 || esize == 0 || map[104] > 3)
        {
            why = $"the tensor map is corrupt (rank {rank}, data type {map[6]}, swizzle {map[104]})";
            return null;
        }
        var m = new TensorMap
        {
            DataType = map[6],
            Rank = rank,
            GlobalAddress = BinaryPrimitives.ReadUInt64LittleEndian(map[8..]),
            Interleave = map[103],
            Swizzle = (SwizzleMode)map[104],
            L2Promotion = map[105],
            OobFill = map[106],
        };
        for (int d = 0; d < 5; d++)
        {
            m.Dims[d] = BinaryPrimitives.ReadUInt64LittleEndian(map[(16 + (8 * d))..]);
            m.Strides[d] = d == 0 ? (ulong)esize : BinaryPrimitives.ReadUInt64LittleEndian(map[(56 + (8 * (d - 1)))..]);
            m.Box[d] = BinaryPrimitives.ReadUInt16LittleEndian(map[(88 + (2 * d))..]);
            m.ElementStrides[d] = d == 0 && m.Interleave == 0 ? 1 : Math.Max((int)map[98 + d], 1);
        }
        why = null;
        return m;
    }

    /// <summary>
    /// cuTensorMapEncodeTiled's validation (CUDA driver API reference): returns the reason the
    /// arguments are invalid (CUDA_ERROR_INVALID_VALUE), or null with the map built.
    /// </summary>
    public static string? Validate(int dataType, int rank, ulong globalAddress, ReadOnlySpan<ulong> dims, ReadOnlySpan<ulong> strides,
        ReadOnlySpan<uint> box, ReadOnlySpan<uint> elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill, out TensorMap? map)
    {
        map = null;
        int esize = ElementBytes(dataType);
        if (esize == 0)
        {
            return $"tensorDataType {dataType} is not a CUtensorMapDataType";
        }
        if (rank is < 1 or > 5)
        {
            return $"tensorRank {rank}: it must be 1 to 5";
        }
        if (interleave != 0 && rank < 3)
        {
            return $"interleave {interleave} needs tensorRank >= 3";
        }
        if (globalAddress % (interleave == 2 ? 32UL : 16UL) != 0)
        {
            return $"globalAddress 0x{globalAddress:x} is not {(interleave == 2 ? 32 : 16)}-byte aligned";
        }
        if (interleave is < 0 or > 2 || swizzle is < 0 or > 3 || l2Promotion is < 0 or > 3 || oobFill is < 0 or > 1)
        {
            return $"interleave {interleave}, swizzle {swizzle}, l2Promotion {l2Promotion} or oobFill {oobFill} is out of its enum";
        }
        if (oobFill == 1 && dataType is 0 or 1 or 2 or 3 or 4 or 5)
        {
            return "CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA needs a floating-point data type";
        }
        var m = new TensorMap
        {
            DataType = dataType, Rank = rank, GlobalAddress = globalAddress, Interleave = interleave,
            Swizzle = (SwizzleMode)swizzle, L2Promotion = l2Promotion, OobFill = oobFill,
        };
        for (int d = 0; d < rank; d++)
        {
            if (dims[d] is 0 or > (1UL << 32))
            {
                return $"globalDim[{d}] = {dims[d]}: it must be 1 to 2^32";
            }
            if (box[d] is 0 or > 256)
            {
                return $"boxDim[{d}] = {box[d]}: it must be 1 to 256";
            }
            if (elementStrides[d] is 0 or > 8)
            {
                return $"elementStrides[{d}] = {elementStrides[d]}: it must be 1 to 8";
            }
            m.Dims[d] = dims[d];
            m.Box[d] = (int)box[d];
            // cuTensorMapEncodeTiled: without interleave the first element stride is ignored, as
            // the TMA has no stride for dimension 0 (the box's rows are read whole).
            m.ElementStrides[d] = d == 0 && interleave == 0 ? 1 : (int)elementStrides[d];
            m.Strides[d] = d == 0 ? (ulong)esize : strides[d - 1];
        }
        for (int d = 1; d < rank; d++)
        {
            ulong s = strides[d - 1];
            if (s % 16 != 0 || s >= (1UL << 40))
            {
                return $"globalStrides[{d - 1}] = {s}: it must be a multiple of 16 and below 2^40";
            }
            if (interleave == 2 && s % 32 != 0)
            {
                return $"globalStrides[{d - 1}] = {s}: it must be a multiple of 32 with 32-byte interleave";
            }
        }
        int innerBytes = (int)box[0] * esize;
        if (interleave == 0 && innerBytes % 16 != 0)
        {
            return $"boxDim[0] * element size = {innerBytes} bytes: it must be a multiple of 16";
        }
        if (interleave == 0 && swizzle != 0 && innerBytes > Isa.Swizzle.Span((SwizzleMode)swizzle))
        {
            return $"boxDim[0] * element size = {innerBytes} bytes exceeds the {Isa.Swizzle.Span((SwizzleMode)swizzle)}-byte swizzle span";
        }
        map = m;
        return null;
    }
}
