using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe convert</c>: a PyTorch checkpoint (<c>.pt</c>/<c>.pth</c>, read by the restricted
/// unpickler) or a safetensors file, rewritten as safetensors. Nested keys come out '.'-joined;
/// <c>--prefix generator_ema.</c> keeps one copy of a checkpoint that holds several (Self-Forcing's
/// generator and EMA) and strips the prefix. Every tensor's dtype is checked before anything is
/// read, so a checkpoint holding int64 or bool tensors fails naming them, not halfway.
/// </summary>
public static class ConvertCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var input = new Argument<string>("in") { Description = "the checkpoint: .pt/.pth (torch.save's zip format) or .safetensors" };
        var output = new Argument<string>("out") { Description = "the safetensors file to write" };
        var prefix = new Option<string?>("--prefix") { Description = "keep only the keys under this prefix and strip it, e.g. --prefix generator_ema." };
        var cmd = new Command("convert", "Rewrite a PyTorch .pt/.pth checkpoint (or part of one) as safetensors")
        {
            input, output, prefix,
        };
        var checkpoint = WeightsArgs.AddTo(cmd);
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(input)!, r.GetValue(output)!, r.GetValue(prefix), checkpoint.Read(r))));
        return cmd;
    }

    private static int Run(string inPath, string outPath, string? prefix, WeightsArgs.Given checkpoint)
    {
        CliArgs.InputFile(inPath, "in");
        if (!outPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"out {outPath}: the output is safetensors; name it *.safetensors");
        }
        CliArgs.OutputFile(outPath, "out");
        if (string.Equals(Path.GetFullPath(inPath), Path.GetFullPath(outPath), StringComparison.Ordinal))
        {
            throw new ArgumentException($"out {outPath}: is the input file");
        }
        if (prefix is { Length: 0 })
        {
            throw new ArgumentException("--prefix: an empty prefix (leave the option out to keep every key)");
        }
        // --copy/--lora: the copy's keys, cleaned of wrapper tokens and relative to the model (as WanWeights.Load reads them).
        var options = checkpoint.Options(inPath, "in");
        if (options is not null && prefix is not null)
        {
            throw new ArgumentException($"--prefix {prefix} with --copy/--use-ema/--lora: the copy is chosen by name; give --copy instead of --prefix");
        }

        using var file = TensorFiles.Open(inPath);
        var selection = options is null ? null : CheckpointSelection.Select(file, options.Copy);
        var selected = selection?.Keys.ToDictionary(k => k.Key, k => k.Name, StringComparer.Ordinal);
        var keep = selected?.Keys.ToList() ?? file.Names.Where(n => prefix is null || n.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (keep.Count == 0)
        {
            throw new ArgumentException(file.Names.Count == 0
                ? $"{inPath}: holds no tensors"
                : $"--prefix {prefix}: no tensor key starts with it; the file's keys start with {string.Join(", ", TopLevel(file.Names))}");
        }
        var entries = keep.Select(file.Entry).ToList();
        var unheld = entries.Where(e => e.DType is null).ToList();
        if (unheld.Count > 0)
        {
            throw new ArgumentException(
                $"{inPath}: {unheld.Count} tensor(s) have dtypes Zoetrope tensors do not hold: " +
                string.Join(", ", unheld.Take(10).Select(e => $"{e.Name} ({e.DTypeName})")) + (unheld.Count > 10 ? ", ..." : string.Empty) +
                (prefix is null ? "; --prefix selects part of the file" : string.Empty));
        }
        string Strip(string n) => selected is not null ? selected[n] : prefix is null ? n : n[prefix.Length..];
        var empty = keep.FirstOrDefault(n => Strip(n).Length == 0);
        if (empty is not null)
        {
            throw new ArgumentException($"--prefix {prefix}: the tensor '{empty}' would be left with an empty name");
        }

        // SafeTensorsWriter takes every tensor at once: the kept tensors are all in memory before
        // the file is written. Refuse what the machine cannot hold before reading a byte.
        long total = keep.Sum(n => file.Entry(n).ByteLength);
        var limit = Preflight.MemoryPreflight.Detect(Backends.Host);
        if (total > limit.HostBytes)
        {
            throw new ArgumentException(
                $"{inPath}: converting holds every kept tensor in memory, {Preflight.MemoryPreflight.Bytes(total)}, more than the {Preflight.MemoryPreflight.Bytes(limit.HostBytes)} available ({limit.HostSource}); --prefix keeps one copy of a multi-copy checkpoint");
        }
        using var lora = options?.Lora is null ? null : LoraMerge.Open(options.Lora, keep.ToDictionary(Strip, n => file.Entry(n).Shape), options.LoraAlpha, Path.GetFileName(inPath));
        var tensors = new List<KeyValuePair<string, Tensor>>(keep.Count);
        try
        {
            foreach (var name in keep)
            {
                tensors.Add(new(Strip(name), file.Load(name)));
            }
            if (lora is not null)
            {
                WeightsArgs.Merge(AnsiConsole.Console, lora, tensors);
            }
            SafeTensorsWriter.Write(outPath, tensors, new Dictionary<string, string>
            {
                ["source"] = Path.GetFileName(inPath),
                ["writer"] = "zoe convert",
            });
        }
        finally
        {
            foreach (var (_, t) in tensors)
            {
                t.Dispose();
            }
        }

        long bytes = entries.Sum(e => e.ByteLength);
        string dtypes = string.Join(", ", entries.GroupBy(e => e.DType!.Value).OrderBy(g => g.Key)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key.Name()} x {g.Count()} ({g.Sum(e => e.ByteLength)} bytes)")));
        AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"wrote {keep.Count} tensors, {bytes} bytes ({bytes / 1048576.0:0.0} MiB) to {outPath}: {dtypes}")));
        int skippedByPrefix = file.Names.Count - keep.Count;
        if (skippedByPrefix > 0)
        {
            AnsiConsole.MarkupLine(Markup.Escape($"left out {skippedByPrefix} tensors outside {(options is null ? $"--prefix {prefix}" : $"the copy read ({selection!.Prefix}*)")}"));
        }
        if (file is PyTorchFile pt && pt.NonTensors.Count > 0)
        {
            AnsiConsole.MarkupLine(Markup.Escape(
                $"skipped {pt.NonTensors.Count} non-tensor value(s): {string.Join(", ", pt.NonTensors.Take(8).Select(kv => $"{kv.Key} ({kv.Value})"))}{(pt.NonTensors.Count > 8 ? ", ..." : string.Empty)}"));
        }
        return 0;
    }

    /// <summary>The distinct first components of the keys, as prefixes a user can pass ("generator.", "generator_ema.").</summary>
    private static IEnumerable<string> TopLevel(IEnumerable<string> names) =>
        names.Select(n => n.Contains('.', StringComparison.Ordinal) ? n[..(n.IndexOf('.', StringComparison.Ordinal) + 1)] : n).Distinct().Take(8);
}
