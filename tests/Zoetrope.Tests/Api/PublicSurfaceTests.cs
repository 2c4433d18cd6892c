using System.Reflection;
using NUnit.Framework;
using Zoetrope.Emulator;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Engine.Video;
using Zoetrope.Quant;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;
using Zoetrope.Runtime.Native;

namespace Zoetrope.Tests.Api;

/// <summary>
/// The public API on purpose: kernel math, kernels, tiles, engines, case tables, the driver
/// binding and the emulator stay internal; what an embedding application needs stays public; and
/// every public type of each library is declared in the PublicAPI.Unshipped.txt next to its
/// project (the analyzer fails the build on any undeclared member; this checks the files are the
/// ones the build reads and that none lost a type).
/// </summary>
public class PublicSurfaceTests
{
    private static readonly Assembly[] Libraries =
    [
        typeof(EmulatorException).Assembly,
        typeof(Tensor).Assembly,
        typeof(QuantizedLinear).Assembly,
        typeof(Zoetrope.Attention.Flash.Attention).Assembly,
        typeof(WanModel).Assembly,
    ];

    private static IEnumerable<Type> Exported => Libraries.SelectMany(a => a.GetExportedTypes());

    [Test]
    public void TheEmulatorExposesOnlyItsException()
    {
        Assert.That(typeof(EmulatorException).Assembly.GetExportedTypes(), Is.EqualTo(new[] { typeof(EmulatorException) }));
    }

    [Test]
    public void RuntimeInternalsAreNotPublic()
    {
        string[] internalNamespaces = ["Zoetrope.Runtime.KernelMath", "Zoetrope.Runtime.Execution", "Zoetrope.Runtime.Results"];
        var leaked = typeof(Tensor).Assembly.GetExportedTypes()
            .Where(t => internalNamespaces.Contains(t.Namespace)
                     || (t.Namespace == "Zoetrope.Runtime.Native" && t != typeof(NativeShim))
                     || (t.Namespace == "Zoetrope.Runtime.Cuda" && t.Name is not ("CudaProbe" or "CudaDeviceInfo")))
            .Select(t => t.FullName)
            .ToArray();
        Assert.That(leaked, Is.Empty);
    }

    [Test]
    public void NoKernelLevelTypeIsPublic()
    {
        var leaked = Exported
            .Where(t => t.Name.EndsWith("Cases", StringComparison.Ordinal)
                     || t.Name.EndsWith("Kernel", StringComparison.Ordinal)
                     || t.Name.Contains("Tile", StringComparison.Ordinal)
                     || t.Name.EndsWith("Engine", StringComparison.Ordinal)
                     || t.Name.EndsWith("Epilogue", StringComparison.Ordinal)
                     || t.Name.EndsWith("Codec", StringComparison.Ordinal))
            .Select(t => t.FullName)
            .ToArray();
        Assert.That(leaked, Is.Empty);
    }

    [Test]
    public void WhatAnEmbeddingApplicationNamesIsPublic()
    {
        Type[] surface =
        [
            typeof(Backends), typeof(Backend), typeof(BackendKind), typeof(Tensor), typeof(DType), typeof(Shape),
            typeof(DiTConfig), typeof(WanModel), typeof(WanWeights), typeof(ModelOptions), typeof(TextContext),
            typeof(StreamingSession), typeof(StreamOptions), typeof(LatentBlock), typeof(StreamMetrics),
            typeof(VideoDecoders), typeof(IVideoDecoder), typeof(DecoderKind), typeof(VideoFrames),
            typeof(VideoSink), typeof(VideoSinkOptions), typeof(Npy), typeof(NativeShim),
            typeof(ZoetropeDeviceException), typeof(ZoetropeFormatException), typeof(ZoetropeKernelException),
            typeof(ZoetropeStreamException), typeof(ZoetropeWeightsException), typeof(ZoetropeCheckpointException),
            typeof(ZoetropeVideoException), typeof(EmulatorException),
        ];
        Assert.That(surface.Where(t => !t.IsPublic).Select(t => t.FullName), Is.Empty);
    }

    [Test]
    public void NativeShimIsReadOnly()
    {
        // Loading and describing the shim; its handle, export probes and the emulated build's
        // loader are the bindings' business.
        var members = typeof(NativeShim).GetMembers(BindingFlags.Public | BindingFlags.Static)
            .Select(m => m.Name)
            .Where(n => !n.StartsWith("get_", StringComparison.Ordinal))
            .Distinct()
            .Order(StringComparer.Ordinal);
        Assert.That(members, Is.EqualTo(new[] { "Describe", "FileName", "IsLoaded", "LoadedFrom", "TryLoad" }));
    }

    [Test]
    public void EachLibraryDeclaresEveryPublicTypeNextToItsProject()
    {
        string src = Path.Combine(RepoRoot(), "src");
        foreach (var assembly in Libraries)
        {
            string name = assembly.GetName().Name!;
            string folder = Path.Combine(src, name["Zoetrope.".Length..]);
            Assert.That(File.Exists(Path.Combine(folder, name + ".csproj")), Is.True, $"{name}: no project in {folder}");

            string shipped = Path.Combine(folder, "PublicAPI.Shipped.txt");
            string unshipped = Path.Combine(folder, "PublicAPI.Unshipped.txt");
            Assert.That(File.Exists(shipped), Is.True, $"{name}: {shipped} missing");
            Assert.That(File.Exists(unshipped), Is.True, $"{name}: {unshipped} missing");

            var lines = File.ReadAllLines(unshipped);
            Assert.That(lines.FirstOrDefault(), Is.EqualTo("#nullable enable"), $"{unshipped}: the first line");
            var declared = lines.Concat(File.ReadAllLines(shipped)).ToHashSet(StringComparer.Ordinal);
            var missing = assembly.GetExportedTypes().Select(ApiName).Where(n => !declared.Contains(n)).ToArray();
            Assert.That(missing, Is.Empty, $"{name}: public types not in {unshipped}");
        }
    }

    // A type as PublicAPI.*.txt writes its declaration: namespace, enclosing types, type parameters.
    private static string ApiName(Type t)
    {
        string own = t.Name.Split('`')[0];
        var parameters = t.GetGenericArguments().Skip(t.DeclaringType?.GetGenericArguments().Length ?? 0).ToArray();
        if (parameters.Length > 0)
        {
            own += "<" + string.Join(", ", parameters.Select(p => p.Name)) + ">";
        }
        return t.DeclaringType is { } outer ? ApiName(outer) + "." + own : $"{t.Namespace}.{own}";
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no Engine.sln above {AppContext.BaseDirectory}");
    }
}
