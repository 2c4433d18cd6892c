using System.Runtime.InteropServices;

namespace Zoetrope.Runtime.Native;

/// <summary>
/// libzoetrope_native.so, the hand-written CUDA kernels behind the <c>cuda</c> backend. Loaded
/// lazily; when it is absent, <see cref="Require"/> says where it looked and how to build it.
/// Search order: $ZOETROPE_NATIVE (a file or a folder), the application folder, ./build, and
/// the system's library path.
/// </summary>
public static class NativeShim
{
    /// <summary>The file name of the shim on this OS.</summary>
    public static readonly string FileName = OperatingSystem.IsWindows() ? "zoetrope_native.dll" : "libzoetrope_native.so";

    private static readonly object Gate = new();
    private static readonly Dictionary<string, bool> Exports = new(StringComparer.Ordinal);
    private static bool _tried;
    private static string _why = string.Empty;

    /// <summary>The loaded library's handle (zero when not loaded).</summary>
    public static IntPtr Handle { get; private set; }

    /// <summary>The path the shim was loaded from, or null.</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>True when the shim is loaded.</summary>
    public static bool IsLoaded => TryLoad(out _);

    /// <summary>Loads the shim once; false with the reason (where it looked) when it is not found.</summary>
    public static bool TryLoad(out string why)
    {
        lock (Gate)
        {
            if (!_tried)
            {
                _tried = true;
                var searched = new List<string>();
                foreach (var candidate in Candidates())
                {
                    searched.Add(candidate);
                    if (NativeLibrary.TryLoad(candidate, out var handle))
                    {
                        Handle = handle;
                        LoadedFrom = candidate;
                        break;
                    }
                }
                if (Handle == IntPtr.Zero)
                {
                    _why = $"native shim not built: {FileName} not found (searched {string.Join(", ", searched)}); " +
                        "build it on a machine with nvcc: cmake -S . -B build && cmake --build build, or set ZOETROPE_NATIVE";
                }
            }
            why = _why;
            return Handle != IntPtr.Zero;
        }
    }

    /// <summary>True when the loaded shim exports <paramref name="function"/> (CUTLASS and sm_90a kernels exist only where they were built).</summary>
    public static bool HasExport(string function)
    {
        if (!TryLoad(out _))
        {
            return false;
        }
        lock (Gate)
        {
            if (!Exports.TryGetValue(function, out bool has))
            {
                has = NativeLibrary.TryGetExport(Handle, function, out _);
                Exports[function] = has;
            }
            return has;
        }
    }

    /// <summary>Throws a <see cref="NotSupportedException"/> unless the shim exports <paramref name="function"/>.</summary>
    public static void RequireExport(string function)
    {
        Require();
        if (!HasExport(function))
        {
            throw new NotSupportedException(
                $"{FileName} ({LoadedFrom}) has no {function}: it was built without the CUTLASS or sm_90a kernels that provide it (see CMake's output)");
        }
    }

    /// <summary>Throws unless the shim is loaded.</summary>
    /// <exception cref="ZoetropeDeviceException">The shim was not found.</exception>
    public static void Require()
    {
        if (!TryLoad(out var why))
        {
            throw new ZoetropeDeviceException(why);
        }
    }

    /// <summary>A one-line description: version and path, or why it is absent.</summary>
    public static string Describe()
    {
        if (!TryLoad(out var why))
        {
            return why;
        }
        return $"{FileName} v{ZtNative.Version()} ({LoadedFrom})";
    }

    private static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable("ZOETROPE_NATIVE");
        if (!string.IsNullOrWhiteSpace(env))
        {
            yield return Directory.Exists(env) ? Path.Combine(env, FileName) : env;
        }
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        yield return Path.Combine(Directory.GetCurrentDirectory(), "build", FileName);
        yield return FileName;
    }
}
