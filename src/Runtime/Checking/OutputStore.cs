using System.Globalization;
using Zoetrope.Runtime.IO;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Checking;

/// <summary>
/// Outputs of check runs kept bit for bit, to validate the emulated device against a GPU: the
/// same case (same seed, so the same inputs) run on <c>cuda-emu</c> here and on <c>cuda</c> there
/// must agree. Layout: <c>DIR/&lt;op&gt;/case&lt;NNN&gt;/&lt;backend&gt;/&lt;output&gt;.npy</c>, each in
/// the output's own dtype. <see cref="Compare"/> pairs an emulated backend's files with the
/// backend it emulates and counts identical elements, the largest difference in units in the
/// last place, and relative L2.
/// </summary>
internal static class OutputStore
{
    /// <summary>Writes one backend's outputs of one case.</summary>
    public static void Save(string dir, string op, int caseIndex, BackendKind kind, OpSignature signature, IReadOnlyDictionary<string, double[]> outputs)
    {
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(outputs);
        string folder = Path.Combine(dir, op, CaseFolder(caseIndex), kind.Label());
        Directory.CreateDirectory(folder);
        foreach (var spec in signature.Writes)
        {
            using var t = Tensor.FromDoubles(outputs[spec.Name], spec.DType, spec.Shape, spec.Name);
            Npy.Write(Path.Combine(folder, spec.Name + ".npy"), t);
        }
    }

    /// <summary>The folder name of case <paramref name="index"/>.</summary>
    public static string CaseFolder(int index) => "case" + index.ToString("D3", CultureInfo.InvariantCulture);

    /// <summary>
    /// Pairs every output an emulated backend wrote under <paramref name="emulated"/> with the one
    /// its GPU backend wrote under <paramref name="gpu"/> and compares them.
    /// </summary>
    public static IReadOnlyList<OutputComparison> Compare(string emulated, string gpu)
    {
        var rows = new List<OutputComparison>();
        if (!Directory.Exists(emulated))
        {
            throw new DirectoryNotFoundException($"no emulator outputs at {emulated}");
        }
        foreach (var file in Directory.EnumerateFiles(emulated, "*.npy", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(emulated, file).Split(Path.DirectorySeparatorChar);
            if (rel.Length != 4)
            {
                continue;
            }
            var (op, caseName, backend, output) = (rel[0], rel[1], rel[2], Path.GetFileNameWithoutExtension(rel[3]));
            BackendKind kind;
            try
            {
                kind = BackendKinds.Parse(backend);
            }
            catch (ArgumentException)
            {
                continue;
            }
            if (!kind.IsEmulated())
            {
                continue;
            }
            string target = kind.ImplementationKind().Label();
            string other = Path.Combine(gpu, op, caseName, target, rel[3]);
            if (!File.Exists(other))
            {
                rows.Add(new OutputComparison(op, caseName, backend, target, output, "-", 0, 0, 0, double.NaN, double.NaN, "no GPU output"));
                continue;
            }
            using var a = Npy.Read(file);
            using var b = Npy.Read(other);
            rows.Add(Diff(op, caseName, backend, target, output, a, b));
        }
        return rows;
    }

    private static OutputComparison Diff(string op, string caseName, string backend, string target, string output, Tensor a, Tensor b)
    {
        if (a.DType != b.DType || !a.Shape.Equals(b.Shape))
        {
            return new OutputComparison(op, caseName, backend, target, output, a.DType.Name(), a.ElementCount, 0, 0, double.NaN, double.NaN,
                $"emulator {a.DType.Name()}{a.Shape} vs GPU {b.DType.Name()}{b.Shape}");
        }
        var x = a.ToDoubles();
        var y = b.ToDoubles();
        long same = 0;
        long maxUlp = 0;
        double num = 0, den = 0;
        bool isFloat = a.DType.IsFloat();
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i].Equals(y[i]))
            {
                same++;
            }
            else if (isFloat)
            {
                maxUlp = Math.Max(maxUlp, Ulps(x[i], y[i], a.DType));
            }
            else
            {
                maxUlp = Math.Max(maxUlp, (long)Math.Abs(x[i] - y[i]));
            }
            if (double.IsFinite(x[i]) && double.IsFinite(y[i]))
            {
                num += (x[i] - y[i]) * (x[i] - y[i]);
                den += y[i] * y[i];
            }
        }
        double rel = den > 0 ? Math.Sqrt(num / den) : Math.Sqrt(num);
        return new OutputComparison(op, caseName, backend, target, output, a.DType.Name(), x.Length, same, maxUlp, rel, x.Length == 0 ? 1 : (double)same / x.Length, "");
    }

    /// <summary>Distance in units in the last place of <paramref name="dtype"/> (values of that dtype, so exact).</summary>
    private static long Ulps(double x, double y, DType dtype)
    {
        if (double.IsNaN(x) || double.IsNaN(y))
        {
            return long.MaxValue;
        }
        long Ordered(double v)
        {
            long bits = dtype switch
            {
                DType.F64 => BitConverter.DoubleToInt64Bits(v),
                DType.F32 => BitConverter.SingleToInt32Bits((float)v),
                DType.F16 => BitConverter.HalfToInt16Bits((Half)v),
                DType.BF16 => (short)(BitConverter.SingleToInt32Bits((float)v) >> 16),
                _ => (long)v,
            };
            int width = dtype.Size() * 8;
            long sign = 1L << (width - 1);
            return (bits & sign) != 0 ? -(bits & (sign - 1)) : bits & (sign - 1);
        }
        return Math.Abs(Ordered(x) - Ordered(y));
    }
}

/// <summary>One output of one case, the emulated device against a GPU.</summary>
/// <param name="Op">The op.</param>
/// <param name="Case">The case folder (caseNNN).</param>
/// <param name="Emulated">The emulated backend (cuda-emu, ilgpu-emu).</param>
/// <param name="Gpu">The GPU backend it emulates.</param>
/// <param name="Output">The output tensor.</param>
/// <param name="DType">Its dtype.</param>
/// <param name="Elements">Elements compared.</param>
/// <param name="Identical">Elements identical bit for bit (as values: -0 and +0 differ, NaNs match).</param>
/// <param name="MaxUlp">The largest difference in units in the last place (integers: in units).</param>
/// <param name="RelL2">Relative L2 of the difference, against the GPU's output.</param>
/// <param name="FractionIdentical">Identical over compared.</param>
/// <param name="Note">Why it could not be compared, or empty.</param>
internal sealed record OutputComparison(string Op, string Case, string Emulated, string Gpu, string Output, string DType, long Elements,
    long Identical, long MaxUlp, double RelL2, double FractionIdentical, string Note);
