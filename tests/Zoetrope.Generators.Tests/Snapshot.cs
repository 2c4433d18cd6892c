using System.Runtime.CompilerServices;

namespace Zoetrope.Generators.Tests;

/// <summary>
/// Compares generated text with a file under Snapshots/. Set ZOETROPE_UPDATE_SNAPSHOTS=1 to
/// rewrite the files in the source tree after an intended change, then review the diff.
/// </summary>
internal static class Snapshot
{
    public static void Match(string name, string actual, [CallerFilePath] string caller = "")
    {
        string dir = Path.Combine(Path.GetDirectoryName(caller)!, "Snapshots");
        string file = Path.Combine(dir, name);
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("ZOETROPE_UPDATE_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(file, actual);
        }
        Assert.That(File.Exists(file), Is.True, $"no snapshot {name}: run with ZOETROPE_UPDATE_SNAPSHOTS=1 and review it");
        string expected = File.ReadAllText(file).Replace("\r\n", "\n");
        Assert.That(actual, Is.EqualTo(expected), $"generated {name} differs from its snapshot");
    }
}
