using System.CommandLine;
using Spectre.Console;
using Zoetrope.Engine;
using Zoetrope.Quant;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe profile</c>: the per-op breakdown of a streaming block: for each op, calls and time per
/// block, share of the block, achieved TFLOP/s and GB/s (from each call's cost model) and the
/// fraction of the chip's ceilings measured in the same run. On GPUs each op call is also an
/// NVTX range (when libnvToolsExt is present), so `nsys profile zoe profile ...` shows op names.
/// </summary>
public static class ProfileCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "tiny, wan-1.3b or wan-14b", DefaultValueFactory = _ => "tiny" };
        var blocks = new Option<int>("--blocks") { Description = "profiled blocks (after the cache is warm)", DefaultValueFactory = _ => 2 };
        var backend = new Option<string>("--backend") { Description = "reference, ilgpu-cpu, ilgpu-cuda or cuda", DefaultValueFactory = _ => "reference" };
        var attention = new Option<string>("--attention") { Description = "dense or sla", DefaultValueFactory = _ => "dense" };
        var linear = new Option<string>("--linear") { Description = "bf16, w8a8, w8a8-block or fp8", DefaultValueFactory = _ => "bf16" };
        var preset = new Option<string>("--preset") { Description = "self-forcing, longlive or deep-sink", DefaultValueFactory = _ => "longlive" };
        var cmd = new Command("profile", "Per-op time breakdown of streaming blocks, with achieved fraction of the ceilings")
        {
            model, blocks, backend, attention, linear, preset,
        };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(model)!, r.GetValue(blocks), r.GetValue(backend)!, r.GetValue(attention)!,
            r.GetValue(linear)!, r.GetValue(preset)!)));
        return cmd;
    }

    private static int Run(string modelName, int blocks, string backendName, string attention, string linear, string presetName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        var config = DiTConfig.Get(modelName);
        var backend = Backends.Get(backendName);
        var preset = StreamOptions.Preset(presetName);
        var options = new ModelOptions
        {
            Activations = backend.Kind.NeedsGpu() ? DType.BF16 : DType.F32,
            Attention = EngineArgs.Attention(attention),
            Linear = EngineArgs.Linear(linear),
        };
        var ceilings = BenchRunner.MeasureCeilings(backend, 2, 5);
        using var weights = WanWeights.Random(config, 1);
        using var model = new WanModel(backend, weights, options);
        using var text = GaussianNoise.Sample(1, new Shape(config.TextTokens, config.TextDim), "text");
        using var session = new StreamingSession(model, text, preset, profile: true);
        int warm = preset.BlocksToFillCache;
        for (int i = 0; i < warm; i++)
        {
            session.GenerateBlock();
        }
        session.Metrics.ResetOps();
        double blockMs = Enumerable.Range(0, blocks).Select(_ => session.GenerateBlock().LatencyMs).Average();
        var ops = session.Metrics.OpWork;
        double total = ops.Sum(o => o.Ms);
        var table = new Table().Border(TableBorder.Simple).AddColumns("op", "calls/block", "ms/block", "share", "TFLOP/s", "GB/s", "of ceiling");
        foreach (var o in ops)
        {
            double tflops = o.Ms > 0 ? o.Flops / (o.Ms * 1e9) : 0;
            double gbps = o.Ms > 0 ? o.Bytes / (o.Ms * 1e6) : 0;
            double fraction = Math.Max(ceilings.GemmTflops > 0 ? tflops / ceilings.GemmTflops : 0, ceilings.CopyGbps > 0 ? gbps / ceilings.CopyGbps : 0);
            table.AddRow(o.Op, (o.Count / (double)blocks).ToString("0"), (o.Ms / blocks).ToString("0.00"), (o.Ms / total).ToString("P1"),
                tflops.ToString("0.000"), gbps.ToString("0.0"), fraction.ToString("P1"));
        }
        AnsiConsole.MarkupLine(Markup.Escape($"zoe profile: {config.Name} {presetName} on {backend}, {options.Attention}+{options.Linear}, {blocks} blocks after {warm} warm-up"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(Markup.Escape(
            $"block {blockMs:0.00} ms wall, ops {total / blocks:0.00} ms; ceilings: copy {ceilings.CopyGbps:0.0} GB/s, GEMM {ceilings.GemmTflops:0.000} TFLOP/s; " +
            $"NVTX {(backend.Kind.NeedsGpu() ? (Zoetrope.Runtime.Cuda.Nvtx.Available ? "on" : "library not found") : "n/a on CPU")}"));
        return 0;
    }
}
