using System.Diagnostics;
using System.Runtime.InteropServices;
using NUnit.Framework;
using Zoetrope.Runtime.Native;

namespace Zoetrope.Tests.Packaging;

/// <summary>
/// The native library loader finds a package's native asset the way .NET resolves one, with no
/// environment variable: in the host's native search folders (from the .deps.json) and in the
/// application's runtimes/&lt;rid&gt;/native/. The loads here are of a stand-in library compiled
/// for the test, through a <see cref="NativeLibraryFile"/> of the test's own with a search host
/// of the test's own, so the process-wide <see cref="NativeShim"/> is never touched.
/// </summary>
public class NativeSearchTests
{
    private const string StandIn = "libzt_packaging_standin.so";
    private static readonly string[] Compilers = ["cc", "gcc", "g++"];

    private TempDirectory _dir = null!;
    private string? _library;
    private string _noCompiler = string.Empty;

    [OneTimeSetUp]
    public void CompileStandIn()
    {
        _dir = new TempDirectory("zt-native-search");
        var compiler = Compilers.Select(ToolOnPath.Find).FirstOrDefault(p => p is not null);
        if (compiler is null)
        {
            _noCompiler = $"no C compiler on PATH ({string.Join(", ", Compilers)}) to build the stand-in library";
            return;
        }
        var source = _dir.File("standin.c");
        // extern "C" when g++ compiles it as C++: the export keeps its plain name.
        File.WriteAllText(source, "#ifdef __cplusplus\nextern \"C\"\n#endif\nint zt_standin_answer(void) { return 42; }\n");
        var output = _dir.File(StandIn);
        var start = new ProcessStartInfo(compiler) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-shared", "-fPIC", "-O0", "-o", output, source })
        {
            start.ArgumentList.Add(arg);
        }
        using var cc = Process.Start(start)!;
        string errors = cc.StandardError.ReadToEnd();
        cc.WaitForExit();
        Assert.That(cc.ExitCode, Is.Zero, $"{compiler} could not build the stand-in library: {errors}");
        _library = output;
    }

    [OneTimeTearDown]
    public void Clean() => _dir.Dispose();

    [Test]
    public void CandidatesComeInResolutionOrderEachOnce()
    {
        string variable = $"ZT_PACKAGING_TEST_{Guid.NewGuid():N}";
        string app = Path.Combine(_dir.Path, "order-app");
        string deps = Path.Combine(_dir.Path, "order-deps");
        string given = Path.Combine(_dir.Path, "given");
        Directory.CreateDirectory(given);
        // The host lists the application folder among its native folders, as the real host does.
        var host = new NativeSearch.Host(app, [deps, app], ["ubuntu.24.04-x64", "linux-x64"]);
        Environment.SetEnvironmentVariable(variable, given);
        try
        {
            var candidates = NativeSearch.Candidates("libx.so", variable, null, false, host).ToArray();
            Assert.That(candidates, Is.EqualTo(new[]
            {
                Path.Combine(given, "libx.so"),
                Path.Combine(deps, "libx.so"),
                Path.Combine(app, "libx.so"),
                Path.Combine(app, "runtimes", "ubuntu.24.04-x64", "native", "libx.so"),
                Path.Combine(app, "runtimes", "linux-x64", "native", "libx.so"),
                Path.Combine(Directory.GetCurrentDirectory(), "build", "libx.so"),
                "libx.so",
            }));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Test]
    public void ThisProcessSearchesTheHostsFoldersAndItsPortableRid()
    {
        var current = NativeSearch.Host.Current;
        Assert.That(current.BaseDirectory, Is.EqualTo(AppContext.BaseDirectory));
        var fromHost = AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string ?? string.Empty;
        Assert.That(current.HostSearchDirectories, Is.EqualTo(fromHost.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string portable = OperatingSystem.IsWindows() ? $"win-{arch}" : OperatingSystem.IsMacOS() ? $"osx-{arch}" : $"linux-{arch}";
        Assert.That(current.RuntimeIdentifiers[^1], Is.EqualTo(portable));
        Assert.That(current.RuntimeIdentifiers[0], Is.EqualTo(RuntimeInformation.RuntimeIdentifier));

        var candidates = NativeSearch.Candidates(NativeShim.FileName, $"ZT_PACKAGING_UNSET_{Guid.NewGuid():N}", null, false).ToList();
        int runtimes = candidates.IndexOf(Path.Combine(AppContext.BaseDirectory, "runtimes", portable, "native", NativeShim.FileName));
        int build = candidates.IndexOf(Path.Combine(Directory.GetCurrentDirectory(), "build", NativeShim.FileName));
        Assert.That(runtimes, Is.GreaterThanOrEqualTo(0), string.Join(", ", candidates));
        Assert.That(runtimes, Is.LessThan(build), "a package's runtimes/ folder comes before the ./build fallback");
    }

    [Test]
    public void LoadsTheStandInFromAnApplicationsRuntimesFolder()
    {
        string app = Path.Combine(_dir.Path, "app-runtimes");
        string native = Place(Path.Combine(app, "runtimes", "linux-x64", "native"));
        var file = StandInFile(new NativeSearch.Host(app, [], ["linux-x64"]));

        Assert.That(file.TryLoad(out var why), Is.True, why);
        Assert.That(file.LoadedFrom, Is.EqualTo(Path.Combine(native, StandIn)));
        Assert.That(CallAnswer(file), Is.EqualTo(42));
    }

    [Test]
    public void TheHostsNativeFoldersComeBeforeTheRuntimesFolder()
    {
        string app = Path.Combine(_dir.Path, "app-both");
        Place(Path.Combine(app, "runtimes", "linux-x64", "native"));
        string deps = Place(Path.Combine(_dir.Path, "deps-native"));
        var file = StandInFile(new NativeSearch.Host(app, [deps], ["linux-x64"]));

        Assert.That(file.TryLoad(out var why), Is.True, why);
        Assert.That(file.LoadedFrom, Is.EqualTo(Path.Combine(deps, StandIn)));
        Assert.That(CallAnswer(file), Is.EqualTo(42));
    }

    [Test]
    public void AMissingLibraryNamesTheRuntimesFolderItLookedIn()
    {
        string app = Path.Combine(_dir.Path, "app-empty");
        var file = new NativeLibraryFile("libzt_packaging_absent.so", $"ZT_PACKAGING_UNSET_{Guid.NewGuid():N}", null, false,
            "the absent library is not built", "build it", new NativeSearch.Host(app, [], ["linux-x64"]));

        Assert.That(file.TryLoad(out var why), Is.False);
        Assert.That(file.LoadedFrom, Is.Null);
        Assert.That(why, Does.Contain(Path.Combine(app, "runtimes", "linux-x64", "native", "libzt_packaging_absent.so")));
    }

    private NativeLibraryFile StandInFile(NativeSearch.Host host) =>
        new(StandIn, $"ZT_PACKAGING_UNSET_{Guid.NewGuid():N}", null, false, "the stand-in is not built", "the test builds it", host);

    // Copies the compiled stand-in into folder (created); returns the folder.
    private string Place(string folder)
    {
        if (_library is null)
        {
            Assert.Ignore(_noCompiler);
        }
        Directory.CreateDirectory(folder);
        File.Copy(_library!, Path.Combine(folder, StandIn));
        return folder;
    }

    private static unsafe int CallAnswer(NativeLibraryFile file)
    {
        Assert.That(file.HasExport("zt_standin_answer"), Is.True);
        var answer = (delegate* unmanaged<int>)NativeLibrary.GetExport(file.Handle, "zt_standin_answer");
        return answer();
    }
}
