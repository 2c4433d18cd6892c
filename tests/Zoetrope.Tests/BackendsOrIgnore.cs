using NUnit.Framework;
using Zoetrope.Runtime;

namespace Zoetrope.Tests;

/// <summary>A backend a test runs on, or the test ignored with the reason when this machine lacks it (e.g. cuda-emu without its libraries).</summary>
internal static class BackendsOrIgnore
{
    public static Backend Get(BackendKind kind)
    {
        var probe = Backends.Probe(kind);
        if (!probe.Available)
        {
            Assert.Ignore($"{kind} is not available here: {probe.Reason}");
        }
        return Backends.Get(kind);
    }
}
