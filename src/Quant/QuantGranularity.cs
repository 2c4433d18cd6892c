namespace Zoetrope.Quant;

/// <summary>Which elements share one scale.</summary>
public enum QuantGranularity
{
    /// <summary>One scale per row: per token for activations [tokens, features], per output channel for weights [out, in].</summary>
    Row = 0,
    /// <summary>One scale for the whole tensor.</summary>
    Tensor = 1,
    /// <summary>One scale per BlockRows x BlockCols tile (TurboDiffusion's 128 x 128); edge tiles may be partial.</summary>
    Block = 2,
}
