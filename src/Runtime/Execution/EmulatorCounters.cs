using Zoetrope.Emulator.Exec;

namespace Zoetrope.Runtime.Execution;

/// <summary>
/// What the emulated device counted for one kernel over one or more launches: warp instructions
/// by class, global requests and the 32-byte sectors they touched against the fewest possible
/// (coalescing), shared requests and their wavefronts against the conflict-free count (bank
/// conflicts), the bytes moved at sector granularity, and warnings (a divergent <c>bra.uni</c>).
/// </summary>
internal sealed record EmulatorCounters
{
    /// <summary>The kernel's readable name (<see cref="KernelName.Short"/>).</summary>
    public required string Kernel { get; init; }
    /// <summary>Launches counted.</summary>
    public int Launches { get; init; }
    /// <summary>Warp instructions.</summary>
    public long WarpInstructions { get; init; }
    /// <summary>Warp instructions per class (integer, float, half, special, convert, tensor, global, shared, local, warp, control).</summary>
    public IReadOnlyDictionary<string, long> ByClass { get; init; } = new Dictionary<string, long>();
    /// <summary>Tensor-core operations (2 m n k per warp mma) by precision ("f16", "int8", "fp8"; "f16wgmma", "int8wgmma", "fp8wgmma" for Hopper's wgmma); absent when zero.</summary>
    public IReadOnlyDictionary<string, long> TensorOps { get; init; } = new Dictionary<string, long>();
    /// <summary>CTAs run over all launches (per launch, how much of a GPU the grid could fill).</summary>
    public long Ctas { get; init; }
    /// <summary>CTAs the emulator ran when it sampled the grids (`zoe bench --sample-ctas`), every count scaled from them to <see cref="Ctas"/>; 0 when every CTA ran.</summary>
    public long SampledCtas { get; init; }
    /// <summary>Global load and store requests.</summary>
    public long GlobalRequests { get; init; }
    /// <summary>32-byte sectors those requests touched.</summary>
    public long GlobalSectors { get; init; }
    /// <summary>The fewest sectors that could hold the bytes used.</summary>
    public long GlobalIdealSectors { get; init; }
    /// <summary>Shared-memory requests.</summary>
    public long SharedRequests { get; init; }
    /// <summary>Shared wavefronts (replays included).</summary>
    public long SharedWavefronts { get; init; }
    /// <summary>Wavefronts with no bank conflict.</summary>
    public long SharedIdealWavefronts { get; init; }
    /// <summary>Bytes moved to and from global memory at sector granularity.</summary>
    public long BytesMoved { get; init; }
    /// <summary>Warnings (each once).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Ideal over actual sectors (1 = perfectly coalesced).</summary>
    public double Coalescing => GlobalSectors == 0 ? 1.0 : (double)GlobalIdealSectors / GlobalSectors;

    /// <summary>Wavefronts over the conflict-free count (1 = no bank conflict).</summary>
    public double BankConflicts => SharedIdealWavefronts == 0 ? 1.0 : (double)SharedWavefronts / SharedIdealWavefronts;

    /// <summary>The sum of <paramref name="rows"/> (same kernel), or null for none.</summary>
    public static EmulatorCounters? Sum(IEnumerable<EmulatorCounters> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        EmulatorCounters? acc = null;
        foreach (var r in rows)
        {
            if (acc is null)
            {
                acc = r;
                continue;
            }
            var byClass = new Dictionary<string, long>(acc.ByClass);
            foreach (var (k, v) in r.ByClass)
            {
                byClass[k] = byClass.GetValueOrDefault(k) + v;
            }
            var tensorOps = new Dictionary<string, long>(acc.TensorOps);
            foreach (var (k, v) in r.TensorOps)
            {
                tensorOps[k] = tensorOps.GetValueOrDefault(k) + v;
            }
            acc = acc with
            {
                Launches = acc.Launches + r.Launches,
                WarpInstructions = acc.WarpInstructions + r.WarpInstructions,
                ByClass = byClass,
                TensorOps = tensorOps,
                Ctas = acc.Ctas + r.Ctas,
                SampledCtas = acc.SampledCtas > 0 || r.SampledCtas > 0
                    ? (acc.SampledCtas > 0 ? acc.SampledCtas : acc.Ctas) + (r.SampledCtas > 0 ? r.SampledCtas : r.Ctas)
                    : 0,
                GlobalRequests = acc.GlobalRequests + r.GlobalRequests,
                GlobalSectors = acc.GlobalSectors + r.GlobalSectors,
                GlobalIdealSectors = acc.GlobalIdealSectors + r.GlobalIdealSectors,
                SharedRequests = acc.SharedRequests + r.SharedRequests,
                SharedWavefronts = acc.SharedWavefronts + r.SharedWavefronts,
                SharedIdealWavefronts = acc.SharedIdealWavefronts + r.SharedIdealWavefronts,
                BytesMoved = acc.BytesMoved + r.BytesMoved,
                Warnings = acc.Warnings.Concat(r.Warnings).Distinct().Take(16).ToArray(),
            };
        }
        return acc;
    }

    /// <summary>One row per kernel, launches of the same kernel summed, in first-launch order.</summary>
    public static IReadOnlyList<EmulatorCounters> PerKernel(IEnumerable<LaunchStats> launches)
    {
        ArgumentNullException.ThrowIfNull(launches);
        var order = new List<string>();
        var sums = new Dictionary<string, (LaunchStats Sum, int Count)>(StringComparer.Ordinal);
        foreach (var l in launches)
        {
            if (!sums.TryGetValue(l.Kernel, out var e))
            {
                order.Add(l.Kernel);
                e = (new LaunchStats { Kernel = l.Kernel, Geometry = l.Geometry }, 0);
            }
            e.Sum.Add(l);
            sums[l.Kernel] = (e.Sum, e.Count + 1);
        }
        return order.Select(k => From(sums[k].Sum, sums[k].Count)).ToArray();
    }

    /// <summary>The counters of one (summed) <see cref="LaunchStats"/>.</summary>
    public static EmulatorCounters From(LaunchStats s, int launches)
    {
        ArgumentNullException.ThrowIfNull(s);
        var byClass = new Dictionary<string, long>();
        for (int c = 0; c < (int)InstrClass.Count; c++)
        {
            if (s.Instructions[c] != 0)
            {
                byClass[((InstrClass)c).ToString().ToLowerInvariant()] = s.Instructions[c];
            }
        }
        var tensorOps = new Dictionary<string, long>();
        for (int p = 0; p < (int)TensorPrecision.Count; p++)
        {
            if (s.TensorOps[p] != 0)
            {
                tensorOps[((TensorPrecision)p).ToString().ToLowerInvariant()] = s.TensorOps[p];
            }
        }
        return new EmulatorCounters
        {
            Kernel = KernelName.Short(s.Kernel),
            TensorOps = tensorOps,
            Ctas = s.Ctas,
            SampledCtas = s.SampledCtas,
            Launches = launches,
            WarpInstructions = s.TotalInstructions,
            ByClass = byClass,
            GlobalRequests = s.GlobalLoadRequests + s.GlobalStoreRequests,
            GlobalSectors = s.GlobalLoadSectors + s.GlobalStoreSectors,
            GlobalIdealSectors = s.GlobalLoadIdealSectors + s.GlobalStoreIdealSectors,
            SharedRequests = s.SharedRequests,
            SharedWavefronts = s.SharedWavefronts,
            SharedIdealWavefronts = s.SharedIdealWavefronts,
            BytesMoved = s.GlobalBytesMoved,
            Warnings = s.Warnings.ToArray(),
        };
    }
}
