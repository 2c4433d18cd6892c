using System.Runtime.InteropServices;

namespace Zoetrope.Runtime.Native;

/// <summary>
/// One native library of this project, loaded at most once: where it was looked for
/// (<see cref="NativeSearch"/>), where it was found, its exports, and why it is absent.
/// <paramref name="host"/> is where the search looks besides the environment (the application
/// folder, the host's native folders, the RIDs): this process's unless a test gives its own.
/// </summary>
internal sealed class NativeLibraryFile(string fileName, string variable, string? folderVariable, bool searchParentBuildFolders, string whatIsMissing, string howToBuild,
    NativeSearch.Host? host = null)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, bool> _exports = new(StringComparer.Ordinal);
    private bool _tried;
    private string _why = string.Empty;

    /// <summary>The file name (libzoetrope_native.so...).</summary>
    public string FileName { get; } = fileName;

    /// <summary>The handle, or zero when not loaded.</summary>
    public IntPtr Handle { get; private set; }

    /// <summary>The path it was loaded from, or null.</summary>
    public string? LoadedFrom { get; private set; }

    /// <summary>Loads it once; false with the reason (where it looked, how to build it) when it is not found.</summary>
    public bool TryLoad(out string why)
    {
        lock (_gate)
        {
            if (!_tried)
            {
                _tried = true;
                var searched = new List<string>();
                foreach (var candidate in NativeSearch.Candidates(FileName, variable, folderVariable, searchParentBuildFolders, host ?? NativeSearch.Host.Current))
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
                    _why = $"{whatIsMissing}: {FileName} not found (searched {string.Join(", ", searched)}); {howToBuild}, or set {variable}";
                }
            }
            why = _why;
            return Handle != IntPtr.Zero;
        }
    }

    /// <summary>True when the library is loaded and exports <paramref name="function"/>.</summary>
    public bool HasExport(string function)
    {
        if (!TryLoad(out _))
        {
            return false;
        }
        lock (_gate)
        {
            if (!_exports.TryGetValue(function, out bool has))
            {
                has = NativeLibrary.TryGetExport(Handle, function, out _);
                _exports[function] = has;
            }
            return has;
        }
    }
}
