// WanVaeConfig: the shape of Wan2.1's VAE decoder (wan/modules/vae.py's Decoder3d and the
// WanVAE_ wrapper's conv2), the published one and a few-channel one of the same structure. The
// layer stack, the checkpoint's decoder-side keys and the FLOP count are all derived here from
// the five numbers Decoder3d is built from, so nothing else hard-codes a channel count.
namespace Zoetrope.Engine.Decode;

/// <summary>Shape of a Wan2.1-style VAE decoder (Decoder3d plus the wrapper's 1x1x1 conv2).</summary>
/// <param name="Name">Preset name.</param>
/// <param name="BaseDim">Decoder3d's dim (96 published): the last stage's channels.</param>
/// <param name="ZDim">Latent channels (16).</param>
/// <param name="DimMult">Channel multipliers, encoder order ([1, 2, 4, 4]); the decoder walks them backwards.</param>
/// <param name="NumResBlocks">num_res_blocks (2): each upsampling stage has one more residual block than this.</param>
/// <param name="TemporalUpsample">Per stage but the last, whether its Resample doubles time too (decoder order: [true, true, false]).</param>
public sealed record WanVaeConfig(string Name, int BaseDim, int ZDim, IReadOnlyList<int> DimMult, int NumResBlocks, IReadOnlyList<bool> TemporalUpsample)
{
    /// <summary>Wan2.1's published VAE (Wan2.1_VAE.pth): dim 96, z 16, [1, 2, 4, 4], 2 res blocks, time doubled by the first two upsamples.</summary>
    public static WanVaeConfig Published { get; } = new("wan2.1-vae", 96, 16, [1, 2, 4, 4], 2, [true, true, false]);

    /// <summary>The same structure with base dim 8 (channels 32, 32, 32, 16, 8): the micro/tiny DiT's decoder for tests and CPU demos.</summary>
    public static WanVaeConfig Tiny { get; } = Published with { Name = "wan2.1-vae-tiny", BaseDim = 8 };

    /// <summary>
    /// The per-channel latent statistics of the published VAE (WanVAE in vae.py): the DiT's latents
    /// are normalised, and the decoder first undoes it, z * std + mean.
    /// </summary>
    public static IReadOnlyList<double> LatentMean { get; } =
    [
        -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
        0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
    ];

    /// <summary>The per-channel latent standard deviations (see <see cref="LatentMean"/>).</summary>
    public static IReadOnlyList<double> LatentStd { get; } =
    [
        2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
        3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
    ];

    /// <summary>The decoder for a DiT preset: <see cref="Tiny"/> for micro and tiny, <see cref="Published"/> otherwise.</summary>
    public static WanVaeConfig For(DiTConfig dit)
    {
        ArgumentNullException.ThrowIfNull(dit);
        return dit.Name is "micro" or "tiny" ? Tiny : Published;
    }

    /// <summary>Channels along the decoder: dims[0] after conv1, then one per stage (96 x [4, 4, 4, 2, 1] published).</summary>
    public IReadOnlyList<int> Dims => [BaseDim * DimMult[^1], .. DimMult.Reverse().Select(m => BaseDim * m)];

    /// <summary>Video pixels per latent pixel along each axis (2 per Resample).</summary>
    public int SpatialScale => 1 << (DimMult.Count - 1);

    /// <summary>Video frames per latent frame after the first (2 per temporal Resample).</summary>
    public int TemporalScale => 1 << TemporalUpsample.Count(t => t);

    /// <summary>Throws unless the numbers build a decoder.</summary>
    /// <exception cref="ArgumentException">The first violated rule, with the values.</exception>
    public void Validate()
    {
        if (BaseDim <= 0 || ZDim <= 0 || NumResBlocks < 0 || DimMult.Count < 2 || DimMult.Any(m => m <= 0))
        {
            throw new ArgumentException($"VAE '{Name}': dim {BaseDim}, z {ZDim}, res blocks {NumResBlocks} and at least two positive multipliers [{string.Join(", ", DimMult)}] are required");
        }
        if (TemporalUpsample.Count != DimMult.Count - 1)
        {
            throw new ArgumentException($"VAE '{Name}': {TemporalUpsample.Count} temporal-upsample flags for {DimMult.Count - 1} upsampling stages");
        }
        // Each Resample halves its channels, and the next stage's first block takes that half.
        if (Blocks.Any(b => b.InDim % 2 != 0 && b.Kind is WanVaeBlockKind.Upsample2d or WanVaeBlockKind.Upsample3d))
        {
            throw new ArgumentException($"VAE '{Name}': every upsampling stage needs an even channel count");
        }
    }

