using NUnit.Framework;
using Zoetrope.Emulator.Device;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// Issue 17, finding 8: a kernel whose shared-memory opt-in is refused (cudaFuncSetAttribute) must
/// fail its own op with the reason, and leave nothing pending in the runtime's last-error slot: a
/// GPU with a lower limit than the kernel was tuned for (Ada's 99 KB against sm_80's 163 KB) would
/// otherwise report the refusal again as the failure of whatever op launches next.
/// </summary>
[NonParallelizable]
public class SharedMemoryRefusalTests
{
    [Test]
    public void ARefusedOptInFailsItsOpAndNotTheNext()
    {
        var probe = Backends.Probe(BackendKind.CudaEmu);
        if (!probe.Available)
        {
            Assert.Ignore($"cuda-emu is not available here: {probe.Reason}");
        }
        var device = EmuDevice.Shared;
        var saved = device.Properties;
        CheckReport refused;
        try
        {
            // A device whose opt-in limit is below every dense flash kernel's shared memory (45-96 KB).
            device.Properties = saved with { SharedPerBlockOptIn = 32 * 1024 };
            refused = OpChecker.Run(new CheckOptions { Backends = [BackendKind.CudaEmu], Ops = ["attention"] });
        }
        finally
        {
            device.Properties = saved;
        }
        var failed = refused.Rows.Where(r => r.Status == CheckStatus.Fail).ToArray();
        Assert.That(failed, Is.Not.Empty, "every attention case needs more than 32 KB of shared memory");
        Assert.That(failed[0].Message, Does.Match("(?i)shared ?memory"), failed[0].Message);

        var next = OpChecker.Run(new CheckOptions { Backends = [BackendKind.CudaEmu], Ops = ["axpby"] });
        Assert.That(next.Rows, Is.Not.Empty);
        foreach (var row in next.Rows)
        {
            Assert.That(row.Status, Is.EqualTo(CheckStatus.Pass), $"the op after the refusal: {row.Message}");
        }
    }
}
