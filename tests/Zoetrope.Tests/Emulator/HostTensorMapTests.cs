// cuTensorMapEncodeTiled in the emulated driver, reached as the driver exports it and through the
// emulated runtime's cudaGetDriverEntryPoint lookup (the function pointer C++ kernels get without
// linking libcuda): valid arguments encode a map the TMA decodes to the same tensor; invalid ones
// give CUDA_ERROR_INVALID_VALUE (1) as the real driver's validation does.
using NUnit.Framework;
using Zoetrope.Emulator.Host;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public unsafe class HostTensorMapTests
{
    private static int Encode(nint fn, byte[] map, int dtype, uint rank, ulong address, ulong[] dims, ulong[] strides, uint[] box, uint[] estrides, int swizzle, int l2 = 2)
    {
        var encode = (delegate* unmanaged<byte*, int, uint, ulong, ulong*, ulong*, uint*, uint*, int, int, int, int, int>)fn;
        fixed (byte* m = map)
        fixed (ulong* d = dims)
        fixed (ulong* s = strides)
        fixed (uint* b = box)
        fixed (uint* e = estrides)
        {
            return encode(m, dtype, rank, address, d, s, b, e, 0, swizzle, l2, 0);
        }
    }

    [Test]
    public void TheRuntimeEntryPointIsTheDriversEncoder()
    {
        nint fn = EmuRuntime.DriverEntryPoint("cuTensorMapEncodeTiled");
        Assert.That(fn, Is.EqualTo(EmuDriver.TensorMapEncoder));
        Assert.That(EmuRuntime.DriverEntryPoint("cuMemAlloc"), Is.EqualTo(EmuDriver.Entries.Single(e => e.Name == "cuMemAlloc_v2").Function));
        Assert.That(EmuRuntime.DriverEntryPoint("cuNoSuchFunction"), Is.EqualTo(nint.Zero));

        var map = new byte[128];
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [4096, 512], [8192], [64, 128], [1, 1], 3), Is.EqualTo(CudaCodes.Success));
        var m = TensorMap.Decode(map, out string? why)!;
        Assert.That(why, Is.Null);
        Assert.That((m.DataType, m.Rank, m.GlobalAddress, m.Dims[0], m.Dims[1], m.Strides[0], m.Strides[1], m.Box[0], m.Box[1], m.Swizzle, m.L2Promotion),
            Is.EqualTo((9, 2, 0x10000UL, 4096UL, 512UL, 2UL, 8192UL, 64, 128, SwizzleMode.B128, 2)));
        Assert.That(m.BoxBytes, Is.EqualTo(64 * 128 * 2));
    }

    [Test]
    public void InvalidArgumentsAreInvalidValue()
    {
        nint fn = EmuDriver.TensorMapEncoder;
        var map = new byte[128];
        Assert.That(Encode(fn, map, 9, 0, 0x10000, [1], [], [1], [1], 0), Is.EqualTo(CudaCodes.InvalidValue), "rank 0");
        Assert.That(Encode(fn, map, 9, 2, 0x10008, [64, 8], [128], [64, 8], [1, 1], 0), Is.EqualTo(CudaCodes.InvalidValue), "global address not 16-byte aligned");
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [64, 8], [136], [64, 8], [1, 1], 0), Is.EqualTo(CudaCodes.InvalidValue), "stride not a multiple of 16");
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [64, 8], [1UL << 40], [64, 8], [1, 1], 0), Is.EqualTo(CudaCodes.InvalidValue), "stride 2^40");
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [512, 8], [1024], [257, 8], [1, 1], 0), Is.EqualTo(CudaCodes.InvalidValue), "box 257");
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [64, 8], [128], [4, 8], [1, 1], 0), Is.EqualTo(CudaCodes.InvalidValue), "inner box of 8 bytes");
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [128, 8], [256], [128, 8], [1, 1], 3), Is.EqualTo(CudaCodes.InvalidValue), "256-byte inner box with 128B swizzle");
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [64, 8], [128], [64, 8], [1, 0], 0), Is.EqualTo(CudaCodes.InvalidValue), "element stride 0");
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [64, 8], [128], [64, 8], [1, 1], 0, l2: 4), Is.EqualTo(CudaCodes.InvalidValue), "L2 promotion 4 (the enum ends at 3, L2_256B)");
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [64, 8], [128], [64, 8], [1, 1], 0, l2: 3), Is.EqualTo(CudaCodes.Success));
        Assert.That(Encode(fn, map, 9, 2, 0x10000, [64, 8], [128], [64, 8], [1, 1], 0), Is.EqualTo(CudaCodes.Success));
    }
}
