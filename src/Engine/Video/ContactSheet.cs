// ContactSheet: one picture of a whole stream, the first video frame of every block in a grid
// (row-major, ceil(sqrt(n)) columns, 2-pixel dark gaps), each tile labelled with its block number
// in a small built-in digit font (white on black, top left). Memory stays bounded on unbounded
// streams: at most MaxTiles tiles are kept; when full, every other one is dropped and only every
// 2^k-th block is kept from then on, so the sheet always spans the stream evenly (the labels say
// which blocks they are).
using Zoetrope.Engine.Decode;

namespace Zoetrope.Engine.Video;

/// <summary>Collects each block's first frame and writes them as one PNG grid.</summary>
internal sealed class ContactSheet
{
    /// <summary>Tiles kept at most.</summary>
    public const int MaxTiles = 64;

    private const int Gap = 2;
    private const byte GapLevel = 24;

    // 3x5 digits, one row per 3 bits (MSB left), rows top to bottom.
    private static readonly ushort[] Digits =
    [
        0b111_101_101_101_111, 0b010_110_010_010_111, 0b111_001_111_100_111, 0b111_001_111_001_111, 0b101_101_111_001_001,
        0b111_100_111_001_111, 0b111_100_111_101_111, 0b111_001_010_010_010, 0b111_101_111_101_111, 0b111_101_111_001_111,
    ];

    private readonly List<(int Block, byte[] Rgb)> _tiles = [];
    private int _stride = 1;

    /// <summary>Tile width (0 before the first frame).</summary>
    public int Width { get; private set; }

    /// <summary>Tile height (0 before the first frame).</summary>
    public int Height { get; private set; }

    /// <summary>The blocks on the sheet, in order.</summary>
    public IReadOnlyList<int> Blocks => _tiles.Select(t => t.Block).ToArray();

    /// <summary>Offers block <paramref name="block"/>'s frames; its first frame becomes a tile (unless thinned out, see the class remarks).</summary>
    /// <exception cref="ArgumentException">Frames of another size than the first block's.</exception>
    public void Add(int block, VideoFrames frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0)
        {
            return;
        }
        if (_tiles.Count == 0 && Width == 0)
        {
            Width = frames.Width;
            Height = frames.Height;
        }
        else if (frames.Width != Width || frames.Height != Height)
        {
            throw new ArgumentException($"contact sheet: block {block} has {frames.Width}x{frames.Height} frames; the sheet's are {Width}x{Height}");
        }
        if (block % _stride != 0)
        {
            return;
        }
        if (_tiles.Count == MaxTiles)
        {
            _stride *= 2;
            _tiles.RemoveAll(t => t.Block % _stride != 0);
            if (block % _stride != 0)
            {
                return;
            }
        }
        _tiles.Add((block, VideoPixels.Frame(frames, 0)));
    }

    /// <summary>The sheet as RGB bytes and its size; null before any frame.</summary>
    public (byte[] Rgb, int Width, int Height)? Render()
    {
        if (_tiles.Count == 0)
        {
            return null;
        }
        int columns = (int)Math.Ceiling(Math.Sqrt(_tiles.Count));
        int rows = (_tiles.Count + columns - 1) / columns;
        int width = (columns * Width) + ((columns + 1) * Gap);
        int height = (rows * Height) + ((rows + 1) * Gap);
        var sheet = new byte[width * height * 3];
        Array.Fill(sheet, GapLevel);
        int scale = Math.Clamp(Width / 32, 1, 4);
        for (int i = 0; i < _tiles.Count; i++)
        {
            int x0 = Gap + ((i % columns) * (Width + Gap));
            int y0 = Gap + ((i / columns) * (Height + Gap));
            var (block, rgb) = _tiles[i];
            for (int y = 0; y < Height; y++)
            {
                rgb.AsSpan(y * Width * 3, Width * 3).CopyTo(sheet.AsSpan((((y0 + y) * width) + x0) * 3));
            }
            Label(sheet, width, x0, y0, block, scale);
        }
        return (sheet, width, height);
    }

    /// <summary>Writes the sheet as a PNG; false (nothing written) when no frame came.</summary>
    public bool Write(string path)
    {
        if (Render() is not var (rgb, width, height))
        {
            return false;
        }
        PngEncoder.Write(path, rgb, width, height);
        return true;
    }

    // The block number, digits of 3x5 cells of scale x scale pixels, on a black box that fits in the tile.
    private void Label(byte[] sheet, int sheetWidth, int x0, int y0, int block, int scale)
    {
        string text = block.ToString(System.Globalization.CultureInfo.InvariantCulture);
        int boxWidth = Math.Min(Width, ((text.Length * 4) + 1) * scale);
        int boxHeight = Math.Min(Height, 7 * scale);
        for (int y = 0; y < boxHeight; y++)
        {
            for (int x = 0; x < boxWidth; x++)
            {
                int cx = (x / scale) - 1, cy = (y / scale) - 1;
                bool on = false;
                if (cy is >= 0 and < 5 && cx >= 0 && cx % 4 < 3 && cx / 4 < text.Length)
                {
                    int glyph = Digits[text[cx / 4] - '0'];
                    on = ((glyph >> (14 - ((cy * 3) + (cx % 4)))) & 1) != 0;
                }
                sheet.AsSpan((((y0 + y) * sheetWidth) + x0 + x) * 3, 3).Fill(on ? (byte)255 : (byte)0);
            }
        }
    }
}
