namespace Zoetrope.Quant;

/// <summary>How a <see cref="QuantizedLinear"/> computes.</summary>
public enum LinearPath
{
    /// <summary>Unquantized, in the activations' dtype (bf16 in practice): the baseline and the fallback.</summary>
    Bf16 = 0,
    /// <summary>INT8 W8A8, activations per token, weights per output channel.</summary>
    Int8 = 1,
    /// <summary>INT8 W8A8 with 128x128 tile scales on both operands (TurboDiffusion).</summary>
    Int8Block128 = 2,
    /// <summary>FP8 E4M3, activations per token, weights per output channel.</summary>
    Fp8 = 3,
}