    /// <summary>
    /// The decoder's blocks after conv1, in order, as Decoder3d.__init__ builds them: middle =
    /// residual, attention, residual at dims[0]; then per stage i, NumResBlocks + 1 residual
    /// blocks (the first taking dims[i] / 2 for i &gt; 0, what the previous Resample left) and, but
    /// for the last stage, a Resample (3-D when <see cref="TemporalUpsample"/>[i]).
    /// </summary>
    internal IReadOnlyList<WanVaeBlockSpec> Blocks
    {
        get
        {
            var dims = Dims;
            var blocks = new List<WanVaeBlockSpec>
            {
                new("decoder.middle.0", WanVaeBlockKind.Residual, dims[0], dims[0], 1, 1),
                new("decoder.middle.1", WanVaeBlockKind.Attention, dims[0], dims[0], 1, 1),
                new("decoder.middle.2", WanVaeBlockKind.Residual, dims[0], dims[0], 1, 1),
            };
            int index = 0, scale = 1, time = 1;
            for (int i = 0; i < dims.Count - 1; i++)
            {
                int inDim = i > 0 ? dims[i] / 2 : dims[i], outDim = dims[i + 1];
                for (int r = 0; r <= NumResBlocks; r++)
                {
                    blocks.Add(new($"decoder.upsamples.{index++}", WanVaeBlockKind.Residual, inDim, outDim, scale, time));
                    inDim = outDim;
                }
                if (i != dims.Count - 2)
                {
                    bool temporal = TemporalUpsample[i];
                    blocks.Add(new($"decoder.upsamples.{index++}", temporal ? WanVaeBlockKind.Upsample3d : WanVaeBlockKind.Upsample2d, outDim, outDim / 2, scale, time));
                    scale *= 2;
                    time *= temporal ? 2 : 1;
                }
            }
            return blocks;
        }
    }

    /// <summary>Channels entering the head (the last stage's).</summary>
    internal int HeadDim => Dims[^1];

    /// <summary>
    /// Every decoder-side checkpoint key with its PyTorch shape (Conv3d [Cout, Cin, Kt, Kh, Kw],
    /// Conv2d [Cout, Cin, Kh, Kw], RMS_norm gamma [C, 1, 1, 1], or [C, 1, 1] for the attention's
    /// image norm): conv2.*, decoder.*. The encoder's keys and the wrapper's conv1 are not the decoder's.
    /// </summary>
    public IReadOnlyList<(string Name, Shape Shape)> ExpectedKeys()
    {
        Validate();
        var keys = new List<(string, Shape)>();
        void Conv(string prefix, int cout, int cin, params int[] kernel)
        {
            keys.Add(($"{prefix}.weight", new Shape([cout, cin, .. kernel.Select(k => (long)k)])));
            keys.Add(($"{prefix}.bias", new Shape(cout)));
        }
        Conv("conv2", ZDim, ZDim, 1, 1, 1);
        Conv("decoder.conv1", Dims[0], ZDim, 3, 3, 3);
        foreach (var b in Blocks)
        {
            switch (b.Kind)
            {
                case WanVaeBlockKind.Residual:
                    keys.Add(($"{b.Prefix}.residual.0.gamma", new Shape(b.InDim, 1, 1, 1)));
                    Conv($"{b.Prefix}.residual.2", b.OutDim, b.InDim, 3, 3, 3);
                    keys.Add(($"{b.Prefix}.residual.3.gamma", new Shape(b.OutDim, 1, 1, 1)));
                    Conv($"{b.Prefix}.residual.6", b.OutDim, b.OutDim, 3, 3, 3);
                    if (b.InDim != b.OutDim)
                    {
                        Conv($"{b.Prefix}.shortcut", b.OutDim, b.InDim, 1, 1, 1);
                    }
                    break;
                case WanVaeBlockKind.Attention:
                    keys.Add(($"{b.Prefix}.norm.gamma", new Shape(b.InDim, 1, 1)));
                    Conv($"{b.Prefix}.to_qkv", 3 * b.InDim, b.InDim, 1, 1);
                    Conv($"{b.Prefix}.proj", b.InDim, b.InDim, 1, 1);
                    break;
                default:
                    Conv($"{b.Prefix}.resample.1", b.OutDim, b.InDim, 3, 3);
                    if (b.Kind == WanVaeBlockKind.Upsample3d)
                    {
                        Conv($"{b.Prefix}.time_conv", 2 * b.InDim, b.InDim, 3, 1, 1);
                    }
                    break;
            }
        }
        keys.Add(("decoder.head.0.gamma", new Shape(HeadDim, 1, 1, 1)));
        Conv("decoder.head.2", 3, HeadDim, 3, 3, 3);
        return keys;
    }

