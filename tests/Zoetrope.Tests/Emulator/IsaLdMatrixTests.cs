// ldmatrix (Isa/LdMatrix.cs): shared memory whose 16-bit elements encode (matrix, row, col), with
// rows scattered at non-contiguous 16-byte-aligned addresses, checked lane by lane against the ISA's
// layout (lane l holds row l>>2, cols 2*(l%4) and 2*(l%4)+1, lower column in the low half; .trans
// holds (2*(l%4), l>>2) and (2*(l%4)+1, l>>2)) for .x1/.x2/.x4 with and without .trans; then
// ldmatrix composed with mma: .x4 of a row-major 16x16 tile is exactly the m16n8k16 A fragment.
// ISA section: "Warp-level matrix load instruction: ldmatrix" (and "Matrix Fragments for
// mma.m16n8k16 with floating point type" for the composition).
using NUnit.Framework;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaLdMatrixTests
{
    private static ushort Code(int matrix, int row, int col) => (ushort)(0x1000 * (matrix + 1) | (row << 4) | col);

    // Row r of matrix i lives at a scattered aligned address; memory is a word dictionary so a
    // stray or unaligned read fails loudly.
    private static ulong RowAddress(int matrix, int row) => 0x4000UL + (ulong)(matrix * 1024 + (7 - row) * 48);

    private static Dictionary<ulong, uint> Memory(int count)
    {
        var mem = new Dictionary<ulong, uint>();
        for (int i = 0; i < count; i++)
        {
            for (int r = 0; r < 8; r++)
            {
                for (int c = 0; c < 8; c += 2)
                {
                    mem[RowAddress(i, r) + (ulong)(2 * c)] = Code(i, r, c) | ((uint)Code(i, r, c + 1) << 16);
                }
            }
        }
        return mem;
    }

    private static ulong[] LaneAddresses(int count)
    {
        var lanes = new ulong[32];
        for (int l = 0; l < 32; l++)
        {
            // Lanes 8i..8i+7 give matrix i's rows; lanes beyond 8*count hold junk the load must not use.
            lanes[l] = l < 8 * count ? RowAddress(l / 8, l % 8) : 0xDEAD_BEEFUL;
        }
        return lanes;
    }

    [TestCase(1, false)]
    [TestCase(2, false)]
    [TestCase(4, false)]
    [TestCase(1, true)]
    [TestCase(2, true)]
    [TestCase(4, true)]
    public void EveryLaneGetsItsTwoElementsOfEveryMatrix(int count, bool trans)
    {
        Dictionary<ulong, uint> mem = Memory(count);
        var dst = new uint[count * 32];
        LdMatrix.Execute(count, trans, LaneAddresses(count), addr => mem[addr], dst);
        for (int i = 0; i < count; i++)
        {
            for (int l = 0; l < 32; l++)
            {
                int g = l >> 2, t = l % 4;
                uint expected = trans
                    ? Code(i, 2 * t, g) | ((uint)Code(i, 2 * t + 1, g) << 16)
                    : Code(i, g, 2 * t) | ((uint)Code(i, g, 2 * t + 1) << 16);
                Assert.That(dst[i * 32 + l], Is.EqualTo(expected), $"x{count} trans={trans} matrix {i} lane {l}");
            }
        }
    }

    [Test]
    public void SpotChecks()
    {
        Dictionary<ulong, uint> mem = Memory(4);
        var dst = new uint[4 * 32];
        LdMatrix.Execute(4, false, LaneAddresses(4), addr => mem[addr], dst);
        // Lane 6 = group 1, thread 2: row 1, columns 4 and 5 of matrix 0; matrix 3 in register 3.
        Assert.That(dst[6], Is.EqualTo(0x1015u << 16 | 0x1014u));
        Assert.That(dst[3 * 32 + 6], Is.EqualTo(0x4015u << 16 | 0x4014u));
        LdMatrix.Execute(4, true, LaneAddresses(4), addr => mem[addr], dst);
        // .trans, lane 6: rows 4 and 5 of column 1.
        Assert.That(dst[6], Is.EqualTo(0x1051u << 16 | 0x1041u));
    }

    [Test]
    public void ExposesRowAddressesAndFindsMisalignment()
    {
        ulong[] lanes = LaneAddresses(2);
        Assert.That(LdMatrix.RowAddresses(2, lanes).ToArray(), Is.EqualTo(lanes[..16]));
        Assert.That(LdMatrix.FirstMisalignedRow(2, lanes), Is.EqualTo(-1));
        lanes[11] += 8;
        Assert.That(LdMatrix.FirstMisalignedRow(2, lanes), Is.EqualTo(11));
        Assert.That(LdMatrix.FirstMisalignedRow(1, lanes), Is.EqualTo(-1));   // .x1 ignores lane 11
        Assert.Throws<ArgumentOutOfRangeException>(() => LdMatrix.FirstMisalignedRow(3, lanes));
    }

    [Test]
    public void X4OfARowMajorTileIsTheMmaAFragment()
    {
        // A 16x16 f16 tile, row-major at 0x8000, row stride 32 bytes. Lane l points at row l%16,
        // column 8*(l/16): matrices 0..3 are the (rows 0-7 | 8-15) x (cols 0-7 | 8-15) quarters in
        // the order top-left, bottom-left, top-right, bottom-right.
        var mem = new Dictionary<ulong, uint>();
        for (int r = 0; r < 16; r++)
        {
            for (int c = 0; c < 16; c += 2)
            {
                mem[0x8000UL + (ulong)(r * 32 + c * 2)] = (uint)(r * 16 + c) | ((uint)(r * 16 + c + 1) << 16);
            }
        }
        var lanes = new ulong[32];
        for (int l = 0; l < 32; l++)
        {
            lanes[l] = 0x8000UL + (ulong)((l % 16) * 32 + (l / 16) * 16);
        }
        var frag = new uint[4 * 32];
        LdMatrix.Execute(4, false, lanes, addr => mem[addr], frag);
        for (int l = 0; l < 32; l++)
        {
            for (int i = 0; i < 8; i++)
            {
                // The ISA's A layout for m16n8k16: element i in register i/2, half i%2.
                int g = l >> 2, t = l % 4;
                int row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
                int col = t * 2 + (i & 1) + (i >= 4 ? 8 : 0);
                uint element = (frag[(i / 2) * 32 + l] >> (16 * (i % 2))) & 0xFFFF;
                Assert.That(element, Is.EqualTo((uint)(row * 16 + col)), $"lane {l} a{i}");
            }
        }
    }

    [Test]
    public void TransOfAKByNTileIsTheMmaBFragment()
    {
        // B (16x8, K x N) row-major at 0x9000, 16 bytes per row: .x2.trans with lanes 0-15 at rows
        // k = 0..15 gives b0,b1 (rows 2t, 2t+1 of column g) and b2,b3 (rows 2t+8, 2t+9).
        var mem = new Dictionary<ulong, uint>();
        for (int k = 0; k < 16; k++)
        {
            for (int n = 0; n < 8; n += 2)
            {
                mem[0x9000UL + (ulong)(k * 16 + n * 2)] = (uint)(k * 8 + n) | ((uint)(k * 8 + n + 1) << 16);
            }
        }
        var lanes = new ulong[32];
        for (int l = 0; l < 16; l++)
        {
            lanes[l] = 0x9000UL + (ulong)(l * 16);
        }
        var frag = new uint[2 * 32];
        LdMatrix.Execute(2, true, lanes, addr => mem[addr], frag);
        for (int l = 0; l < 32; l++)
        {
            for (int i = 0; i < 4; i++)
            {
                int g = l >> 2, t = l % 4;
                int k = t * 2 + (i & 1) + (i >= 2 ? 8 : 0);
                uint element = (frag[(i / 2) * 32 + l] >> (16 * (i % 2))) & 0xFFFF;
                Assert.That(element, Is.EqualTo((uint)(k * 8 + g)), $"lane {l} b{i}");
            }
        }
    }
}
