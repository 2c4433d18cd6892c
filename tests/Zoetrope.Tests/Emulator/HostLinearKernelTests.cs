using NUnit.Framework;
using Zoetrope.Emulator.Device;
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
}
