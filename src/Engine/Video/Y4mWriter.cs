// Y4mWriter: YUV4MPEG2, the raw-video stream ffmpeg, mpv and VLC read, written as frames arrive:
// the header first (in the constructor, flushed, so a reader on a pipe starts at once), then
// "FRAME\n" and the Y, Cb, Cr planes per frame. Colour: BT.601 in limited ("TV") range,
// Y = 16 + 219 (0.299 R + 0.587 G + 0.114 B), Cb/Cr = 128 + 224 (B - Y')/1.772, (R - Y')/1.402
// on R, G, B in [0, 1]; the header says C420jpeg (4:2:0, chroma sited at the centre of each 2x2
// block, which is what averaging the block's four pixels computes) and XCOLORRANGE=LIMITED, and
// Y4M's matrix is BT.601 by convention (the format has no field for it; ffmpeg assumes it).
// 4:2:0 needs even sizes: an odd width or height is padded by one column or row that repeats the
// last one (no pixel is lost; EncodedWidth/EncodedHeight say what the file holds).
using System.Globalization;
using System.Text;
using Zoetrope.Engine.Decode;

namespace Zoetrope.Engine.Video;

/// <summary>Writes 8-bit RGB frames as a YUV4MPEG2 (.y4m) stream, BT.601 limited range, 4:2:0.</summary>
internal sealed class Y4mWriter : IDisposable
{
    private static readonly byte[] FrameMarker = "FRAME\n"u8.ToArray();
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly byte[] _planes;

    /// <summary>Starts a stream of <paramref name="width"/> x <paramref name="height"/> frames at <paramref name="fps"/> frames per second; writes the header now.</summary>
    /// <exception cref="ArgumentException">A size or rate that is not positive.</exception>
    public Y4mWriter(Stream output, int width, int height, int fps = VideoSinkOptions.WanFps, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (width <= 0 || height <= 0 || fps <= 0)
        {
            throw new ArgumentException($"y4m: {width}x{height} at {fps} fps: width, height and frame rate must be positive");
        }
        _output = output;
        _leaveOpen = leaveOpen;
        Width = width;
        Height = height;
        Fps = fps;
        EncodedWidth = width + (width & 1);
        EncodedHeight = height + (height & 1);
        _planes = new byte[(EncodedWidth * EncodedHeight) + (2 * (EncodedWidth / 2) * (EncodedHeight / 2))];
        _output.Write(Encoding.ASCII.GetBytes(Header(EncodedWidth, EncodedHeight, fps)));
        _output.Flush();
    }

    /// <summary>Columns of the frames given.</summary>
    public int Width { get; }

    /// <summary>Rows of the frames given.</summary>
    public int Height { get; }

    /// <summary>Columns in the file: <see cref="Width"/> rounded up to even (4:2:0).</summary>
    public int EncodedWidth { get; }

    /// <summary>Rows in the file: <see cref="Height"/> rounded up to even (4:2:0).</summary>
    public int EncodedHeight { get; }

    /// <summary>Frames per second in the header.</summary>
    public int Fps { get; }

    /// <summary>Frames written.</summary>
    public long Frames { get; private set; }

    /// <summary>The stream header for frames of the given (even) size.</summary>
    public static string Header(int width, int height, int fps) =>
        string.Create(CultureInfo.InvariantCulture, $"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg XCOLORRANGE=LIMITED\n");

    /// <summary>Appends one frame, <paramref name="rgb"/> [Height, Width, 3] bytes.</summary>
    /// <exception cref="ArgumentException">The buffer is not Height x Width x 3 bytes.</exception>
    public void WriteFrame(ReadOnlySpan<byte> rgb)
    {
        if (rgb.Length != Width * Height * 3)
        {
            throw new ArgumentException($"y4m: a {Width}x{Height} RGB frame: expected {Width * Height * 3} bytes, got {rgb.Length}");
        }
        int w = EncodedWidth, h = EncodedHeight;
        var y = _planes.AsSpan(0, w * h);
        var cb = _planes.AsSpan(w * h, (w / 2) * (h / 2));
        var cr = _planes.AsSpan((w * h) + ((w / 2) * (h / 2)), (w / 2) * (h / 2));
        for (int row = 0; row < h; row++)
        {
            for (int col = 0; col < w; col++)
            {
                int p = Pixel(row, col);
                y[(row * w) + col] = Luma(rgb[p], rgb[p + 1], rgb[p + 2]);
            }
        }
        for (int row = 0; row < h / 2; row++)
        {
            for (int col = 0; col < w / 2; col++)
            {
                double r = 0, g = 0, b = 0;
                for (int k = 0; k < 4; k++)
                {
                    int p = Pixel((2 * row) + (k >> 1), (2 * col) + (k & 1));
                    r += rgb[p];
                    g += rgb[p + 1];
                    b += rgb[p + 2];
                }
                r /= 4 * 255.0;
                g /= 4 * 255.0;
                b /= 4 * 255.0;
                cb[(row * (w / 2)) + col] = Level(128 + (224 * ((-0.168736 * r) - (0.331264 * g) + (0.5 * b))));
                cr[(row * (w / 2)) + col] = Level(128 + (224 * ((0.5 * r) - (0.418688 * g) - (0.081312 * b))));
            }
        }
        _output.Write(FrameMarker);
        _output.Write(_planes);
        Frames++;
    }

    /// <summary>Appends every frame of <paramref name="frames"/> (f32 RGB in [0, 1], quantized by <see cref="VideoPixels"/>).</summary>
    /// <exception cref="ArgumentException">Frames of another size.</exception>
    public void Write(VideoFrames frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Width != Width || frames.Height != Height)
        {
            throw new ArgumentException($"y4m: frames of {frames.Width}x{frames.Height}; the stream is {Width}x{Height}");
        }
        for (int i = 0; i < frames.Count; i++)
        {
            WriteFrame(VideoPixels.Frame(frames, i));
        }
        _output.Flush();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _output.Dispose();
        }
    }

    // Byte offset of (row, col) in the given frame, the padding repeating the last row / column.
    private int Pixel(int row, int col) => ((Math.Min(row, Height - 1) * Width) + Math.Min(col, Width - 1)) * 3;

    private static byte Luma(byte r, byte g, byte b) => Level(16 + (219 * ((0.299 * r) + (0.587 * g) + (0.114 * b)) / 255.0));

    private static byte Level(double v) => (byte)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), 0, 255);
}
