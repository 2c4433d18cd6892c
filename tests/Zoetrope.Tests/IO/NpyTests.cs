using System.Buffers.Binary;
using System.Text;
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.IO;

/// <summary>.npy: round trips, the exact header NumPy writes, older/newer headers, orders and errors.</summary>
public class NpyTests
{
    private static byte[] Image(Tensor t)
    {
        using var ms = new MemoryStream();
        Npy.Write(ms, t);
        return ms.ToArray();
    }

    private static Tensor ReadImage(byte[] bytes) => Npy.Read(new MemoryStream(bytes), "test.npy");

    // Hand-made image: any version, any dict text, any data.
    private static byte[] Handmade(int major, string dict, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(dict + "\n");
        int prefix = major == 1 ? 10 : 12;
        var b = new byte[prefix + h.Length + data.Length];
        b[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(b, 1);
        b[6] = (byte)major;
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), (ushort)h.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)h.Length);
        }
        h.CopyTo(b, prefix);
        data.CopyTo(b, prefix + h.Length);
        return b;
    }

    [TestCaseSource(typeof(DTypes), nameof(DTypes.All))]
    public void EveryDtypeRoundTrips(DType dtype)
    {
        var values = Enumerable.Range(0, 24).Select(i => (double)((i % 7) - 3)).ToArray();
        foreach (var shape in new[] { new Shape(), new Shape(24), new Shape(2, 3, 4) })
        {
            using var t = Tensor.FromDoubles(values.Take((int)shape.ElementCount).ToArray(), dtype, shape, "t");
            using var back = ReadImage(Image(t));
            Assert.That(back.DType, Is.EqualTo(dtype));
            Assert.That(back.Shape, Is.EqualTo(shape));
            Assert.That(back.ToBytes(), Is.EqualTo(t.ToBytes()), $"{dtype.Name()} {shape}");
        }
    }

    [Test]
    public void HeaderIsByteForByteWhatNumpyWrites()
    {
        using var t = Tensor.FromDoubles([0, 1, 2, 3, 4, 5], DType.F32, new Shape(2, 3), "t");
        var image = Image(t);
        // np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)): v1.0, header length 118 (0x76),
        // the dict, spaces up to byte 127, '\n'; data at byte 128.
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        var expected = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 118, 0 };
        expected.AddRange(Encoding.ASCII.GetBytes(dict));
        expected.AddRange(Enumerable.Repeat((byte)' ', 128 - 10 - dict.Length - 1));
        expected.Add((byte)'\n');
        Assert.That(image.Take(128), Is.EqualTo(expected));
        Assert.That(image.Length, Is.EqualTo(128 + 24));
        Assert.That(BitConverter.ToSingle(image, 128 + 20), Is.EqualTo(5f));
    }

    [Test]
    public void OneDimensionalAndScalarShapesUseTupleSyntax()
    {
        using var v = Tensor.FromDoubles([1, 2, 3], DType.I32, new Shape(3), "v");
        Assert.That(Encoding.ASCII.GetString(Image(v)), Does.Contain("'shape': (3,)").And.Contain("'descr': '<i4'"));
        using var s = Tensor.FromDoubles([7], DType.U8, new Shape(), "s");
        Assert.That(Encoding.ASCII.GetString(Image(s)), Does.Contain("'shape': ()").And.Contain("'descr': '|u1'"));
    }

    [Test]
    public void Version2And3HeadersAndOddDictLayoutsRead()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(data, 7);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), -9);
        using var v2 = ReadImage(Handmade(2, "{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}", data));
        Assert.That(v2.ToDoubles(), Is.EqualTo(new double[] { 7, -9 }));
        using var v3 = ReadImage(Handmade(3, "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2,),}", data));
        Assert.That(v3.ToDoubles(), Is.EqualTo(new double[] { 7, -9 }));
    }

    [Test]
    public void FortranOrderIsReadAsCOrder()
    {
        // A 2x3 array [[0,1,2],[3,4,5]] stored column-major: 0 3 1 4 2 5.
        var data = new byte[6];
        byte[] columnMajor = [0, 3, 1, 4, 2, 5];
        columnMajor.CopyTo(data, 0);
        using var t = ReadImage(Handmade(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", data));
        Assert.That(t.Shape, Is.EqualTo(new Shape(2, 3)));
        Assert.That(t.IsContiguous, Is.True);
        Assert.That(t.ToDoubles(), Is.EqualTo(new double[] { 0, 1, 2, 3, 4, 5 }));
    }

    [Test]
    public void BigEndianIsSwapped()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteSingleBigEndian(data, 1.5f);
        BinaryPrimitives.WriteSingleBigEndian(data.AsSpan(4), -2f);
        using var t = ReadImage(Handmade(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data));
        Assert.That(t.ToDoubles(), Is.EqualTo(new double[] { 1.5, -2 }));
    }

    [Test]
    public void Bf16AndFp8UseTheMlDtypesDescriptors()
    {
        using var b = Tensor.FromDoubles([1, -2.5], DType.BF16, new Shape(2), "b");
        var image = Image(b);
        Assert.That(Encoding.ASCII.GetString(image), Does.Contain("'descr': '<V2'"));
        byte[] bits = [0x80, 0x3F, 0x20, 0xC0];
        foreach (var descr in new[] { "<V2", "|V2", "bfloat16" })
        {
            using var t = ReadImage(Handmade(1, $"{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,), }}", bits));
            Assert.That(t.DType, Is.EqualTo(DType.BF16), descr);
            Assert.That(t.ToDoubles(), Is.EqualTo(new double[] { 1, -2.5 }), descr);
        }
        using var e4 = ReadImage(Handmade(1, "{'descr': '<V1', 'fortran_order': False, 'shape': (1,), }", [0x38]));
        Assert.That((e4.DType, e4.ToDoubles()[0]), Is.EqualTo((DType.F8E4M3, 1.0)));
        using var e5 = ReadImage(Handmade(1, "{'descr': '<f1', 'fortran_order': False, 'shape': (1,), }", [0x3C]));
        Assert.That((e5.DType, e5.ToDoubles()[0]), Is.EqualTo((DType.F8E5M2, 1.0)));
    }

    [Test]
    public void WritesToDiskAndReadsBack()
    {
        using var dir = new TempDirectory("zt-npy");
        string path = dir.File("t.npy");
        using var t = Tensor.FromDoubles([1, 2, 3, 4], DType.F16, new Shape(2, 2), "t");
        Npy.Write(path, t.Transpose(0, 1));
        using var back = Npy.Read(path);
        Assert.That(back.ToDoubles(), Is.EqualTo(new double[] { 1, 3, 2, 4 }));
    }

    [Test]
    public void MalformedFilesNameTheFileAndOffset()
    {
        var good = Image(Tensor.FromDoubles([1, 2, 3, 4], DType.F32, new Shape(4), "t"));
        var badMagic = (byte[])good.Clone();
        badMagic[1] = (byte)'X';
        Expect(badMagic, 0, "magic");
        var badVersion = (byte[])good.Clone();
        badVersion[6] = 9;
        Expect(badVersion, 6, "version 9");
        Expect(good[..(good.Length - 3)], 141, "truncated");
        Expect(Handmade(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]), 10, "'<c8'");
        Expect(Handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", []), 10, "shape entry 0");
        Expect(Handmade(1, "{'descr': '<f4', 'fortran_order': False }", []), 10, "'shape'");
        Expect(Handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", []), -1, "expected ','");
        Expect(Handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", []), 10, "64 bits");
    }

    private static void Expect(byte[] image, long offset, string fragment)
    {
        var e = Assert.Throws<ZoetropeFormatException>(() => ReadImage(image))!;
        Assert.That(e.File, Is.EqualTo("test.npy"));
        Assert.That(e.Message, Does.Contain(fragment));
        if (offset >= 0)
        {
            Assert.That(e.Offset, Is.EqualTo(offset), e.Message);
        }
    }
}
