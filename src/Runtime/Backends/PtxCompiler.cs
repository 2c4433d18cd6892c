using System.Globalization;
using System.Reflection;
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
/// <para>
/// What ILGPU can target is read from ILGPU itself, not kept by hand: its PTX backend writes
/// <c>.target</c> as <see cref="CudaCapabilityContext.TargetArchitecture"/>, the smaller of the
/// architecture asked for and the highest one its own capabilities need (sm_80 in ILGPU 1.5.3).
/// Asked for sm_89, sm_90 or sm_100 it writes <c>.target sm_80</c>: it emits no instruction newer
/// than sm_80, the driver JIT-compiles that PTX for a newer GPU, and ptxas assembles it with
/// <c>-arch=sm_89</c> or <c>sm_90</c>. So an architecture is accepted only where the header will
/// say exactly that architecture (<see cref="Architectures"/>); the rest are refused naming
/// <see cref="Cap"/>, never silently lowered.
/// </para>
/// <para>
/// The engine's kernels are written for sm_80 and up (the int8 GEMM and Sage attention issue
/// <c>mma.sync.m16n8k32</c> as inline PTX, which ptxas rejects below sm_80), so <see cref="Floor"/>
/// bounds the accepted architectures from below. Architecture-specific targets (<c>sm_90a</c>:
/// wgmma, setmaxnreg) have no <see cref="CudaArchitecture"/> in ILGPU and are refused.
/// </para>
/// </remarks>
internal static partial class PtxCompiler
{
    private static readonly Lazy<Context> SharedContext = new(
        () => Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O2)),
        LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The lowest architecture the engine's kernels are written for (inline <c>mma.sync.m16n8k32</c>).</summary>
    public static CudaArchitecture Floor => CudaArchitecture.SM_80;

    /// <summary>Every architecture ILGPU names (its <c>CudaArchitecture.SM_xx</c>), lowest first.</summary>
    public static IReadOnlyList<CudaArchitecture> KnownArchitectures { get; } =
        [.. typeof(CudaArchitecture).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(CudaArchitecture))
            .Select(f => (CudaArchitecture)f.GetValue(null)!)
            .Distinct()
            .Order()];

    /// <summary>
    /// The highest architecture ILGPU writes as <c>.target</c>: what it writes for the newest
    /// architecture it knows (sm_80 in ILGPU 1.5.3).
    /// </summary>
    public static CudaArchitecture Cap { get; } = KnownArchitectures.Select(EmittedTarget).Max();

    /// <summary>
    /// The architectures <c>zoe ptx</c> accepts: those ILGPU writes as <c>.target</c> unchanged,
    /// from <see cref="Floor"/> up (only sm_80 with ILGPU 1.5.3).
    /// </summary>
    public static IReadOnlyList<CudaArchitecture> Architectures { get; } =
        [.. KnownArchitectures.Where(a => a >= Floor && EmittedTarget(a) == a)];

    /// <summary>The PTX ISA versions ILGPU's code generator supports (its <c>SupportedInstructionSets</c>), lowest first.</summary>
    public static IReadOnlyList<CudaInstructionSet> KnownInstructionSets { get; } =
        [.. PTXCodeGenerator.SupportedInstructionSets.Order()];

    /// <summary>
    /// The PTX ISA versions that can carry <c>.target</c> <paramref name="arch"/>: a target first
    /// appears in the ISA of the CUDA release that introduced it (sm_80 in 7.0), so an older ISA
    /// cannot name it. ILGPU's tables give both the release of each ISA and of each architecture.
    /// </summary>
    public static IReadOnlyList<CudaInstructionSet> InstructionSetsFor(CudaArchitecture arch)
    {
        var introduced = CudaDriverVersionUtils.GetMinimumDriverVersion(arch);
        return [.. KnownInstructionSets.Where(i => CudaDriverVersionUtils.GetMinimumDriverVersion(i) >= introduced)];
    }

    /// <summary>The name a PTX header and ptxas use for <paramref name="arch"/>: <c>sm_80</c>.</summary>
    public static string Name(CudaArchitecture arch) => string.Create(CultureInfo.InvariantCulture, $"sm_{arch.Major}{arch.Minor}");

    /// <summary>The name a PTX header uses for <paramref name="isa"/>: <c>7.8</c>.</summary>
    public static string Name(CudaInstructionSet isa) => string.Create(CultureInfo.InvariantCulture, $"{isa.Major}.{isa.Minor}");

    /// <summary>
    /// Checks a request before any compile: <paramref name="arch"/> must be one ILGPU writes as
    /// asked (<see cref="Architectures"/>) and <paramref name="isa"/> one that can carry it.
    /// </summary>
    /// <param name="arch">sm_80, sm80 or 80.</param>
    /// <param name="isa">A PTX ISA version such as 7.8.</param>
    /// <param name="archOption">The option name used in messages.</param>
    /// <param name="isaOption">The option name used in messages.</param>
    /// <returns>The target the PTX header will name.</returns>
    /// <exception cref="ArgumentException">Either is malformed or cannot be emitted; the message names what is accepted.</exception>
    public static PtxTarget Resolve(string arch, string isa, string archOption = "--arch", string isaOption = "--isa")
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentNullException.ThrowIfNull(isa);
        string accepted = string.Join(", ", Architectures.Select(Name));
        var m = ArchPattern().Match(arch.Trim());
        if (!m.Success)
        {
            throw new ArgumentException($"{archOption} {arch}: not an architecture of the form sm_80; accepted: {accepted}");
        }
        var architecture = ToArchitecture(m.Groups["d"].Value);
        if (m.Groups["a"].Success)
        {
            // sm_90a etc. name instructions that run on that one architecture only; ILGPU has
            // no such target and emits none of those instructions.
            throw new ArgumentException(
                $"{archOption} {arch}: an arch-specific target (wgmma, setmaxnreg...), which ILGPU's PTX backend does not emit; " +
                $"it targets at most {Name(Cap)}; accepted: {accepted}");
        }
        if (!Architectures.Contains(architecture))
        {
            string why = architecture > Cap
                ? $"ILGPU {IlgpuVersion}'s PTX backend targets at most {Name(Cap)} (it would write .target {Name(EmittedTarget(architecture))}); " +
                  $"its {Name(Cap)} PTX runs on {Name(architecture)}, where the driver JIT-compiles it, and ptxas -arch={Name(architecture)} assembles it"
                : architecture < Floor
                    ? $"below {Name(Floor)}, the lowest architecture the engine's kernels are written for (inline mma.sync.m16n8k32)"
                    : $"not an architecture ILGPU {IlgpuVersion} knows";
            throw new ArgumentException($"{archOption} {arch}: {why}; accepted: {accepted}");
        }
        var sets = InstructionSetsFor(architecture);
        string acceptedIsas = string.Join(", ", sets.Select(Name));
        var i = IsaPattern().Match(isa.Trim());
        if (!i.Success)
        {
            throw new ArgumentException($"{isaOption} {isa}: not a PTX ISA version of the form 7.8; accepted for {Name(architecture)}: {acceptedIsas}");
        }
        var instructionSet = new CudaInstructionSet(
            int.Parse(i.Groups["major"].Value, CultureInfo.InvariantCulture), int.Parse(i.Groups["minor"].Value, CultureInfo.InvariantCulture));
        if (!sets.Contains(instructionSet))
        {
            string why = KnownInstructionSets.Contains(instructionSet)
                ? $"PTX ISA {Name(instructionSet)} predates {Name(architecture)}"
                : $"not a PTX ISA version ILGPU {IlgpuVersion} writes";
            throw new ArgumentException($"{isaOption} {isa}: {why}; accepted for {Name(architecture)}: {acceptedIsas}");
        }
        return new PtxTarget(architecture, instructionSet);
    }

    /// <summary>
    /// The PTX of <paramref name="kernel"/> for <paramref name="arch"/> (sm_80) and PTX ISA
    /// <paramref name="isa"/> (7.8...); its header says <c>.target</c> <paramref name="arch"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The architecture or ISA is malformed or cannot be emitted (<see cref="Resolve"/>).</exception>
    public static string Compile(KernelEntry kernel, string arch = "sm_80", string isa = "7.8") =>
        Compile(kernel, Resolve(arch, isa));

    /// <summary>The PTX of <paramref name="kernel"/> for a target <see cref="Resolve"/> accepted.</summary>
    /// <exception cref="InvalidOperationException">ILGPU wrote another <c>.target</c> than asked (a changed ILGPU; a bug here, not bad input).</exception>
    public static string Compile(KernelEntry kernel, PtxTarget target)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(target);
        var backend = new PTXBackend(SharedContext.Value, new CudaCapabilityContext(target.Architecture), target.Architecture, target.InstructionSet, null);
        var method = kernel.Method;
        var first = method.GetParameters().FirstOrDefault()?.ParameterType;
        bool implicitlyGrouped = first is not null && (first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D) ||
            first == typeof(LongIndex1D) || first == typeof(LongIndex2D) || first == typeof(LongIndex3D));
        var entry = implicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, default(ILGPU.Runtime.KernelSpecialization));
        string ptx = compiled.PTXAssembly;
        // The header is the promise zoe ptx prints; a different one must never pass for the request.
        string header = HeaderTarget().Match(ptx).Groups["t"].Value;
        if (header != target.Name)
        {
            throw new InvalidOperationException($"ILGPU wrote .target {header} for {kernel.Label}, not the {target.Name} asked for");
        }
        return ptx;
    }

    /// <summary>Parses sm_XY (or smXY, or XY) into an ILGPU architecture; says nothing of whether ILGPU can target it.</summary>
    /// <exception cref="ArgumentException">Malformed, or an arch-specific target (sm_90a), which an ILGPU architecture cannot represent.</exception>
    public static CudaArchitecture ParseArch(string arch)
    {
        ArgumentNullException.ThrowIfNull(arch);
        var m = ArchPattern().Match(arch.Trim());
        if (!m.Success)
        {
            throw new ArgumentException($"architecture '{arch}' is not of the form sm_90");
        }
        if (m.Groups["a"].Success)
        {
            // Dropping the suffix would turn sm_90a into sm_90 silently.
            throw new ArgumentException($"architecture '{arch}' is arch-specific; ILGPU has no such target");
        }
        return ToArchitecture(m.Groups["d"].Value);
    }

    /// <summary>Parses a PTX ISA version such as 7.8; says nothing of whether ILGPU writes it.</summary>
    /// <exception cref="ArgumentException">Malformed.</exception>
    public static CudaInstructionSet ParseIsa(string isa)
    {
        ArgumentNullException.ThrowIfNull(isa);
        var m = IsaPattern().Match(isa.Trim());
        if (!m.Success)
        {
            throw new ArgumentException($"PTX ISA '{isa}' is not of the form 7.8");
        }
        return new CudaInstructionSet(
            int.Parse(m.Groups["major"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["minor"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>The <c>.target</c> ILGPU's PTX backend writes when asked for <paramref name="arch"/>.</summary>
    private static CudaArchitecture EmittedTarget(CudaArchitecture arch) => new CudaCapabilityContext(arch).TargetArchitecture;

    private static CudaArchitecture ToArchitecture(string digits) =>
        new(int.Parse(digits[..^1], CultureInfo.InvariantCulture), digits[^1] - '0');

    private static string IlgpuVersion =>
        typeof(Context).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "?";

    [GeneratedRegex(@"^(?:sm_?)?(?<d>\d{2,3})(?<a>a)?$", RegexOptions.IgnoreCase)]
    private static partial Regex ArchPattern();

    [GeneratedRegex(@"^(?<major>\d{1,2})\.(?<minor>\d)$")]
    private static partial Regex IsaPattern();

    [GeneratedRegex(@"^\.target\s+(?<t>\S+)", RegexOptions.Multiline)]
    private static partial Regex HeaderTarget();
}

/// <summary>A PTX target ILGPU writes exactly: the <c>.target</c> architecture and the <c>.version</c> ISA.</summary>
/// <param name="Architecture">The architecture (sm_80).</param>
/// <param name="InstructionSet">The PTX ISA version (7.8).</param>
internal sealed record PtxTarget(CudaArchitecture Architecture, CudaInstructionSet InstructionSet)
{
    /// <summary>The <c>.target</c> name: sm_80.</summary>
    public string Name => PtxCompiler.Name(Architecture);

    /// <summary>The <c>.version</c>: 7.8.</summary>
    public string Isa => PtxCompiler.Name(InstructionSet);
}
