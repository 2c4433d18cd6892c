using NUnit.Framework;
using Zoetrope.Tests.Emulator;

namespace Zoetrope.Tests.Cli;

/// <summary>
/// The README's commands as a new user pastes them: every <c>dotnet run</c> builds in Release
/// (Debug is several times slower and the first figure a user sees would be wrong), and the main
/// job writes its file where git ignores it.
/// </summary>
public class ReadmeTests
{
    private static string Readme()
    {
        var root = HostTestSupport.RepoRoot() ?? throw new IgnoreException("not run from a checkout");
        return File.ReadAllText(Path.Combine(root, "README.md"));
    }

    [Test]
    public void EveryDotnetRunBuildsInRelease()
    {
        var runs = Readme().Split('\n').Where(l => l.Contains("dotnet run ", StringComparison.Ordinal)).ToArray();
        Assert.That(runs, Is.Not.Empty);
        foreach (var line in runs)
        {
            Assert.That(line, Does.Contain("dotnet run -c Release"), line);
        }
    }

    [Test]
    public void TheMainJobWritesIntoAnIgnoredFolder()
    {
        var root = HostTestSupport.RepoRoot()!;
        string first = Readme().Split('\n').First(l => l.Contains(" stream ", StringComparison.Ordinal) && l.Contains("--out ", StringComparison.Ordinal));
        string output = first[(first.IndexOf("--out ", StringComparison.Ordinal) + 6)..].Split(' ')[0];
        string folder = output.Split('/')[0];
        Assert.That(output, Does.Contain("/"), $"the main job writes {output} into the repository root");
        var ignored = File.ReadAllLines(Path.Combine(root, ".gitignore")).Select(l => l.Trim().Trim('/'));
        Assert.That(ignored, Does.Contain(folder), $"{folder}/ is not in .gitignore");
    }
}
