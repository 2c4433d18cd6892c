using System.Runtime.InteropServices;
using Zoetrope.Emulator.Device;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// Test helper: a fresh emulated device (not the process-wide one), device buffers, argument
/// packing. Kernels in these tests are PTX written by hand, so they run without nvcc.
/// </summary>
internal sealed unsafe class EmuHarness : IDisposable
{
    private readonly List<ulong> _buffers = new();

    public EmuDevice Device { get; } = new() { MaxParallelCtas = 1 };

    public const string Header = ".version 7.8\n.target sm_80\n.address_size 64\n";

    public EmuFunction Load(string body, string name) => Device.LoadModule(Header + body, "test.ptx").GetFunction(name);

    public ulong Upload<T>(T[] data)
        where T : unmanaged
    {
        ulong p = Device.Memory.Allocate(data.Length * sizeof(T));
        data.AsSpan().CopyTo(new Span<T>((void*)p, data.Length));
        _buffers.Add(p);
        return p;
    }

    public ulong Alloc<T>(int count)
        where T : unmanaged => Upload(new T[count]);

    public T[] Download<T>(ulong p, int count)
        where T : unmanaged => new Span<T>((void*)p, count).ToArray();

    public Zoetrope.Emulator.Exec.LaunchStats Launch(EmuFunction f, uint grid, uint block, params object[] args) =>
        Launch(f, new LaunchConfig(new Dim3(grid, 1, 1), new Dim3(block, 1, 1), 0), args);

    public Zoetrope.Emulator.Exec.LaunchStats Launch(EmuFunction f, LaunchConfig config, params object[] args)
    {
        var handles = args.Select(a => GCHandle.Alloc(a, GCHandleType.Pinned)).ToArray();
        try
        {
            var ptrs = handles.Select(h => h.AddrOfPinnedObject()).ToArray();
            fixed (IntPtr* pp = ptrs)
            {
                return Device.Launch(f, config, f.PackArguments((void**)pp));
            }
        }
        finally
        {
            foreach (var h in handles)
            {
                h.Free();
            }
        }
    }

    public void Dispose()
    {
        foreach (var p in _buffers)
        {
            Device.Memory.Free(p);
        }
    }
}
