using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Zoetrope.Emulator;
using Zoetrope.Emulator.Device;
using Zoetrope.Emulator.Exec;
using Zoetrope.Emulator.Host;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// What the Host tests share: a recording executor that stands in for the device (so a launch
/// through the driver or runtime entry points can be seen without the interpreter), a module
/// builder that reads only the .entry signatures of PTX (so it does not depend on the PTX front
/// end either), and where the native libraries and tools are.
/// </summary>
internal static partial class HostTestSupport
{
    /// <summary>The repository root (the folder holding native/emu), or null outside a checkout.</summary>
    public static string? RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "native", "emu", "driver_api.def")))
            {
                return dir.FullName;
            }
        }
        return null;
    }

    /// <summary>nvcc on the PATH, or in the prefix .ci/install-cuda.sh uses; null when neither has it.</summary>
    public static string? Nvcc()
    {
        var onPath = ToolOnPath.Find("nvcc");
        if (onPath is not null)
        {
            return onPath;
        }
        var prefix = Environment.GetEnvironmentVariable("ZT_CUDA_PREFIX") ?? "/opt/zoetrope/cuda-12.4";
        var inPrefix = Path.Combine(prefix, "bin", "nvcc");
        return File.Exists(inPrefix) ? inPrefix : null;
    }

    /// <summary>Runs a tool; returns (exit code, stdout + stderr).</summary>
    public static (int Exit, string Output) Run(string file, string arguments, int timeoutMs = 120_000)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            return (-1, "timed out");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>
    /// Builds an <see cref="EmuModule"/> with the kernels and parameter layouts the PTX declares
    /// (natural alignment, or .align when given), and no instructions.
    /// </summary>
    public static EmuModule ModuleFromSignatures(string ptx, string origin)
    {
        var module = new PtxModule { Origin = origin };
        foreach (Match entry in EntryPattern().Matches(ptx))
        {
            var f = new PtxFunction { Name = entry.Groups["name"].Value, IsEntry = true };
            int offset = 0;
            foreach (Match p in ParamPattern().Matches(entry.Groups["params"].Value))
            {
                int element = TypeSize(p.Groups["type"].Value);
                int count = p.Groups["count"].Success ? int.Parse(p.Groups["count"].Value) : 1;
                int align = p.Groups["align"].Success ? int.Parse(p.Groups["align"].Value) : element;
                offset = (offset + align - 1) / align * align;
                f.Params.Add(new EmuParam(p.Groups["pname"].Value, offset, element * count, align));
                offset += element * count;
            }
            f.ParamBytes = offset;
            module.Functions[f.Name] = f;
        }
        return new EmuModule(EmuDevice.Shared, module, origin);
    }

    private static int TypeSize(string type) => type[^2..] switch
    {
        "64" => 8,
        "32" => 4,
        "16" => 2,
        _ => 1,
    };

    [GeneratedRegex(@"\.entry\s+(?<name>[\w$]+)\s*\((?<params>[^)]*)\)", RegexOptions.Singleline)]
    private static partial Regex EntryPattern();

    [GeneratedRegex(@"\.param\s+(?:\.align\s+(?<align>\d+)\s+)?\.(?<type>[a-z]+\d+)\s+(?<pname>[\w$]+)(?:\[(?<count>\d+)\])?")]
    private static partial Regex ParamPattern();

    /// <summary>Builds a fat binary in memory: the 16-byte header and one 64-byte-header entry per payload.</summary>
    public static byte[] FatBinaryImage(params (int Kind, int Arch, ulong Flags, byte[] Payload)[] entries)
    {
        var body = new List<byte>();
        foreach (var (kind, arch, flags, payload) in entries)
        {
            var header = new byte[64];
            BitConverter.TryWriteBytes(header.AsSpan(0), (ushort)kind);
            BitConverter.TryWriteBytes(header.AsSpan(2), (ushort)0x101);
            BitConverter.TryWriteBytes(header.AsSpan(4), 64u);
            BitConverter.TryWriteBytes(header.AsSpan(8), (ulong)payload.Length);
            BitConverter.TryWriteBytes(header.AsSpan(24), (ushort)4);
            BitConverter.TryWriteBytes(header.AsSpan(26), (ushort)8);
            BitConverter.TryWriteBytes(header.AsSpan(28), (uint)arch);
            BitConverter.TryWriteBytes(header.AsSpan(40), flags);
            if ((flags & FatBinaryEntry.CompressedFlag) != 0)
            {
                BitConverter.TryWriteBytes(header.AsSpan(56), (ulong)payload.Length * 3);
            }
            body.AddRange(header);
            body.AddRange(payload);
        }
        var image = new byte[16 + body.Count];
        BitConverter.TryWriteBytes(image.AsSpan(0), FatBinary.Magic);
        BitConverter.TryWriteBytes(image.AsSpan(4), (ushort)1);
        BitConverter.TryWriteBytes(image.AsSpan(6), (ushort)16);
        BitConverter.TryWriteBytes(image.AsSpan(8), (ulong)body.Count);
        body.CopyTo(image, 16);
        return image;
    }

    /// <summary>PTX text as a NUL-padded fat binary payload.</summary>
    public static byte[] PtxPayload(string ptx)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(ptx);
        var payload = new byte[(text.Length + 1 + 7) / 8 * 8];
        text.CopyTo(payload, 0);
        return payload;
    }

    /// <summary>libzoetrope_native_emu.so where the runtime looks for it (or $ZOETROPE_NATIVE_EMU), or null.</summary>
    public static string? NativeEmuLibrary()
    {
        var env = Environment.GetEnvironmentVariable("ZOETROPE_NATIVE_EMU");
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(env))
        {
            candidates.Add(Directory.Exists(env) ? Path.Combine(env, "libzoetrope_native_emu.so") : env);
        }
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "libzoetrope_native_emu.so"));
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, "build", "libzoetrope_native_emu.so"));
        }
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Runs <paramref name="body"/> with <paramref name="executor"/> in place of the device, then
    /// puts the device back and forgets modules the fake made.
    /// </summary>
    public static void WithExecutor(IEmuExecutor executor, Action body)
    {
        var previous = HostState.Executor;
        HostState.Executor = executor;
        EmuRuntime.ForgetModules();
        try
        {
            body();
        }
        finally
        {
            HostState.Executor = previous;
            EmuRuntime.ForgetModules();
        }
    }

    /// <summary>The C# implementation of a driver entry point (what the emulated driver library calls).</summary>
    public static nint DriverEntry(string name) => EmuDriver.Entries.Single(e => e.Name == name).Function;

    /// <summary>The C# implementation of a runtime callback.</summary>
    public static nint RuntimeEntry(string name) => EmuRuntime.Entries.Single(e => e.Name == name).Function;

    /// <summary>Loads a native library or returns zero.</summary>
    public static IntPtr TryLoad(string? path) => path is not null && NativeLibrary.TryLoad(path, out var h) ? h : IntPtr.Zero;
}

