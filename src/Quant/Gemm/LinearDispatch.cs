using System.Reflection;
using System.Text.Json;

namespace Zoetrope.Quant.Gemm;

/// <summary>
/// Shape-to-path decisions for the linear layers, from measurements: linear_dispatch.json
/// (embedded; written from GPU benchmark results under bench/results) holds per device which
/// path won at which (M, N, K). A query takes the entry of the same device, decision, N and K
/// whose M is nearest in log scale. With no measurement for the device, the caller's default
/// stands, and the reason says so: nothing is guessed. TurboT2AV found block-scaled INT8 no
/// faster than bf16 on an H20: which is why the path is measured, not assumed.
/// </summary>
internal sealed class LinearDispatch
{
    private readonly IReadOnlyList<DispatchEntry> _entries;

    /// <summary>A dispatcher over <paramref name="entries"/>.</summary>
    public LinearDispatch(IReadOnlyList<DispatchEntry> entries)
    {
        _entries = entries ?? throw new ArgumentNullException(nameof(entries));
    }

    /// <summary>The table built into this assembly.</summary>
    public static LinearDispatch Default { get; } = new(Load());

    /// <summary>The measured entries.</summary>
    public IReadOnlyList<DispatchEntry> Entries => _entries;

    /// <summary>The winner for (device, decision, M, N, K), or <paramref name="fallback"/>; and why.</summary>
    public (string Choice, string Reason) Choose(string device, string decision, long m, long n, long k, string fallback)
    {
        var candidates = _entries.Where(e => e.Device == device && e.Decision == decision && e.N == n && e.K == k).ToList();
        if (candidates.Count == 0)
        {
            return (fallback, $"{decision}: no measurement on {device} for N={n} K={k}; default {fallback}");
        }
        var best = candidates.MinBy(e => Math.Abs(Math.Log(Math.Max(1, e.M)) - Math.Log(Math.Max(1, m))))!;
        return (best.Winner, $"{decision}: {best.Winner} measured fastest on {device} at M={best.M} N={n} K={k} ({best.Milliseconds:0.###} ms, {best.Source})");
    }

    private static IReadOnlyList<DispatchEntry> Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Zoetrope.Quant.Gemm.linear_dispatch.json");
        if (stream is null)
        {
            return [];
        }
        return JsonSerializer.Deserialize<List<DispatchEntry>>(stream, new JsonSerializerOptions { PropertyNameCaseInsensitive = true }) ?? [];
    }
}
