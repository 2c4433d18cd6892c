namespace Zoetrope.Runtime;

/// <summary>Names and parsing for <see cref="BackendKind"/>.</summary>
public static class BackendKinds
{
    /// <summary>Every backend kind in table order.</summary>
    public static IReadOnlyList<BackendKind> All { get; } = Enum.GetValues<BackendKind>();

    /// <summary>The user-facing name: reference, ilgpu-cpu, ilgpu-cuda, cuda, ilgpu-emu, cuda-emu.</summary>
    public static string Label(this BackendKind kind) => kind switch
    {
        BackendKind.Reference => "reference",
        BackendKind.IlgpuCpu => "ilgpu-cpu",
        BackendKind.IlgpuCuda => "ilgpu-cuda",
        BackendKind.Cuda => "cuda",
        BackendKind.IlgpuEmu => "ilgpu-emu",
        BackendKind.CudaEmu => "cuda-emu",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown backend"),
    };

    /// <summary>
    /// The kind whose implementation runs on <paramref name="kind"/>: <c>ilgpu-cuda</c>'s for
    /// <c>ilgpu-emu</c>, <c>cuda</c>'s for <c>cuda-emu</c>, the kind itself otherwise.
    /// </summary>
    public static BackendKind ImplementationKind(this BackendKind kind) => kind switch
    {
        BackendKind.IlgpuEmu => BackendKind.IlgpuCuda,
        BackendKind.CudaEmu => BackendKind.Cuda,
        _ => kind,
    };

    /// <summary>True for the two backends that run on the emulated CUDA device.</summary>
    public static bool IsEmulated(this BackendKind kind) => kind is BackendKind.IlgpuEmu or BackendKind.CudaEmu;

    /// <summary>True for the backends that need an NVIDIA GPU.</summary>
    public static bool NeedsGpu(this BackendKind kind) => kind is BackendKind.IlgpuCuda or BackendKind.Cuda;

    /// <summary>Parses one backend name.</summary>
    /// <exception cref="ArgumentException">Not a backend name.</exception>
    public static BackendKind Parse(string name)
    {
        foreach (var k in All)
        {
            if (string.Equals(k.Label(), name.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return k;
            }
        }
        throw new ArgumentException(
            $"unknown backend '{name}'; expected one of {string.Join(", ", All.Select(k => k.Label()))}", nameof(name));
    }

    /// <summary>Parses a comma-separated list (<c>reference,ilgpu-cpu</c>); <c>all</c> means every kind.</summary>
    public static IReadOnlyList<BackendKind> ParseList(string list)
    {
        if (string.Equals(list.Trim(), "all", StringComparison.OrdinalIgnoreCase))
        {
            return All;
        }
        return list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Parse).Distinct().ToArray();
    }
}
