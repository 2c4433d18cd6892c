// DecoderMemoryTally: the bookkeeping both decoders' memory estimates walk their layers with. It
// mirrors what a decoder allocates, in the order it does: weights and per-layer caches made once
// at construction; working buffers taken by name and grown to the largest view (WanVaeScratch's
// rule: a slot that grows keeps its old storage, retired, until the call's Release, so a growing
// call briefly holds both); and each op's operands, which the reference backend reads as f64
// arrays (plus their packed bytes) and writes from f64 (OpTensors.Read/Write).
namespace Zoetrope.Engine.Decode;

/// <summary>Counts a decoder's device bytes by part and the host bytes its ops and staging take.</summary>
internal sealed class DecoderMemoryTally(DType dtype)
{
    private readonly Dictionary<string, long> _slots = new(StringComparer.Ordinal);
    private long _retired;
    private long _live;

    /// <summary>Bytes per element of the decoder's dtype.</summary>
    public long Size { get; } = dtype.Size();

    /// <summary>Weights (and norm vectors, f32 biases) on the device.</summary>
    public long Weights { get; private set; }

    /// <summary>Per-layer caches on the device (causal-conv frames, MemBlock memories).</summary>
    public long Caches { get; private set; }

    /// <summary>The most the working buffers held at once.</summary>
    public long ScratchPeak { get; private set; }

    /// <summary>The largest element count of one weight (the host stages it when the decoder is built).</summary>
    public long LargestWeight { get; private set; }

    /// <summary>The largest op's operands and output, in elements (the reference backend reads them as f64).</summary>
    public long LargestOp { get; private set; }

    /// <summary>Elements in the dtype plus f32 elements (biases), as one weight.</summary>
    public void Weight(long elements, long f32Elements = 0)
    {
        Weights += (elements * Size) + (4 * f32Elements);
        LargestWeight = Math.Max(LargestWeight, elements);
    }

    /// <summary>A cache of <paramref name="elements"/> in the dtype.</summary>
    public void Cache(long elements) => Caches += elements * Size;

    /// <summary>A view of <paramref name="elements"/> on slot <paramref name="slot"/> (see WanVaeScratch.Take).</summary>
    public void Take(string slot, long elements)
    {
        long n = Math.Max(1, elements);
        if (_slots.TryGetValue(slot, out long held) && held >= n)
        {
            return;
        }
        if (_slots.ContainsKey(slot))
        {
            _retired += held;
        }
        _slots[slot] = n;
        _live += n;
        ScratchPeak = Math.Max(ScratchPeak, _live * Size);
    }

    /// <summary>The end of a call: retired storages are freed.</summary>
    public void Release()
    {
        _live -= _retired;
        _retired = 0;
    }

    /// <summary>One op over <paramref name="operands"/> elements in (weights included) and <paramref name="output"/> out.</summary>
    public void Op(long operands, long output) => LargestOp = Math.Max(LargestOp, operands + output);
}
