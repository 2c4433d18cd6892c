namespace Zoetrope.Quant.Conv;

/// <summary>The activation <see cref="Conv3d"/> applies after its bias and residual.</summary>
public enum ConvActivation
{
    /// <summary>None: y = acc + bias + residual.</summary>
    None,
    /// <summary>max(0, ·) (TAEHV's ReLU after its MemBlocks and convolutions).</summary>
    Relu,
    /// <summary>x·sigmoid(x).</summary>
    Silu,
}
