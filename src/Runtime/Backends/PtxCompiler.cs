using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime;

/// <summary>
/// Compiles an op's ILGPU kernel to PTX without a GPU (ILGPU's PTX backend needs no driver):
/// for <c>zoe ptx</c> and for CI, which assembles the result with ptxas. Kernels whose first
/// parameter is an index (Index1D...) are implicitly grouped; the others explicitly grouped.
/// </summary>
/// <remarks>
/// ILGPU 1.5.3 writes <c>.target sm_80</c> in the PTX header for any newer architecture (it emits
/// no sm_89/sm_90-only instructions of its own); the driver JIT-compiles that PTX for the actual
/// GPU, and ptxas assembles it for sm_80, sm_89 and sm_90 alike.
/// </remarks>
public static partial class PtxCompiler
{
    private static readonly Lazy<Context> SharedContext = new(
        () => Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O2)),
        LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The PTX of <paramref name="kernel"/> for <paramref name="arch"/> (sm_80...) and PTX ISA <paramref name="isa"/> (7.8...).</summary>
    /// <exception cref="ArgumentException">The architecture or ISA is malformed.</exception>
    public static string Compile(KernelEntry kernel, string arch = "sm_90", string isa = "7.8")
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var architecture = ParseArch(arch);
        var instructionSet = ParseIsa(isa);
        var backend = new PTXBackend(SharedContext.Value, new CudaCapabilityContext(architecture), architecture, instructionSet, null);
        var method = kernel.Method;
        var first = method.GetParameters().FirstOrDefault()?.ParameterType;
        bool implicitlyGrouped = first is not null && (first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D) ||
            first == typeof(LongIndex1D) || first == typeof(LongIndex2D) || first == typeof(LongIndex3D));
        var entry = implicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, default(ILGPU.Runtime.KernelSpecialization));
        return compiled.PTXAssembly;
    }

    /// <summary>Parses sm_XY (or XY, or X.Y) into an ILGPU architecture.</summary>
    public static CudaArchitecture ParseArch(string arch)
    {
        var m = ArchPattern().Match(arch.Trim());
        if (!m.Success)
        {
            throw new ArgumentException($"architecture '{arch}' is not of the form sm_90", nameof(arch));
        }
        string digits = m.Groups["d"].Value;
        return new CudaArchitecture(int.Parse(digits[..^1], System.Globalization.CultureInfo.InvariantCulture), digits[^1] - '0');
    }

    /// <summary>Parses a PTX ISA version such as 7.8.</summary>
    public static CudaInstructionSet ParseIsa(string isa)
    {
        var parts = isa.Trim().Split('.');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int major) || !int.TryParse(parts[1], out int minor))
        {
            throw new ArgumentException($"PTX ISA '{isa}' is not of the form 7.8", nameof(isa));
        }
        return new CudaInstructionSet(major, minor);
    }

    [GeneratedRegex(@"^(?:sm_?|compute_)?(?<d>\d{2,3})a?$", RegexOptions.IgnoreCase)]
    private static partial Regex ArchPattern();
}
