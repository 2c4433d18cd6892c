namespace Zoetrope.Runtime.Ops;

/// <summary>What one run of an op does: floating-point (or integer) operations and bytes moved to and from memory.</summary>
/// <param name="Flops">Arithmetic operations (a multiply-add counts 2).</param>
/// <param name="Bytes">Minimum bytes read plus written.</param>
public readonly record struct OpCost(double Flops, double Bytes)
{
    /// <summary>The larger of the two: the size measure the harness's per-backend caps compare against.</summary>
    public double Work => Math.Max(Flops, Bytes);

    /// <summary>Achieved TFLOP/s for a run of <paramref name="milliseconds"/>.</summary>
    public double Tflops(double milliseconds) => milliseconds > 0 ? Flops / (milliseconds * 1e9) : 0;

    /// <summary>Achieved GB/s for a run of <paramref name="milliseconds"/>.</summary>
    public double GBps(double milliseconds) => milliseconds > 0 ? Bytes / (milliseconds * 1e6) : 0;
}
