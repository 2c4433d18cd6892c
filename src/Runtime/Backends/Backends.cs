using System.Collections.Concurrent;
using Zoetrope.Runtime.Cuda;
using Zoetrope.Runtime.Native;

namespace Zoetrope.Runtime;

/// <summary>
/// Opens backends. <see cref="Get(BackendKind)"/> returns one shared instance per kind and
/// process (freed at exit); <see cref="Create"/> a fresh one the caller disposes. Asking for a
/// backend that cannot run here throws a <see cref="ZoetropeDeviceException"/> at once, with the
/// reason (no driver, no GPU, shim not built, emulated libraries not built), never a crash at the
/// first launch. A process runs either the real CUDA backends or the emulated ones, whichever is
/// opened first (<see cref="EmulatedCuda"/>); the others then report why they are unavailable.
/// </summary>
public static class Backends
{
    private static readonly ConcurrentDictionary<BackendKind, Lazy<Backend>> Shared = new();

    static Backends()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var lazy in Shared.Values)
            {
                if (lazy.IsValueCreated)
                {
                    try
                    {
                        lazy.Value.DisposeShared();
                    }
                    catch (Exception)
                    {
                        // The process is ending; a device that fails to close must not mask the exit code.
                    }
                }
            }
        };
    }

    /// <summary>The shared host (reference) backend: where host tensors live.</summary>
    public static ReferenceBackend Host => (ReferenceBackend)Get(BackendKind.Reference);

    /// <summary>The shared instance of <paramref name="kind"/>, opened on first use.</summary>
    /// <exception cref="ZoetropeDeviceException">The backend cannot run on this machine.</exception>
    public static Backend Get(BackendKind kind)
    {
        var lazy = Shared.GetOrAdd(kind, k => new Lazy<Backend>(() =>
        {
            var b = Create(k);
            b.IsShared = true;
            return b;
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        return lazy.Value;
    }

    /// <summary>The shared instance of the backend named <paramref name="name"/>.</summary>
    public static Backend Get(string name) => Get(BackendKinds.Parse(name));

    /// <summary>A new instance of <paramref name="kind"/> owned by the caller.</summary>
    /// <exception cref="ZoetropeDeviceException">The backend cannot run on this machine.</exception>
    public static Backend Create(BackendKind kind)
    {
        var availability = Probe(kind);
        if (!availability.Available)
        {
            throw new ZoetropeDeviceException($"backend {kind.Label()} is not available: {availability.Reason}");
        }
        return kind switch
        {
            BackendKind.Reference => new ReferenceBackend(),
            BackendKind.IlgpuCpu or BackendKind.IlgpuCuda or BackendKind.IlgpuEmu => new IlgpuBackend(kind),
            BackendKind.Cuda or BackendKind.CudaEmu => new CudaBackend(kind),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown backend"),
        };
    }

    /// <summary>Whether <paramref name="kind"/> can run here, and why not. Never throws.</summary>
    public static BackendAvailability Probe(BackendKind kind)
    {
        switch (kind)
        {
            case BackendKind.Reference:
            case BackendKind.IlgpuCpu:
                return new BackendAvailability(kind, true, string.Empty);
            case BackendKind.IlgpuCuda:
            case BackendKind.Cuda:
            {
                var reasons = new List<string>();
                if (EmulatedCuda.Mode == CudaProcessMode.Emulated)
                {
                    reasons.Add(EmulatedCuda.ConflictReason(CudaProcessMode.Emulated));
                }
                var cuda = CudaDriver.Probe();
                if (!cuda.Available)
                {
                    reasons.Add(cuda.Reason);
                }
                if (kind == BackendKind.Cuda && !NativeShim.TryLoadReal(out var shimWhy))
                {
                    reasons.Add(shimWhy);
                }
                return new BackendAvailability(kind, reasons.Count == 0, string.Join("; and ", reasons));
            }
            case BackendKind.IlgpuEmu:
            case BackendKind.CudaEmu:
            {
                var reasons = new List<string>();
                string driver = EmulatedCuda.ProbeDriver();
                if (driver.Length > 0)
                {
                    reasons.Add(driver);
                }
                if (kind == BackendKind.CudaEmu && !NativeShim.TryLoadEmulated(out var shimWhy))
                {
                    reasons.Add(shimWhy);
                }
                return new BackendAvailability(kind, reasons.Count == 0, string.Join("; and ", reasons));
            }
            default:
                return new BackendAvailability(kind, false, $"unknown backend {(int)kind}");
        }
    }

    /// <summary>The kinds that can run on this machine.</summary>
    public static IReadOnlyList<BackendKind> Available() =>
        BackendKinds.All.Where(k => Probe(k).Available).ToArray();
}
