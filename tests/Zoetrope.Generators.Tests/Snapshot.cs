namespace Zoetrope.Generators.Tests;

/// <summary>
/// Compares generated text with a file under Snapshots/. Set ZOETROPE_UPDATE_SNAPSHOTS=1 to
/// rewrite the files in the source tree after an intended change, then review the diff.
/// </summary>
/// <remarks>
/// The folder is found from the test assembly's location (bin/&lt;config&gt;/&lt;tfm&gt;/ under the
/// project), not from [CallerFilePath]: CI builds are ContinuousIntegrationBuild, which maps
/// source paths to /_/, so a caller path names no real folder there.
/// </remarks>
internal static class Snapshot
{
    public static void Match(string name, string actual)
    {
        string dir = Path.Combine(ProjectDirectory(), "Snapshots");
        string file = Path.Combine(dir, name);
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("ZOETROPE_UPDATE_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(file, actual);
        }
        Assert.That(File.Exists(file), Is.True, $"no snapshot {name} in {dir}: run with ZOETROPE_UPDATE_SNAPSHOTS=1 and review it");
        string expected = File.ReadAllText(file).Replace("\r\n", "\n");
        Assert.That(actual, Is.EqualTo(expected), $"generated {name} differs from its snapshot");
    }

    /// <summary>The folder holding this project's .csproj, searched upwards from the test assembly.</summary>
    private static string ProjectDirectory()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Zoetrope.Generators.Tests.csproj")))
                return d.FullName;
        throw new DirectoryNotFoundException(
            $"Zoetrope.Generators.Tests.csproj not found above {AppContext.BaseDirectory}");
    }
}
