using Zoetrope.Engine;
using Zoetrope.Quant;
using Zoetrope.Runtime;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// The engine options the stream and profile verbs share: each option's spellings live in one
/// table, read both ways (parse the user's word, print the engine's value back in that word), and
/// the help's lists of choices are built from the same tables and from what the engine knows
/// (models from <see cref="DiTConfig.Presets"/>, attention kernels the engine can run), so help,
/// parser and headers cannot drift apart.
/// </summary>
public static class EngineArgs
{
    private static readonly (string Cli, LinearPath Path, string Help)[] LinearPaths =
    [
        ("bf16", LinearPath.Bf16, "bf16 (the activation dtype)"),
        ("w8a8", LinearPath.Int8, "w8a8 (INT8 token x channel)"),
        ("w8a8-block", LinearPath.Int8Block128, "w8a8-block (128x128)"),
        ("fp8", LinearPath.Fp8, "fp8"),
    ];

    private static readonly (string Cli, AttentionMode Mode)[] AttentionModes =
    [
        ("dense", AttentionMode.Dense),
        ("sage", AttentionMode.Sage),
        ("sla", AttentionMode.Sla),
    ];

    // The second spelling of a policy is accepted, never printed.
    private static readonly (string Cli, RopePolicy Policy)[] RopePolicies =
    [
        ("absolute", RopePolicy.Absolute),
        ("relative", RopePolicy.CacheRelative),
        ("cache-relative", RopePolicy.CacheRelative),
    ];

    private static readonly string[] StreamPresets = ["self-forcing", "longlive", "deep-sink"];

    /// <summary>
    /// The activation dtypes the model runs in: <c>QuantizedLinear</c>, every block's linears,
    /// takes f32, f16 or bf16 activations and nothing else.
    /// </summary>
    public static IReadOnlyList<DType> ActivationDTypes { get; } = [DType.F32, DType.F16, DType.BF16];

    /// <summary>The help's list of models: every preset <see cref="DiTConfig"/> knows.</summary>
    public static string ModelChoices => Or(DiTConfig.Presets.Select(p => p.Name));

    /// <summary>The help's list of attention kernels: only those the engine can run.</summary>
    public static string AttentionChoices => Or(AttentionModes.Where(a => Refusal(a.Mode) is null).Select(a => a.Cli));

    /// <summary>The help's list of linear paths, with what each one is.</summary>
    public static string LinearChoices => Or(LinearPaths.Select(l => l.Help));

    /// <summary>The help's list of stream presets.</summary>
    public static string PresetChoices => Or(StreamPresets);

    /// <summary>The help's list of backends.</summary>
    public static string BackendChoices => Or(BackendKinds.All.Select(k => k.Label()));

    /// <summary>The help's list of activation dtypes.</summary>
    public static string DTypeChoices => Or(ActivationDTypes.Select(t => t.Name()));

