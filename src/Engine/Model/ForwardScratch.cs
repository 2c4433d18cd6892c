// ForwardScratch: every activation buffer of one forward over N = frames * T tokens, allocated
// once per token count and reused by every block, step and layer (a stream allocates nothing
// after its first block). Views give the same bytes the shapes each op wants: [1, N, dim] for the
// modulation ops, [N, dim] for the linears, [1, N, H, D] (NHD) for RoPE and attention.
namespace Zoetrope.Engine;

/// <summary>Reusable activations for one forward shape.</summary>
internal sealed class ForwardScratch : IDisposable
{
    private readonly List<Tensor> _owned = [];
    private readonly Backend _backend;
    private readonly DiTConfig _config;
    private Tensor _x;
    private Tensor _xNext;
    private SageQuery? _sageQ;
    private SageKeys? _sageK;

    /// <summary>Allocates the buffers for <paramref name="frames"/> latent frames.</summary>
    public ForwardScratch(Backend backend, DiTConfig c, DType dtype, int frames)
    {
        _backend = backend;
        _config = c;
        Frames = frames;
        Tokens = (long)frames * c.FrameTokens;
        long n = Tokens, d = c.Dim;
        Tensor A(DType t, Shape shape, string name)
        {
            var x = backend.Allocate(t, shape, name);
            _owned.Add(x);
            return x;
        }
        var tokens = new Shape(1, n, d);
        var heads = new Shape(1, n, c.Heads, c.HeadDim);
        var rows = new Shape(n, d);
        _x = A(dtype, tokens, "x");
        _xNext = A(dtype, tokens, "x_next");
        H = A(dtype, tokens, "h");
        HRows = H.Reshape(rows);
        Q = A(dtype, rows, "q");
        K = A(dtype, rows, "k");
        QNorm = A(dtype, heads, "q_norm");
        KNorm = A(dtype, heads, "k_norm");
        QNormRows = QNorm.Reshape(rows);
        KNormRows = KNorm.Reshape(rows);
        QRot = A(dtype, heads, "q_rope");
        KRot = A(dtype, heads, "k_rope");
        V = A(dtype, heads, "v");
        VRows = V.Reshape(rows);
        O = A(dtype, heads, "o");
        ORows = O.Reshape(rows);
        Y = A(dtype, rows, "y");
        YTokens = Y.Reshape(tokens);
        Ffn = A(dtype, new Shape(n, c.FfnDim), "ffn");
        E0 = A(DType.F32, new Shape(1, frames, 6, d), "e0");
        HeadE0 = A(DType.F32, new Shape(1, frames, 6, d), "head_e0");
        Patches = A(dtype, new Shape(n, c.PatchFeatures), "patches");
        HeadOut = A(dtype, new Shape(n, c.PatchFeatures), "head_out");
    }

    /// <summary>Latent frames.</summary>
    public int Frames { get; }

    /// <summary>Tokens N.</summary>
    public long Tokens { get; }

    /// <summary>The residual stream [1, N, dim].</summary>
    public Tensor X => _x;

    /// <summary>The residual stream as rows [N, dim].</summary>
    public Tensor XRows => _x.Reshape(new Shape(Tokens, _x.Shape[2]));

    /// <summary>Where the next residual update writes [1, N, dim].</summary>
    public Tensor XNext => _xNext;

    /// <summary>Modulated norm output [1, N, dim].</summary>
    public Tensor H { get; }

    /// <summary><see cref="H"/> as [N, dim].</summary>
    public Tensor HRows { get; }

    /// <summary>Query projection [N, dim].</summary>
    public Tensor Q { get; }

    /// <summary>Key projection [N, dim].</summary>
    public Tensor K { get; }

    /// <summary>Normed query [1, N, H, D].</summary>
    public Tensor QNorm { get; }

    /// <summary>Normed key [1, N, H, D].</summary>
    public Tensor KNorm { get; }

    /// <summary><see cref="QNorm"/> as [N, dim].</summary>
    public Tensor QNormRows { get; }

    /// <summary><see cref="KNorm"/> as [N, dim].</summary>
    public Tensor KNormRows { get; }

    /// <summary>Rotated query [1, N, H, D].</summary>
    public Tensor QRot { get; }

    /// <summary>Rotated key [1, N, H, D].</summary>
    public Tensor KRot { get; }

    /// <summary>Value [1, N, H, D].</summary>
    public Tensor V { get; }

