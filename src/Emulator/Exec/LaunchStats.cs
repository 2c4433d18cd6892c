namespace Zoetrope.Emulator.Exec;

/// <summary>
/// What one launch did, counted by the interpreter: warp instructions by class, global memory
/// requests and the 32-byte sectors they touched, shared-memory requests and the wavefronts
/// (bank-conflict replays included) they took. A GPU's profiler gives the same figures for the
/// same PTX only approximately (ptxas reorders and fuses), but the ratios, coalescing and
/// conflicts, carry over.
/// </summary>
internal sealed class LaunchStats
{
    /// <summary>The kernel.</summary>
    public required string Kernel { get; init; }

    /// <summary>Grid and block as launched.</summary>
    public required string Geometry { get; init; }

    /// <summary>Warp instructions issued, by <see cref="InstrClass"/> (index = (int)class).</summary>
    public long[] Instructions { get; } = new long[(int)InstrClass.Count];

    /// <summary>Tensor-core operations (2 m n k per warp mma), by <see cref="TensorPrecision"/> (index = (int)precision).</summary>
    public long[] TensorOps { get; } = new long[(int)TensorPrecision.Count];

    /// <summary>Global load requests (one per warp-level ld/ld.global/cp.async source read).</summary>
    public long GlobalLoadRequests { get; set; }
    /// <summary>32-byte sectors the global loads touched.</summary>
    public long GlobalLoadSectors { get; set; }
    /// <summary>The fewest sectors those loads could have touched for the bytes they used.</summary>
    public long GlobalLoadIdealSectors { get; set; }
    /// <summary>Bytes the active lanes asked for in global loads.</summary>
    public long GlobalLoadBytes { get; set; }
    /// <summary>Global store requests.</summary>
    public long GlobalStoreRequests { get; set; }
    /// <summary>32-byte sectors the global stores touched.</summary>
    public long GlobalStoreSectors { get; set; }
    /// <summary>The fewest sectors those stores could have touched.</summary>
    public long GlobalStoreIdealSectors { get; set; }
    /// <summary>Bytes the active lanes stored.</summary>
    public long GlobalStoreBytes { get; set; }
    /// <summary>Global atomics and reductions (requests).</summary>
    public long GlobalAtomics { get; set; }
    /// <summary>Shared-memory requests (ld, st, ldmatrix, atom, cp.async destination).</summary>
    public long SharedRequests { get; set; }
    /// <summary>Wavefronts those requests took (1 per request when conflict-free).</summary>
    public long SharedWavefronts { get; set; }
    /// <summary>The wavefronts they would take with no bank conflict.</summary>
    public long SharedIdealWavefronts { get; set; }
    /// <summary>Bytes bulk copies (TMA, cp.async.bulk) wrote into or read from shared memory; not warp requests, so not in the wavefront counts.</summary>
    public long SharedBulkBytes { get; set; }
    /// <summary>CTAs run (the whole grid's count when the launch was sampled: see <see cref="SampledCtas"/>).</summary>
    public long Ctas { get; set; }
    /// <summary>
    /// CTAs the interpreter actually ran when the device sampled the grid (<see cref="Device.EmuDevice.SampleCtas"/>),
    /// the other counters then being scaled from them to the whole grid; 0 when every CTA ran.
    /// </summary>
    public long SampledCtas { get; set; }
    /// <summary>Threads run.</summary>
    public long Threads { get; set; }

    /// <summary>
    /// Findings that do not stop the launch (a divergent <c>bra.uni</c>), each once per PTX line
    /// with where it first happened; at most 16 are kept.
    /// </summary>
    public List<string> Warnings { get; } = new();

    /// <summary>Total warp instructions.</summary>
    public long TotalInstructions => Instructions.Sum();

    /// <summary>Ideal over actual global sectors, loads and stores together (1 = perfectly coalesced).</summary>
    public double CoalescingEfficiency
    {
        get
        {
            long actual = GlobalLoadSectors + GlobalStoreSectors;
            return actual == 0 ? 1.0 : (double)(GlobalLoadIdealSectors + GlobalStoreIdealSectors) / actual;
        }
    }

    /// <summary>Wavefronts per shared request over the conflict-free figure (1 = no bank conflict).</summary>
    public double BankConflictFactor => SharedIdealWavefronts == 0 ? 1.0 : (double)SharedWavefronts / SharedIdealWavefronts;

    /// <summary>Bytes moved to and from global memory at sector granularity.</summary>
    public long GlobalBytesMoved => (GlobalLoadSectors + GlobalStoreSectors) * 32;

