namespace Zoetrope.Runtime.Native;

/// <summary>
/// Where a native library of this project is looked for, in order: its environment variable (a
/// file, or a folder that holds it), a shared folder variable (ZOETROPE_NATIVE as a folder: one
/// CMake build folder holds every library), the application folder, ./build, optionally the build/
/// folder of every folder above the application (a test run from the repository's bin/ finds
/// the repository's CMake build), and the system's library path.
/// </summary>
internal static class NativeSearch
{
    /// <summary>The candidate paths for <paramref name="fileName"/>, most specific first.</summary>
    public static IEnumerable<string> Candidates(string fileName, string fileOrFolderVariable, string? folderVariable, bool searchParentBuildFolders)
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
        yield return Path.Combine(AppContext.BaseDirectory, fileName);
        yield return Path.Combine(Directory.GetCurrentDirectory(), "build", fileName);
        if (searchParentBuildFolders)
        {
            for (var dir = Directory.GetParent(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); dir is not null; dir = dir.Parent)
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
}
