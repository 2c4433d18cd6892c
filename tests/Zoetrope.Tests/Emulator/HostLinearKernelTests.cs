using System.Runtime.InteropServices;
using NUnit.Framework;
using Zoetrope.Emulator.Device;
using Zoetrope.Emulator.Isa;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Native;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// zt_last_kernel on the emulated device: the linears' native dispatch names the kernel it
/// launched, and that name matches the launch the device saw: the sm_90a TMA + wgmma GEMM (f16/bf16,
/// e4m3 and both INT8 schemes) on an sm_90 part (ZOETROPE_EMU_SM=90), the mma.sync one elsewhere, the
/// SIMT one for f32.
/// </summary>
[NonParallelizable]
public class HostLinearKernelTests
{
    [Test]
    public void TheLinearsNameTheKernelTheyLaunched()
    {
        using var backend = (CudaBackend)HostBackendTests.Open(BackendKind.CudaEmu);
        Assert.That(NativeShim.HasExport("zt_last_kernel"), Is.True);
        bool hopper = EmuDevice.Shared.Properties.Major == 9;

        using var x = backend.Allocate(DType.BF16, new Shape(16, 32), "x");
        using var w = backend.Allocate(DType.BF16, new Shape(8, 32), "w");
        using var y = backend.Allocate(DType.BF16, new Shape(16, 8), "y");
        using var xf = backend.Allocate(DType.F32, new Shape(16, 32), "xf");
        using var wf = backend.Allocate(DType.F32, new Shape(8, 32), "wf");
        using var yf = backend.Allocate(DType.F32, new Shape(16, 8), "yf");
        using var x8 = backend.Allocate(DType.F8E4M3, new Shape(16, 32), "x8");
        using var w8 = backend.Allocate(DType.F8E4M3, new Shape(8, 32), "w8");
        using var xs = backend.Allocate(DType.F32, new Shape(16), "xs");
        using var ws = backend.Allocate(DType.F32, new Shape(8), "ws");
        using var xi = backend.Allocate(DType.I8, new Shape(16, 32), "xi");
        using var wi = backend.Allocate(DType.I8, new Shape(8, 32), "wi");
        using var xsBlock = backend.Allocate(DType.F32, new Shape(1), "xs_block");  // one 128 x 128 tile: [1, 1]
        using var wsBlock = backend.Allocate(DType.F32, new Shape(1), "ws_block");
        var recorder = new RecordingExecutor();
        HostTestSupport.WithExecutor(recorder, () =>
        {
            ZtNative.Linear(backend, DType.BF16, 16, 8, 32, 0, 0, x, w, null, y);
            Assert.That(ZtNative.LastKernel(), Is.EqualTo(hopper ? "linear_sm90_ws_bf16" : "linear_mma_sm80"));
            Assert.That(recorder.Launches[^1].Function.Name, Does.Contain(hopper ? "gemm_sm90_ws" : "gemm_kernel"));

            ZtNative.LinearFp8(backend, DType.BF16, 16, 8, 32, 0, 0, x8, w8, xs, ws, null, y);
            Assert.That(ZtNative.LastKernel(), Is.EqualTo(hopper ? "linear_fp8_sm90_ws_bf16" : "linear_fp8_mma_sm80"));
            Assert.That(recorder.Launches[^1].Function.Name, Does.Contain(hopper ? "gemm_sm90_ws" : "gemm_kernel"));

            ZtNative.LinearInt8(backend, DType.BF16, 16, 8, 32, 0, 0, 0, 16, 8, xi, wi, xs, ws, null, y);
            Assert.That(ZtNative.LastKernel(), Is.EqualTo(hopper ? "linear_int8_sm90_ws_bf16" : "linear_int8_mma_sm80"));
            Assert.That(recorder.Launches[^1].Function.Name, Does.Contain(hopper ? "gemm_sm90_ws" : "gemm_kernel"));

            ZtNative.LinearInt8(backend, DType.BF16, 16, 8, 32, 1, 0, 0, 1, 1, xi, wi, xsBlock, wsBlock, null, y);
            Assert.That(ZtNative.LastKernel(), Is.EqualTo(hopper ? "linear_int8_block_sm90_ws_bf16" : "linear_int8_block_mma_sm80"));
            Assert.That(recorder.Launches[^1].Function.Name, Does.Contain(hopper ? "gemm_sm90_ws" : "gemm_kernel"));

            ZtNative.Linear(backend, DType.F32, 16, 8, 32, 0, 0, xf, wf, null, yf);
            Assert.That(ZtNative.LastKernel(), Is.EqualTo("linear_f32_simt"));
            Assert.That(recorder.Launches[^1].Function.Name, Does.Contain("linear_f32_kernel"));
        });
    }

