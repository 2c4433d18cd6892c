using System.Globalization;
using Spectre.Console;
using Zoetrope.Engine;
using Zoetrope.Runtime;

namespace Zoetrope.Cli.Preflight;

/// <summary>
/// The memory check every verb that builds a model makes before building it: one line with the
/// estimate (<see cref="MemoryEstimate"/>) against what the machine has, then either on, or a
/// typed refusal that shows the estimate by part and the limit, and says <c>--force</c> runs
/// anyway. The limit is the host's available memory for CPU backends (MemAvailable from
/// /proc/meminfo, or a tighter cgroup limit; the runtime's view elsewhere), and the GPU's free
/// memory (its total when free cannot be read) for GPU backends, whose host side holds the
/// master weights and is checked too. <see cref="LimitVariable"/> replaces what is detected.
/// </summary>
public static class MemoryPreflight
{
    /// <summary>
    /// An environment variable that sets the limit instead of detecting it (bytes, or a size such as
    /// <c>24GiB</c>, <c>512MB</c>): to keep a run inside a share of a machine, or to test the check.
    /// </summary>
    public const string LimitVariable = "ZOE_MEMORY_LIMIT";

    /// <summary>
    /// Prints the estimate line and refuses a run that does not fit, unless <paramref name="force"/>.
    /// <paramref name="what"/> names the run in the message (<c>zoe stream --model wan-14b</c>).
    /// </summary>
    /// <exception cref="MemoryPreflightException">The estimate exceeds the limit and <paramref name="force"/> is false.</exception>
    public static void Check(IAnsiConsole console, MemoryEstimate estimate, MemoryLimit limit, bool force, string what)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(estimate);
        ArgumentNullException.ThrowIfNull(limit);
        console.MarkupLine(Markup.Escape(Line(estimate, limit)));
        Enforce(console, Over(estimate, limit), force, what);
    }

    /// <summary>
    /// Refuses a run whose need <paramref name="over"/> (from an <c>Over</c>) exceeds the limit,
    /// unless <paramref name="force"/>; nothing when it fits.
    /// </summary>
    /// <exception cref="MemoryPreflightException">It does not fit and <paramref name="force"/> is false.</exception>
    public static void Enforce(IAnsiConsole console, string? over, bool force, string what)
    {
        ArgumentNullException.ThrowIfNull(console);
        if (over is null)
        {
            return;
        }
        if (force)
        {
            console.MarkupLine(Markup.Escape($"memory: {over}; running anyway (--force)"));
            return;
        }
        throw new MemoryPreflightException($"{what} needs {over}; --force runs anyway");
    }

    /// <summary>The one-line estimate: host (and GPU) bytes by part against the limits.</summary>
    public static string Line(MemoryEstimate estimate, MemoryLimit limit)
    {
        ArgumentNullException.ThrowIfNull(estimate);
        ArgumentNullException.ThrowIfNull(limit);
        string host = $"{Bytes(estimate.HostBytes)} host ({HostParts(estimate)}) of {Bytes(limit.HostBytes)} {limit.HostSource}";
        if (estimate.BackendIsHost)
        {
            return $"memory estimate: {host}";
        }
        return $"memory estimate: {Bytes(estimate.DeviceBytes)} on the GPU ({DeviceParts(estimate)}) of {Bytes(limit.DeviceBytes ?? 0)} {limit.DeviceSource}; {host}";
    }

    /// <summary>What exceeds the limit ("about X of host memory (parts), more than the Y available"), or null when it fits.</summary>
    public static string? Over(MemoryEstimate estimate, MemoryLimit limit)
    {
        ArgumentNullException.ThrowIfNull(estimate);
        return Over(limit, estimate.HostBytes, HostParts(estimate), estimate.BackendIsHost ? null : estimate.DeviceBytes, DeviceParts(estimate));
    }

    /// <summary>As <see cref="Over(MemoryEstimate, MemoryLimit)"/> for any need: host bytes and, on a GPU, device bytes, each with what they are.</summary>
    public static string? Over(MemoryLimit limit, long hostBytes, string hostParts, long? deviceBytes = null, string? deviceParts = null)
    {
        ArgumentNullException.ThrowIfNull(limit);
        if (deviceBytes is long need && limit.DeviceBytes is long device && need > device)
        {
            return $"about {Bytes(need)} of GPU memory ({deviceParts}), more than the {Bytes(device)} {limit.DeviceSource}";
        }
        if (hostBytes > limit.HostBytes)
        {
            return $"about {Bytes(hostBytes)} of host memory ({hostParts}), more than the {Bytes(limit.HostBytes)} {limit.HostSource}";
        }
        return null;
    }

    /// <summary>
    /// What the machine has for a run on <paramref name="backend"/>: <see cref="LimitVariable"/>
    /// when set; otherwise the host's available memory and, on GPU backends, the device's free memory.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="LimitVariable"/> is not a size.</exception>
    public static MemoryLimit Detect(Backend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        string? forced = Environment.GetEnvironmentVariable(LimitVariable);
        if (!string.IsNullOrWhiteSpace(forced))
        {
            long bytes = ParseSize(forced, LimitVariable);
            string source = $"set by {LimitVariable}";
            return new MemoryLimit(bytes, source, backend.Kind.NeedsGpu() ? bytes : null, backend.Kind.NeedsGpu() ? source : null);
        }
        var (hostBytes, hostSource) = HostAvailable();
        if (!backend.Kind.NeedsGpu())
        {
            return new MemoryLimit(hostBytes, hostSource, null, null);
        }
        var (deviceBytes, deviceSource) = DeviceAvailable(backend);
        return new MemoryLimit(hostBytes, hostSource, deviceBytes, deviceSource);
    }

    /// <summary>The host memory a new allocation can get: MemAvailable, a cgroup v2 limit when tighter, else the runtime's view.</summary>
    public static (long Bytes, string Source) HostAvailable()
    {
        long? available = MemInfo("MemAvailable");
        var result = available is long a ? (a, "available (MemAvailable)") : (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "available to the runtime");
        // A container's limit binds before the machine's.
        if (ReadLong("/sys/fs/cgroup/memory.max") is long max && ReadLong("/sys/fs/cgroup/memory.current") is long current && max - current < result.Item1)
        {
            result = (Math.Max(0, max - current), "left under the cgroup's memory.max");
        }
        return result;
    }

    /// <summary>Parses a size: bytes, or a number with KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024).</summary>
    /// <exception cref="ArgumentException">Not a size; the message names <paramref name="option"/>.</exception>
    public static long ParseSize(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        int split = 0;
        while (split < t.Length && (char.IsAsciiDigit(t[split]) || t[split] == '.'))
        {
            split++;
        }
        double scale = t[split..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "TB" => 1e12,
            "K" or "KIB" => 1L << 10,
            "M" or "MIB" => 1L << 20,
            "G" or "GIB" => 1L << 30,
            "T" or "TIB" => 1L << 40,
            _ => double.NaN,
        };
        if (split == 0 || double.IsNaN(scale) || !double.TryParse(t[..split], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value * scale > long.MaxValue)
        {
            throw new ArgumentException($"{option} {text}: not a size; expected bytes or a number with a unit such as 24GiB or 512MB");
        }
        return (long)(value * scale);
    }

    /// <summary>
    /// Returns the managed garbage of the step just done to the allocator (a blocking, compacting
    /// full collection). Uploads and the reference ops stage whole tensors as byte and f64 arrays;
    /// left to itself the GC lets gigabytes of them pile up while host memory is plentiful, so
    /// the verbs collect between steps and keep the peak near the live set the estimate counts.
    /// </summary>
    public static void Collect()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>Wraps <paramref name="inner"/> so that every report (one per layer built) first <see cref="Collect"/>s.</summary>
    public static IProgress<double> CollectingEach(IProgress<double> inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return new Collecting(inner);
    }

    /// <summary>Bytes in binary units with one decimal (KiB, MiB, GiB, TiB).</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (Math.Abs(v) >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? FormattableString.Invariant($"{bytes} B") : FormattableString.Invariant($"{v:0.0} {units[u]}");
    }

    private sealed class Collecting(IProgress<double> inner) : IProgress<double>
    {
        public void Report(double value)
        {
            Collect();
            inner.Report(value);
        }
    }

    private static string HostParts(MemoryEstimate e)
    {
        string weights = e.BackendIsHost
            ? $"weights {Bytes(e.Weights)} = {e.MasterLabel} {Bytes(e.MasterWeights)} + {e.Backend.Label()} copy {Bytes(e.BackendWeights)}"
            : $"weights: {e.MasterLabel} {Bytes(e.MasterWeights)}";
        string decoder = e.Decoder is not { } d ? ""
            : e.BackendIsHost ? $", decoder {d.Decoder} {Bytes(d.DeviceBytes + d.HostTransient)} ({d.Describe(Bytes)})"
            : $", decoder {d.Decoder} host staging {Bytes(d.HostTransient)}";
        return e.BackendIsHost
            ? $"{weights}, activations {Bytes(e.Activations)}, KV pool {Bytes(e.KvPool)}{decoder}, runtime {Bytes(e.Runtime)}"
            : $"{weights}, activations (transient) {Bytes(e.HostTransient)}{decoder}, runtime {Bytes(e.Runtime)}";
    }

    private static string DeviceParts(MemoryEstimate e) =>
        $"weights {Bytes(e.BackendWeights)}, activations {Bytes(e.ActivationTensors)}, KV pool {Bytes(e.KvPool)}" +
        (e.Decoder is { } d ? $", decoder {d.Decoder} {Bytes(d.DeviceBytes)} (weights {Bytes(d.Weights)}, caches {Bytes(d.Caches)}, scratch {Bytes(d.Scratch)})" : "") +
        $", context {Bytes(e.DeviceContext)}";

    private static (long? Bytes, string Source) DeviceAvailable(Backend backend)
    {
        try
        {
            var (free, _) = Runtime.Cuda.CudaDriver.MemoryInfo();
            return (free, "free on the GPU");
        }
        catch (Exception e) when (e is ZoetropeDeviceException or DllNotFoundException or EntryPointNotFoundException)
        {
            // No current context to ask: the device's size is the best bound there is.
            return backend is IlgpuBackend ilgpu ? (ilgpu.Accelerator.MemorySize, "on the GPU (total; free unknown)") : (null, "unknown");
        }
    }

    private static long? MemInfo(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith(key + ":", StringComparison.Ordinal))
                {
                    var parts = line[(key.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0], CultureInfo.InvariantCulture) * (parts.Length > 1 && parts[1] == "kB" ? 1024 : 1);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Not Linux, or unreadable: the caller falls back to the runtime's figure.
        }
        return null;
    }

    private static long? ReadLong(string path)
    {
        try
        {
            return File.Exists(path) && long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>What a run may use: host bytes and, for GPU backends, device bytes, each with where the figure came from.</summary>
/// <param name="HostBytes">Host memory available.</param>
/// <param name="HostSource">How it was found ("available (MemAvailable)").</param>
/// <param name="DeviceBytes">Device memory available (GPU backends), or null.</param>
/// <param name="DeviceSource">How it was found, or null.</param>
public sealed record MemoryLimit(long HostBytes, string HostSource, long? DeviceBytes, string? DeviceSource);

/// <summary>
/// A run the machine cannot hold: the estimate by part and the limit are in the message. An
/// <see cref="ArgumentException"/> (the model, dtype, path and backend asked for are the cause),
/// so <see cref="Guard"/> reports it like any typed error: one line, exit 2.
/// </summary>
public sealed class MemoryPreflightException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public MemoryPreflightException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public MemoryPreflightException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public MemoryPreflightException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
