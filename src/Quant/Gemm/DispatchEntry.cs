namespace Zoetrope.Quant.Gemm;

/// <summary>One measured decision: on <paramref name="Device"/>, for <paramref name="Decision"/> at (M, N, K), <paramref name="Winner"/> was fastest.</summary>
/// <param name="Device">The GPU's architecture (sm_90) or "ilgpu-cpu".</param>
/// <param name="Decision">What was decided: "linear_path" (bf16 / int8 / int8_block128 / fp8) or "cuda_variant" (hand / cutlass).</param>
/// <param name="M">Rows measured.</param>
/// <param name="N">Output features.</param>
/// <param name="K">Input features.</param>
/// <param name="Winner">The fastest choice.</param>
/// <param name="Milliseconds">Its median time.</param>
/// <param name="Source">The result file it came from (bench/results/...).</param>
internal sealed record DispatchEntry(string Device, string Decision, long M, long N, long K, string Winner, double Milliseconds, string Source);