    /// <summary>
    /// linear_fp8 at K = 4096 on an sm_90 part under the emulator's model of Hopper's ~14-bit fp8
    /// wgmma accumulation (Fp8AccumulationModel; ZOETROPE_EMU_FP8_ACC=hopper): the sm_90a kernel
    /// promotes every 128 of K into fp32, so it stays close to the exact sum (a single accumulator
    /// loses about 40 times more under the model: IsaWgmmaFp8ModelTests). Positive operands, so
    /// the truncations all shrink the sums and do not cancel. Needs ZOETROPE_EMU_SM=90.
    /// </summary>
    [Test]
    public void TheSm90Fp8LinearPromotesUnderTheHopperAccumulationModel()
    {
        using var backend = (CudaBackend)HostBackendTests.Open(BackendKind.CudaEmu);
        if (EmuDevice.Shared.Properties.Major != 9)
        {
            Assert.Ignore("needs the emulated device as an sm_90 part (ZOETROPE_EMU_SM=90)");
        }
        const int m = 8, n = 8, k = 4096;
        var rng = new Random(90);
        // e4m3 (1 + j/8) * 2^e, e in {-1, 0}: bits ((e + 7) << 3) | j.
        byte[] Operand(int rows) => Enumerable.Range(0, rows * k).Select(_ => (byte)(((rng.Next(-1, 1) + 7) << 3) | rng.Next(8))).ToArray();
        static double Decode(byte b) => (1.0 + ((b & 7) / 8.0)) * Math.ScaleB(1.0, (b >> 3) - 7);
        byte[] xb = Operand(m), wb = Operand(n);
        using var x = backend.Allocate(DType.F8E4M3, new Shape(m, k), "x");
        using var w = backend.Allocate(DType.F8E4M3, new Shape(n, k), "w");
        using var xs = backend.Allocate(DType.F32, new Shape(m), "xs");
        using var ws = backend.Allocate(DType.F32, new Shape(n), "ws");
        using var y = backend.Allocate(DType.F32, new Shape(m, n), "y");
        x.CopyFrom(xb);
        w.CopyFrom(wb);
        xs.CopyFrom(F32Ones(m));
        ws.CopyFrom(F32Ones(n));

        double RelL2(bool hopper)
        {
            using (Fp8AccumulationModel.Use(hopper))
            {
                ZtNative.LinearFp8(backend, DType.F32, m, n, k, 0, 0, x, w, xs, ws, null, y);
            }
            Assert.That(ZtNative.LastKernel(), Is.EqualTo("linear_fp8_sm90_ws_f32"));
            float[] got = y.ToFloats();
            double err = 0, norm = 0;
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double want = 0;
                    for (int kk = 0; kk < k; kk++)
                    {
                        want += Decode(xb[(i * k) + kk]) * Decode(wb[(j * k) + kk]);
                    }
                    err += Math.Pow(got[(i * n) + j] - want, 2);
                    norm += want * want;
                }
            }
            return Math.Sqrt(err / norm);
        }

        double exact = RelL2(false), model = RelL2(true);
        TestContext.Out.WriteLine($"linear_fp8_sm90 K = {k}: relL2 {exact:e2} (exact wgmma), {model:e2} (Hopper accumulation model)");
        Assert.That(exact, Is.LessThan(1e-6));
        Assert.That(model, Is.GreaterThan(1e-6), "the model reached the kernel's wgmmas");
        Assert.That(model, Is.LessThan(3e-4), "promoted every 128 of K: a few 14-bit truncations per partial, then fp32");
    }

    /// <summary>
    /// The sm_90a GEMM's staged epilogue puts every element where it belongs, on both of its store
    /// paths: 16-byte stores when y's rows are 16-byte aligned (N = 136: f32 and f16), element
    /// stores when not (N = 65: 260-byte f32 rows, 130-byte bf16 rows); M = 130 leaves the second
    /// M tile 2 rows (warps with no row inside y), N = 136 a second N tile of 8 columns (one
    /// 16-byte chunk of f16, two of f32). INT8 per-token x per-channel with small operands,
    /// power-of-two scales and a quarter-integer bias: every value is exact in the output type,
    /// so y must equal the integer reference bit for bit. Needs ZOETROPE_EMU_SM=90.
    /// </summary>
    [TestCase(DType.F32, 65, true)]
    [TestCase(DType.BF16, 65, false)]
    [TestCase(DType.F16, 136, false)]
    [TestCase(DType.F32, 136, true)]
    public void TheSm90LinearStoresEveryElementOfEdgeTiles(DType dtype, int n, bool scaled)
    {
        using var backend = (CudaBackend)HostBackendTests.Open(BackendKind.CudaEmu);
        if (EmuDevice.Shared.Properties.Major != 9)
        {
            Assert.Ignore("needs the emulated device as an sm_90 part (ZOETROPE_EMU_SM=90)");
        }
        const int m = 130, k = 32;
        var rng = new Random(n);
        sbyte[] Operand(int rows) => Enumerable.Range(0, rows * k).Select(_ => (sbyte)rng.Next(-1, 2)).ToArray();
        sbyte[] xb = Operand(m), wb = Operand(n);
        // Scales 2^-1..2^1 and a bias in quarters (scaled case): |sum| <= 32, so every y is exact in f32;
        // unscaled, y is the integer sum, exact in bf16 and f16 too.
        float[] xsv = Enumerable.Range(0, m).Select(i => scaled ? MathF.ScaleB(1f, (i % 3) - 1) : 1f).ToArray();
        float[] wsv = Enumerable.Range(0, n).Select(j => scaled ? MathF.ScaleB(1f, (j % 2) - 1) : 1f).ToArray();
        float[] bv = Enumerable.Range(0, n).Select(j => scaled ? ((j % 9) - 4) / 4f : 0f).ToArray();
        using var x = backend.Allocate(DType.I8, new Shape(m, k), "x");
        using var w = backend.Allocate(DType.I8, new Shape(n, k), "w");
        using var xs = backend.Allocate(DType.F32, new Shape(m), "xs");
        using var ws = backend.Allocate(DType.F32, new Shape(n), "ws");
        using var bias = backend.Allocate(DType.F32, new Shape(n), "bias");
        using var y = backend.Allocate(dtype, new Shape(m, n), "y");
        x.CopyFrom(MemoryMarshal.AsBytes(xb.AsSpan()));
        w.CopyFrom(MemoryMarshal.AsBytes(wb.AsSpan()));
        xs.CopyFrom(MemoryMarshal.AsBytes(xsv.AsSpan()));
        ws.CopyFrom(MemoryMarshal.AsBytes(wsv.AsSpan()));
        bias.CopyFrom(MemoryMarshal.AsBytes(bv.AsSpan()));

        ZtNative.LinearInt8(backend, dtype, m, n, k, 0, 0, 0, m, n, x, w, xs, ws, scaled ? bias : null, y);
        Assert.That(ZtNative.LastKernel(), Does.StartWith("linear_int8_sm90_ws_"));
        float[] got = y.ToFloats();
        int wrong = 0;
        string first = "";
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                int sum = 0;
                for (int kk = 0; kk < k; kk++)
                {
                    sum += xb[(i * k) + kk] * wb[(j * k) + kk];
                }
                float want = (sum * xsv[i] * wsv[j]) + bv[j];
                if (got[(i * n) + j] != want && wrong++ == 0)
                {
                    first = $"y[{i}, {j}] = {got[(i * n) + j]}, want {want}";
                }
            }
        }
        Assert.That(wrong, Is.Zero, $"{wrong} of {m * n} elements differ, first {first}");
    }

    private static byte[] F32Ones(int count) => Enumerable.Repeat(1f, count).SelectMany(BitConverter.GetBytes).ToArray();
}
