// TaehvBuffers: the activations of one Decode call of a given number of latent frames, kept
// between calls of the same size (a stream decodes blocks of one size) so the device memory is
// allocated once, not per block.
namespace Zoetrope.Engine.Decode;

/// <summary>Device activations for decoding <see cref="LatentFrames"/> latent frames at a time.</summary>
internal sealed class TaehvBuffers : IDisposable
{
    private readonly List<Tensor> _all = [];

    public TaehvBuffers(Backend backend, DType dtype, TaehvConfig config, int frames, int height, int width)
    {
        LatentFrames = frames;
        try
        {
            Input = Add(backend.Allocate(dtype, new Shape(frames, height, width, config.LatentChannels), "taehv.input"));
            Stages = new Stage[3];
            int t = frames;
            for (int s = 0; s < 3; s++)
            {
                int h = height << s, w = width << s, c = config.Features[s];
                var input = new Tensor[TaehvConfig.MemBlocksPerStage];
                for (int k = 0; k < input.Length; k++)
                {
                    input[k] = Add(backend.Allocate(dtype, new Shape(t + 1, h, w, c), FormattableString.Invariant($"taehv.stage{s}.in{k}")));
                }
                var shape = new Shape(t, h, w, c);
                Stages[s] = new Stage(t, input, Add(backend.Allocate(dtype, shape, $"taehv.stage{s}.hidden1")),
                    Add(backend.Allocate(dtype, shape, $"taehv.stage{s}.hidden2")), Add(backend.Allocate(dtype, shape, $"taehv.stage{s}.out")));
                t *= TaehvConfig.TimeStrides[s];
            }
            int ho = height * TaehvConfig.SpatialScale, wo = width * TaehvConfig.SpatialScale;
            Last = Add(backend.Allocate(dtype, new Shape(t, ho, wo, config.Features[3]), "taehv.last"));
            Rgb = Add(backend.Allocate(dtype, new Shape(t, ho, wo, 3), "taehv.rgb"));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Latent frames per call these buffers fit.</summary>
    public int LatentFrames { get; }

    /// <summary>The clamped latents [F, H, W, C].</summary>
    public Tensor Input { get; } = null!;

    /// <summary>The three MemBlock stages.</summary>
    public Stage[] Stages { get; } = null!;

    /// <summary>The last 3x3 conv's input [4F, 8H, 8W, F3].</summary>
    public Tensor Last { get; } = null!;

    /// <summary>The decoded frames before the clamp and trim [4F, 8H, 8W, 3].</summary>
    public Tensor Rgb { get; } = null!;

    public void Dispose()
    {
        foreach (var t in _all)
        {
            t.Dispose();
        }
        _all.Clear();
    }

    private Tensor Add(Tensor t)
    {
        _all.Add(t);
        return t;
    }

    /// <summary>One stage's buffers: In[k] [T + 1, H, W, C] (MemBlock k's previous frame, then its input), scratch, and the stage's output.</summary>
    internal sealed record Stage(int Frames, Tensor[] In, Tensor Hidden1, Tensor Hidden2, Tensor Out);
}