    /// <summary>
    /// Scales the counts of the <see cref="Ctas"/> that ran to <paramref name="gridCtas"/> (a
    /// sampled launch: every count times grid / ran, rounded) and records how many ran.
    /// </summary>
    public void ScaleToGrid(long gridCtas)
    {
        long ran = Ctas;
        if (ran <= 0 || gridCtas == ran)
        {
            return;
        }
        double f = (double)gridCtas / ran;
        long S(long x) => (long)Math.Round(x * f);
        for (int i = 0; i < Instructions.Length; i++)
        {
            Instructions[i] = S(Instructions[i]);
        }
        for (int i = 0; i < TensorOps.Length; i++)
        {
            TensorOps[i] = S(TensorOps[i]);
        }
        (GlobalLoadRequests, GlobalLoadSectors, GlobalLoadIdealSectors, GlobalLoadBytes) =
            (S(GlobalLoadRequests), S(GlobalLoadSectors), S(GlobalLoadIdealSectors), S(GlobalLoadBytes));
        (GlobalStoreRequests, GlobalStoreSectors, GlobalStoreIdealSectors, GlobalStoreBytes) =
            (S(GlobalStoreRequests), S(GlobalStoreSectors), S(GlobalStoreIdealSectors), S(GlobalStoreBytes));
        GlobalAtomics = S(GlobalAtomics);
        (SharedRequests, SharedWavefronts, SharedIdealWavefronts, SharedBulkBytes) =
            (S(SharedRequests), S(SharedWavefronts), S(SharedIdealWavefronts), S(SharedBulkBytes));
        Threads = S(Threads);
        Ctas = gridCtas;
        SampledCtas = ran;
    }

    /// <summary>Adds another launch's counts into this one (for per-kernel totals).</summary>
    public void Add(LaunchStats other)
    {
        for (int i = 0; i < Instructions.Length; i++)
        {
            Instructions[i] += other.Instructions[i];
        }
        for (int i = 0; i < TensorOps.Length; i++)
        {
            TensorOps[i] += other.TensorOps[i];
        }
        GlobalLoadRequests += other.GlobalLoadRequests;
        GlobalLoadSectors += other.GlobalLoadSectors;
        GlobalLoadIdealSectors += other.GlobalLoadIdealSectors;
        GlobalLoadBytes += other.GlobalLoadBytes;
        GlobalStoreRequests += other.GlobalStoreRequests;
        GlobalStoreSectors += other.GlobalStoreSectors;
        GlobalStoreIdealSectors += other.GlobalStoreIdealSectors;
        GlobalStoreBytes += other.GlobalStoreBytes;
        GlobalAtomics += other.GlobalAtomics;
        SharedRequests += other.SharedRequests;
        SharedWavefronts += other.SharedWavefronts;
        SharedIdealWavefronts += other.SharedIdealWavefronts;
        SharedBulkBytes += other.SharedBulkBytes;
        long ctasBefore = Ctas;
        Ctas += other.Ctas;
        // Once any launch was sampled, the total counts every CTA that ran (all of an unsampled launch's).
        if (SampledCtas > 0 || other.SampledCtas > 0)
        {
            SampledCtas = (SampledCtas > 0 ? SampledCtas : ctasBefore) + (other.SampledCtas > 0 ? other.SampledCtas : other.Ctas);
        }
        Threads += other.Threads;
        foreach (var warning in other.Warnings)
        {
            if (Warnings.Count < 16 && !Warnings.Contains(warning))
            {
                Warnings.Add(warning);
            }
        }
    }
}

/// <summary>The tensor-core rate an mma runs at: f16 and bf16 share one, INT8 and FP8 have twice it on Ada and Hopper.</summary>
internal enum TensorPrecision
{
    /// <summary>f16 or bf16 inputs (f32 or f16 accumulators).</summary>
    F16 = 0,
    /// <summary>s8 or u8 inputs (s32 accumulators).</summary>
    Int8 = 1,
    /// <summary>e4m3 or e5m2 inputs (f32 accumulators).</summary>
    Fp8 = 2,
    /// <summary>f16/bf16 through Hopper's wgmma (the path that reaches the datasheet peak there).</summary>
    F16Wgmma = 3,
    /// <summary>s8/u8 through wgmma.</summary>
    Int8Wgmma = 4,
    /// <summary>e4m3/e5m2 through wgmma.</summary>
    Fp8Wgmma = 5,
    /// <summary>The number of precisions.</summary>
    Count = 6,
}
