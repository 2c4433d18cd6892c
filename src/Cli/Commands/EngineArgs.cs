using System.CommandLine;
using System.Globalization;
using Spectre.Console;
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
        ("sage-sla", AttentionMode.SageSla),
    ];

    private static readonly (string Cli, KvFormat? Format, string Help)[] KvFormats =
    [
        ("auto", null, "auto (what the attention kernel reads)"),
        ("float", KvFormat.Activations, "float (K and V in the activation dtype)"),
        ("int8", KvFormat.Int8, "int8 (Sage: INT8 K with a scale per token, V in the activation dtype)"),
    ];

    // The second spelling of a policy is accepted, never printed.
    private static readonly (string Cli, RopePolicy Policy)[] RopePolicies =
    [
        ("absolute", RopePolicy.Absolute),
        ("relative", RopePolicy.CacheRelative),
        ("cache-relative", RopePolicy.CacheRelative),
    ];

    private static readonly string[] StreamPresets = ["self-forcing", "longlive", "deep-sink", "turbo"];

    /// <summary>
    /// The activation dtypes the model runs in: <c>QuantizedLinear</c>, every block's linears,
    /// takes f32, f16 or bf16 activations and nothing else.
    /// </summary>
    public static IReadOnlyList<DType> ActivationDTypes { get; } = [DType.F32, DType.F16, DType.BF16];

    /// <summary>The help's list of models: every preset <see cref="DiTConfig"/> knows.</summary>
    public static string ModelChoices => Or(DiTConfig.Presets.Select(p => p.Name));

    /// <summary>The help's list of attention kernels.</summary>
    public static string AttentionChoices => Or(AttentionModes.Select(a => a.Cli));

    /// <summary>The help's list of KV cache formats.</summary>
    public static string KvChoices => Or(KvFormats.Select(k => k.Help));

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

    /// <summary>--attention: a kernel the engine runs (whether it runs with the other options is <see cref="Options"/>' check).</summary>
    /// <exception cref="ArgumentException">Not a kernel; the message lists them.</exception>
    public static AttentionMode Attention(string value) =>
        AttentionModes.Where(a => string.Equals(a.Cli, value, StringComparison.OrdinalIgnoreCase)).Select(a => (AttentionMode?)a.Mode).FirstOrDefault()
        ?? throw new ArgumentException($"--attention {value}: unknown; expected {AttentionChoices}");

    /// <summary>--linear bf16|w8a8|w8a8-block|fp8.</summary>
    /// <exception cref="ArgumentException">Anything else, with the choices.</exception>
    public static LinearPath Linear(string value) =>
        LinearPaths.Where(l => string.Equals(l.Cli, value, StringComparison.OrdinalIgnoreCase)).Select(l => (LinearPath?)l.Path).FirstOrDefault()
        ?? throw new ArgumentException($"--linear {value}: unknown; expected {Or(LinearPaths.Select(l => l.Cli))}");

    /// <summary>--kv auto|float|int8 (null: what the attention kernel reads).</summary>
    /// <exception cref="ArgumentException">Anything else, with the choices.</exception>
    public static KvFormat? Kv(string value) =>
        KvFormats.Any(k => string.Equals(k.Cli, value, StringComparison.OrdinalIgnoreCase))
            ? KvFormats.First(k => string.Equals(k.Cli, value, StringComparison.OrdinalIgnoreCase)).Format
            : throw new ArgumentException($"--kv {value}: unknown; expected {Or(KvFormats.Select(k => k.Cli))}");

    /// <summary>The CLI spelling of <paramref name="format"/> (what --kv takes).</summary>
    public static string Label(KvFormat format) => KvFormats.First(k => k.Format == format).Cli;

    /// <summary>
    /// The model options of a run: the preset's kernels (turbo: <see cref="ModelOptions.Turbo"/>;
    /// the others: dense attention, bf16 linears), each overridden by the option the user gave
    /// (null when not given). Activations default to bf16 on GPUs and under the Sage kernels (whose
    /// P.V is 16-bit), f32 on the CPU backends otherwise. Checked by the engine's own rules here,
    /// before any work.
    /// </summary>
    /// <exception cref="ArgumentException">A value that is not a choice, or a combination the engine refuses; the message says why.</exception>
    public static ModelOptions Options(string preset, string? attention, string? linear, string? kv, DType? dtype, BackendKind kind, string? match = null)
    {
        var basis = string.Equals(preset, "turbo", StringComparison.OrdinalIgnoreCase) ? ModelOptions.Turbo : new ModelOptions();
        if (match is not null)
        {
            basis = basis with { Match = Match(match) };
        }
        var mode = attention is null ? basis.Attention : Attention(attention);
        bool sage = mode is AttentionMode.Sage or AttentionMode.SageSla;
        var options = basis with
        {
            Attention = mode,
            Linear = linear is null ? basis.Linear : Linear(linear),
            Kv = kv is null ? basis.Kv : Kv(kv),
            Activations = dtype ?? (kind.NeedsGpu() || sage || basis.Match == MatchMode.Reference ? DType.BF16 : DType.F32),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message.StartsWith("model options: ", StringComparison.Ordinal) ? e.Message["model options: ".Length..] : e.Message);
        }
        try
        {
            _ = new SelfAttentionKernel(options);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            string why = e.Message.StartsWith("engine: ", StringComparison.Ordinal) ? e.Message["engine: ".Length..] : e.Message;
            throw new ArgumentException($"--attention {Label(mode)} --kv {Label(options.KvFormat)} --dtype {options.Activations.Name()}: {why}");
        }
        return options;
    }

    /// <summary>Prints the model's warnings (weights the options would use but the checkpoint lacks).</summary>
    public static void Warn(IAnsiConsole console, WanModel model)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(model);
        foreach (var warning in model.Warnings)
        {
            console.MarkupLine($"[yellow]warning:[/] {Markup.Escape(warning)}");
        }
    }

    /// <summary>"KV per latent frame: float X, int8 Y" for <paramref name="config"/> with V in <paramref name="dtype"/>.</summary>
    public static string KvPerFrame(DiTConfig config, DType dtype, bool rotatesOnRead) =>
        string.Join(", ", KvFormats.Where(k => k.Format is not null).Select(k =>
            $"{k.Cli} {Preflight.MemoryPreflight.Bytes(KvCache.FrameBytes(config, k.Format!.Value, dtype, rotatesOnRead))}"));

    /// <summary>
    /// --timesteps / --steps (generate and stream): the timesteps before the warp: <paramref name="list"/> (comma-separated) when given, else
    /// <paramref name="steps"/> evenly spaced ones (4 when neither is given).
    /// </summary>
    /// <exception cref="ArgumentException">Not numbers, out of (0, 1000], not decreasing, or a --steps that disagrees with the list's length.</exception>
    public static double[] Timesteps(string? list, int? steps)
    {
        if (steps is int n)
        {
            CliArgs.AtLeast(n, 1, "--steps");
        }
        if (list is null)
        {
            return GenerateOptions.EvenTimesteps(steps ?? 4);
        }
        var parts = list.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !(values[i] > 0 && values[i] <= 1000))
            {
                throw new ArgumentException($"--timesteps {list}: '{parts[i]}' is not a timestep in (0, 1000]");
            }
            if (i > 0 && !(values[i] < values[i - 1]))
            {
                throw new ArgumentException($"--timesteps {list}: must decrease ({values[i - 1].ToString(CultureInfo.InvariantCulture)} then {values[i].ToString(CultureInfo.InvariantCulture)})");
            }
        }
        if (steps is int count && count != values.Length)
        {
            throw new ArgumentException($"--steps {count}: --timesteps {list} has {values.Length}; give one of them, or both agreeing");
        }
        return values;
    }

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

    /// <summary>The help's list of numerics.</summary>
    public static string MatchChoices => "engine (fused ops, one rounding each) or reference (Self-Forcing's and LongLive's PyTorch rounding points: bf16, dense, bf16 linears)";

    /// <summary>The --match option of the commands that build a model.</summary>
    public static Option<string?> MatchOption() => new("--match") { Description = $"numerics: {MatchChoices} (default engine)" };

    /// <summary>--match engine|reference.</summary>
    /// <exception cref="ArgumentException">Anything else, with the choices.</exception>
    public static MatchMode Match(string value) =>
        value.ToLowerInvariant() switch
        {
            "engine" => MatchMode.Engine,
            "reference" => MatchMode.Reference,
            _ => throw new ArgumentException($"--match {value}: unknown; expected engine or reference"),
        };

    /// <summary>The CLI spelling of <paramref name="match"/> (what --match takes).</summary>
    public static string Label(MatchMode match) => match == MatchMode.Reference ? "reference" : "engine";

    /// <summary>--recache longlive|block-causal: a prompt switch's re-run mask and what it does with the sinks.</summary>
    /// <exception cref="ArgumentException">Anything else, with the choices.</exception>
    public static StreamOptions Recache(StreamOptions stream, string value)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var mode = RecacheModes.Where(r => string.Equals(r.Cli, value, StringComparison.OrdinalIgnoreCase)).Select(r => ((RecacheMask, SinkSwitch)?)(r.Mask, r.Sinks)).FirstOrDefault()
            ?? throw new ArgumentException($"--recache {value}: unknown; expected {Or(RecacheModes.Select(r => r.Cli))}");
        return stream with { Recache = mode.Item1, SwitchSinks = mode.Item2 };
    }

    /// <summary>The CLI spelling of <paramref name="stream"/>'s recache (what --recache takes), or its two settings when no spelling names them.</summary>
    public static string Label(StreamOptions stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return RecacheModes.Where(r => r.Mask == stream.Recache && r.Sinks == stream.SwitchSinks).Select(r => r.Cli).FirstOrDefault()
            ?? $"mask {stream.Recache}, sinks {stream.SwitchSinks}";
    }

    /// <summary>The CLI spelling of <paramref name="policy"/> (what --rope takes).</summary>
    public static string Label(RopePolicy policy) => RopePolicies.First(r => r.Policy == policy).Cli;

    // --recache's spellings: LongLive 1.0 as released, and the engine's block-causal re-run.
    private static readonly (string Cli, RecacheMask Mask, SinkSwitch Sinks)[] RecacheModes =
    [
        ("longlive", RecacheMask.None, SinkSwitch.KeepAfterEviction),
        ("block-causal", RecacheMask.BlockCausal, SinkSwitch.Keep),
    ];

    private static string Or(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count <= 1 ? string.Concat(list) : $"{string.Join(", ", list.Take(list.Count - 1))} or {list[^1]}";
    }
}
