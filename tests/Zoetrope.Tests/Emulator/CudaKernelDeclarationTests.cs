using NUnit.Framework;
using Zoetrope.Emulator.Device;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// The ops' [CudaKernel] declarations (what <c>zoe info</c> lists per architecture) against what
/// the native dispatch really launches: every declaring op runs its emulator cases on
/// <c>cuda-emu</c>, and each kernel <c>zt_last_kernel</c> names must be declared for this part's
/// architecture or an older one. CI runs it on the default sm_80 part and on the sm_90 part.
/// </summary>
[NonParallelizable]
public class CudaKernelDeclarationTests
{
    [Test]
    public void PlaceholdersStandForOneNamePart()
    {
        var k = new CudaKernelAttribute("sm_90", "attention_sm90_<dtype>_d<D>", "test");
        Assert.That(k.Matches("attention_sm90_bf16_d128"), Is.True);
        Assert.That(k.Matches("attention_sm90_bf16_d128_x"), Is.False);
        Assert.That(k.Matches("attention_sm90__d64"), Is.False, "a placeholder is never empty");
        Assert.That(new CudaKernelAttribute("sm_80", "linear_f32_simt", "f32").Matches("linear_f32_simt"), Is.True);
        Assert.That(k.Sm, Is.EqualTo(90));
    }

    [Test]
    public void EveryKernelTheDispatchNamesIsDeclaredForThisPart()
    {
        using var backend = HostBackendTests.Open(BackendKind.CudaEmu);
        var part = EmuDevice.Shared.Properties;
        int sm = part.Major * 10 + part.Minor;
        var ops = OpCatalog.All.Where(op => CudaKernels.Of(op).Count > 0).ToArray();
        Assert.That(ops.Select(o => o.Name), Does.Contain("attention").And.Contain("linear"));
        var seen = new Dictionary<string, HashSet<string>>();
        foreach (var op in ops)
        {
            // A few of its emulator cases (each a different dtype or shape path), within the emulated cap.
            foreach (var row in op.Cases().Where(c => c.Use.HasFlag(CaseUse.Emulator) && op.Caps.Allows(BackendKind.CudaEmu, c.Instance.Cost.Work)).Take(4))
            {
                foreach (var note in RunCollectingNotes(backend, row.Instance))
                {
                    int at = note.IndexOf(": kernel ", StringComparison.Ordinal);
                    if (at < 0)
                    {
                        continue;
                    }
                    var (label, kernel) = (note[..at], note[(at + ": kernel ".Length)..]);
                    var declaring = OpCatalog.Get(label);
                    Assert.That(CudaKernels.Find(declaring, kernel, sm), Is.Not.Null,
                        $"{op.Name} {row.Instance.Label}: the dispatch launched {kernel} on sm_{sm}, which {label}'s [CudaKernel] declarations do not name");
                    (seen.TryGetValue(label, out var s) ? s : seen[label] = []).Add(kernel);
                }
            }
        }
        foreach (var (label, kernels) in seen)
        {
            TestContext.Out.WriteLine($"sm_{sm} {label}: {string.Join(", ", kernels)}");
        }
        Assert.That(seen.Keys, Does.Contain("attention").And.Contain("linear").And.Contain("linear_int8").And.Contain("linear_fp8"),
            "the ops that record their kernel recorded one");
        if (sm >= 90)
        {
            Assert.That(seen["attention"].Any(k => k.Contains("sm90", StringComparison.Ordinal)), Is.True, "a 9.x part takes the Hopper attention");
            Assert.That(seen["linear"].Any(k => k.Contains("sm90", StringComparison.Ordinal)), Is.True, "a 9.x part takes the Hopper GEMM");
        }
    }

    private static IReadOnlyList<string> RunCollectingNotes(Backend backend, OpInstance instance)
    {
        var sig = instance.Signature;
        var inputs = InputFactory.HostInputs(sig, seed: 1);
        var owned = new List<Tensor>();
        try
        {
            var tensors = new OpTensors();
            foreach (var spec in sig.Tensors)
            {
                var t = spec.IsRead ? inputs[spec.Name].To(backend, spec.Name) : backend.Allocate(spec.DType, spec.Shape, spec.Name);
                owned.Add(t);
                tensors.Add(spec.Name, t);
            }
            using var notes = OpNotes.Collect();
            instance.Run(backend, tensors);
            backend.Synchronize();
            return notes.Notes.ToArray();
        }
        finally
        {
            foreach (var t in owned.Concat(inputs.Values))
            {
                t.Dispose();
            }
        }
    }
}