    /// <summary>
    /// Floating-point operations to decode one latent frame after the first (which makes
    /// <see cref="TemporalScale"/> video frames) at <paramref name="latentHeight"/> x
    /// <paramref name="latentWidth"/>: every convolution as 2 * M * N * K (M output pixels, N
    /// output channels, K = taps x input channels; time_conv's M counts its input frames, its N
    /// both time-shuffled halves), the attention's q/k/v and output projections the same way, and
    /// its QK^T and PV as 2 * (HW)^2 * C each. Norms, SiLU and the clamp are left out (a few ops
    /// per element, under 1% of the total).
    /// </summary>
    public double DecodeFlopsPerLatentFrame(int latentHeight, int latentWidth)
    {
        Validate();
        double pixels = (double)latentHeight * latentWidth;
        static double Conv(double frames, double pixels, int cout, int taps, int cin) => 2.0 * frames * pixels * cout * taps * cin;
        double flops = Conv(1, pixels, ZDim, 1, ZDim) + Conv(1, pixels, Dims[0], 27, ZDim);
        foreach (var b in Blocks)
        {
            double px = pixels * b.Scale * b.Scale;
            switch (b.Kind)
            {
                case WanVaeBlockKind.Residual:
                    flops += Conv(b.Time, px, b.OutDim, 27, b.InDim) + Conv(b.Time, px, b.OutDim, 27, b.OutDim);
                    flops += b.InDim != b.OutDim ? Conv(b.Time, px, b.OutDim, 1, b.InDim) : 0;
                    break;
                case WanVaeBlockKind.Attention:
                    flops += Conv(b.Time, px, 4 * b.InDim, 1, b.InDim) + (b.Time * 2 * 2.0 * px * px * b.InDim);
                    break;
                default:
                    int framesOut = b.Time;
                    if (b.Kind == WanVaeBlockKind.Upsample3d)
                    {
                        flops += Conv(b.Time, px, 2 * b.InDim, 3, b.InDim);
                        framesOut *= 2;
                    }
                    flops += Conv(framesOut, px * 4, b.OutDim, 9, b.InDim);
                    break;
            }
        }
        double video = pixels * SpatialScale * SpatialScale;
        return flops + Conv(TemporalScale, video, 3, 27, HeadDim);
    }

    /// <summary>
    /// Floating-point operations per video frame of <paramref name="videoHeight"/> x
    /// <paramref name="videoWidth"/> in a steady stream: <see cref="DecodeFlopsPerLatentFrame"/>
    /// at the latent size over <see cref="TemporalScale"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The size is not a multiple of <see cref="SpatialScale"/>.</exception>
    public double DecodeFlopsPerVideoFrame(int videoHeight, int videoWidth)
    {
        if (videoHeight <= 0 || videoWidth <= 0 || videoHeight % SpatialScale != 0 || videoWidth % SpatialScale != 0)
        {
            throw new ArgumentException($"VAE '{Name}': video {videoHeight}x{videoWidth} must be positive multiples of {SpatialScale}");
        }
        return DecodeFlopsPerLatentFrame(videoHeight / SpatialScale, videoWidth / SpatialScale) / TemporalScale;
    }
}