/// <summary>An <see cref="IEmuExecutor"/> that loads modules from PTX signatures and records launches instead of running them.</summary>
internal sealed class RecordingExecutor : IEmuExecutor
{
    /// <summary>The PTX texts handed to LoadModule, with their origins.</summary>
    public List<(string Ptx, string Origin)> Loaded { get; } = new();

    /// <summary>The launches, with a copy of their parameter bytes.</summary>
    public List<(EmuFunction Function, LaunchConfig Config, byte[] Parameters)> Launches { get; } = new();

    /// <summary>When set, LoadModule throws it.</summary>
    public Exception? LoadFailure { get; set; }

    /// <summary>When set, Launch throws it (after recording the launch).</summary>
    public Exception? LaunchFailure { get; set; }

    public EmuModule LoadModule(string ptx, string origin)
    {
        Loaded.Add((ptx, origin));
        if (LoadFailure is not null)
        {
            throw LoadFailure;
        }
        return HostTestSupport.ModuleFromSignatures(ptx, origin);
    }

    public LaunchStats Launch(EmuFunction function, LaunchConfig config, ReadOnlySpan<byte> parameters)
    {
        Launches.Add((function, config, parameters.ToArray()));
        if (LaunchFailure is not null)
        {
            throw LaunchFailure;
        }
        return new LaunchStats { Kernel = function.Name, Geometry = $"{config.Grid} x {config.Block}" };
    }

    public void SetMaxDynamicShared(EmuFunction function, int bytes) => EmuDevice.Shared.SetMaxDynamicShared(function, bytes);

    public int DynamicSharedLimit(EmuFunction function) => EmuDevice.Shared.DynamicSharedLimit(function);
}
