using NUnit.Framework;

namespace Zoetrope.Tests.Results;

/// <summary>Where the committed sample results (real CPU runs of `zoe bench`) live.</summary>
internal static class ResultSamples
{
    /// <summary>bench/results/samples, found above the test directory.</summary>
    public static string Folder
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "bench", "results", "samples")))
            {
                dir = dir.Parent;
            }
            return dir is null
                ? throw new DirectoryNotFoundException("bench/results/samples not found above the test directory")
                : Path.Combine(dir.FullName, "bench", "results", "samples");
        }
    }
}
