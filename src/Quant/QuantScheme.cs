using Zoetrope.Runtime;

namespace Zoetrope.Quant;

/// <summary>
/// A symmetric quantization scheme: which elements share a scale, the stored format, and the
/// scale rule scale = max(amax / QMax, Floor). Elements become clamp(round_half_even(x / scale),
/// -127, 127) for INT8 (QMax 128 lets the block max saturate to 127, TurboDiffusion's choice) and
/// E4M3(x / scale), round to nearest even, saturating at 448, for FP8.
/// </summary>
/// <param name="Granularity">Row, tensor or block.</param>
/// <param name="Format">I8 or F8E4M3.</param>
/// <param name="QMax">The amax divisor: 127 (INT8), 128 (TurboDiffusion INT8 blocks), 448 (E4M3).</param>
/// <param name="Floor">The smallest scale (so an all-zero region quantizes to zeros).</param>
/// <param name="BlockRows">Tile rows for <see cref="QuantGranularity.Block"/>.</param>
/// <param name="BlockCols">Tile columns for <see cref="QuantGranularity.Block"/>.</param>
public readonly record struct QuantScheme(QuantGranularity Granularity, DType Format, float QMax, float Floor, int BlockRows = 128, int BlockCols = 128)
{
    /// <summary>Per-token INT8 activations: amax/127 per row, floor 1e-4 (TurboT2AV's W8A8).</summary>
    public static QuantScheme PerTokenInt8 { get; } = new(QuantGranularity.Row, DType.I8, 127f, 1e-4f);

    /// <summary>Per-output-channel INT8 weights [out, in]: amax/127 per row, floor 1e-8.</summary>
    public static QuantScheme PerChannelInt8 { get; } = new(QuantGranularity.Row, DType.I8, 127f, 1e-8f);

    /// <summary>TurboDiffusion's 128x128 block INT8: amax/128, floor 1e-8.</summary>
    public static QuantScheme Block128Int8 { get; } = new(QuantGranularity.Block, DType.I8, 128f, 1e-8f);

    /// <summary>FP8 E4M3 with one scale for the tensor: amax/448.</summary>
    public static QuantScheme PerTensorFp8 { get; } = new(QuantGranularity.Tensor, DType.F8E4M3, 448f, 1e-12f);

    /// <summary>FP8 E4M3 with one scale per row (token): amax/448.</summary>
    public static QuantScheme PerTokenFp8 { get; } = new(QuantGranularity.Row, DType.F8E4M3, 448f, 1e-12f);

    /// <summary>A short label.</summary>
    public string Label => Granularity switch
    {
        QuantGranularity.Block => FormattableString.Invariant($"{Format.Name()} block{BlockRows}x{BlockCols} /{QMax}"),
        _ => FormattableString.Invariant($"{Format.Name()} {Granularity.ToString().ToLowerInvariant()} /{QMax}"),
    };

    /// <summary>Shape of the scales for a [rows, cols] tensor.</summary>
    public Shape ScaleShape(long rows, long cols) => Granularity switch
    {
        QuantGranularity.Row => new(rows),
        QuantGranularity.Tensor => new(1),
        _ => new((rows + BlockRows - 1) / BlockRows, (cols + BlockCols - 1) / BlockCols),
    };

    /// <summary>Index of the scale of element (r, c).</summary>
    public long ScaleIndex(long r, long c, long cols) => Granularity switch
    {
        QuantGranularity.Row => r,
        QuantGranularity.Tensor => 0,
        _ => ((r / BlockRows) * ((cols + BlockCols - 1) / BlockCols)) + (c / BlockCols),
    };

    /// <summary>Throws unless the scheme is one the kernels implement.</summary>
    /// <exception cref="ArgumentException">Another format, a non-positive divisor, floor or tile.</exception>
    public void Validate()
    {
        if (Format is not (DType.I8 or DType.F8E4M3))
        {
            throw new ArgumentException($"quantization format {Format.Name()}: i8 or fp8_e4m3", nameof(Format));
        }
        if (!(QMax > 0) || !(Floor > 0) || BlockRows <= 0 || BlockCols <= 0)
        {
            throw new ArgumentException($"quantization scheme {Label}: divisor, floor and tile must be positive", nameof(QMax));
        }
    }
}