    /// <summary><see cref="V"/> as [N, dim].</summary>
    public Tensor VRows { get; }

    /// <summary>Attention output [1, N, H, D].</summary>
    public Tensor O { get; }

    /// <summary><see cref="O"/> as [N, dim].</summary>
    public Tensor ORows { get; }

    /// <summary>A branch output [N, dim].</summary>
    public Tensor Y { get; }

    /// <summary><see cref="Y"/> as [1, N, dim].</summary>
    public Tensor YTokens { get; }

    /// <summary>FFN hidden [N, ffn].</summary>
    public Tensor Ffn { get; }

    /// <summary>Per-frame modulation e0 [1, F, 6, dim] f32.</summary>
    public Tensor E0 { get; }

    /// <summary>The head's per-frame (shift, scale) in vectors 0 and 1 of [1, F, 6, dim] f32.</summary>
    public Tensor HeadE0 { get; }

    /// <summary>Patch rows [N, C*4].</summary>
    public Tensor Patches { get; }

    /// <summary>Head output [N, C*4].</summary>
    public Tensor HeadOut { get; }

    /// <summary>Sage's INT8 Q for this token count (allocated on first use: only Sage forwards need it).</summary>
    public SageQuery SageQ => _sageQ ??= new SageQuery(_backend, _config, Tokens, _owned);

    /// <summary>Sage's INT8 K for this token count (first use; only a full-sequence Sage forward, whose keys are its own, needs it: a streaming one writes the cache).</summary>
    public SageKeys SageK => _sageK ??= new SageKeys(_backend, _config, Tokens, _owned);

    /// <summary>Makes the last residual update the current stream.</summary>
    public void Swap() => (_x, _xNext) = (_xNext, _x);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _owned)
        {
            t.Dispose();
        }
        _owned.Clear();
    }
}

/// <summary>A forward's INT8 Q for SageAttention: codes and one scale per 128 rows (sm_scale * log2(e) folded in).</summary>
internal sealed class SageQuery
{
    /// <summary>Query rows per Q scale (a flash CTA's rows).</summary>
    public const int Rows = 128;

    internal SageQuery(Backend backend, DiTConfig c, long tokens, List<Tensor> owner)
    {
        Q = Own(owner, backend.Allocate(DType.I8, new Shape(1, tokens, c.Heads, c.HeadDim), "q_i8"));
        QScale = Own(owner, backend.Allocate(DType.F32, new Shape(1, c.Heads, (tokens + Rows - 1) / Rows), "q_scale"));
    }

    /// <summary>Q codes [1, N, H, D].</summary>
    public Tensor Q { get; }

    /// <summary>Q scales [1, H, ceil(N / 128)].</summary>
    public Tensor QScale { get; }

    /// <summary>Bytes for <paramref name="tokens"/> tokens of <paramref name="c"/>.</summary>
    public static long Bytes(DiTConfig c, long tokens) => (tokens * c.Dim) + (4L * c.Heads * ((tokens + Rows - 1) / Rows));

    internal static Tensor Own(List<Tensor> owner, Tensor t)
    {
        owner.Add(t);
        return t;
    }
}

/// <summary>A full-sequence forward's INT8 K for SageAttention: codes, one scale per token and head (the cache's format), and the smoothing vector.</summary>
internal sealed class SageKeys
{
    internal SageKeys(Backend backend, DiTConfig c, long tokens, List<Tensor> owner)
    {
        K = SageQuery.Own(owner, backend.Allocate(DType.I8, new Shape(1, tokens, c.Heads, c.HeadDim), "k_i8"));
        KScale = SageQuery.Own(owner, backend.Allocate(DType.F32, new Shape(1, tokens, c.Heads), "k_scale"));
        KMean = SageQuery.Own(owner, backend.Allocate(DType.F32, new Shape(1, c.Heads, c.HeadDim), "k_mean"));
    }

    /// <summary>K codes [1, N, H, D].</summary>
    public Tensor K { get; }

    /// <summary>K scales, one per token and head [1, N, H].</summary>
    public Tensor KScale { get; }

    /// <summary>K's smoothing vector [1, H, D].</summary>
    public Tensor KMean { get; }

    /// <summary>Bytes for <paramref name="tokens"/> tokens of <paramref name="c"/>.</summary>
    public static long Bytes(DiTConfig c, long tokens) => (tokens * c.Dim) + (4L * tokens * c.Heads) + (4L * c.Dim);
}
