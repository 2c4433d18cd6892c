using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// A fat binary the native library's host code registered (__cudaRegisterFatBinary): its entries
/// are read at registration, its PTX is parsed into a module only when one of its kernels is
/// first used, and then kept (the emulated library holds megabytes of PTX, most of it for kernels
/// a given run never launches). A failed load is kept too, so every launch reports the same error
/// without parsing again.
/// </summary>
internal sealed unsafe class RegisteredFatBinary
{
    private readonly object _gate = new();
    private EmuModule? _module;
    private Exception? _failure;

    public RegisteredFatBinary(nint handle, nint wrapper, int index)
    {
        Handle = handle;
        Wrapper = wrapper;
        Index = index;
        var image = FatBinary.FromWrapper((void*)wrapper);
        Entries = FatBinary.Parse(image);
        // Checked now, so a library built with compressed PTX is refused when it is installed.
        Ptx = FatBinary.SelectPtx(Entries, Arch, $"fat binary #{index}");
    }

    /// <summary>The handle __cudaRegisterFatBinary returned (the native record's address).</summary>
    public nint Handle { get; }

    /// <summary>The __fatBinC_Wrapper_t it was registered with.</summary>
    public nint Wrapper { get; }

    /// <summary>Registration order, for messages.</summary>
    public int Index { get; }

    /// <summary>Its entries.</summary>
    public IReadOnlyList<FatBinaryEntry> Entries { get; }

    /// <summary>The PTX entry the device runs.</summary>
    public FatBinaryEntry Ptx { get; }

    private static int Arch => HostState.Device.Properties.Major * 10 + HostState.Device.Properties.Minor;

    /// <summary>The module, loaded on first use.</summary>
    /// <exception cref="EmulatorException">The PTX does not load (the same exception every time).</exception>
    public EmuModule Module()
    {
        lock (_gate)
        {
            if (_module is null && _failure is null)
            {
                try
                {
                    string text = FatBinary.PtxText(FatBinary.FromWrapper((void*)Wrapper), Ptx);
                    string origin = FatBinary.SourceFile(text) is { } file
                        ? $"{file} (fat binary #{Index}, PTX compute_{Ptx.ArchName})"
                        : $"fat binary #{Index} (PTX compute_{Ptx.ArchName})";
                    _module = HostState.Executor.LoadModule(text, origin);
                }
                catch (Exception e)
                {
                    _failure = e;
                }
            }
            if (_failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_failure);
            }
            return _module!;
        }
    }

    /// <summary>Forgets the loaded module (tests swap the executor).</summary>
    public void Forget()
    {
        lock (_gate)
        {
            _module = null;
            _failure = null;
        }
    }
}
