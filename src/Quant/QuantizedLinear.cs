// QuantizedLinear: a linear layer y = x W^T + b (+ GELU-tanh) whose weights are quantized once,
// when the layer is built, and whose activations are quantized on every call.
//
//   Int8          W: per-channel INT8 (amax/127)     x: per-token INT8 (amax/127, floor 1e-4)   linear_int8 (token x channel)
//   Int8Block128  W: 128x128 INT8 (amax/128)         x: 128x128 INT8                              linear_int8 (block128)
//   Fp8           W: per-channel E4M3 (amax/448)     x: per-token E4M3                           linear_fp8
//   Bf16          W in the activations' dtype                                                   linear
//
// y has the activations' dtype. Scratch buffers for the quantized activations are kept per
// layer and grown, never shrunk, so a streaming loop allocates nothing after its first call.
using Zoetrope.Quant.Gemm;
using Zoetrope.Runtime;

namespace Zoetrope.Quant;

/// <summary>A linear layer with offline-quantized weights and dynamically quantized activations.</summary>
public sealed class QuantizedLinear : IDisposable
{
    private readonly Backend _backend;
    private readonly Tensor _weight;
    private readonly Tensor? _weightScale;
    private readonly Tensor? _bias;
    private Tensor? _xq;
    private Tensor? _xs;

    private QuantizedLinear(Backend backend, LinearPath path, DType activations, Tensor weight, Tensor? weightScale, Tensor? bias)
    {
        _backend = backend;
        Path = path;
        ActivationDType = activations;
        _weight = weight;
        _weightScale = weightScale;
        _bias = bias;
    }

    /// <summary>The computation path.</summary>
    public LinearPath Path { get; }

    /// <summary>The dtype of x and y.</summary>
    public DType ActivationDType { get; }

    /// <summary>Input features K.</summary>
    public long InFeatures => _weight.Shape[1];

    /// <summary>Output features N.</summary>
    public long OutFeatures => _weight.Shape[0];

    /// <summary>The stored weight (codes, or the activation-dtype copy for <see cref="LinearPath.Bf16"/>).</summary>
    public Tensor Weight => _weight;

