// StreamTiny: the tiny model streamed block by block from the Zoetrope package, a prompt switch
// half-way, each block decoded to video as it lands. Usage: StreamTiny [backend] [output folder]
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Engine.Video;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;
using Zoetrope.Runtime.Native;

const int Blocks = 4;
string backendName = args.Length > 0 ? args[0] : "reference";
string outDir = args.Length > 1 ? args[1] : "out";

// Found with no environment variable: the package's runtimes/linux-x64/native/ in bin/.
Console.WriteLine(NativeShim.TryLoad(out var why)
    ? $"native library: loaded from {NativeShim.LoadedFrom}"
    : $"native library: not loaded ({why})");

try
{
    var backend = Backends.Get(backendName);
    var config = DiTConfig.Tiny;
    using var weights = WanWeights.Random(config, seed: 7);
    using var model = new WanModel(backend, weights, new ModelOptions { Activations = DType.F32 });
    using var prompt = RandomText(config, seed: 1);
    using var session = new StreamingSession(model, prompt, new StreamOptions { Seed = 42 });
    using var decoder = VideoDecoders.Open(DecoderKind.Tiny, backend, config, DType.F32, weightsPath: null, seed: 42);
    // MP4 where ffmpeg is on PATH, else the sink writes a Y4M beside it and says so.
    using var video = VideoSink.Open(Path.Combine(outDir, "stream.mp4"));
    Console.WriteLine($"model {config.Name} on {backend}: {Blocks} blocks, decoder {decoder.Name}");

    var latents = new List<LatentBlock>();
    await foreach (var block in session.GenerateAsync(Blocks))
    {
        var frames = decoder.Decode(block.Latents, block.Frames);
        video.Write(frames);
        latents.Add(block);
        Console.WriteLine($"block {block.Index + 1}/{Blocks}: latent frames {block.FirstFrame}..{block.FirstFrame + block.Frames - 1}, " +
            $"{block.LatencyMs:0.0} ms, {frames.Count} video frames {frames.Width}x{frames.Height}");
        if (block.Index + 1 == Blocks / 2)
        {
            using var second = RandomText(config, seed: 2);
            Console.WriteLine($"prompt switched in {session.SwitchPrompt(second):0.0} ms");
        }
    }
    video.Complete();
    Console.WriteLine($"wrote {video.Path}: {video.Frames} frames of {video.Width}x{video.Height} ({video.Format})");

    // The clean latents [C, frames, H, W] as .npy: each block's frames placed along the frame axis.
    int plane = config.LatentHeight * config.LatentWidth;
    long total = session.FramesGenerated;
    var all = new float[config.LatentChannels * total * plane];
    foreach (var b in latents)
    {
        for (int c = 0; c < config.LatentChannels; c++)
        {
            Array.Copy(b.Latents, (long)c * b.Frames * plane, all, ((c * total) + b.FirstFrame) * plane, (long)b.Frames * plane);
        }
    }
    string npy = Path.Combine(outDir, "latents.npy");
    using (var tensor = Tensor.FromArray(all, new Shape(config.LatentChannels, total, config.LatentHeight, config.LatentWidth), "latents"))
    {
        Npy.Write(npy, tensor);
    }
    Console.WriteLine($"wrote {npy}");

    var m = session.Metrics;
    Console.WriteLine($"metrics: {m.Blocks} blocks, {m.VideoFrames} video frames, first block {m.TimeToFirstBlockMs:0.0} ms, " +
        $"p50 {m.P50Ms:0.0} ms, p99 {m.P99Ms:0.0} ms, {m.Fps:0.00} FPS (DiT only)");
    return 0;
}
catch (ZoetropeDeviceException e)
{
    // The backend cannot run here (no GPU, no driver, the native library not built): the message says which.
    Console.Error.WriteLine($"backend {backendName}: {e.Message}");
    return 2;
}
catch (ArgumentException e)
{
    // An unknown backend name; the message lists the known ones.
    Console.Error.WriteLine(e.Message);
    return 2;
}

// A seeded random prompt embedding [text tokens, text dim]: a real one comes from umT5 as .npy.
static Tensor RandomText(DiTConfig config, int seed)
{
    var random = new Random(seed);
    var values = new float[config.TextTokens * config.TextDim];
    for (int i = 0; i < values.Length; i++)
    {
        values[i] = (float)(random.NextDouble() * 2 - 1);
    }
    return Tensor.FromArray(values, new Shape(config.TextTokens, config.TextDim), $"prompt{seed}");
}
