using System.Runtime.InteropServices;

namespace Zoetrope.Runtime.Native;

/// <summary>
/// Where a native library of this project is looked for, in order: its environment variable (a
/// file, or a folder that holds it), a shared folder variable (ZOETROPE_NATIVE as a folder: one
/// CMake build folder holds every library), the host's native search folders (what the .NET host
/// read from the application's .deps.json: a package's runtimes/&lt;rid&gt;/native/ folder once it
/// is restored and built), runtimes/&lt;rid&gt;/native/ under the application folder (this
/// runtime's RID, then the portable one: a tool or a copied output without a .deps.json entry),
/// the application folder, ./build, optionally the build/ folder of every folder above the
/// application (a test run from the repository's bin/ finds the repository's CMake build), and the
/// system's library path.
/// </summary>
internal static class NativeSearch
{
    /// <summary>
    /// What the search reads from the process: the application folder, the host's native search
    /// folders and the RIDs whose runtimes/ folders to look in. A test gives its own, so it can
    /// search a folder of its making without touching the process-wide settings.
    /// </summary>
    /// <param name="BaseDirectory">The application folder (<see cref="AppContext.BaseDirectory"/>).</param>
    /// <param name="HostSearchDirectories">The host's NATIVE_DLL_SEARCH_DIRECTORIES, in its order.</param>
    /// <param name="RuntimeIdentifiers">This runtime's RID, then the portable one, without repeats.</param>
    internal sealed record Host(string BaseDirectory, IReadOnlyList<string> HostSearchDirectories, IReadOnlyList<string> RuntimeIdentifiers)
    {
        /// <summary>This process's: read once, they do not change while it runs.</summary>
        public static Host Current { get; } = new(AppContext.BaseDirectory, ReadHostSearchDirectories(), RuntimeIdentifiersOfThisProcess());
    }

    /// <summary>The candidate paths for <paramref name="fileName"/>, most specific first, in this process.</summary>
    public static IEnumerable<string> Candidates(string fileName, string fileOrFolderVariable, string? folderVariable, bool searchParentBuildFolders) =>
        Candidates(fileName, fileOrFolderVariable, folderVariable, searchParentBuildFolders, Host.Current);

    /// <summary>The candidate paths for <paramref name="fileName"/>, most specific first, for <paramref name="host"/>; each path once.</summary>
    public static IEnumerable<string> Candidates(string fileName, string fileOrFolderVariable, string? folderVariable, bool searchParentBuildFolders, Host host)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var candidate in AllCandidates(fileName, fileOrFolderVariable, folderVariable, searchParentBuildFolders, host))
        {
            // The host's folders include the application folder itself: looked at once, in its first place.
            if (seen.Add(candidate))
            {
                yield return candidate;
            }
        }
    }

    private static IEnumerable<string> AllCandidates(string fileName, string fileOrFolderVariable, string? folderVariable, bool searchParentBuildFolders, Host host)
    {
        var value = Environment.GetEnvironmentVariable(fileOrFolderVariable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            yield return Directory.Exists(value) ? Path.Combine(value, fileName) : value;
        }
        var folder = folderVariable is null ? null : Environment.GetEnvironmentVariable(folderVariable);
        if (!string.IsNullOrWhiteSpace(folder) && Directory.Exists(folder))
        {
            yield return Path.Combine(folder, fileName);
        }
        foreach (var dir in host.HostSearchDirectories)
        {
            yield return Path.Combine(dir, fileName);
        }
        foreach (var rid in host.RuntimeIdentifiers)
        {
            yield return Path.Combine(host.BaseDirectory, "runtimes", rid, "native", fileName);
        }
        yield return Path.Combine(host.BaseDirectory, fileName);
        yield return Path.Combine(Directory.GetCurrentDirectory(), "build", fileName);
        if (searchParentBuildFolders)
        {
            for (var dir = Directory.GetParent(host.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "build", fileName);
                if (File.Exists(candidate))
                {
                    yield return candidate;
                }
            }
        }
        yield return fileName;
    }

    /// <summary>
    /// The folders the .NET host searches for the application's native assets, from its .deps.json
    /// (bin/.../runtimes/linux-x64/native/ for a package's runtimes/linux-x64/native/ asset), in
    /// the host's order; empty where no host set them (some test runners, a bare AppContext).
    /// </summary>
    internal static IReadOnlyList<string> ReadHostSearchDirectories() =>
        AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string list
            ? list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];

    /// <summary>
    /// This runtime's RID (a distribution's build of .NET may say ubuntu.24.04-x64), then the
    /// portable one packages use (linux-x64, linux-arm64, win-x64, osx-arm64).
    /// </summary>
    internal static IReadOnlyList<string> RuntimeIdentifiersOfThisProcess()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string portable = $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        return RuntimeInformation.RuntimeIdentifier == portable ? [portable] : [RuntimeInformation.RuntimeIdentifier, portable];
    }
}