    /// <summary>--model: a preset of <see cref="DiTConfig"/>.</summary>
    /// <exception cref="ArgumentException">No such preset; the message lists them.</exception>
    public static DiTConfig Model(string value) =>
        DiTConfig.Presets.FirstOrDefault(p => string.Equals(p.Name, value, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"--model {value}: unknown; expected {ModelChoices}");

    /// <summary>--preset: a stream preset.</summary>
    /// <exception cref="ArgumentException">No such preset; the message lists them.</exception>
    public static StreamOptions Preset(string value) =>
        StreamPresets.Contains(value.ToLowerInvariant())
            ? StreamOptions.Preset(value)
            : throw new ArgumentException($"--preset {value}: unknown; expected {PresetChoices}");

    /// <summary>
    /// --attention: a kernel the engine runs. A kernel the engine knows but refuses (sage, today)
    /// is refused here, before any work, with the engine's own reason.
    /// </summary>
    /// <exception cref="ArgumentException">Not a kernel, or one the engine cannot run; the message says why and lists the ones it can.</exception>
    public static AttentionMode Attention(string value)
    {
        var match = AttentionModes.Where(a => string.Equals(a.Cli, value, StringComparison.OrdinalIgnoreCase)).Select(a => (AttentionMode?)a.Mode).FirstOrDefault()
            ?? throw new ArgumentException($"--attention {value}: unknown; expected {AttentionChoices}");
        if (Refusal(match) is { } why)
        {
            throw new ArgumentException($"--attention {value}: not available; {why}");
        }
        return match;
    }

    /// <summary>--linear bf16|w8a8|w8a8-block|fp8.</summary>
    /// <exception cref="ArgumentException">Anything else, with the choices.</exception>
    public static LinearPath Linear(string value) =>
        LinearPaths.Where(l => string.Equals(l.Cli, value, StringComparison.OrdinalIgnoreCase)).Select(l => (LinearPath?)l.Path).FirstOrDefault()
        ?? throw new ArgumentException($"--linear {value}: unknown; expected {Or(LinearPaths.Select(l => l.Cli))}");

    /// <summary>--rope absolute|relative (also cache-relative).</summary>
    /// <exception cref="ArgumentException">Anything else, with the choices.</exception>
    public static RopePolicy Rope(string value) =>
        RopePolicies.Where(r => string.Equals(r.Cli, value, StringComparison.OrdinalIgnoreCase)).Select(r => (RopePolicy?)r.Policy).FirstOrDefault()
        ?? throw new ArgumentException($"--rope {value}: unknown; expected absolute or relative");

    /// <summary>--dtype: an activation dtype (<see cref="ActivationDTypes"/>).</summary>
    /// <exception cref="ArgumentException">Anything else, with the accepted ones.</exception>
    public static DType Activations(string value) =>
        ActivationDTypes.Where(t => string.Equals(t.Name(), value, StringComparison.OrdinalIgnoreCase)).Select(t => (DType?)t).FirstOrDefault()
        ?? throw new ArgumentException($"--dtype {value}: not an activation dtype; expected {DTypeChoices}");

    /// <summary>--backend: a backend name (not opened).</summary>
    /// <exception cref="ArgumentException">Not a backend, with the choices.</exception>
    public static BackendKind Backend(string value) =>
        BackendKinds.All.Where(k => string.Equals(k.Label(), value.Trim(), StringComparison.OrdinalIgnoreCase)).Select(k => (BackendKind?)k).FirstOrDefault()
        ?? throw new ArgumentException($"--backend {value}: unknown; expected {BackendChoices}");

    /// <summary>The CLI spelling of <paramref name="path"/> (what --linear takes).</summary>
    public static string Label(LinearPath path) => LinearPaths.First(l => l.Path == path).Cli;

    /// <summary>The CLI spelling of <paramref name="mode"/> (what --attention takes).</summary>
    public static string Label(AttentionMode mode) => AttentionModes.First(a => a.Mode == mode).Cli;

    /// <summary>The CLI spelling of <paramref name="policy"/> (what --rope takes).</summary>
    public static string Label(RopePolicy policy) => RopePolicies.First(r => r.Policy == policy).Cli;

    // The engine's own refusal of a kernel (its constructor checks the options), or null when it runs.
    private static string? Refusal(AttentionMode mode)
    {
        try
        {
            _ = new SelfAttentionKernel(new ModelOptions { Attention = mode });
            return null;
        }
        catch (NotSupportedException e)
        {
            // "engine: --attention sage needs ..." -> "needs ...": the option is named by the caller.
            string why = e.Message;
            string prefix = $"engine: --attention {AttentionModes.First(a => a.Mode == mode).Cli} ";
            return why.StartsWith(prefix, StringComparison.Ordinal) ? why[prefix.Length..] : why;
        }
    }

    private static string Or(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count <= 1 ? string.Concat(list) : $"{string.Join(", ", list.Take(list.Count - 1))} or {list[^1]}";
    }
}
