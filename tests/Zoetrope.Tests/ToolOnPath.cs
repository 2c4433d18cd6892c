namespace Zoetrope.Tests;

/// <summary>Finds a command-line tool (ptxas, python3) on the PATH, for tests that use one where it is installed.</summary>
internal static class ToolOnPath
{
    /// <summary>The tool's full path, or null when no PATH folder has it.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
