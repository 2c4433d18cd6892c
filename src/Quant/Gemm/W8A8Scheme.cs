namespace Zoetrope.Quant.Gemm;

/// <summary>How an INT8 linear's operands were scaled.</summary>
public enum W8A8Scheme
{
    /// <summary>Activations per token [M], weights per output channel [N]: y = acc * sx[m] * sw[n] (TurboT2AV).</summary>
    PerTokenPerChannel = 0,
    /// <summary>128x128 tiles for both: int32 per 128-wide K tile, folded into fp32 with the two tiles' scales (TurboDiffusion).</summary>
    Block128 = 1,
}
