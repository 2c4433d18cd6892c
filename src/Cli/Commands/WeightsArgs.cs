using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Zoetrope.Engine;
using Zoetrope.Runtime;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// What a checkpoint file is read as, for every command that reads one (stream, generate,
/// convert): <c>--copy NAME</c> / <c>--use-ema</c> choose the copy of a training checkpoint
/// ({generator, generator_ema, critic}), <c>--lora FILE</c> / <c>--lora-alpha A</c> merge a
/// LoRA at load. The options are made and checked here, so the commands add them in a line.
/// </summary>
public sealed class WeightsArgs
{
    private readonly Option<string?> _copy = new("--copy") { Description = "the copy of the model to read from a checkpoint that holds several, e.g. generator or generator_ema (the top-level key); default: the file's only copy" };
    private readonly Option<bool> _useEma = new("--use-ema") { Description = $"read the EMA copy: --copy {CheckpointOptions.EmaCopy} (Self-Forcing's and LongLive's --use_ema)" };
    private readonly Option<string?> _lora = new("--lora") { Description = "a LoRA to merge at load, W + (alpha/rank) B @ A in f32 (.pt or .safetensors, PEFT keys, e.g. LongLive's lora.pt)" };
    private readonly Option<double?> _loraAlpha = new("--lora-alpha") { Description = "the LoRA's alpha (default: its rank, scale 1, as LongLive's rank 256 / alpha 256); needs --lora" };

    private WeightsArgs()
    {
    }

    /// <summary>The values given on the command line, checked by <see cref="Options"/>.</summary>
    public sealed record Given(string? Copy, bool UseEma, string? Lora, double? LoraAlpha)
    {
        /// <summary>
        /// The checkpoint options, checked before any work: --use-ema and a different --copy,
        /// --lora-alpha without --lora, a non-positive alpha, a --lora file that is not there, and
        /// any of them without a checkpoint (<paramref name="checkpoint"/> null) are refused.
        /// Null when none was given.
        /// </summary>
        /// <exception cref="ArgumentException">Names the option.</exception>
        public CheckpointOptions? Options(string? checkpoint, string checkpointOption = "--weights")
        {
            if (Copy is null && !UseEma && Lora is null && LoraAlpha is null)
            {
                return null;
            }
            if (UseEma && Copy is not null && Copy.Trim('.') != CheckpointOptions.EmaCopy)
            {
                throw new ArgumentException($"--use-ema --copy {Copy}: --use-ema reads --copy {CheckpointOptions.EmaCopy}; give one of them");
            }
            if (Copy is not null && Copy.Trim('.').Length == 0)
            {
                throw new ArgumentException($"--copy '{Copy}': an empty name (leave it out to read a file of one copy)");
            }
            if (LoraAlpha is double alpha)
            {
                string shown = alpha.ToString(CultureInfo.InvariantCulture);
                if (Lora is null)
                {
                    throw new ArgumentException($"--lora-alpha {shown}: given without --lora FILE");
                }
                if (!(alpha > 0) || double.IsInfinity(alpha))
                {
                    throw new ArgumentException($"--lora-alpha {shown}: must be a positive number");
                }
            }
            if (checkpoint is null)
            {
                string given = string.Join(" ", new[] { Copy is null ? null : "--copy", UseEma ? "--use-ema" : null, Lora is null ? null : "--lora" }.OfType<string>());
                throw new ArgumentException($"{given}: choose what a checkpoint holds, but there is none (add {checkpointOption} FILE; random weights have no copies or LoRA)");
            }
            string? lora = Lora is null ? null : CliArgs.InputFile(Lora, "--lora");
            return new CheckpointOptions { Copy = UseEma ? CheckpointOptions.EmaCopy : Copy, Lora = lora, LoraAlpha = LoraAlpha };
        }
    }

    /// <summary>Adds the options to <paramref name="command"/>; read them back with <see cref="Read"/>.</summary>
    public static WeightsArgs AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var args = new WeightsArgs();
        command.Options.Add(args._copy);
        command.Options.Add(args._useEma);
        command.Options.Add(args._lora);
        command.Options.Add(args._loraAlpha);
        return args;
    }

    /// <summary>The values of a parse.</summary>
    public Given Read(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new Given(result.GetValue(_copy), result.GetValue(_useEma), result.GetValue(_lora), result.GetValue(_loraAlpha));
    }

    /// <summary>
    /// The bytes of the tensors a load reads from <paramref name="path"/>: the chosen copy's when
    /// <paramref name="options"/> choose one (a training checkpoint holds two or three copies, so
    /// its size would overstate the memory a run needs), the file's size otherwise.
    /// </summary>
    public static long CheckpointBytes(string path, CheckpointOptions? options)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (options is null)
        {
            return new FileInfo(path).Length;
        }
        using var file = Runtime.IO.TensorFiles.Open(path);
        return CheckpointSelection.Select(file, options.Copy).Keys.Sum(k => file.Entry(k.Key).ByteLength);
    }

    /// <summary>Prints the copy read and the LoRA merged (nothing for random weights or a file of flat keys).</summary>
    public static void Report(IAnsiConsole console, WanWeights weights)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Copy is not null)
        {
            console.MarkupLine(Markup.Escape($"checkpoint copy: {weights.Copy}"));
        }
        if (weights.Lora is not null)
        {
            console.MarkupLine(Markup.Escape(weights.Lora.ToString()));
        }
    }

    /// <summary>
    /// Merges <paramref name="lora"/> into the named tensors <paramref name="tensors"/> in place
    /// (order kept) and prints its summary: <c>zoe convert --lora</c>.
    /// </summary>
    internal static void Merge(IAnsiConsole console, LoraMerge lora, List<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(lora);
        ArgumentNullException.ThrowIfNull(tensors);
        var byName = tensors.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        try
        {
            console.MarkupLine(Markup.Escape(lora.Apply(byName).ToString()));
        }
        finally
        {
            // Merged or not, the list holds the live tensors (the caller disposes them).
            for (int i = 0; i < tensors.Count; i++)
            {
                tensors[i] = new(tensors[i].Key, byName[tensors[i].Key]);
            }
        }
    }
}
