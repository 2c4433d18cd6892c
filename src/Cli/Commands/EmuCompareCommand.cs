using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;
using Zoetrope.Runtime.Checking;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe emu-compare EMU GPU</c>: validates the emulated device against a real GPU. EMU holds the
/// outputs of <c>zoe check --backend cuda-emu,ilgpu-emu --save-outputs EMU</c>, GPU those of the
/// same cases on <c>cuda,ilgpu-cuda</c> (same seed, same inputs). Each output is compared bit for
/// bit: the share of identical elements, the largest difference in units in the last place and
/// relative L2. Integer outputs (quantized codes) must be identical; float outputs differ where the
/// GPU's instructions are not exactly rounded (.approx, mma accumulation order), within the bounds
/// the emulator's Isa/ documents.
/// </summary>
public static class EmuCompareCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var emu = new Argument<string>("emulated") { Description = "folder of the emulated backends' outputs (zoe check --save-outputs)" };
        var gpu = new Argument<string>("gpu") { Description = "folder of the GPU backends' outputs for the same cases" };
        var output = new Option<string?>("--out") { Description = "also write the table as Markdown to this file" };
        var cmd = new Command("emu-compare", "Compare the emulated device's outputs with a GPU's, bit for bit") { emu, gpu, output };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(emu)!, r.GetValue(gpu)!, r.GetValue(output))));
        return cmd;
    }

    private static int Run(string emu, string gpu, string? output)
    {
        var rows = OutputStore.Compare(emu, gpu);
        var compared = rows.Where(r => r.Note.Length == 0).ToArray();
        var table = new Table().Border(TableBorder.Simple).AddColumns("op", "case", "emulated", "gpu", "output", "dtype", "elements", "identical", "max ulp", "relL2", "note");
        var md = new StringBuilder("| op | case | emulated | gpu | output | dtype | elements | identical | max ulp | relL2 | note |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var r in rows)
        {
            string ident = r.Note.Length == 0 ? (r.FractionIdentical * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "-";
            string ulp = r.Note.Length == 0 ? (r.MaxUlp == long.MaxValue ? "NaN" : r.MaxUlp.ToString(CultureInfo.InvariantCulture)) : "-";
            string rel = double.IsNaN(r.RelL2) ? "-" : r.RelL2.ToString("0.00e+0", CultureInfo.InvariantCulture);
            table.AddRow(r.Op, r.Case, r.Emulated, r.Gpu, r.Output, r.DType, r.Elements.ToString(CultureInfo.InvariantCulture), ident, ulp, rel, Markup.Escape(r.Note));
            md.Append(CultureInfo.InvariantCulture, $"| {r.Op} | {r.Case} | {r.Emulated} | {r.Gpu} | {r.Output} | {r.DType} | {r.Elements} | {ident} | {ulp} | {rel} | {r.Note} |\n");
        }
        AnsiConsole.Write(table);
        long all = compared.Sum(r => r.Elements);
        long same = compared.Sum(r => r.Identical);
        string summary = compared.Length == 0
            ? $"no output pairs: {rows.Count} emulator outputs, none with a GPU counterpart"
            : FormattableString.Invariant($"{compared.Length} outputs compared: {same} of {all} elements identical ({(double)same / Math.Max(1, all):P2}); {compared.Count(r => r.Identical == r.Elements)} outputs identical throughout; {rows.Count - compared.Length} without a GPU counterpart");
        Console.WriteLine(summary);
        if (output is not null)
        {
            File.WriteAllText(output, md.Append('\n').Append(summary).Append('\n').ToString());
        }
        return compared.Length == 0 ? 1 : 0;
    }
}