    /// <summary>
    /// Builds the layer on <paramref name="backend"/> from <paramref name="weight"/> [N, K] (any float
    /// dtype, any backend) and an optional <paramref name="bias"/> [N], quantizing the weight for <paramref name="path"/>.
    /// </summary>
    public static QuantizedLinear Create(Backend backend, Tensor weight, Tensor? bias, LinearPath path, DType activations = DType.BF16)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2 || !weight.DType.IsFloat())
        {
            throw new ArgumentException($"QuantizedLinear: weight '{weight.Name}' {weight.DType.Name()}{weight.Shape} must be a float [N, K]", nameof(weight));
        }
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != weight.Shape[0]))
        {
            throw new ArgumentException($"QuantizedLinear: bias '{bias.Name}' {bias.Shape} must be [{weight.Shape[0]}] for weight {weight.Shape}", nameof(bias));
        }
        if (activations is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"QuantizedLinear: activations must be f32, f16 or bf16, not {activations.Name()}", nameof(activations));
        }
        long n = weight.Shape[0];
        long k = weight.Shape[1];
        Tensor? b = bias is null ? null : bias.To(backend, DType.F32, "bias");
        if (path == LinearPath.Bf16)
        {
            return new QuantizedLinear(backend, path, activations, weight.To(backend, activations, "weight"), null, b);
        }
        var scheme = WeightScheme(path);
        using var w = weight.To(backend, activations, "weight_src");
        var wq = backend.Allocate(scheme.Format, new Shape(n, k), "weight_q");
        var ws = backend.Allocate(DType.F32, scheme.ScaleShape(n, k), "weight_scale");
        Quantize.Run(scheme, w, wq, ws);
        return new QuantizedLinear(backend, path, activations, wq, ws, b);
    }

    /// <summary>
    /// Like <see cref="Create"/>, but the path comes from the measured dispatch table for this
    /// device and shape (<paramref name="tokensHint"/> rows per call); without a measurement,
    /// <paramref name="preferred"/> stands. <paramref name="reason"/> says which happened.
    /// </summary>
    public static QuantizedLinear CreateMeasured(Backend backend, Tensor weight, Tensor? bias, LinearPath preferred, long tokensHint, out string reason, DType activations = DType.BF16)
    {
        ArgumentNullException.ThrowIfNull(weight);
        string device = backend is IlgpuBackend ib ? ib.DeviceArch : backend.Name;
        var (choice, why) = LinearDispatch.Default.Choose(device, "linear_path", tokensHint, weight.Shape[0], weight.Shape[1], preferred.ToString());
        reason = why;
        return Create(backend, weight, bias, Enum.Parse<LinearPath>(choice, ignoreCase: true), activations);
    }

    /// <summary>
    /// y = x W^T + b (+ GELU): x [M, K] and y [M, N] in <see cref="ActivationDType"/>, on this layer's
    /// backend. <paramref name="rounding"/> PerOp rounds x W^T + b to y's dtype before the GELU;
    /// <paramref name="separateBias"/> rounds x W^T before the bias is added (an eager bf16 model's
    /// op boundaries: <see cref="Linear"/>; on the quantized paths the sum is the dequantized one).
    /// </summary>
    public void Forward(Tensor x, Tensor y, bool gelu = false, Rounding rounding = Rounding.Fused, bool separateBias = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Rank != 2 || x.Shape[1] != InFeatures || x.DType != ActivationDType)
        {
            throw new ArgumentException(
                $"QuantizedLinear: x '{x.Name}' {x.DType.Name()}{x.Shape} must be {ActivationDType.Name()}[M, {InFeatures}]", nameof(x));
        }
        long m = x.Shape[0];
        switch (Path)
        {
            case LinearPath.Bf16:
                Linear.Run(x, _weight, _bias, y, gelu, rounding, separateBias);
                return;
            case LinearPath.Fp8:
            {
                var (xq, xs) = Scratch(QuantScheme.PerTokenFp8, m);
                Quantize.Run(QuantScheme.PerTokenFp8, x, xq, xs);
                LinearFp8.Run(xq, xs, _weight, _weightScale!, _bias, y, gelu, rounding, separateBias);
                return;
            }
            default:
            {
                var scheme = Path == LinearPath.Int8 ? QuantScheme.PerTokenInt8 : QuantScheme.Block128Int8;
                var (xq, xs) = Scratch(scheme, m);
                Quantize.Run(scheme, x, xq, xs);
                var w8 = Path == LinearPath.Int8 ? W8A8Scheme.PerTokenPerChannel : W8A8Scheme.Block128;
                LinearInt8.Run(w8, xq, xs, _weight, _weightScale!, _bias, y, gelu, rounding, separateBias);
                return;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _weight.Dispose();
        _weightScale?.Dispose();
        _bias?.Dispose();
        _xq?.Dispose();
        _xs?.Dispose();
    }

    private static QuantScheme WeightScheme(LinearPath path) => path switch
    {
        LinearPath.Int8 => QuantScheme.PerChannelInt8,
        LinearPath.Int8Block128 => QuantScheme.Block128Int8,
        LinearPath.Fp8 => QuantScheme.PerTokenFp8,
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "no weight quantization for this path"),
    };

    // Views of per-layer scratch sized for m rows; the buffers grow to the largest m seen.
    private (Tensor Codes, Tensor Scales) Scratch(QuantScheme scheme, long m)
    {
        long k = InFeatures;
        var scaleShape = scheme.ScaleShape(m, k);
        if (_xq is null || _xq.Shape[0] < m || _xq.DType != scheme.Format)
        {
            _xq?.Dispose();
            _xs?.Dispose();
            _xq = _backend.Allocate(scheme.Format, new Shape(m, k), "x_q");
            _xs = _backend.Allocate(DType.F32, new Shape(Math.Max(m, scheme.ScaleShape(m, k).ElementCount)), "x_scale");
        }
        var codes = _xq.Slice(0, 0, m);
        var scales = _xs!.Slice(0, 0, scaleShape.ElementCount).Reshape(scaleShape);
        return (codes, scales);
    }
}
