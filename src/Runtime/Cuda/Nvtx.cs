// NVTX ranges, so Nsight Systems / Compute show op names over their kernels. The library
// (libnvToolsExt, shipped with the CUDA toolkit) is loaded on first use if present; without it
// every call is a cheap no-op. Ranges are thread-local push/pop pairs, as NVTX defines them.
using System.Runtime.InteropServices;

namespace Zoetrope.Runtime.Cuda;

/// <summary>Optional NVTX push/pop ranges.</summary>
internal static unsafe class Nvtx
{
    private static readonly Lazy<(IntPtr Push, IntPtr Pop)> Entry = new(Load);

    /// <summary>True when an NVTX library was found.</summary>
    public static bool Available => Entry.Value.Push != IntPtr.Zero;

    /// <summary>Opens a range named <paramref name="name"/>; returns false (and does nothing) without NVTX.</summary>
    public static bool Push(string name)
    {
        var (push, _) = Entry.Value;
        if (push == IntPtr.Zero)
        {
            return false;
        }
        var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = bytes)
        {
            ((delegate* unmanaged<byte*, int>)push)(p);
        }
        return true;
    }

    /// <summary>Closes the innermost range.</summary>
    public static void Pop()
    {
        var (_, pop) = Entry.Value;
        if (pop != IntPtr.Zero)
        {
            ((delegate* unmanaged<int>)pop)();
        }
    }

    private static (IntPtr, IntPtr) Load()
    {
        foreach (var name in new[] { "libnvToolsExt.so.1", "libnvToolsExt.so", "nvToolsExt64_1.dll" })
        {
            if (NativeLibrary.TryLoad(name, out var lib) &&
                NativeLibrary.TryGetExport(lib, "nvtxRangePushA", out var push) &&
                NativeLibrary.TryGetExport(lib, "nvtxRangePop", out var pop))
            {
                return (push, pop);
            }
        }
        return (IntPtr.Zero, IntPtr.Zero);
    }
}
