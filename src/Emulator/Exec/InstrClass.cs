namespace Zoetrope.Emulator.Exec;

/// <summary>The classes warp instructions are counted in.</summary>
internal enum InstrClass
{
    /// <summary>Integer and logic arithmetic, moves, selects, compares.</summary>
    Integer,
    /// <summary>FP32/FP64 arithmetic.</summary>
    Float,
    /// <summary>Packed f16x2/bf16x2 arithmetic.</summary>
    Half,
    /// <summary>Special functions (ex2, lg2, rcp, rsqrt, sqrt, tanh, sin, cos).</summary>
    Special,
    /// <summary>Conversions (cvt).</summary>
    Convert,
    /// <summary>Tensor-core mma.sync.</summary>
    Tensor,
    /// <summary>Global loads, stores, atomics.</summary>
    Global,
    /// <summary>Shared loads, stores, atomics, ldmatrix, cp.async.</summary>
    Shared,
    /// <summary>Local and parameter memory.</summary>
    Local,
    /// <summary>Shuffles, votes, warp reductions.</summary>
    Warp,
    /// <summary>Branches, barriers, exits.</summary>
    Control,
    /// <summary>The number of classes.</summary>
    Count,
}
